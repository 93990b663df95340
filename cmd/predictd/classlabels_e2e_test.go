package main

import (
	"encoding/csv"
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// readCells reads a CSV file with a header: the header and the rows as
// text.
func readCells(t *testing.T, path string) (header []string, rows [][]string) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	all, err := csv.NewReader(f).ReadAll()
	if err != nil || len(all) < 2 {
		t.Fatalf("%s: %d lines, %v", path, len(all), err)
	}
	return all[0], all[1:]
}

// numberRows turns text rows into instances: numbers, a blank cell null.
func numberRows(t *testing.T, rows [][]string) [][]any {
	t.Helper()
	out := make([][]any, len(rows))
	for i, r := range rows {
		out[i] = make([]any, len(r))
		for j, cell := range r {
			if cell == "" {
				continue
			}
			v, err := strconv.ParseFloat(cell, 64)
			if err != nil {
				t.Fatalf("row %d column %d %q: %v", i+1, j, cell, err)
			}
			out[i][j] = v
		}
	}
	return out
}

// servedLabels asks the daemon for model name's labels of instances, as
// the OIP output "label" and as TF Serving's return_labels, and checks the
// two agree and the OIP output is BYTES.
func servedLabels(t *testing.T, d *daemon, name string, instances [][]any) []string {
	t.Helper()
	c := d.client(false)
	code, body := do(t, c, "POST", d.url(false, "/v2/models/"+name+"/infer"), map[string]any{
		"outputs": []map[string]any{{"name": "label"}},
		"inputs":  []map[string]any{{"name": "input", "datatype": "FP64", "shape": []int{len(instances), len(instances[0])}, "data": instances}},
	})
	var oip struct {
		Outputs []struct {
			Name, Datatype string
			Data           []string
		}
	}
	if err := json.Unmarshal(body, &oip); code != 200 || err != nil || len(oip.Outputs) != 1 {
		t.Fatalf("%s: OIP label: %d %.300s (%v)", name, code, body, err)
	}
	if o := oip.Outputs[0]; o.Name != "label" || o.Datatype != "BYTES" || len(o.Data) != len(instances) {
		t.Fatalf("%s: OIP label output %s %s with %d values, want label BYTES with %d", name, o.Name, o.Datatype, len(o.Data), len(instances))
	}
	code, body = do(t, c, "POST", d.url(false, "/v1/models/"+name+":predict"), map[string]any{"return_labels": true, "instances": instances})
	var tf struct{ Labels []string }
	if err := json.Unmarshal(body, &tf); code != 200 || err != nil {
		t.Fatalf("%s: TF Serving return_labels: %d %.300s (%v)", name, code, body, err)
	}
	for i := range instances {
		if i >= len(tf.Labels) || tf.Labels[i] != oip.Outputs[0].Data[i] {
			t.Fatalf("%s: row %d: TF Serving labels %q, OIP %q; want the same", name, i+1, tf.Labels, oip.Outputs[0].Data)
		}
	}
	return oip.Outputs[0].Data
}

// TestClassLabelsServeSklearn imports scikit-learn ONNX classifiers with
// string classes (iris names, neg/pos) with the real binary, serves them,
// and asks for every test row's label as the OIP output "label" and with
// TF Serving's return_labels: each is scikit-learn's predict
// (NAME.expected.csv's label column), row by row; inspect lists the
// classes.
func TestClassLabelsServeSklearn(t *testing.T) {
	repo := filepath.Join(t.TempDir(), "repo")
	fix := func(name string) string { return filepath.Join("..", "..", "testdata", "onnx", "sklearn", name) }
	cases := []struct{ name, classes string }{
		{"logreg_multinomial", `class labels  0 "setosa", 1 "versicolor", 2 "virginica"`},
		{"mlp_binary", `class labels  0 "neg", 1 "pos"`},
	}
	for _, c := range cases {
		mustRun(t, "import", "--from", "onnx", "--in", fix(c.name+".onnx"), "--repo", repo, "--name", c.name)
		if out := mustRun(t, "inspect", "--repo", repo, "--model", c.name); !strings.Contains(out, c.classes) {
			t.Errorf("inspect %s does not show %q:\n%s", c.name, c.classes, out)
		}
	}
	d := startServe(t, nil, "--repo", repo)
	for _, c := range cases {
		_, rows := readCells(t, fix(c.name+".csv"))
		header, expected := readCells(t, fix(c.name+".expected.csv"))
		if header[0] != "label" || len(expected) != len(rows) {
			t.Fatalf("%s: expected.csv header %v with %d rows, want label first and %d rows", c.name, header, len(expected), len(rows))
		}
		got := servedLabels(t, d, c.name, numberRows(t, rows))
		for i, want := range expected {
			if got[i] != want[0] {
				t.Errorf("%s row %d (%v): served label %q, scikit-learn's predict %q", c.name, i+1, rows[i], got[i], want[0])
			}
		}
	}
}

// TestClassLabelsImportFlag: import --class-labels names an XGBoost
// binary model's classes: served labels are the name of class 1 where
// XGBoost's probability is above 0.5, else class 0's, row by row; inspect
// --json has them. It is refused, exit 2 naming the flag, for a
// regression model, a score (logitraw) model and a wrong count.
func TestClassLabelsImportFlag(t *testing.T) {
	dir := t.TempDir()
	repo := filepath.Join(dir, "repo")
	fix := func(name string) string { return filepath.Join("..", "..", "testdata", "xgboost", name) }
	file := filepath.Join(dir, "labels.txt")
	if err := os.WriteFile(file, []byte("benign\n\n  malignant \n"), 0o644); err != nil {
		t.Fatal(err)
	}
	mustRun(t, "import", "--from", "xgboost", "--in", fix("gbtree_binary_logistic.json"), "--repo", repo, "--name", "bc", "--class-labels", "@"+file)
	var m struct {
		ClassLabels []string `json:"class_labels"`
	}
	if out := mustRun(t, "inspect", "--repo", repo, "--model", "bc", "--json"); json.Unmarshal([]byte(out), &m) != nil || strings.Join(m.ClassLabels, ",") != "benign,malignant" {
		t.Errorf("inspect --json class_labels = %q, want [benign malignant]:\n%.500s", m.ClassLabels, out)
	}
	for _, c := range []struct{ file, labels, want string }{
		{"gbtree_reg_squarederror.json", "a,b", "a regression model has no classes to name"},
		{"gbtree_binary_logitraw.json", "a,b", "has no class label to name"},
		{"gbtree_binary_logistic.json", "a,b,c", "3 class labels for a binary model of 2 classes: give 2"},
	} {
		r := predictd(t, "import", "--from", "xgboost", "--in", fix(c.file), "--repo", repo, "--name", "refused", "--class-labels", c.labels)
		if r.code != 2 || !strings.Contains(r.stderr, "--class-labels: ") || !strings.Contains(r.stderr, c.want) {
			t.Errorf("import %s --class-labels %s: exit %d, stderr %q; want 2 saying %q", c.file, c.labels, r.code, r.stderr, c.want)
		}
	}

	d := startServe(t, nil, "--repo", repo)
	_, rows := readCells(t, fix("gbtree_binary_logistic.csv"))
	p := column(t, fix("gbtree_binary_logistic.pred.csv"), 0)
	got := servedLabels(t, d, "bc", numberRows(t, rows))
	for i := range p {
		want := "benign"
		if p[i] > 0.5 {
			want = "malignant"
		}
		if got[i] != want {
			t.Errorf("row %d: served label %q, want %q (XGBoost's p %v)", i+1, got[i], want, p[i])
		}
	}
}
