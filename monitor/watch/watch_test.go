package watch

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"maps"
	"math"
	"math/rand/v2"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil/promlint"
	dto "github.com/prometheus/client_model/go"

	"github.com/predictd/predictd/internal/fixture"
	"github.com/predictd/predictd/model"
	"github.com/predictd/predictd/model/xgboost"
	"github.com/predictd/predictd/monitor/cost"
	"github.com/predictd/predictd/monitor/drift"
	tdrift "github.com/predictd/predictd/tools/drift"
	"github.com/predictd/predictd/tools/profile"
	"github.com/predictd/predictd/tools/score"
)

// version writes the XGBoost fixture fixtureName into a fresh repository
// as model name version 1, with a reference profiled on the fixture's rows
// when profiled is set (as `predictd import --reference` does), loads it
// and returns it with those rows.
func version(t *testing.T, fixtureName, name string, profiled bool) (*model.Loaded, fixture.Table) {
	t.Helper()
	data, err := os.ReadFile(fixture.Path("xgboost", fixtureName+".json"))
	if err != nil {
		t.Fatal(err)
	}
	imp, err := xgboost.Parse(data)
	if err != nil {
		t.Fatal(err)
	}
	repo := t.TempDir()
	if _, _, err := model.Write(repo, name, imp, model.WriteOptions{}); err != nil {
		t.Fatal(err)
	}
	csv := fixture.Path("xgboost", fixtureName+".csv")
	if profiled {
		l, err := model.Open(repo, name, 0)
		if err != nil {
			t.Fatal(err)
		}
		ref, err := profile.File(context.Background(), l.Model, l.Manifest, csv, profile.DefaultOptions())
		if err != nil {
			t.Fatal(err)
		}
		if _, _, err := model.AttachReference(repo, name, 0, ref); err != nil {
			t.Fatal(err)
		}
	}
	l, err := model.Open(repo, name, 0)
	if err != nil {
		t.Fatal(err)
	}
	return l, fixture.ReadTable(t, csv)
}

// clock is a monitor's Options.Now that a test moves by hand.
type clock struct{ t time.Time }

func (c *clock) now() time.Time { return c.t }

// feed observes rows (drawn already) through v as requests of 1 to 7 rows,
// each answered 2 s after the last, with the model's own predictions: what
// the server does after each response.
func feed(v *Version, p model.Predictor, c *clock, rows [][]float64, rng *rand.Rand) {
	for i := 0; i < len(rows); {
		k := min(1+rng.IntN(7), len(rows)-i)
		var flat []float64
		for _, r := range rows[i : i+k] {
			flat = append(flat, r...)
		}
		c.t = c.t.Add(2 * time.Second)
		v.Observe(c.t, flat, p.Predict(nil, flat, false), k)
		i += k
	}
}

// report is the part of /monitor's JSON these tests read.
type report struct {
	Model    string `json:"model"`
	Versions []struct {
		Version   int             `json:"version"`
		Reference json.RawMessage `json:"reference"`
		NoRef     string          `json:"no_reference"`
		Windows   []struct {
			Name    string          `json:"name"`
			Rows    int64           `json:"rows"`
			Dropped int64           `json:"dropped_rows"`
			Drift   json.RawMessage `json:"drift"`
		} `json:"windows"`
	} `json:"versions"`
}

// driftResult is one feature or output of a drift report's JSON: every
// statistic by its JSON name, nil for null (a statistic that does not
// apply).
type driftResult struct {
	Name    string              `json:"name"`
	Kind    string              `json:"kind"`
	Status  string              `json:"status"`
	Reasons []string            `json:"reasons"`
	Stats   map[string]*float64 `json:"stats"`
}

type driftReport struct {
	Status   string        `json:"status"`
	Features []driftResult `json:"features"`
	Outputs  []driftResult `json:"outputs"`
}

func decode[T any](t *testing.T, data []byte) T {
	t.Helper()
	var v T
	if err := json.Unmarshal(data, &v); err != nil {
		t.Fatalf("%v in %s", err, data)
	}
	return v
}

