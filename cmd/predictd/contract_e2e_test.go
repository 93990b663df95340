package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestContractCLI runs predictd contract infer and validate through the
// binary: a file validates clean against the contract inferred from it
// (exit 0), a file with anomalies exits 1 naming them, a malformed
// contract or an unreadable input exits 2 naming the file and line.
func TestContractCLI(t *testing.T) {
	dir := t.TempDir()
	write := func(name, data string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	train := write("train.csv", "amount,country\n10,US\n20.5,DE\n30,US\n,FR\n")
	cpath := filepath.Join(dir, "contract.yaml")
	out := mustRun(t, "contract", "infer", "--in", train, "--out", cpath)
	if !strings.Contains(out, "wrote "+cpath+": 2 columns") {
		t.Errorf("infer printed %q", out)
	}
	text, err := os.ReadFile(cpath)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{"# Data contract inferred by predictd contract infer from train.csv.", "max_missing: 0.25", "categories: [DE, FR, US]", "min: 10", "max: 30"} {
		if !strings.Contains(string(text), s) {
			t.Errorf("inferred contract lacks %q:\n%s", s, text)
		}
	}
	if r := predictd(t, "contract", "validate", "--contract", cpath, "--in", train); r.code != 0 || !strings.Contains(r.stdout, train+": 4 rows, 0 anomalies") {
		t.Errorf("validate the training file: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	bad := write("bad.csv", "amount,country,extra\n10,US,1\n99,XX,1\nabc,US,1\n")
	js := filepath.Join(dir, "report.json")
	r := predictd(t, "contract", "validate", "--contract", cpath, "--in", bad, "--against", train, "--json", js)
	if r.code != 1 {
		t.Fatalf("validate bad.csv: exit %d, want 1\n%s%s", r.code, r.stdout, r.stderr)
	}
	for _, s := range []string{`column "amount": out_of_range`, "e.g. " + bad + `:3: "99"`, `column "country": new_category`, `column "amount": unexpected_type`, `column "extra": unexpected_column`} {
		if !strings.Contains(r.stdout, s) {
			t.Errorf("validate output lacks %q:\n%s", s, r.stdout)
		}
	}
	if !strings.Contains(r.stderr, "anomalies (") {
		t.Errorf("stderr %q", r.stderr)
	}
	var rep struct {
		Rows      int64 `json:"rows"`
		Anomalies []struct {
			Column, Kind string
			Count        int64
		} `json:"anomalies"`
	}
	if b, err := os.ReadFile(js); err != nil || json.Unmarshal(b, &rep) != nil || rep.Rows != 3 || len(rep.Anomalies) == 0 {
		t.Errorf("--json report: %v %+v", err, rep)
	}
	broken := write("broken.yaml", "columns:\n  - name: amount\n    type: money\n")
	if r := predictd(t, "contract", "validate", "--contract", broken, "--in", train); r.code != 2 || !strings.Contains(r.stderr, broken+`:3: columns[0].type: "money": want bool, int, float, string or time`) {
		t.Errorf("malformed contract: exit %d, stderr %q", r.code, r.stderr)
	}
	if r := predictd(t, "contract", "validate", "--contract", cpath, "--in", filepath.Join(dir, "absent.csv")); r.code != 2 || !strings.Contains(r.stderr, "absent.csv") {
		t.Errorf("unreadable input: exit %d, stderr %q", r.code, r.stderr)
	}
	if r := predictd(t, "contract", "frobnicate"); r.code != 2 {
		t.Errorf("unknown subcommand: exit %d", r.code)
	}
}
