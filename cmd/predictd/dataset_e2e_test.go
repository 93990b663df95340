package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestDatasetCommand runs predictd dataset on the oracle's inputs: a
// training set and a per-view summary; --source overrides a view's source;
// a bad flag or input exits 2 naming it; nothing is written on failure.
func TestDatasetCommand(t *testing.T) {
	dir := "../../testdata/dataset"
	out := filepath.Join(t.TempDir(), "train.parquet")
	got := mustRun(t, "dataset", "--features", filepath.Join(dir, "defs.yaml"), "--entities", filepath.Join(dir, "entities.parquet"),
		"--out", out, "--views", "merchant_stats,user_stats", "--source", "merchant_stats="+filepath.Join(dir, "merchant_stats.parquet"), "--memory", "1MiB")
	for _, w := range []string{out + ": 635 rows, 12 columns", "merchant_stats (" + filepath.Join(dir, "merchant_stats.parquet") + ", 525 source rows): 245 present, 263 expired, 127 missing",
		"user_stats (" + filepath.Join(dir, "user_stats.csv") + ", 735 source rows): 276 present, 288 expired, 71 missing"} {
		if !strings.Contains(got, w) {
			t.Errorf("output %q\ndoes not contain %q", got, w)
		}
	}
	if fi, err := os.Stat(out); err != nil || fi.Size() == 0 {
		t.Fatalf("no training set: %v", err)
	}
	bad := filepath.Join(t.TempDir(), "bad.parquet")
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--memory", "10"}, "--memory 10 is below the least"},
		{[]string{"--memory", "lots"}, "--memory \"lots\""},
		{[]string{"--source", "nope"}, "want view=path"},
		{[]string{"--timestamp-column", "ts"}, "has no timestamp column \"ts\""},
		{[]string{"--views", "user_stats,nope"}, "view \"nope\" is not defined"},
	} {
		args := append([]string{"dataset", "--features", filepath.Join(dir, "defs.yaml"), "--entities", filepath.Join(dir, "entities.csv"), "--out", bad}, c.args...)
		r := predictd(t, args...)
		if r.code != 2 || !strings.Contains(r.stderr, c.want) {
			t.Errorf("predictd %s: exit %d, stderr %q; want exit 2 and %q", strings.Join(args, " "), r.code, r.stderr, c.want)
		}
		if _, err := os.Stat(bad); err == nil {
			t.Errorf("predictd %s wrote %s", strings.Join(args, " "), bad)
		}
	}
}

func TestParseByteSize(t *testing.T) {
	for _, c := range []struct {
		in   string
		want int64
	}{{"256MiB", 256 << 20}, {"1GiB", 1 << 30}, {"512KiB", 512 << 10}, {"1048576", 1 << 20}, {"100B", 100}, {"0", -1}, {"-1MiB", -1}, {"1.5GiB", -1}, {"MiB", -1}, {"9999999999GiB", -1}} {
		got, err := parseByteSize(c.in)
		if c.want < 0 {
			if err == nil {
				t.Errorf("parseByteSize(%q) = %d, want an error", c.in, got)
			}
			continue
		}
		if err != nil || got != c.want {
			t.Errorf("parseByteSize(%q) = %d, %v, want %d", c.in, got, err, c.want)
		}
	}
}
