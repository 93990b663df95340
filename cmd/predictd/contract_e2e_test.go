package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/predictd/predictd/internal/fixture"
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

// TestServeContract runs predictd serve over a model imported twice with
// a contract (predictd import --contract): as "lr" with contract enforce,
// a request whose value breaks the contract is refused with 400 naming the
// instance and field; as "lrc" with count, it is served and counted in
// /metrics. A contract mode the config file misspells stops serve.
func TestServeContract(t *testing.T) {
	dir := t.TempDir()
	repo := filepath.Join(dir, "repo")
	cpath := filepath.Join(dir, "lr.yaml")
	if err := os.WriteFile(cpath, []byte("columns:\n  - name: mean_radius\n    type: float\n    min: 0\n    max: 30\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	model := fixture.Path("native", "logreg_binary.model.json")
	for _, name := range []string{"lr", "lrc"} {
		mustRun(t, "import", "--from", "native", "--in", model, "--repo", repo, "--name", name, "--contract", cpath)
	}
	if r := predictd(t, "inspect", "--repo", repo, "--model", "lr", "--json"); r.code != 0 || !strings.Contains(r.stdout, `"contract"`) {
		t.Errorf("inspect --json: exit %d, no contract in the manifest:\n%s", r.code, r.stdout)
	}
	if desc := mustRun(t, "inspect", "--repo", repo, "--model", "lr"); !strings.Contains(desc, "1 column from lr.yaml") {
		t.Errorf("inspect does not show the contract:\n%s", desc)
	}
	cfg := filepath.Join(dir, "serve.json")
	if err := os.WriteFile(cfg, []byte(`{"models": [{"name": "lr", "contract": "enforce"}, {"name": "lrc", "contract": "count"}]}`), 0o644); err != nil {
		t.Fatal(err)
	}
	d := startServe(t, nil, "--repo", repo, "--config", cfg)
	c := d.client(false)
	row := func(radius string) string {
		return `[` + radius + `, 10.38, 122.8, 1001, 0.1184, 0.2776, 0.3001, 0.1471, 0.2419, 0.07871]`
	}
	body := `{"instances": [` + row("17.99") + `, ` + row("31") + `]}`
	code, out := do(t, c, "POST", d.url(false, "/v1/models/lr:predict"), body)
	if code != 400 || !strings.Contains(string(out), `instance 1: field \"mean_radius\": 31 is outside the range [0, 30]`) {
		t.Errorf("enforce: %d %s, want 400 naming instance 1 and mean_radius", code, out)
	}
	for range 2 {
		if code, out := do(t, c, "POST", d.url(false, "/v1/models/lrc:predict"), body); code != 200 {
			t.Errorf("count: %d %s, want 200", code, out)
		}
	}
	code, out = do(t, c, "GET", d.url(false, "/metrics"), nil)
	want := `predictd_contract_violations_total{column="mean_radius",kind="out_of_range",model="lrc",version="1"} 2`
	if code != 200 || !strings.Contains(string(out), want) {
		t.Errorf("/metrics lacks %s", want)
	}
	if !strings.Contains(string(out), `predictd_contract_violations_total{column="mean_radius",kind="out_of_range",model="lr",version="1"} 1`) {
		t.Errorf("/metrics does not count the refused request's violation")
	}

	bad := filepath.Join(dir, "bad.json")
	if err := os.WriteFile(bad, []byte(`{"models": [{"name": "lr", "contract": "reject"}]}`), 0o644); err != nil {
		t.Fatal(err)
	}
	if r := predictd(t, "serve", "--listen", "127.0.0.1:0", "--repo", repo, "--config", bad); r.code != 2 || !strings.Contains(r.stderr, `model "lr": contract "reject": want enforce, count or off`) {
		t.Errorf("serve with a misspelled contract mode: exit %d, stderr %q", r.code, r.stderr)
	}
}
