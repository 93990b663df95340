package eval

import (
	"context"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/predictd/predictd/internal/fixture"
	"github.com/predictd/predictd/model"
	"github.com/predictd/predictd/model/transform"
	"github.com/predictd/predictd/monitor/quality"
)

// TestRunTransformed: a version with feature transforms is evaluated on a
// file of its raw inputs (a number and a category string, blank cells
// imputed), its predictions those of model.TransformRow and Predict row by
// row, so its AUC and log loss are the metrics of those.
func TestRunTransformed(t *testing.T) {
	p, err := transform.FitRows([]transform.Feature{
		{Name: "amount", Columns: []string{"amount"}, Steps: []transform.Step{{Op: transform.OpImpute, Strategy: "median"}, {Op: transform.OpStandardize}}},
		{Name: "country", Columns: []string{"country"}, Encode: &transform.Encoding{Op: transform.EncOneHot, Unknown: "zeros"}},
	}, []transform.Row{
		{transform.Num(1), transform.Str("DE")}, {transform.Num(7), transform.Str("US")}, {transform.Value{}, transform.Str("FR")},
	})
	if err != nil {
		t.Fatal(err)
	}
	imp := fixture.LogisticOver(p, 0.7, -0.4, 0.2)
	repo := t.TempDir()
	if _, _, err := model.Write(repo, "tm", imp, model.WriteOptions{Transform: p}); err != nil {
		t.Fatal(err)
	}
	l, err := model.Open(repo, "tm", 0)
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	b.WriteString("country,y,amount\n")
	countries := []string{"DE", "US", "FR", "", "IT"}
	var y, want []float64
	for i := range 300 {
		amount, row := "", transform.Row{transform.Value{}, transform.Value{}}
		if i%9 != 4 {
			a := float64(i%23) * 0.61
			amount, row[0] = fmt.Sprint(a), transform.Num(a)
		}
		if c := countries[i%5]; c != "" {
			row[1] = transform.Str(c)
		}
		label := float64((i*7/3 + i%5) % 2)
		fmt.Fprintf(&b, "%s,%v,%s\n", countries[i%5], label, amount)
		x, err := model.TransformRow(nil, l.Transform, false, row)
		if err != nil {
			t.Fatal(err)
		}
		y, want = append(y, label), l.Model.Predict(want, x, false)
	}
	in := filepath.Join(t.TempDir(), "holdout.csv")
	if err := os.WriteFile(in, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	rep, err := Run(context.Background(), Options{Repo: repo, Model: "tm", In: in, Label: "y"})
	if err != nil {
		t.Fatal(err)
	}
	auc, ll := quality.ROCAUC(y, want), quality.LogLoss(y, want)
	if rep.Rows != 300 || rep.Overall.AUC != auc || rep.Overall.LogLoss != ll || math.IsNaN(auc) {
		t.Errorf("Run on the raw inputs: %d rows, AUC %v, log loss %v; want 300, %v, %v (TransformRow+Predict)", rep.Rows, rep.Overall.AUC, rep.Overall.LogLoss, auc, ll)
	}
}
