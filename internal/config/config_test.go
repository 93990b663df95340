package config

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func newFS() (*flag.FlagSet, *string, *int, *time.Duration) {
	fs := flag.NewFlagSet("t", flag.ContinueOnError)
	listen := fs.String("listen", "127.0.0.1:8080", "")
	maxInst := fs.Int("max-instances", 10, "")
	poll := fs.Duration("poll-interval", 5*time.Second, "")
	fs.String("config", "", "")
	return fs, listen, maxInst, poll
}

func writeConfig(t *testing.T, s string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "c.json")
	if err := os.WriteFile(p, []byte(s), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestPrecedence checks flag > environment > file > default.
func TestPrecedence(t *testing.T) {
	fs, listen, maxInst, poll := newFS()
	if err := fs.Parse([]string{"--listen", "0.0.0.0:1"}); err != nil {
		t.Fatal(err)
	}
	set := Explicit(fs)
	env := map[string]string{"PREDICTD_LISTEN": "0.0.0.0:2", "PREDICTD_MAX_INSTANCES": "7"}
	if err := ApplyEnv(fs, set, func(k string) (string, bool) { v, ok := env[k]; return v, ok }); err != nil {
		t.Fatal(err)
	}
	path := writeConfig(t, `{"listen": "0.0.0.0:3", "max_instances": 9, "poll_interval": "250ms", "models": [{"name": "x"}]}`)
	sections, err := ApplyFile(fs, set, path, "models")
	if err != nil {
		t.Fatal(err)
	}
	if *listen != "0.0.0.0:1" || *maxInst != 7 || *poll != 250*time.Millisecond {
		t.Errorf("listen %q max-instances %d poll %v, want the flag's 0.0.0.0:1, the environment's 7 and the file's 250ms", *listen, *maxInst, *poll)
	}
	if string(sections["models"]) != `[{"name": "x"}]` {
		t.Errorf("models section %s", sections["models"])
	}
	var models []struct {
		Name string `json:"name"`
	}
	if err := DecodeStrict(path, "models", nil, sections["models"], &models); err != nil || len(models) != 1 || models[0].Name != "x" {
		t.Errorf("DecodeStrict = %v, %v", models, err)
	}
}

func TestErrors(t *testing.T) {
	for _, c := range []struct {
		name, file string
		env        map[string]string
		want       string
	}{
		{"unknown key", "{\n  \"listen\": \"x\",\n  \"max_instance\": 5\n}", nil, `line 3: unknown key "max_instance"`},
		{"the config key itself", `{"config": "other.json"}`, nil, `unknown key "config"`},
		{"bad value", "{\n\"max_instances\": \"many\"\n}", nil, `line 2: key "max_instances"`},
		{"object value", `{"listen": {"a": 1}}`, nil, `want a string, number or boolean`},
		{"not an object", `[1, 2]`, nil, `want a JSON object`},
		{"syntax", "{\n  \"listen\": \"x\",,\n}", nil, `line 2 column`},
		{"bad environment", `{}`, map[string]string{"PREDICTD_POLL_INTERVAL": "soon"}, `PREDICTD_POLL_INTERVAL="soon"`},
	} {
		t.Run(c.name, func(t *testing.T) {
			fs, _, _, _ := newFS()
			set := Explicit(fs)
			err := ApplyEnv(fs, set, func(k string) (string, bool) { v, ok := c.env[k]; return v, ok })
			if err == nil {
				_, err = ApplyFile(fs, set, writeConfig(t, c.file), "models")
			}
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("error %v, want one containing %q", err, c.want)
			}
		})
	}
	var v []struct {
		Name string `json:"name"`
	}
	file := []byte("{\n \"models\": [{\"nam\": 1}]\n}")
	err := DecodeStrict("c.json", "models", file, []byte(`[{"nam": 1}]`), &v)
	if err == nil || !strings.Contains(err.Error(), "line 2") || !strings.Contains(err.Error(), "nam") {
		t.Errorf("DecodeStrict of an unknown field: %v, want the line and the field", err)
	}
}

func TestNames(t *testing.T) {
	if got := EnvName("max-body-bytes"); got != "PREDICTD_MAX_BODY_BYTES" {
		t.Errorf("EnvName = %q", got)
	}
	if got := KeyName("max-body-bytes"); got != "max_body_bytes" {
		t.Errorf("KeyName = %q", got)
	}
}
