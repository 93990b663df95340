package main

import (
	"encoding/csv"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/predictd/predictd/model"
)

// TestSklearnONNXServeScore imports the graph skl2onnx writes for a
// ColumnTransformer (StandardScaler on a, b; OneHotEncoder on the string
// column color) + LogisticRegression, one input per DataFrame column, with
// the real binary; scores testdata/onnx/sklearn/coltrans_onehot.csv with
// `predictd score`, serves it and sends the same rows as TF Serving
// instances and OIP per-column tensors (color as BYTES, an unseen color
// included): score is within 1e-7 of scikit-learn's predict_proba (the
// model's float32 weights; measured 2.3e-8 in model/onnx's
// TestSklearnONNX) and serve equals score bit for bit.
func TestSklearnONNXServeScore(t *testing.T) {
	dir := t.TempDir()
	repo := filepath.Join(dir, "repo")
	fix := func(name string) string { return filepath.Join("..", "..", "testdata", "onnx", "sklearn", name) }
	mustRun(t, "import", "--from", "onnx", "--in", fix("coltrans_onehot.onnx"), "--repo", repo, "--name", "ct")

	inspect := mustRun(t, "inspect", "--repo", repo, "--model", "ct")
	for _, want := range []string{"2  color (string)", "3 features -> 6 model columns", "a <- a: scaler", "color <- color: onehot (4 categories)"} {
		if !strings.Contains(inspect, want) {
			t.Errorf("inspect does not show %q:\n%s", want, inspect)
		}
	}

	f, err := os.Open(fix("coltrans_onehot.csv"))
	if err != nil {
		t.Fatal(err)
	}
	rows, err := csv.NewReader(f).ReadAll()
	f.Close()
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(rows[0], []string{"a", "b", "color"}) {
		t.Fatalf("coltrans_onehot.csv header %v, want a, b, color", rows[0])
	}
	rows = rows[1:]
	unseen := 0
	for _, r := range rows {
		if !slices.Contains([]string{"blue", "green", "red", "yellow"}, r[2]) {
			unseen++
		}
	}
	if unseen == 0 {
		t.Fatal("coltrans_onehot.csv has no unseen color; the test needs one")
	}

	out := filepath.Join(dir, "scored.csv")
	mustRun(t, "score", "--repo", repo, "--model", "ct", "--in", fix("coltrans_onehot.csv"), "--out", out)
	scored := column(t, out, 0)
	expected := column(t, fix("coltrans_onehot.expected.csv"), 2) // proba_1
	if len(scored) != len(expected) {
		t.Fatalf("score wrote %d rows, scikit-learn %d", len(scored), len(expected))
	}
	for i := range expected {
		if d := math.Abs(scored[i] - expected[i]); d > 1e-7 {
			t.Errorf("row %d (%v): score p = %v, scikit-learn %v (off %.3g, want at most 1e-7)", i+1, rows[i], scored[i], expected[i], d)
		}
	}

	d := startServe(t, nil, "--repo", repo)
	c := d.client(false)
	var inst []map[string]any
	cols := map[string][]any{}
	for _, r := range rows {
		a, err1 := strconv.ParseFloat(r[0], 64)
		b, err2 := strconv.ParseFloat(r[1], 64)
		if err1 != nil || err2 != nil {
			t.Fatalf("row %v: %v %v", r, err1, err2)
		}
		inst = append(inst, map[string]any{"a": a, "b": b, "color": r[2]})
		cols["a"] = append(cols["a"], a)
		cols["b"] = append(cols["b"], b)
		cols["color"] = append(cols["color"], r[2])
	}
	code, body := do(t, c, "POST", d.url(false, "/v1/models/ct:predict"), map[string]any{"instances": inst})
	if code != 200 {
		t.Fatalf("TF Serving predict: %d %s", code, body)
	}
	var resp struct {
		Predictions json.RawMessage `json:"predictions"`
	}
	if err := json.Unmarshal(body, &resp); err != nil {
		t.Fatal(err)
	}
	checkBits(t, "serve (TF Serving rows) against score", scored, flattenPredictions(t, resp.Predictions))

	var inputs []map[string]any
	for _, in := range []struct{ name, dtype string }{{"a", "FP64"}, {"b", "FP64"}, {"color", "BYTES"}} {
		inputs = append(inputs, map[string]any{"name": in.name, "datatype": in.dtype, "shape": []int{len(rows)}, "data": cols[in.name]})
	}
	code, body = do(t, c, "POST", d.url(false, "/v2/models/ct/infer"), map[string]any{"inputs": inputs})
	if code != 200 {
		t.Fatalf("OIP infer: %d %s", code, body)
	}
	var oip struct {
		Outputs []struct {
			Data []float64 `json:"data"`
		} `json:"outputs"`
	}
	if err := json.Unmarshal(body, &oip); err != nil || len(oip.Outputs) == 0 {
		t.Fatalf("OIP response %s: %v", body, err)
	}
	checkBits(t, "serve (OIP tensors) against score", scored, oip.Outputs[0].Data)
}

// TestSklearnONNXImportOptions: import's options on a graph with
// preprocessing. --reference profiles the raw rows through the graph's
// transform, as `predictd profile` does for the written version (the two
// references are equal but for their creation time); --feature-names is
// refused up front, naming the graph inputs, since the transform reads
// them by name.
func TestSklearnONNXImportOptions(t *testing.T) {
	repo := filepath.Join(t.TempDir(), "repo")
	fix := func(name string) string { return filepath.Join("..", "..", "testdata", "onnx", "sklearn", name) }
	mustRun(t, "import", "--from", "onnx", "--in", fix("coltrans_onehot.onnx"), "--repo", repo, "--name", "withref", "--reference", fix("coltrans_onehot.csv"))
	mustRun(t, "import", "--from", "onnx", "--in", fix("coltrans_onehot.onnx"), "--repo", repo, "--name", "later")
	mustRun(t, "profile", "--repo", repo, "--model", "later", "--in", fix("coltrans_onehot.csv"))
	refs := make([]*model.Reference, 2)
	for i, name := range []string{"withref", "later"} {
		l, err := model.Open(repo, name, 1)
		if err != nil {
			t.Fatal(err)
		}
		if refs[i], err = model.ReadReference(l.Dir, l.Manifest); err != nil || refs[i] == nil {
			t.Fatalf("%s: reference %v, %v", name, refs[i], err)
		}
		refs[i].Created = time.Time{}
	}
	if got, want := refs[0].Features[2].Name, "color=blue"; got != want {
		t.Errorf("import --reference profiled feature 2 %q, want the model column %q", got, want)
	}
	a, _ := json.Marshal(refs[0])
	b, _ := json.Marshal(refs[1])
	if string(a) != string(b) {
		t.Errorf("import --reference differs from profile of the same rows:\nimport  %.300s\nprofile %.300s", a, b)
	}

	r := predictd(t, "import", "--from", "onnx", "--in", fix("coltrans_onehot.onnx"), "--repo", repo, "--name", "renamed", "--feature-names", "x,y,z")
	if r.code != 2 || !strings.Contains(r.stderr, "graph inputs (a, b, color)") || !strings.Contains(r.stderr, "initial_types") {
		t.Errorf("--feature-names on a graph with preprocessing: exit %d, stderr %q; want 2 naming the inputs and initial_types", r.code, r.stderr)
	}
}
