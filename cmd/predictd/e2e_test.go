package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/predictd/predictd/internal/fixture"
	"github.com/predictd/predictd/tools/compare"
)

// bin is the predictd binary built once for these end-to-end tests.
var bin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "predictd-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	bin = filepath.Join(dir, "predictd")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "build predictd: %v\n%s", err, out)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

type result struct {
	stdout, stderr string
	code           int
}

func predictd(t *testing.T, args ...string) result {
	t.Helper()
	cmd := exec.Command(bin, args...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	code := 0
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return result{out.String(), errb.String(), code}
}

func mustRun(t *testing.T, args ...string) string {
	t.Helper()
	r := predictd(t, args...)
	if r.code != 0 {
		t.Fatalf("predictd %s: exit %d\n%s", strings.Join(args, " "), r.code, r.stderr)
	}
	return r.stdout
}

func agree(t *testing.T, got, want string, rel float64) {
	t.Helper()
	rep, err := compare.Compare(got, want, compare.Tolerance{Rel: rel})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Err() != nil {
		var b strings.Builder
		rep.Print(&b)
		t.Errorf("%s vs %s:\n%s", got, want, b.String())
	}
}

// TestXGBoostHoldout imports and scores, through the real binary, XGBoost
// models that the importer was not developed against (testdata/xgboost_holdout:
// other data, depth 8, 100 trees, parallel trees, tweedie powers, weighted
// dart), and checks predictions and margins against XGBoost's own.
func TestXGBoostHoldout(t *testing.T) {
	var cases []struct {
		Name string `json:"name"`
	}
	data, err := os.ReadFile(fixture.Path("xgboost_holdout", "cases.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(data, &cases); err != nil {
		t.Fatal(err)
	}
	repo := t.TempDir()
	off, total := 0, 0
	for _, c := range cases {
		t.Run(c.Name, func(t *testing.T) {
			p := func(ext string) string { return fixture.Path("xgboost_holdout", c.Name+ext) }
			dir := strings.TrimSpace(mustRun(t, "import", "--from", "xgboost", "--in", p(".json"), "--repo", repo, "--name", c.Name))
			if dir != filepath.Join(repo, c.Name, "1") {
				t.Errorf("import printed %q, want the version folder", dir)
			}
			out := filepath.Join(t.TempDir(), "pred.csv")
			mustRun(t, "score", "--repo", repo, "--model", c.Name, "--in", p(".csv"), "--out", out)
			o, n := agreeFloat32(t, out, p(".pred.csv"), 1)
			off += o
			total += n
			raw := filepath.Join(t.TempDir(), "margin.csv")
			mustRun(t, "score", "--repo", repo, "--model", c.Name, "--in", p(".csv"), "--out", raw, "--raw")
			agreeFloat32(t, raw, p(".margin.csv"), 0)
		})
	}
	// The README's claim for these models: margins bit for bit, predictions
	// within one float32 step and bit for bit but for at most 1 value in
	// 2,000 (measured: 1 of 2,750, in count:poisson's exp).
	t.Logf("predictions: %d of %d one float32 step off", off, total)
	if off*2000 > total {
		t.Errorf("%d of %d predictions are one float32 step off XGBoost's; want at most 1 in 2,000", off, total)
	}
}

// agreeFloat32 compares two prediction files value by value, by position, as
// float32: got is predictd's output (a float32 value printed as float64),
// want is XGBoost's ('%.9g' of a float32), so both parse back to the float32
// each library computed. Each value may be at most steps float32 steps off;
// it returns how many were off at all, and how many it compared.
func agreeFloat32(t *testing.T, got, want string, steps int64) (off, n int) {
	t.Helper()
	g, w := fixture.ReadTable(t, got), fixture.ReadTable(t, want)
	if len(g.Header) != len(w.Header) || len(g.Rows) != len(w.Rows) {
		t.Fatalf("%s is %d×%d, %s is %d×%d", got, len(g.Rows), len(g.Header), want, len(w.Rows), len(w.Header))
	}
	bad := 0
	for i := range w.Rows {
		for j, wv := range w.Rows[i] {
			gv := g.Rows[i][j]
			d := fixture.Float32Steps(float32(gv), float32(wv))
			n++
			if d > 0 {
				off++
			}
			if d > steps {
				if bad < 5 {
					t.Errorf("%s row %d column %s: got %.9g, want %.9g (%d float32 steps, want at most %d)", got, i+2, w.Header[j], gv, wv, d, steps)
				}
				bad++
			}
		}
	}
	if bad > 0 {
		t.Errorf("%s vs %s: %d of %d values more than %d float32 steps apart", got, want, bad, n, steps)
	}
	return off, n
}

// renameHeader copies want with got's header line, so files that differ only
// in column names can be compared.
func renameHeader(t *testing.T, want, got string) string {
	t.Helper()
	w, err := os.ReadFile(want)
	if err != nil {
		t.Fatal(err)
	}
	g, err := os.ReadFile(got)
	if err != nil {
		t.Fatal(err)
	}
	hdr := string(g[:bytes.IndexByte(g, '\n')+1])
	body := string(w[bytes.IndexByte(w, '\n')+1:])
	p := filepath.Join(t.TempDir(), "want.csv")
	if err := os.WriteFile(p, []byte(hdr+body), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// lightgbmFixtures is testdata/lightgbm; a missing file fails the test
// naming it.
func lightgbmFixtures(t *testing.T) string {
	t.Helper()
	return fixture.LightGBMDir(t)
}

// tsvToCSV rewrites a headerless tab-separated file as CSV with the given
// header, dropping the first skip columns; short rows are padded with
// missing cells.
func tsvToCSV(t *testing.T, path string, header []string, skip int) string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	b.WriteString(strings.Join(header, ",") + "\n")
	for _, line := range strings.Split(strings.TrimRight(string(data), "\n"), "\n") {
		f := strings.Fields(line)[skip:]
		for len(f) < len(header) {
			f = append(f, "")
		}
		b.WriteString(strings.Join(f[:len(header)], ",") + "\n")
	}
	p := filepath.Join(t.TempDir(), filepath.Base(path)+".csv")
	if err := os.WriteFile(p, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestLightGBMFixtures(t *testing.T) {
	dir := lightgbmFixtures(t)
	repo := t.TempDir()
	cols := func(n int) []string {
		h := make([]string, n)
		for i := range h {
			h[i] = fmt.Sprintf("Column_%d", i)
		}
		return h
	}
	pcols := func(n int) []string {
		if n == 1 {
			return []string{"p"}
		}
		h := make([]string, n)
		for i := range h {
			h[i] = fmt.Sprintf("p%d", i)
		}
		return h
	}
	for _, tc := range []struct {
		model, rows, preds, raw string
		features, classes       int
		skip                    int
	}{
		{"lgmulticlass.model", "multiclass_test.tsv", "lgmulticlass_true_predictions.txt", "lgmulticlass_true_raw_predictions.txt", 28, 5, 1},
		{"lg_dart_breast_cancer.model", "breast_cancer_test.tsv", "lg_dart_breast_cancer_true_predictions.txt", "", 30, 1, 0},
		// A LightGBM 2.2 random forest: the plain average of its
		// probability leaves, no sigmoid.
		{"lg_rf_iris.model", "lg_rf_iris_test.tsv", "lg_rf_iris_true_predictions.txt", "", 4, 1, 1},
	} {
		t.Run(tc.model, func(t *testing.T) {
			name := strings.TrimSuffix(tc.model, ".model")
			mustRun(t, "import", "--from", "lightgbm", "--in", filepath.Join(dir, tc.model), "--repo", repo, "--name", name)
			in := tsvToCSV(t, filepath.Join(dir, tc.rows), cols(tc.features), tc.skip)
			want := tsvToCSV(t, filepath.Join(dir, tc.preds), pcols(tc.classes), 0)
			out := filepath.Join(t.TempDir(), "out.csv")
			mustRun(t, "score", "--repo", repo, "--model", name, "--in", in, "--out", out)
			// The README's LightGBM claim: probabilities within 5e-16
			// relative, margins bit for bit.
			agree(t, out, want, 5e-16)
			if tc.raw == "" {
				return
			}
			raw := filepath.Join(t.TempDir(), "raw.csv")
			mustRun(t, "score", "--repo", repo, "--model", name, "--in", in, "--out", raw, "--raw")
			wantRaw := tsvToCSV(t, filepath.Join(dir, tc.raw), pcols(tc.classes), 0)
			agree(t, raw, renameHeader(t, wantRaw, raw), 0)
		})
	}
}

func TestBadModelFile(t *testing.T) {
	good, err := os.ReadFile(fixture.Path("xgboost", "gbtree_binary_logistic.json"))
	if err != nil {
		t.Fatal(err)
	}
	native, err := os.ReadFile(fixture.Path("native", "logreg_binary.model.json"))
	if err != nil {
		t.Fatal(err)
	}
	// The first weight of the first layer made null (issue 12, finding 8:
	// it became 0 and the import exited 0).
	nullWeight := regexp.MustCompile(`("weights": \[\s*\[\s*)-?[0-9.e-]+`).ReplaceAllString(string(native), "${1}null")
	const lgbHeader = "tree\nversion=v3\nnum_class=1\nnum_tree_per_iteration=1\nlabel_index=0\nmax_feature_idx=0\nobjective=binary sigmoid:1\nfeature_names=a\nfeature_infos=[0:1]\n"
	const lgbTree = "num_leaves=1\nnum_cat=0\nleaf_value=0.5\nshrinkage=1\n\n\n"
	dir := t.TempDir()
	for _, tc := range []struct {
		name, from, body, want string
	}{
		{"truncated.json", "xgboost", string(good[:len(good)/3]), "truncated JSON"},
		{"objective.json", "xgboost", strings.Replace(string(good), "binary:logistic", "binary:nope", 1), `objective "binary:nope" is not supported`},
		{"empty.txt", "lightgbm", "", ""},
		{"header only.txt", "lightgbm", "tree\nversion=v3\nnum_class=1\n", "line 3"},
		{"bad num_class.txt", "lightgbm", "tree\nversion=v3\nnum_class=abc\nmax_feature_idx=0\nobjective=binary sigmoid:1\nfeature_names=a\n\nTree=0\nnum_leaves=1\nleaf_value=1\n\nend of trees\n", "num_class"},
		// Finding 8 and 11 (importers): null weights, inconsistent LightGBM
		// headers.
		{"null weight.json", "native", nullWeight, "layers[0].weights[0][0] is null, want a number"},
		{"repeated tree.txt", "lightgbm", lgbHeader + "\nTree=0\n" + lgbTree + "Tree=0\n" + lgbTree + "end of trees\n", "Tree=0"},
		{"huge num_class.txt", "lightgbm", strings.Replace(lgbHeader, "num_class=1", "num_class=1000000000", 1) + "\nTree=0\n" + lgbTree + "end of trees\n", "num_class"},
		// Finding 10: a 10 MB objective is quoted cut, not echoed whole.
		{"huge objective.json", "xgboost", strings.Replace(string(good), "binary:logistic", strings.Repeat("x", 10<<20), 1), "(10485760 bytes)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(dir, tc.name)
			if err := os.WriteFile(path, []byte(tc.body), 0o644); err != nil {
				t.Fatal(err)
			}
			repo := filepath.Join(t.TempDir(), "repo")
			r := predictd(t, "import", "--from", tc.from, "--in", path, "--repo", repo, "--name", "m")
			if r.code != 2 {
				t.Errorf("exit %d, want 2 (stderr %q)", r.code, r.stderr)
			}
			if !strings.Contains(r.stderr, path) || !strings.Contains(r.stderr, tc.want) {
				t.Errorf("stderr %.500q does not name the file and %q", r.stderr, tc.want)
			}
			if len(r.stderr) > 4096 {
				t.Errorf("stderr is %d bytes: a value from the file was echoed whole", len(r.stderr))
			}
			if _, err := os.Stat(filepath.Join(repo, "m")); !os.IsNotExist(err) {
				t.Errorf("a failed import left %s/m behind", repo)
			}
		})
	}
}

func TestScoreErrors(t *testing.T) {
	repo := t.TempDir()
	mustRun(t, "import", "--from", "xgboost", "--in", fixture.Path("xgboost", "gbtree_binary_logistic.json"), "--repo", repo, "--name", "m")
	feats := fixture.ReadTable(t, fixture.Path("xgboost", "gbtree_binary_logistic.csv")).Header
	dir := t.TempDir()
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	row := strings.TrimRight(strings.Repeat("1,", len(feats)), ",")
	t.Run("missing columns", func(t *testing.T) {
		in := write("missing.csv", strings.Join(feats[2:], ",")+"\n"+strings.TrimRight(strings.Repeat("1,", len(feats)-2), ",")+"\n")
		out := filepath.Join(dir, "out1.csv")
		r := predictd(t, "score", "--repo", repo, "--model", "m", "--in", in, "--out", out)
		if r.code == 0 || !strings.Contains(r.stderr, feats[0]) || !strings.Contains(r.stderr, feats[1]) {
			t.Errorf("exit %d, stderr %q: want both missing columns %s, %s named", r.code, r.stderr, feats[0], feats[1])
		}
		if _, err := os.Stat(out); !os.IsNotExist(err) {
			t.Error("a failed score left a file at --out")
		}
	})
	t.Run("bad cell", func(t *testing.T) {
		bad := strings.Replace(row, "1", "abc", 1)
		in := write("bad.csv", strings.Join(feats, ",")+"\n"+row+"\n"+row+"\n"+bad+"\n")
		out := write("out2.csv", "precious\n")
		r := predictd(t, "score", "--repo", repo, "--model", "m", "--in", in, "--out", out)
		if r.code == 0 || !strings.Contains(r.stderr, ":4") || !strings.Contains(r.stderr, feats[0]) || !strings.Contains(r.stderr, `"abc"`) {
			t.Errorf("exit %d, stderr %q: want line 4, column %s and the cell named", r.code, r.stderr, feats[0])
		}
		if b, _ := os.ReadFile(out); string(b) != "precious\n" {
			t.Errorf("a failed score changed the existing --out file to %q", b)
		}
	})
	t.Run("stdout", func(t *testing.T) {
		in := write("ok.csv", "extra,"+strings.Join(feats, ",")+"\nzzz,"+row+"\n"+"x,"+strings.Repeat(",", len(feats)-1)+"\n")
		out := mustRun(t, "score", "--repo", repo, "--model", "m", "--in", in)
		lines := strings.Split(strings.TrimSpace(out), "\n")
		if len(lines) != 3 || lines[0] != "p" {
			t.Errorf("stdout = %q, want a header p and 2 rows", out)
		}
	})
}

func TestInspectAndVersion(t *testing.T) {
	repo := t.TempDir()
	mustRun(t, "import", "--from", "native", "--in", fixture.Path("native", "mlp_binary_relu.model.json"), "--repo", repo, "--name", "mlp")
	out := mustRun(t, "inspect", "--repo", repo, "--model", "mlp")
	for _, want := range []string{"mlp version 1", "mlp (binary)", "native-json", "mlp_binary_relu.model.json", "mean_radius", "10 inputs -> 16 -> 8 -> 1"} {
		if !strings.Contains(out, want) {
			t.Errorf("inspect output lacks %q:\n%s", want, out)
		}
	}
	js := mustRun(t, "inspect", "--repo", repo, "--model", "mlp", "--json")
	var m map[string]any
	if err := json.Unmarshal([]byte(js), &m); err != nil || m["kind"] != "mlp" {
		t.Errorf("inspect --json = %q (%v)", js, err)
	}
	if v := mustRun(t, "version"); !strings.HasPrefix(v, "predictd ") {
		t.Errorf("version = %q", v)
	}
	if r := predictd(t, "import", "--from", "xgboost"); r.code != 2 || !strings.Contains(r.stderr, "--in") {
		t.Errorf("import without flags: exit %d, stderr %q; want 2 naming --in", r.code, r.stderr)
	}
	if r := predictd(t, "frobnicate"); r.code != 2 {
		t.Errorf("unknown command: exit %d, want 2", r.code)
	}
}

// TestBench runs `predictd bench` on a small imported model: JSON with rows
// from a file, the table with synthetic rows, and flag errors.
func TestBench(t *testing.T) {
	repo := t.TempDir()
	mustRun(t, "import", "--from", "xgboost", "--in", fixture.Path("xgboost", "gbtree_binary_logistic.json"), "--repo", repo, "--name", "m")
	in := fixture.Path("xgboost", "gbtree_binary_logistic.csv")

	js := mustRun(t, "bench", "--repo", repo, "--model", "m", "--in", in, "--batch", "1,64", "--threads", "1,2", "--duration", "30ms", "--json")
	var rep struct {
		Model   string `json:"model"`
		Version int    `json:"version"`
		Kind    string `json:"kind"`
		Results []struct {
			Batch         int     `json:"batch"`
			Threads       int     `json:"threads"`
			NsPerRow      float64 `json:"ns_per_row"`
			RowsPerSecond float64 `json:"rows_per_second"`
			P50           float64 `json:"batch_p50_us"`
			P99           float64 `json:"batch_p99_us"`
		} `json:"results"`
	}
	dec := json.NewDecoder(strings.NewReader(js))
	if err := dec.Decode(&rep); err != nil || dec.More() {
		t.Fatalf("bench --json printed %q: want exactly one JSON object (%v)", js, err)
	}
	if rep.Model != "m" || rep.Version != 1 || rep.Kind != "tree_ensemble" || len(rep.Results) != 4 {
		t.Fatalf("bench --json = %+v, want model m version 1 tree_ensemble with 4 results", rep)
	}
	want := [][2]int{{1, 1}, {1, 2}, {64, 1}, {64, 2}}
	for i, r := range rep.Results {
		if r.Batch != want[i][0] || r.Threads != want[i][1] || !(r.NsPerRow > 0 && r.RowsPerSecond > 0 && r.P50 > 0 && r.P99 >= r.P50) {
			t.Errorf("result %d = %+v, want batch=%d threads=%d and positive numbers", i, r, want[i][0], want[i][1])
		}
	}

	table := mustRun(t, "bench", "--repo", repo, "--model", "m", "--batch", "8", "--threads", "1", "--duration", "20ms")
	if !strings.Contains(table, "from synthetic") || !strings.Contains(table, "ns/row") || len(strings.Split(strings.TrimSpace(table), "\n")) != 3 {
		t.Errorf("bench table = %q, want a heading naming synthetic rows, a header and one line", table)
	}

	for _, tc := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"--model", "m"}, 2, "--repo"},
		{[]string{"--repo", repo, "--model", "m", "--batch", "1,0"}, 2, "--batch"},
		{[]string{"--repo", repo, "--model", "m", "--threads", "two"}, 2, "--threads"},
		{[]string{"--repo", repo, "--model", "m", "--duration", "0s"}, 2, "--duration"},
		{[]string{"--repo", repo, "--model", "nope"}, 1, "nope"},
		{[]string{"--repo", repo, "--model", "m", "--in", filepath.Join(repo, "rows.txt")}, 1, "rows.txt"},
	} {
		r := predictd(t, append([]string{"bench"}, tc.args...)...)
		if r.code != tc.code || !strings.Contains(r.stderr, tc.want) {
			t.Errorf("bench %s: exit %d, stderr %q; want exit %d naming %s", strings.Join(tc.args, " "), r.code, r.stderr, tc.code, tc.want)
		}
	}
}

// TestImportPrecision: --precision is recorded and shown by inspect, and a
// precision that does not fit the model is a usage error (exit 2).
func TestImportPrecision(t *testing.T) {
	repo := t.TempDir()
	r := predictd(t, "import", "--from", "native", "--in", fixture.Path("native", "logreg_binary.model.json"), "--repo", repo, "--name", "lr", "--precision", "float32")
	if r.code != 2 || !strings.Contains(r.stderr, "a linear model is always served in float64") {
		t.Errorf("import a linear model --precision float32: exit %d %q, want 2 saying linear models are float64", r.code, r.stderr)
	}
	mustRun(t, "import", "--from", "native", "--in", fixture.Path("native", "mlp_multiclass_tanh.model.json"), "--repo", repo, "--name", "mlp", "--precision", "float32")
	mustRun(t, "import", "--from", "native", "--in", fixture.Path("native", "mlp_multiclass_tanh.model.json"), "--repo", repo, "--name", "mlp64")
	for name, want := range map[string]string{"mlp": "float32", "mlp64": "float64"} {
		if out := mustRun(t, "inspect", "--repo", repo, "--model", name); !regexp.MustCompile(`(?m)^precision\s+` + want + ` `).MatchString(out) {
			t.Errorf("inspect %s does not say precision %s:\n%s", name, want, out)
		}
	}
}

// TestImportFeatureNames: an ONNX graph names only its input tensor, so its
// features are img_0..img_11; import --feature-names @FILE gives them the
// training data's names, and score reads a CSV by those names with the same
// predictions. A wrong count exits 2 naming the counts.
func TestImportFeatureNames(t *testing.T) {
	dir := t.TempDir()
	repo := filepath.Join(dir, "repo")
	var names []string
	for i := range 12 {
		names = append(names, fmt.Sprintf("pixel%02d", i))
	}
	namesFile := filepath.Join(dir, "names.txt")
	os.WriteFile(namesFile, []byte(strings.Join(names, "\n")+"\n"), 0o644)
	mustRun(t, "import", "--from", "onnx", "--in", fixture.Path("onnx", "flatten_gemm_sigmoid.onnx"), "--repo", repo, "--name", "img", "--feature-names", "@"+namesFile)
	out := mustRun(t, "inspect", "--repo", repo, "--model", "img")
	if !strings.Contains(out, "pixel00 (float)") || strings.Contains(out, "img_0 ") {
		t.Fatalf("inspect after --feature-names:\n%s", out)
	}
	data, err := os.ReadFile(fixture.Path("onnx", "flatten_gemm_sigmoid.csv"))
	if err != nil {
		t.Fatal(err)
	}
	in := filepath.Join(dir, "rows.csv")
	os.WriteFile(in, []byte(strings.Join(names, ",")+string(data[bytes.IndexByte(data, '\n'):])), 0o644)
	got := filepath.Join(dir, "got.csv")
	mustRun(t, "score", "--repo", repo, "--model", "img", "--in", in, "--out", got)
	agree(t, got, fixture.Path("onnx", "flatten_gemm_sigmoid.pred.csv"), 1e-5)

	r := predictd(t, "import", "--from", "onnx", "--in", fixture.Path("onnx", "flatten_gemm_sigmoid.onnx"), "--repo", repo, "--name", "img2", "--feature-names", "a,b")
	if r.code != 2 || !strings.Contains(r.stderr, "2 feature names for a model of 12 features") {
		t.Fatalf("--feature-names a,b: exit %d, %q; want exit 2 naming the counts", r.code, r.stderr)
	}
	mustRun(t, "import", "--from", "sklearn", "--in", fixture.Path("native", "logreg_binary.model.json"), "--repo", repo, "--name", "lr")
}
