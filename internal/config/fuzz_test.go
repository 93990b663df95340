package config

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// FuzzApplyFile feeds arbitrary config files to ApplyFile: it must never
// panic, and every error names the file.
func FuzzApplyFile(f *testing.F) {
	for _, s := range []string{
		`{"listen": "0.0.0.0:1", "max_instances": 5, "poll_interval": "1s", "models": [{"name": "x"}]}`,
		"{\n\"max_instance\": 5\n}",
		`{"listen": {"a": 1}}`,
		`[1]`,
		`{"poll_interval": 5}`,
		``,
	} {
		f.Add([]byte(s))
	}
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, data []byte) {
		path := filepath.Join(dir, "c.json")
		if err := os.WriteFile(path, data, 0o600); err != nil {
			t.Fatal(err)
		}
		fs := flag.NewFlagSet("t", flag.ContinueOnError)
		fs.String("listen", "", "")
		fs.Int("max-instances", 0, "")
		fs.Duration("poll-interval", time.Second, "")
		fs.Bool("batching", true, "")
		_, err := ApplyFile(fs, map[string]bool{}, path, "models")
		if err != nil && !strings.Contains(err.Error(), path) {
			t.Errorf("ApplyFile(%q) error %q does not name the file", data, err)
		}
	})
}