// show prints a statistic for a message.
func show(x *float64) string {
	if x == nil {
		return "null"
	}
	return strconv.FormatFloat(*x, 'g', -1, 64)
}

// sameResults reports every difference between got's and want's features
// (what "features" or "outputs"): name, kind, status, reasons and every
// statistic, which must be equal exactly (bit for bit; null only where
// the other is null).
func sameResults(t *testing.T, what string, got, want []driftResult) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: online %d, offline %d", what, len(got), len(want))
	}
	for i, g := range got {
		w := want[i]
		if g.Name != w.Name || g.Kind != w.Kind || g.Status != w.Status || !slices.Equal(g.Reasons, w.Reasons) {
			t.Errorf("%s %d: online %s %s %s %q, offline %s %s %s %q", what, i, g.Name, g.Kind, g.Status, g.Reasons, w.Name, w.Kind, w.Status, w.Reasons)
		}
		if len(g.Stats) != len(w.Stats) || len(w.Stats) < 10 {
			t.Errorf("%s %s: online has %d statistics, offline %d", what, w.Name, len(g.Stats), len(w.Stats))
		}
		for k, wv := range w.Stats {
			gv, ok := g.Stats[k]
			if !ok || (gv == nil) != (wv == nil) || gv != nil && math.Float64bits(*gv) != math.Float64bits(*wv) {
				t.Errorf("%s %s: %s online %s, offline %s", what, w.Name, k, show(gv), show(wv))
			}
		}
	}
}

