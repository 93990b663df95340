package server

import (
	"encoding/json"
	"net/url"
	"strings"
	"testing"
)

// TestFeaturesKeyRoundTrip: a key holding '/' (or '%', a space, non-ASCII
// letters) was written by push but could not be read back by GET, fasthttp
// having decoded %2F into a path separator. The entity segment is
// percent-decoded now, so every key push takes, GET reads.
func TestFeaturesKeyRoundTrip(t *testing.T) {
	s, _, _, _ := joinServer(t, DefaultOptions())
	for _, key := range []string{"a/b", "/lead", "trail/", "a//b", "50%", "a b", "ü/ñ", "a+b", "a?b#c"} {
		kj, _ := json.Marshal(key)
		body := `{"rows": [{"entity": ` + string(kj) + `, "event_time": "2026-11-25T11:30:00Z", "values": {"mean_smoothness": 1.5, "mean_compactness": 2.5, "unrelated": 3}}]}`
		if code, resp, _ := call(s, "POST", "/v1/features/lab", body); code != 200 || !strings.Contains(resp, `"written":1`) {
			t.Errorf("push key %q: %d %s, want 200 written 1", key, code, resp)
			continue
		}
		uri := "/v1/features/lab/" + url.PathEscape(key)
		code, resp, _ := call(s, "GET", uri, "")
		var got struct {
			Entity string              `json:"entity"`
			Status string              `json:"status"`
			Values map[string]*float64 `json:"values"`
		}
		if code != 200 || json.Unmarshal([]byte(resp), &got) != nil || got.Entity != key || got.Status != "present" ||
			got.Values["mean_smoothness"] == nil || *got.Values["mean_smoothness"] != 1.5 {
			t.Errorf("GET %s (key %q) = %d %s, want 200 with the pushed row", uri, key, code, resp)
		}
		// A query string is not part of the key.
		if code, resp, _ := call(s, "GET", uri+"?x=1", ""); code != 200 || !strings.Contains(resp, `"status":"present"`) {
			t.Errorf("GET %s?x=1 = %d %s, want 200 present", uri, code, resp)
		}
	}
	// Escaped letters are the letters.
	if code, resp, _ := call(s, "GET", "/v1/features/l%61b/%61%2Fb", ""); code != 200 || !strings.Contains(resp, `"entity":"a/b"`) {
		t.Errorf("GET /v1/features/l%%61b/%%61%%2Fb = %d %s, want key a/b of view lab", code, resp)
	}
}

// TestFeaturesBadKeys: keys push and GET refuse are 400s naming what is
// wrong; a NUL key was a 500 and a megabyte key was stored.
func TestFeaturesBadKeys(t *testing.T) {
	s, _, _, _ := joinServer(t, DefaultOptions())
	row := func(entity string) string {
		return `{"rows": [{"entity": "ok", "event_time": "2026-11-25T11:30:00Z", "values": {"mean_smoothness": 1, "mean_compactness": 2, "unrelated": 3}},
			{"entity": "` + entity + `", "event_time": "2026-11-25T11:30:00Z", "values": {"mean_smoothness": 1, "mean_compactness": 2, "unrelated": 3}}]}`
	}
	for _, c := range []struct{ name, body, want string }{
		{"NUL", row(`a\u0000b`), `row 1: field \"entity\": entity site: site \"a\\x00b\" contains a NUL byte`},
		{"control byte", row(`a\u001bb`), `row 1: field \"entity\"`},
		{"1 MB", row(strings.Repeat("k", 1<<20)), `longer than the 256-byte limit`},
	} {
		code, resp, _ := call(s, "POST", "/v1/features/lab", c.body)
		if code != 400 || !strings.Contains(resp, c.want) {
			t.Errorf("push %s key: %d %.300s, want 400 containing %s", c.name, code, resp, c.want)
		}
		if len(resp) > 1000 {
			t.Errorf("push %s key: a %d-byte answer; an error must not echo the whole key", c.name, len(resp))
		}
	}
	if code, resp, _ := call(s, "GET", "/v1/features/lab/ok", ""); code != 200 || !strings.Contains(resp, `"status":"missing"`) {
		t.Errorf("after refused pushes, GET ok = %d %s, want missing (nothing of a refused batch written)", code, resp)
	}
	for _, c := range []struct {
		uri  string
		code int
		want string
	}{
		{"/v1/features/lab/a%00b", 400, `contains a NUL byte`},
		{"/v1/features/lab/a%0Ab", 400, `contains a control byte`},
		{"/v1/features/lab/%FF", 400, `not valid UTF-8`},
		{"/v1/features/lab/" + strings.Repeat("k", 4000), 400, `longer than the 256-byte limit`},
		{"/v1/features/lab/a%zzb", 400, `entity in the path: invalid URL escape \"%zz\"`},
		{"/v1/features/lab/a/b", 404, ``},              // an unescaped '/' is a path separator
		{"/v1/features/shape/x7", 400, `not an int64`}, // an int key
	} {
		code, resp, _ := call(s, "GET", c.uri, "")
		if code != c.code || !strings.Contains(resp, c.want) {
			t.Errorf("GET %.60s = %d %.300s, want %d containing %q", c.uri, code, resp, c.code, c.want)
		}
	}
}
