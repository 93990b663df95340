package eval

import (
	"context"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/predictd/predictd/model"
	"github.com/predictd/predictd/model/importer"
	"github.com/predictd/predictd/monitor/quality"
)

// labelled imports testdata/xgboost/NAME.json and writes its rows with a
// label column y (label(i) for row i) to a temporary CSV.
func labelled(t *testing.T, name string, label func(i int) int) (repo, in string) {
	t.Helper()
	repo = t.TempDir()
	imp, err := importer.ImportFile("xgboost", filepath.Join("..", "..", "testdata", "xgboost", name+".json"))
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := model.Write(repo, "m", imp, model.WriteOptions{}); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(filepath.Join("..", "..", "testdata", "xgboost", name+".csv"))
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(data)), "\n")
	lines[0] += ",y"
	for i := 1; i < len(lines); i++ {
		lines[i] += "," + strconv.Itoa(label(i-1))
	}
	in = filepath.Join(t.TempDir(), "rows.csv")
	if err := os.WriteFile(in, []byte(strings.Join(lines, "\n")+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	return repo, in
}

// TestClassIndexModel: a multiclass model that outputs only the class
// index (multi:softmax) is judged on accuracy and precision, recall and F1;
// the probability metrics are undefined.
func TestClassIndexModel(t *testing.T) {
	repo, in := labelled(t, "gbtree_multi_softmax", func(i int) int { return i % 3 })
	rep, err := Run(context.Background(), Options{Repo: repo, Model: "m", In: in, Label: "y"})
	if err != nil {
		t.Fatal(err)
	}
	l, err := model.Open(repo, "m", 0)
	if err != nil {
		t.Fatal(err)
	}
	preds, _, err := predict(context.Background(), l, &Options{In: in})
	if err != nil {
		t.Fatal(err)
	}
	y, pred := make([]int, len(preds)), make([]int, len(preds))
	for i, p := range preds {
		y[i], pred[i] = i%3, int(p)
	}
	a := quality.Averages(quality.MulticlassConfusion(y, pred, 3))
	if rep.Task != TaskMulticlass || rep.Rows != 250 || rep.Overall.Accuracy != quality.MulticlassAccuracy(y, pred) || rep.Overall.F1Macro != a.F1Macro {
		t.Errorf("report %s, %d rows, accuracy %v, F1 macro %v; want multiclass, 250, %v, %v", rep.Task, rep.Rows, rep.Overall.Accuracy, rep.Overall.F1Macro, quality.MulticlassAccuracy(y, pred), a.F1Macro)
	}
	if !math.IsNaN(rep.Overall.LogLoss) || !math.IsNaN(rep.Overall.AUC) || rep.Curves != nil || len(rep.Confusion) != 3 {
		t.Errorf("log loss %v, AUC %v, curves %v, confusion %v: want no probability metrics and a 3×3 matrix", rep.Overall.LogLoss, rep.Overall.AUC, rep.Curves, rep.Confusion)
	}
	if slices.Contains(rep.Shown(), "log_loss") || !slices.Contains(rep.Shown(), "f1_macro") {
		t.Errorf("shown %v", rep.Shown())
	}
}

// TestScoreModel: a binary model whose output is an untransformed score
// (binary:logitraw) is judged on the ranking metrics only.
func TestScoreModel(t *testing.T) {
	repo, in := labelled(t, "gbtree_binary_logitraw", func(i int) int { return (i * 7 / 3) % 2 })
	rep, err := Run(context.Background(), Options{Repo: repo, Model: "m", In: in, Label: "y"})
	if err != nil {
		t.Fatal(err)
	}
	l, err := model.Open(repo, "m", 0)
	if err != nil {
		t.Fatal(err)
	}
	preds, _, err := predict(context.Background(), l, &Options{In: in})
	if err != nil {
		t.Fatal(err)
	}
	y := make([]float64, len(preds))
	for i := range y {
		y[i] = float64((i * 7 / 3) % 2)
	}
	if rep.Overall.AUC != quality.ROCAUC(y, preds) || rep.Overall.PRAUC != quality.AveragePrecision(y, preds) || math.IsNaN(rep.Overall.AUC) {
		t.Errorf("AUC %v, PR AUC %v; want %v, %v", rep.Overall.AUC, rep.Overall.PRAUC, quality.ROCAUC(y, preds), quality.AveragePrecision(y, preds))
	}
	for _, name := range []string{"log_loss", "brier", "accuracy", "f1", "ece"} {
		if v, _ := rep.Overall.Get(name); !math.IsNaN(v) {
			t.Errorf("%s = %v on a raw score, want undefined", name, v)
		}
	}
	if !slices.Equal(rep.Shown(), []string{"auc", "pr_auc"}) || rep.Confusion != nil || len(rep.Curves.Calibration.Count) != 0 || len(rep.Curves.ROC.FPR) == 0 {
		t.Errorf("shown %v, confusion %v, curves %+v", rep.Shown(), rep.Confusion, rep.Curves)
	}
	if _, err := Run(context.Background(), Options{Repo: repo, Model: "m", In: in, Label: "y", Protected: "y2"}); err == nil || !strings.Contains(err.Error(), "untransformed score") {
		t.Errorf("fairness on a raw score: err %v, want a refusal", err)
	}
}