// TestOnlineEqualsOffline: rows fed to a served version's monitor, as the
// server feeds it, give in the since_load window the very report that
// `predictd drift` (tools/drift.Rows, then drift.Compare) gives for the
// same rows: every statistic of every feature and output bit for bit, the
// statuses and reasons too. Exactly, not within a tolerance: both sides
// hand drift.Compare the same reference, integer bin counts made by the
// same Distribution.Bin, the same row and missing counts, and samples
// holding the same values (1,000 rows are fewer than the since-load
// sample's 1,024 and the offline sample's 10,000, so both keep every
// value), which Compare sorts before KS and Wasserstein read them; nothing
// is left to round differently. The three models cover numeric features
// and four probability outputs (multi:softprob), categorical features
// (chi-square), and a categorical class output (multi:softmax).
func TestOnlineEqualsOffline(t *testing.T) {
	for _, name := range []string{"gbtree_multi_softprob", "gbtree_cat_partition_binary_logistic", "gbtree_multi_softmax"} {
		t.Run(name, func(t *testing.T) {
			l, tab := version(t, name, "m", true)
			ref, err := model.ReadReference(l.Dir, l.Manifest)
			if err != nil {
				t.Fatal(err)
			}
			// 1,000 rows drawn with replacement from the reference's rows,
			// feature 0 moved by one reference std in every other row and
			// feature 1 missing in every third, so that drifting
			// features stand beside ok ones.
			rng := rand.New(rand.NewPCG(14, 1))
			shift := ref.Features[0].Std
			rows := make([][]float64, 1000)
			for i := range rows {
				r := slices.Clone(tab.Rows[rng.IntN(len(tab.Rows))])
				if i%2 == 1 {
					r[0] += shift
				}
				if i%3 == 0 {
					r[1] = math.NaN()
				}
				rows[i] = r
			}

			c := &clock{time.Date(2025, 3, 1, 12, 0, 30, 0, time.UTC)}
			mon, err := New(Options{Now: c.now})
			if err != nil {
				t.Fatal(err)
			}
			v := mon.Attach(l)
			feed(v, l.Model, c, rows, rng)
			c.t = c.t.Add(time.Second)
			data, err := mon.Report("m")
			if err != nil {
				t.Fatal(err)
			}
			rep := decode[report](t, data)
			if len(rep.Versions) != 1 || len(rep.Versions[0].Windows) != 3 || rep.Versions[0].Windows[2].Name != "since_load" {
				t.Fatalf("/monitor report: %s", data)
			}
			since := rep.Versions[0].Windows[2]
			if since.Rows != int64(len(rows)) || since.Dropped != 0 {
				t.Errorf("since_load: %d rows, %d dropped; want %d and 0", since.Rows, since.Dropped, len(rows))
			}

			r, err := score.NewCSVReader(strings.NewReader(fixture.CSV(tab.Header, rows)), "rows.csv", l.Manifest.Features)
			if err != nil {
				t.Fatal(err)
			}
			w, n, err := tdrift.Rows(context.Background(), l.Model, l.Manifest, ref, r, tdrift.DefaultOptions())
			if err != nil {
				t.Fatal(err)
			}
			off, err := drift.Compare(ref, w, drift.DefaultThresholds())
			if err != nil {
				t.Fatal(err)
			}
			offJSON, err := json.Marshal(off)
			if err != nil {
				t.Fatal(err)
			}
			if n != int64(len(rows)) {
				t.Errorf("tools/drift.Rows read %d rows, want %d", n, len(rows))
			}

			got, want := decode[driftReport](t, since.Drift), decode[driftReport](t, offJSON)
			if got.Status != want.Status {
				t.Errorf("status online %s, offline %s", got.Status, want.Status)
			}
			sameResults(t, "feature", got.Features, want.Features)
			sameResults(t, "output", got.Outputs, want.Outputs)
			// And nothing else differs (the thresholds, the order).
			var compact bytes.Buffer
			if err := json.Compact(&compact, since.Drift); err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(compact.Bytes(), offJSON) {
				t.Errorf("the since_load report differs from the offline one:\nonline  %s\noffline %s", compact.Bytes(), offJSON)
			}
			// The sample-based statistics saw every value.
			for _, f := range want.Features {
				if f.Kind == model.DistNumeric && *f.Stats["sample_window"] != *f.Stats["rows"]-*f.Stats["missing"] {
					t.Errorf("feature %s: sample of %v of %v values", f.Name, *f.Stats["sample_window"], *f.Stats["rows"]-*f.Stats["missing"])
				}
			}
			var statuses []string
			for _, f := range append(want.Features, want.Outputs...) {
				statuses = append(statuses, f.Name+" "+f.Status)
			}
			t.Logf("%d features, %d outputs, status %s: %s", len(want.Features), len(want.Outputs), want.Status, strings.Join(statuses, ", "))
		})
	}
}

// gather collects mon through a pedantic registry (which checks the
// metrics against their descriptions and labels), lints them as promtool
// check metrics does, and returns its series as "name{label=value,...}"
// lines, labels sorted, with their values.
func gather(t *testing.T, mon *Monitor) map[string]float64 {
	t.Helper()
	reg := prometheus.NewPedanticRegistry()
	if err := reg.Register(mon); err != nil {
		t.Fatal(err)
	}
	fams, err := reg.Gather()
	if err != nil {
		t.Fatalf("gather: %v", err)
	}
	if probs, err := promlint.NewWithMetricFamilies(fams).Lint(); err != nil || len(probs) > 0 {
		t.Errorf("promlint: %v %+v", err, probs)
	}
	out := map[string]float64{}
	for _, f := range fams {
		for _, m := range f.GetMetric() {
			var ls []string
			for _, l := range m.GetLabel() {
				ls = append(ls, l.GetName()+"="+l.GetValue())
			}
			slices.Sort(ls)
			out[f.GetName()+"{"+strings.Join(ls, ",")+"}"] = value(m)
		}
	}
	return out
}

func value(m *dto.Metric) float64 {
	switch {
	case m.Gauge != nil:
		return m.Gauge.GetValue()
	case m.Counter != nil:
		return m.Counter.GetValue()
	case m.Histogram != nil:
		return float64(m.Histogram.GetSampleCount())
	}
	return math.NaN()
}

