package main

import (
	"bytes"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/predictd/predictd/internal/fixture"
)

// The drift end-to-end tests use the 300-tree, 20-feature XGBoost fixture
// and its 2,000 rows (about 10% of each feature missing) as training data.
const driftFixture = "gbtree_binary_logistic_300x6"

// rowsCSV writes every other training row, edited by edit, as a CSV file.
func rowsCSV(t *testing.T, edit func(header []string, row []float64)) string {
	t.Helper()
	tab := fixture.ReadTable(t, fixture.Path("xgboost", driftFixture+".csv"))
	var rows [][]float64
	for i := 0; i < len(tab.Rows); i += 2 {
		r := slices.Clone(tab.Rows[i])
		if edit != nil {
			edit(tab.Header, r)
		}
		rows = append(rows, r)
	}
	return fixture.WriteCSV(t, "rows.csv", tab.Header, rows)
}

func TestProfileAndInspect(t *testing.T) {
	repo := t.TempDir()
	model := fixture.Path("xgboost", driftFixture+".json")
	train := fixture.Path("xgboost", driftFixture+".csv")
	mustRun(t, "import", "--from", "xgboost", "--in", model, "--repo", repo, "--name", "m")
	if out := mustRun(t, "inspect", "--repo", repo, "--model", "m"); !strings.Contains(out, "no reference") {
		t.Errorf("inspect of a version without a reference:\n%s\nwant \"no reference\"", out)
	}
	out := mustRun(t, "profile", "--repo", repo, "--model", "m", "--in", train)
	if !strings.HasPrefix(out, filepath.Join(repo, "m", "1")+"\n") || !strings.Contains(out, "reference: 2000 rows of "+driftFixture+".csv, 20 features, 1 outputs") {
		t.Errorf("profile printed:\n%s", out)
	}
	out = mustRun(t, "inspect", "--repo", repo, "--model", "m")
	if !strings.Contains(out, "2000 rows of "+driftFixture+".csv, 20 features, 1 outputs, profiled") {
		t.Errorf("inspect after profile:\n%s", out)
	}
	var manifest struct {
		Reference struct {
			File string `json:"file"`
			Rows int64  `json:"rows"`
		} `json:"reference"`
	}
	if err := json.Unmarshal([]byte(mustRun(t, "inspect", "--repo", repo, "--model", "m", "--json")), &manifest); err != nil {
		t.Fatal(err)
	}
	if manifest.Reference.Rows != 2000 || !strings.HasPrefix(manifest.Reference.File, "reference-") {
		t.Errorf("inspect --json reference = %+v", manifest.Reference)
	}
	// The version still scores as before.
	pred := filepath.Join(t.TempDir(), "pred.csv")
	mustRun(t, "score", "--repo", repo, "--model", "m", "--in", train, "--out", pred)
	agreeFloat32(t, pred, fixture.Path("xgboost", driftFixture+".pred.csv"), 1)

	// Errors name the file, line and column; usage errors exit 2.
	bad := rowsCSV(t, nil)
	data, _ := os.ReadFile(bad)
	os.WriteFile(bad, bytes.Replace(data, []byte("\n"), []byte("\nnot-a-number"), 1), 0o644)
	r := predictd(t, "profile", "--repo", repo, "--model", "m", "--in", bad)
	if r.code != 1 || !strings.Contains(r.stderr, bad+`:2: column "f0": "not-a-number`) {
		t.Errorf("profile of a bad file: exit %d\n%s", r.code, r.stderr)
	}
	for _, args := range [][]string{
		{"profile", "--repo", repo, "--model", "m"},
		{"profile", "--repo", repo, "--model", "m", "--in", train, "--bins", "0"},
	} {
		if r := predictd(t, args...); r.code != 2 {
			t.Errorf("predictd %s: exit %d, want 2\n%s", strings.Join(args, " "), r.code, r.stderr)
		}
	}
}

func TestImportReference(t *testing.T) {
	repo := t.TempDir()
	model := fixture.Path("xgboost", driftFixture+".json")
	train := fixture.Path("xgboost", driftFixture+".csv")
	mustRun(t, "import", "--from", "xgboost", "--in", model, "--repo", repo, "--name", "m", "--reference", train)
	if out := mustRun(t, "inspect", "--repo", repo, "--model", "m"); !strings.Contains(out, "2000 rows of "+driftFixture+".csv") {
		t.Errorf("inspect after import --reference:\n%s", out)
	}
	// A bad reference file fails the import, and leaves no version.
	r := predictd(t, "import", "--from", "xgboost", "--in", model, "--repo", repo, "--name", "m", "--reference", filepath.Join(t.TempDir(), "none.csv"))
	if r.code == 0 || !strings.Contains(r.stderr, "none.csv") {
		t.Errorf("import --reference with a missing file: exit %d\n%s", r.code, r.stderr)
	}
	if ents, _ := os.ReadDir(filepath.Join(repo, "m")); len(ents) != 1 {
		t.Errorf("the failed import left %d entries in the model folder, want only version 1", len(ents))
	}
}

type driftJSON struct {
	Status   string `json:"status"`
	Rows     int64  `json:"rows"`
	Features []struct {
		Name   string         `json:"name"`
		Status string         `json:"status"`
		Stats  map[string]any `json:"stats"`
	} `json:"features"`
	Outputs []struct {
		Name   string `json:"name"`
		Status string `json:"status"`
	} `json:"outputs"`
}

