package eval

import (
	"encoding/json"
	"math"
	"testing"
)

// FuzzMetricsJSON: whatever Metrics.UnmarshalJSON accepts, MarshalJSON
// writes as valid JSON that reads back to the same metrics (NaN as NaN).
func FuzzMetricsJSON(f *testing.F) {
	f.Add([]byte(`{"auc":0.75,"log_loss":null,"rmse":1e300}`))
	f.Add([]byte(`{}`))
	f.Add([]byte(`{"f1_macro":-0,"r2":-5.5e-324}`))
	f.Add([]byte(`{"bogus":1}`))
	f.Add([]byte(`[1]`))
	f.Fuzz(func(t *testing.T, data []byte) {
		var m Metrics
		if err := m.UnmarshalJSON(data); err != nil {
			return
		}
		out, err := m.MarshalJSON()
		if err != nil {
			t.Fatal(err)
		}
		if !json.Valid(out) {
			t.Fatalf("MarshalJSON wrote invalid JSON %s", out)
		}
		var back Metrics
		if err := back.UnmarshalJSON(out); err != nil {
			t.Fatalf("read back %s: %v", out, err)
		}
		for _, d := range metricDefs {
			a, b := *d.get(&m), *d.get(&back)
			if math.Float64bits(a) != math.Float64bits(b) && !(math.IsNaN(a) && math.IsNaN(b)) {
				t.Fatalf("%s: %v read back as %v (from %s)", d.name, a, b, data)
			}
		}
	})
}

func TestMetricsNames(t *testing.T) {
	m := nanMetrics()
	m.AUC, m.RMSE = 0.5, 2
	for _, name := range MetricNames() {
		if _, ok := m.Get(name); !ok {
			t.Errorf("Get(%q) unknown", name)
		}
		if _, ok := HigherIsBetter(name); !ok {
			t.Errorf("HigherIsBetter(%q) unknown", name)
		}
	}
	if v, ok := m.Get("A_U_C"); !ok || v != 0.5 {
		t.Errorf("Get(A_U_C) = %v %v: case and underscores are ignored", v, ok)
	}
	if h, _ := HigherIsBetter("rmse"); h {
		t.Error("rmse: higher is better?")
	}
	if h, _ := HigherIsBetter("logloss"); h {
		t.Error("logloss: higher is better?")
	}
	if h, _ := HigherIsBetter("auc"); !h {
		t.Error("auc: lower is better?")
	}
	if _, ok := m.Get("nope"); ok {
		t.Error("Get(nope) found a metric")
	}
	if len(MetricNames()) != 23 {
		t.Errorf("%d metrics, want 23 (every Metrics field)", len(MetricNames()))
	}
}

func TestFloatsJSON(t *testing.T) {
	in := Floats{1.5, math.NaN(), math.Inf(1), -0.25}
	b, err := json.Marshal(struct{ F, N Floats }{F: in})
	if err != nil {
		t.Fatal(err)
	}
	if string(b) != `{"F":[1.5,null,null,-0.25],"N":null}` {
		t.Errorf("JSON %s", b)
	}
	var back struct{ F, N Floats }
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if len(back.F) != 4 || back.F[0] != 1.5 || !math.IsNaN(back.F[1]) || !math.IsNaN(back.F[2]) || back.F[3] != -0.25 || back.N != nil {
		t.Errorf("read back %v %v", back.F, back.N)
	}
}
