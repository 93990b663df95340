package candidates

import (
	"context"
	"math"
	"testing"

	"github.com/predictd/predictd/internal/fixture"
	"github.com/predictd/predictd/model"
	"github.com/predictd/predictd/model/transform"
	"github.com/predictd/predictd/tools/eval"
)

// TestRunTransformed: a version with feature transforms (raw inputs f0,
// imputed as the holdout misses some, and the category segment) is
// compared beside an imported one: it is evaluated on the holdout's raw
// columns, as eval.Run does alone, and timed on its transformed rows
// (BenchRows counted in its columns).
func TestRunTransformed(t *testing.T) {
	repo := repoOf(t, "clf_tiny")
	p, err := transform.FitRows([]transform.Feature{
		{Name: "f0", Columns: []string{"f0"}, Steps: []transform.Step{{Op: transform.OpImpute, Strategy: "mean"}, {Op: transform.OpStandardize}}},
		{Name: "segment", Columns: []string{"segment"}, Encode: &transform.Encoding{Op: transform.EncOneHot, Unknown: "zeros"}},
	}, []transform.Row{{transform.Num(-1), transform.Str("a")}, {transform.Num(2), transform.Str("b")}, {transform.Num(0), transform.Str("c")}})
	if err != nil {
		t.Fatal(err)
	}
	imp := fixture.LogisticOver(p, 1, -0.5, 0)
	if _, _, err := model.Write(repo, "tm", imp, model.WriteOptions{Transform: p}); err != nil {
		t.Fatal(err)
	}
	o := quick(repo, Candidate{"clf_tiny", 0}, Candidate{"tm", 0})
	o.Rounds = 1
	rep, err := Run(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	ev, err := eval.Run(context.Background(), eval.Options{Repo: repo, Model: "tm", In: holdout, Label: "y"})
	if err != nil {
		t.Fatal(err)
	}
	r := rep.Candidates[1]
	if r.Label != "tm:1" || float64(r.Quality.AUC) != ev.Overall.AUC || math.IsNaN(ev.Overall.AUC) || rep.BenchRows != 100 || !(r.RowsPerSecond > 0) {
		t.Errorf("candidate %s: AUC %v (eval.Run alone: %v), bench rows %d, %v rows/s; want tm:1, the same AUC, 100 rows, a speed", r.Label, r.Quality.AUC, ev.Overall.AUC, rep.BenchRows, r.RowsPerSecond)
	}
}
