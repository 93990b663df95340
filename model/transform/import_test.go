package transform

import (
	"math"
	"strings"
	"testing"
)

func TestScalerStep(t *testing.T) {
	p, err := Build([]Feature{{Name: "a", Columns: []string{"a"}, Steps: []Step{{Op: OpScaler, Offset: 2, Scale: 0.5}}}}, "")
	if err != nil {
		t.Fatalf("Build: %v", err)
	}
	for _, c := range []struct{ x, want float64 }{{2, 0}, {4, 1}, {-2, -2}} {
		got, err := p.Apply(nil, Row{Num(c.x)})
		if err != nil || len(got) != 1 || got[0] != c.want {
			t.Errorf("scaler(offset 2, scale 0.5).Apply(%v) = %v, %v, want [%v]", c.x, got, err, c.want)
		}
	}
	got, _ := p.Apply(nil, Row{{}})
	if !math.IsNaN(got[0]) {
		t.Errorf("scaler.Apply(missing) = %v, want NaN", got)
	}
	if _, err := NewFitter([]Feature{{Name: "a", Columns: []string{"a"}, Steps: []Step{{Op: OpScaler}}}}); err == nil || !strings.Contains(err.Error(), "features[0].steps[0].op: scaler is written by importers") {
		t.Errorf("NewFitter(scaler spec) error = %v, want it refused naming features[0].steps[0].op", err)
	}
	if _, err := Build([]Feature{{Name: "a", Columns: []string{"a"}, Steps: []Step{{Op: OpScaler, Scale: math.Inf(1)}}}}, ""); err == nil || !strings.Contains(err.Error(), "features[0].steps[0]: offset 0, scale +Inf") {
		t.Errorf("Build(scaler scale +Inf) error = %v, want it refused naming the step", err)
	}
	if _, err := Build([]Feature{{Name: "a", Columns: []string{"a"}, Steps: []Step{{Op: OpScaler, Scale: 1, Mean: 3}}}}, ""); err == nil || !strings.Contains(err.Error(), "features[0].steps[0].mean: not a field of op scaler") {
		t.Errorf("Build(scaler with mean) error = %v, want mean refused", err)
	}
}

func TestNormalizeStage(t *testing.T) {
	fs := func() []Feature {
		return []Feature{{Name: "a", Columns: []string{"a"}}, {Name: "b", Columns: []string{"b"}}}
	}
	cases := []struct {
		norm       string
		a, b       float64
		wantA, wnB float64
	}{
		{NormL1, 3, -1, 0.75, -0.25},
		{NormL2, 3, -4, 0.6, -0.8},
		{NormL2, 0, 0, 0, 0},
		{NormL1, 0, 0, 0, 0},
		{"", 3, -4, 3, -4},
	}
	for _, c := range cases {
		p, err := Build(fs(), c.norm)
		if err != nil {
			t.Fatalf("Build(%q): %v", c.norm, err)
		}
		if p.Normalize() != c.norm {
			t.Errorf("Build(%q).Normalize() = %q", c.norm, p.Normalize())
		}
		got, err := p.Apply([]float64{7}, Row{Num(c.a), Num(c.b)})
		if err != nil || len(got) != 3 || got[0] != 7 || got[1] != c.wantA || got[2] != c.wnB {
			t.Errorf("normalize %q of (%v, %v) after a kept 7 = %v, %v, want [7 %v %v]", c.norm, c.a, c.b, got, err, c.wantA, c.wnB)
		}
		data, err := p.Encode()
		if err != nil {
			t.Fatal(err)
		}
		if has := strings.Contains(string(data), `"normalize"`); has != (c.norm != "") {
			t.Errorf("Encode with normalize %q = %s: want the field only when set", c.norm, data)
		}
		q, err := Decode(data)
		if err != nil || q.Normalize() != c.norm {
			t.Fatalf("Decode(Encode) = %v, %v, want normalize %q", q, err, c.norm)
		}
		again, _ := q.Encode()
		if string(again) != string(data) {
			t.Errorf("Encode(Decode(b)) = %s, want %s", again, data)
		}
	}
	got, _ := mustBuild(t, fs(), NormL2).Apply(nil, Row{{}, Num(1)})
	if !math.IsNaN(got[0]) || !math.IsNaN(got[1]) {
		t.Errorf("normalize l2 of (missing, 1) = %v, want all NaN", got)
	}
	if _, err := Build(fs(), "max"); err == nil || !strings.Contains(err.Error(), `normalize: "max", want l1 or l2`) {
		t.Errorf("Build(norm max) error = %v, want it refused", err)
	}
	if _, err := Decode([]byte(`{"version":1,"features":[{"name":"a","columns":["a"]}],"normalize":"L2"}`)); err == nil || !strings.Contains(err.Error(), `normalize: "L2"`) {
		t.Errorf("Decode(normalize L2) error = %v, want it refused naming the field", err)
	}
	if _, err := Build(nil, ""); err == nil {
		t.Error("Build(no features) succeeded, want an error")
	}
}

func mustBuild(t *testing.T, fs []Feature, norm string) *Pipeline {
	t.Helper()
	p, err := Build(fs, norm)
	if err != nil {
		t.Fatal(err)
	}
	return p
}