// TestDriftEndToEnd: on the real binary, a file drawn from the training
// rows is all ok (exit 0); the same file with one feature shifted by 3
// standard deviations and another all missing flags exactly those two
// features (exit 1).
func TestDriftEndToEnd(t *testing.T) {
	repo := t.TempDir()
	mustRun(t, "import", "--from", "xgboost", "--in", fixture.Path("xgboost", driftFixture+".json"), "--repo", repo, "--name", "m",
		"--reference", fixture.Path("xgboost", driftFixture+".csv"))

	same := rowsCSV(t, nil)
	out := mustRun(t, "drift", "--repo", repo, "--model", "m", "--in", same)
	if !strings.Contains(out, "status ok: 0 drift, 0 warn of 20 features and 1 outputs") {
		t.Errorf("drift of rows drawn from the training rows:\n%s", out)
	}

	var ok driftJSON
	if err := json.Unmarshal([]byte(mustRun(t, "drift", "--repo", repo, "--model", "m", "--in", same, "--json")), &ok); err != nil {
		t.Fatal(err)
	}
	if ok.Status != "ok" || ok.Rows != 1000 || len(ok.Features) != 20 {
		t.Fatalf("drift --json: status %s, %d rows, %d features", ok.Status, ok.Rows, len(ok.Features))
	}

	// f3's standard deviation over the training rows (the reference's), to
	// shift it by 3 of them.
	tab := fixture.ReadTable(t, fixture.Path("xgboost", driftFixture+".csv"))
	var vals []float64
	for _, r := range tab.Rows {
		if v := r[3]; !math.IsNaN(v) {
			vals = append(vals, v)
		}
	}
	var mean, std float64
	for _, v := range vals {
		mean += v / float64(len(vals))
	}
	for _, v := range vals {
		std += (v - mean) * (v - mean) / float64(len(vals))
	}
	std = math.Sqrt(std)

	broken := rowsCSV(t, func(h []string, r []float64) {
		r[slices.Index(h, "f3")] += 3 * std
		r[slices.Index(h, "f7")] = math.NaN()
	})
	r := predictd(t, "drift", "--repo", repo, "--model", "m", "--in", broken, "--json")
	if r.code != 1 {
		t.Fatalf("drift of a broken file: exit %d, want 1\n%s", r.code, r.stderr)
	}
	var rep driftJSON
	if err := json.Unmarshal([]byte(r.stdout), &rep); err != nil {
		t.Fatal(err)
	}
	var flagged []string
	for _, f := range rep.Features {
		if f.Status != "ok" {
			flagged = append(flagged, f.Name+" "+f.Status)
		}
	}
	if !slices.Equal(flagged, []string{"f3 drift", "f7 drift"}) {
		t.Errorf("features flagged: %v, want exactly f3 and f7 drifting\n%s", flagged, r.stdout)
	}
	if rep.Features[7].Stats["missing_rate"] != 1.0 || rep.Features[7].Stats["psi"] != nil {
		t.Errorf("f7 stats: %v", rep.Features[7].Stats)
	}
	// Shifting f3 moves the predictions too; the message lists what drifts.
	if !strings.Contains(r.stderr, "drift in "+broken+": feature f3, feature f7") {
		t.Errorf("stderr: %s", r.stderr)
	}
	t.Logf("outputs: %+v", rep.Outputs)
}

func TestDriftErrors(t *testing.T) {
	repo := t.TempDir()
	mustRun(t, "import", "--from", "xgboost", "--in", fixture.Path("xgboost", driftFixture+".json"), "--repo", repo, "--name", "m")
	rows := rowsCSV(t, nil)
	r := predictd(t, "drift", "--repo", repo, "--model", "m", "--in", rows)
	if r.code != 2 || !strings.Contains(r.stderr, "has no reference") || !strings.Contains(r.stderr, "predictd profile") {
		t.Errorf("drift without a reference: exit %d\n%s", r.code, r.stderr)
	}
	mustRun(t, "profile", "--repo", repo, "--model", "m", "--in", rows)
	bad := rowsCSV(t, nil)
	data, _ := os.ReadFile(bad)
	lines := strings.Split(string(data), "\n")
	cells := strings.Split(lines[3], ",")
	cells[5] = "5..0"
	lines[3] = strings.Join(cells, ",")
	os.WriteFile(bad, []byte(strings.Join(lines, "\n")), 0o644)
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--in", bad}, bad + `:4: column "f5": "5..0" is not a number`},
		{[]string{"--in", filepath.Join(t.TempDir(), "rows.txt")}, "want a .csv or .parquet file"},
		{[]string{}, "missing required flag --in"},
		{[]string{"--in", rows, "--sample", "0"}, "--sample must be positive"},
		{[]string{"--in", rows, "--version", "7"}, "not found"},
	} {
		args := append([]string{"drift", "--repo", repo, "--model", "m"}, tc.args...)
		r := predictd(t, args...)
		if r.code != 2 || !strings.Contains(r.stderr, tc.want) {
			t.Errorf("predictd %s: exit %d, want 2 and %q\n%s", strings.Join(args, " "), r.code, tc.want, r.stderr)
		}
	}
	// Fewer rows than --min-rows: nothing is judged, nothing drifts.
	few := rowsCSV(t, func(h []string, r []float64) { r[0] += 100 })
	data, _ = os.ReadFile(few)
	short := strings.Join(strings.SplitN(string(data), "\n", 102)[:101], "\n") + "\n"
	os.WriteFile(few, []byte(short), 0o644)
	if out := mustRun(t, "drift", "--repo", repo, "--model", "m", "--in", few); !strings.Contains(out, "status insufficient") {
		t.Errorf("100 rows: %s", out)
	}
	if r := predictd(t, "drift", "--repo", repo, "--model", "m", "--in", few, "--min-rows", "50"); r.code != 1 || !strings.Contains(r.stderr, "feature f0") {
		t.Errorf("100 rows with --min-rows 50: exit %d\n%s", r.code, r.stderr)
	}
}
