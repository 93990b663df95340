package labels

import (
	"math"
	"testing"
)

// TestModelNamesPrefix: a model name is any string without 0x00; two
// models, one's name a prefix of the other's (the server records a
// shadow's predictions as "<model>@shadow:<label>"), keep their ids,
// labels and reports apart, though the ids are the same.
func TestModelNamesPrefix(t *testing.T) {
	c := &clock{t: t0}
	s := mustOpen(t, t.TempDir(), testOptions(c))
	defer s.Close()
	for _, m := range []string{"lr", "lr@shadow:v1"} {
		if err := s.Configure(m, Spec{Task: Binary}); err != nil {
			t.Fatal(err)
		}
	}
	// Both record "a" and "b"; only lr records "c". Scores differ by model.
	for _, r := range []struct {
		model string
		id    string
		p     float64
	}{
		{"lr", "a", 0.9}, {"lr", "b", 0.2}, {"lr", "c", 0.7},
		{"lr@shadow:v1", "a", 0.1}, {"lr@shadow:v1", "b", 0.8},
	} {
		if !s.Record(r.model, 2, r.id, t0, []float64{r.p}, nil) {
			t.Fatalf("Record(%s, %s) dropped", r.model, r.id)
		}
	}
	ls := []Label{{ID: "a", Value: 1}, {ID: "b", Value: 0}, {ID: "c", Value: 1}}
	for _, c := range []struct {
		model                  string
		joined, unknown, brier float64
	}{
		// lr: (0.1² + 0.2² + 0.3²) / 3; the shadow: (0.9² + 0.8²) / 2.
		{"lr", 3, 0, (0.01 + 0.04 + 0.09) / 3},
		{"lr@shadow:v1", 2, 1, (0.81 + 0.64) / 2},
	} {
		res, err := s.Label(c.model, ls)
		if err != nil {
			t.Fatal(err)
		}
		if float64(res.Joined) != c.joined || float64(res.Unknown) != c.unknown {
			t.Errorf("Label(%s, a b c): joined %d, unknown %d; want %v, %v", c.model, res.Joined, res.Unknown, c.joined, c.unknown)
		}
		rep, err := s.Report(c.model, 2)
		if err != nil {
			t.Fatal(err)
		}
		w := rep.Windows[0]
		if float64(w.Labelled) != c.joined || w.Unlabelled != 0 || w.Binary == nil || !near(float64(w.Binary.Brier), c.brier) {
			t.Errorf("Report(%s, 2): labelled %d, unlabelled %d, binary %+v; want %v labelled, 0 unlabelled, Brier %v", c.model, w.Labelled, w.Unlabelled, w.Binary, c.joined, c.brier)
		}
	}
}

func near(got, want float64) bool { return math.Abs(got-want) <= 1e-12 }