// named returns the series of metric name (every metric when name is "")
// whose labels include all of labels ("model=m").
func named(series map[string]float64, name string, labels ...string) []string {
	var out []string
	for s := range series {
		i := strings.IndexByte(s, '{')
		if name != "" && s[:i] != name {
			continue
		}
		have := strings.Split(s[i+1:len(s)-1], ",")
		if !slices.ContainsFunc(labels, func(l string) bool { return !slices.Contains(have, l) }) {
			out = append(out, s)
		}
	}
	slices.Sort(out)
	return out
}

// TestDetach: a retired version leaves the monitor: /monitor no longer
// knows the model, and /metrics has no series of it left (drift gauges,
// prediction histograms, rows, costs), while another model's stay.
func TestDetach(t *testing.T) {
	l, tab := version(t, "gbtree_multi_softprob", "m", true)
	other, _ := version(t, "gbtree_multi_softprob", "other", true)
	ledger, err := cost.NewLedger(cost.Prices{PerCoreHour: 1}, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	c := &clock{time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)}
	mon, err := New(Options{Now: c.now, Costs: ledger})
	if err != nil {
		t.Fatal(err)
	}
	v, keep := mon.Attach(l), mon.Attach(other)
	rng := rand.New(rand.NewPCG(14, 2))
	feed(v, l.Model, c, tab.Rows[:100], rng)
	feed(keep, other.Model, c, tab.Rows[:100], rng)
	if _, err := mon.Report("m"); err != nil {
		t.Fatal(err)
	}
	before := gather(t, mon)
	for _, name := range []string{"predictd_drift_status", "predictd_drift_psi", "predictd_prediction_value", "predictd_monitor_rows_total", "predictd_model_cpu_seconds_total", "predictd_model_memory_bytes"} {
		if len(named(before, name, "model=m")) == 0 || len(named(before, name, "model=other")) == 0 {
			t.Errorf("before Detach: no %s series of both models", name)
		}
	}
	if got := before["predictd_monitor_rows_total{model=m,version=1}"]; got != 100 {
		t.Errorf("predictd_monitor_rows_total of m = %v, want 100", got)
	}

	mon.Detach(v)
	if _, err := mon.Report("m"); !errors.Is(err, ErrUnknownModel) {
		t.Errorf("Report of a detached model: %v, want ErrUnknownModel", err)
	}
	after := gather(t, mon)
	if left := named(after, "", "model=m"); len(left) > 0 {
		t.Errorf("after Detach, /metrics still has %d series of m: %q", len(left), left)
	}
	for s, x := range before {
		if strings.Contains(s, "model=other") && !strings.Contains(s, "cost") && !strings.Contains(s, "cpu") {
			if y, ok := after[s]; !ok || y != x {
				t.Errorf("%s: %v before m's Detach, %v (present %v) after", s, x, y, ok)
			}
		}
	}
	if _, err := mon.Report("other"); err != nil {
		t.Errorf("Report of the model still served: %v", err)
	}
	// Detaching twice changes nothing.
	mon.Detach(v)
	if _, err := mon.Report("other"); err != nil {
		t.Errorf("after a second Detach: %v", err)
	}
}

