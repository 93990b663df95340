package drift

import (
	"encoding/json"
	"fmt"
	"math"
	"os"
	"slices"
	"testing"

	"github.com/predictd/predictd/internal/fixture"
)

// The oracle files: testdata/drift/*.json, written by
// testdata/gen/drift_oracle.py with scipy 1.10.1 and numpy 1.24.2.

// tol is the agreement asked of every statistic: within 1e-9 of scipy's
// value, relative to it when it exceeds 1 (absolute below), and p-values
// within 1e-9 absolute.
const tol = 1e-9

func readOracle(t *testing.T, name string, v any) {
	t.Helper()
	path := fixture.Path("drift", name)
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("oracle fixture %s: %v (regenerate: /usr/bin/python3 testdata/gen/drift_oracle.py)", path, err)
	}
	if err := json.Unmarshal(data, v); err != nil {
		t.Fatalf("oracle fixture %s: %v", path, err)
	}
}

// errs tracks the largest absolute and relative errors of one statistic;
// relative ones only where scipy's value is at least 1e-6 (below, a p-value
// of 1e-190 or a statistic of 1e-31 that should be 0, the absolute error
// says more).
type errs struct{ abs, rel float64 }

func (e *errs) String() string { return fmt.Sprintf("max abs %.3g, rel %.3g", e.abs, e.rel) }

// check compares got with want (nil: scipy's NaN), records the error and
// fails past tol: relative to |want| when above 1, else absolute.
func (e *errs) check(t *testing.T, what string, got float64, want *float64) {
	t.Helper()
	if want == nil {
		if !math.IsNaN(got) {
			t.Errorf("%s = %v, want NaN (scipy's answer)", what, got)
		}
		return
	}
	w := *want
	if got == w {
		return
	}
	abs := math.Abs(got - w)
	rel := abs / math.Abs(w)
	if math.IsNaN(abs) || math.IsInf(abs, 0) {
		t.Errorf("%s = %v, want %v", what, got, w)
		return
	}
	e.abs = max(e.abs, abs)
	if math.Abs(w) >= 1e-6 {
		e.rel = max(e.rel, rel)
	}
	if abs > tol*max(1, math.Abs(w)) {
		t.Errorf("%s = %.17g, want %.17g (abs error %.3g)", what, got, w, abs)
	}
}

type binnedCase struct {
	Name string   `json:"name"`
	Ref  []int64  `json:"ref"`
	Win  []int64  `json:"win"`
	PSI  *float64 `json:"psi"`
	JS   *float64 `json:"js"`
	Chi2 *struct {
		Stat *float64 `json:"stat"`
		P    *float64 `json:"p"`
		DOF  int      `json:"dof"`
	} `json:"chi2"`
}

func TestBinnedOracle(t *testing.T) {
	var fx struct {
		Epsilon float64      `json:"epsilon"`
		Cases   []binnedCase `json:"cases"`
	}
	readOracle(t, "binned.json", &fx)
	if fx.Epsilon != Epsilon {
		t.Fatalf("binned.json was made with epsilon %v, drift.Epsilon is %v: regenerate it", fx.Epsilon, Epsilon)
	}
	if len(fx.Cases) < 40 {
		t.Fatalf("binned.json has %d cases, want the generator's 40 or more", len(fx.Cases))
	}
	var psi, js, chi, chiP errs
	for _, c := range fx.Cases {
		psi.check(t, fmt.Sprintf("PSI(%s)", c.Name), PSI(c.Ref, c.Win), c.PSI)
		js.check(t, fmt.Sprintf("JSDistance(%s)", c.Name), JSDistance(c.Ref, c.Win), c.JS)
		stat, p, dof := ChiSquare(c.Ref, c.Win)
		if c.Chi2 == nil {
			// scipy has no answer for fewer than 2 categories; ours is
			// documented: nothing can differ.
			if stat != 0 || p != 1 || dof != 0 {
				t.Errorf("ChiSquare(%s) = %v, %v, %d; want 0, 1, 0 (fewer than 2 categories)", c.Name, stat, p, dof)
			}
			continue
		}
		if dof != c.Chi2.DOF {
			t.Errorf("ChiSquare(%s) dof = %d, want %d", c.Name, dof, c.Chi2.DOF)
		}
		chi.check(t, fmt.Sprintf("ChiSquare(%s) stat", c.Name), stat, c.Chi2.Stat)
		chiP.check(t, fmt.Sprintf("ChiSquare(%s) p", c.Name), p, c.Chi2.P)
	}
	t.Logf("%d cases: PSI %s; JS %s; chi-square %s, p-value %s", len(fx.Cases), &psi, &js, &chi, &chiP)
}

// sample is an oracle sample: a list of numbers, or a generator spec.
type sample []float64

func (s *sample) UnmarshalJSON(b []byte) error {
	if len(b) > 0 && b[0] == '[' {
		return json.Unmarshal(b, (*[]float64)(s))
	}
	var g struct {
		Gen struct {
			N, Mul, Add, Mod int64
			Scale, Offset    float64
		} `json:"gen"`
	}
	if err := json.Unmarshal(b, &g); err != nil {
		return err
	}
	v := make([]float64, g.Gen.N)
	for i := range v {
		x := float64((g.Gen.Mul*int64(i) + g.Gen.Add) % g.Gen.Mod)
		// The conversion rounds the product, so no fused multiply-add
		// departs from numpy's two roundings.
		v[i] = float64(x*g.Gen.Scale) + g.Gen.Offset
	}
	*s = v
	return nil
}

type sampleCase struct {
	Name string `json:"name"`
	A    sample `json:"a"`
	B    sample `json:"b"`
	KS   struct {
		Stat *float64 `json:"stat"`
		P    *float64 `json:"p"`
	} `json:"ks"`
	Wasserstein *float64 `json:"wasserstein"`
}

func TestSamplesOracle(t *testing.T) {
	var fx struct {
		Cases []sampleCase `json:"cases"`
	}
	readOracle(t, "samples.json", &fx)
	if len(fx.Cases) < 40 {
		t.Fatalf("samples.json has %d cases, want the generator's 40 or more", len(fx.Cases))
	}
	var ks, ksP, w errs
	for _, c := range fx.Cases {
		a, b := slices.Sorted(slices.Values(c.A)), slices.Sorted(slices.Values(c.B))
		d, p := KS(a, b)
		ks.check(t, fmt.Sprintf("KS(%s) statistic", c.Name), d, c.KS.Stat)
		ksP.check(t, fmt.Sprintf("KS(%s) p-value", c.Name), p, c.KS.P)
		if ds := KSStatistic(a, b); math.Abs(ds-d) > 1e-15 {
			t.Errorf("KSStatistic(%s) = %v, KS's rounded statistic %v", c.Name, ds, d)
		}
		w.check(t, fmt.Sprintf("Wasserstein(%s)", c.Name), Wasserstein(a, b), c.Wasserstein)
	}
	t.Logf("%d cases: KS statistic %s, p-value %s; Wasserstein %s", len(fx.Cases), &ks, &ksP, &w)
}
