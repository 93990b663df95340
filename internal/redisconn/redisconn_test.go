package redisconn

import (
	"strings"
	"testing"
)

func TestParseURL(t *testing.T) {
	for _, c := range []struct {
		spec string
		want Server
		tls  bool
	}{
		{"redis://127.0.0.1:6379", Server{Addr: "127.0.0.1:6379"}, false},
		{"redis://127.0.0.1:6379/3", Server{Addr: "127.0.0.1:6379", DB: 3}, false},
		{"redis://:s3cret@127.0.0.1:6380/1", Server{Addr: "127.0.0.1:6380", Password: "s3cret", DB: 1}, false},
		{"redis://app:s3cret@[::1]:6379", Server{Addr: "[::1]:6379", Username: "app", Password: "s3cret"}, false},
		{"rediss://:s3cret@localhost:6379", Server{Addr: "localhost:6379", Password: "s3cret"}, true},
	} {
		got, err := ParseURL(c.spec)
		if err != nil {
			t.Errorf("ParseURL(%q) = %v", c.spec, err)
			continue
		}
		if (got.TLS != nil) != c.tls {
			t.Errorf("ParseURL(%q): TLS %v, want %v", c.spec, got.TLS != nil, c.tls)
		}
		got.TLS = nil
		if got != c.want {
			t.Errorf("ParseURL(%q) = %+v, want %+v", c.spec, got, c.want)
		}
	}
	for _, c := range []struct{ spec, want string }{
		{"127.0.0.1:6379", "want redis://"},
		{"http://h:1", "want redis://"},
		{"redis://:pw-not-shown@h", `"h" is not host:port`},
		{"redis://:pw-not-shown@h:1/x", "redis://:xxxxx@h:1/x"},
		{"redis://:pw-not-shown@h:1?addr=h2:2", "query parameters"},
		{"unix://:pw-not-shown@/tmp/r.sock", "want redis://"},
	} {
		_, err := ParseURL(c.spec)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("ParseURL(%q) = %v, want an error containing %q", c.spec, err, c.want)
		}
		if err != nil && strings.Contains(err.Error(), "pw-not-shown") {
			t.Errorf("ParseURL(%q) error %q shows the password", c.spec, err)
		}
	}
}

func TestRedact(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"redis://:pw@h:1/2", "redis://:xxxxx@h:1/2"},
		{"redis://user:pw@h:1", "redis://user:xxxxx@h:1"},
		{"redis://h:1", "redis://h:1"},
		{"pebble:/data", "pebble:/data"},
		{"redis://:p w%zz@h:1", "[redacted]@h:1"},
	} {
		if got := Redact(c.in); got != c.want {
			t.Errorf("Redact(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}