// TestNoReference: a version without a reference is monitored all the
// same (Observe and its cost meter work, /monitor answers) and says why
// there is no drift; /metrics has no drift series for it, its cost ones.
func TestNoReference(t *testing.T) {
	l, tab := version(t, "gbtree_multi_softprob", "plain", false)
	ledger, err := cost.NewLedger(cost.Prices{}, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	mon, err := New(Options{Costs: ledger})
	if err != nil {
		t.Fatal(err)
	}
	v := mon.Attach(l)
	flat := tab.Flat()[:10*len(tab.Header)]
	v.Observe(time.Now(), flat, l.Model.Predict(nil, flat, false), 10)
	v.Meter().Start().End(10)
	data, err := mon.Report("plain")
	if err != nil {
		t.Fatal(err)
	}
	rep := decode[report](t, data)
	if len(rep.Versions) != 1 || !strings.HasPrefix(rep.Versions[0].NoRef, "no reference: ") || !strings.Contains(rep.Versions[0].NoRef, "predictd profile") ||
		string(rep.Versions[0].Reference) != "null" || len(rep.Versions[0].Windows) != 0 {
		t.Errorf("/monitor of a version without a reference:\n%s", data)
	}
	series := gather(t, mon)
	for _, name := range []string{"predictd_drift_status", "predictd_drift_psi", "predictd_drift_series_omitted", "predictd_prediction_value", "predictd_monitor_rows_total"} {
		if got := named(series, name, "model=plain"); len(got) > 0 {
			t.Errorf("a version without a reference has %q", got)
		}
	}
	if _, ok := series["predictd_model_memory_bytes{model=plain,version=1}"]; !ok {
		t.Errorf("no predictd_model_memory_bytes for the version without a reference: %q", slices.Sorted(maps.Keys(series)))
	}
}

// TestMaxGaugeSeries: a version exports drift gauges for at most
// MaxGaugeSeries of its features and outputs (features first) and counts
// the rest in predictd_drift_series_omitted; /monitor keeps them all.
func TestMaxGaugeSeries(t *testing.T) {
	l, tab := version(t, "gbtree_multi_softprob", "m", true)
	total := len(l.Manifest.Features) + len(l.Manifest.Outputs) // 10 features, 4 outputs
	for _, tc := range []struct {
		max, exported int
	}{
		{0, total}, // the default, 200
		{4, 4},
		{total, total},
		{total + 1, total},
	} {
		mon, err := New(Options{MaxGaugeSeries: tc.max})
		if err != nil {
			t.Fatal(err)
		}
		v := mon.Attach(l)
		flat := tab.Flat()
		v.Observe(time.Now(), flat, l.Model.Predict(nil, flat, false), len(tab.Rows))
		series := gather(t, mon)
		for _, name := range []string{"predictd_drift_status", "predictd_drift_psi", "predictd_drift_js_distance", "predictd_drift_missing_ratio"} {
			got := named(series, name, "model=m")
			if len(got) != tc.exported {
				t.Errorf("MaxGaugeSeries %d: %d %s series, want %d: %q", tc.max, len(got), name, tc.exported, got)
			}
		}
		// The first ones: feature f0 (the model's first) is always there,
		// the last output only when nothing is omitted.
		first := "predictd_drift_status{feature=" + l.Manifest.Features[0].Name + ",model=m,version=1}"
		last := "predictd_drift_status{feature=output:" + l.Manifest.Outputs[len(l.Manifest.Outputs)-1].Name + ",model=m,version=1}"
		if _, ok := series[first]; !ok {
			t.Errorf("MaxGaugeSeries %d: no %s", tc.max, first)
		}
		if _, ok := series[last]; ok != (tc.exported == total) {
			t.Errorf("MaxGaugeSeries %d: %s present %v", tc.max, last, ok)
		}
		if got, want := series["predictd_drift_series_omitted{model=m,version=1}"], float64(total-tc.exported); got != want {
			t.Errorf("MaxGaugeSeries %d: predictd_drift_series_omitted = %v, want %v", tc.max, got, want)
		}
		data, err := mon.Report("m")
		if err != nil {
			t.Fatal(err)
		}
		rep := decode[report](t, data)
		dr := decode[driftReport](t, rep.Versions[0].Windows[0].Drift)
		if len(dr.Features)+len(dr.Outputs) != total {
			t.Errorf("MaxGaugeSeries %d: /monitor has %d features and outputs, want all %d", tc.max, len(dr.Features)+len(dr.Outputs), total)
		}
	}
	if _, err := New(Options{MaxGaugeSeries: -1}); err == nil || !strings.Contains(err.Error(), "MaxGaugeSeries") {
		t.Errorf("New with MaxGaugeSeries -1: %v, want an error naming the field", err)
	}
}
