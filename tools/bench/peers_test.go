package bench

import (
	"bufio"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"strings"
	"sync"
	"testing"

	"github.com/dmitryikh/leaves"

	"github.com/predictd/predictd/internal/fixture"
	"github.com/predictd/predictd/kernels"
	"github.com/predictd/predictd/model"
	"github.com/predictd/predictd/model/lightgbm"
	"github.com/predictd/predictd/model/xgboost"
)

// peerFixture is the model of the peer comparison, XGBoost's 300 trees of
// depth 6 over 20 features, in three forms, and its 2000 test rows.
type peerFixture struct {
	fromXGB *model.Trees     // predictd, imported from XGBoost's JSON
	fromLGB *model.Trees     // predictd, imported from the LightGBM text
	leaves  *leaves.Ensemble // leaves, from the same LightGBM text, raw margins
	rows    []float64
	nf      int
	margins []float64 // XGBoost's own margins of rows
}

const (
	peerTrees = 300
	peerDepth = 6
)

var (
	peerOnce sync.Once
	peer     *peerFixture
	peerErr  error
)

func loadPeers(tb testing.TB) *peerFixture {
	tb.Helper()
	peerOnce.Do(func() { peer, peerErr = buildPeers(tb) })
	if peerErr != nil {
		tb.Fatal(peerErr)
	}
	return peer
}

func buildPeers(tb testing.TB) (*peerFixture, error) {
	name := "gbtree_binary_logistic_300x6"
	data, err := os.ReadFile(fixture.Path("xgboost", name+".json"))
	if err != nil {
		return nil, err
	}
	imp, err := xgboost.Parse(data)
	if err != nil {
		return nil, fmt.Errorf("%s.json: %w", name, err)
	}
	pf := &peerFixture{fromXGB: imp.Model.(*model.Trees), nf: len(imp.Features)}
	names := make([]string, len(imp.Features))
	for i, f := range imp.Features {
		names[i] = f.Name
	}
	text, err := xgboostToLightGBM(pf.fromXGB, names)
	if err != nil {
		return nil, err
	}
	lgb, err := lightgbm.Parse([]byte(text))
	if err != nil {
		return nil, fmt.Errorf("predictd reading the converted LightGBM text: %w", err)
	}
	pf.fromLGB = lgb.Model.(*model.Trees)
	if pf.leaves, err = leaves.LGEnsembleFromReader(bufio.NewReader(strings.NewReader(text)), false); err != nil {
		return nil, fmt.Errorf("leaves reading the converted LightGBM text: %w", err)
	}
	tab := fixture.ReadTable(tb, fixture.Path("xgboost", name+".csv"))
	if strings.Join(tab.Header, " ") != strings.Join(names, " ") {
		return nil, fmt.Errorf("%s.csv columns %v, model features %v", name, tab.Header, names)
	}
	pf.rows = tab.Flat()
	for _, r := range fixture.ReadTable(tb, fixture.Path("xgboost", name+".margin.csv")).Rows {
		pf.margins = append(pf.margins, r[0])
	}
	return pf, nil
}

// TestPeersAgree checks that the benchmark's forms of the model make the
// same decisions on the fixture's rows, NaN included (leaves sends NaN the
// default way of a missing-type-NaN split, as LightGBM does), so that
// BenchmarkPeers times identical work:
//
//   - leaves and predictd, reading the same LightGBM text, give the same
//     margins to the bit (both add the trees' leaves in float64, in order);
//   - so does predictd's XGBoost import with float32 accumulation turned
//     off, on those rows and on rows set on the thresholds' float32
//     rounding edges (edgeRows): every split sent every row the same way;
//   - predictd's XGBoost import as it is (float32 accumulation) matches
//     XGBoost's own margins within 1e-6 relative. It differs from the
//     float64 sums of leaves by XGBoost's float32 rounding only, which the last
//     check bounds by 300 trees · 2^-24 · max(1, |margin|) (1e-6 relative
//     is out of reach where a margin is near 0).
func TestPeersAgree(t *testing.T) {
	pf := loadPeers(t)
	n := len(pf.rows) / pf.nf
	if n != 2000 || len(pf.margins) != n {
		t.Fatalf("fixture has %d rows and %d margins, want 2000 each", n, len(pf.margins))
	}
	nan := 0
	for _, v := range pf.rows {
		if math.IsNaN(v) {
			nan++
		}
	}
	if nan == 0 {
		t.Fatal("fixture rows have no missing values; the default directions go untested")
	}
	if got := pf.leaves.NEstimators(); got != peerTrees {
		t.Fatalf("leaves read %d trees, want %d", got, peerTrees)
	}
	if pf.fromXGB.Forest.Base[0] != 0 {
		t.Fatalf("base margin %v: the bit-for-bit checks below assume 0", pf.fromXGB.Forest.Base[0])
	}
	sum64 := *pf.fromXGB
	sum64.Forest.Float32Sum = false
	if err := sum64.Prepare(); err != nil {
		t.Fatal(err)
	}
	fromXGB := pf.fromXGB.Predict(nil, pf.rows, true)
	fromXGB64 := sum64.Predict(nil, pf.rows, true)
	fromLGB := pf.fromLGB.Predict(nil, pf.rows, true)
	lv := make([]float64, n)
	if err := pf.leaves.PredictDense(pf.rows, n, pf.nf, lv, 0, 1); err != nil {
		t.Fatal(err)
	}
	// The fixture's rows seldom fall within a float32 rounding of a
	// threshold; these rows sit on the edges of the thresholds.
	edges := edgeRows(&pf.fromXGB.Forest, 2000)
	ne := len(edges) / pf.nf
	le := make([]float64, ne)
	if err := pf.leaves.PredictDense(edges, ne, pf.nf, le, 0, 1); err != nil {
		t.Fatal(err)
	}
	for i, want := range sum64.Predict(nil, edges, true) {
		if le[i] != want {
			t.Errorf("edge row %d %v: leaves margin %v, predictd (XGBoost JSON, float64 sums) %v", i, edges[i*pf.nf:(i+1)*pf.nf], le[i], want)
		}
	}
	const rel = 1e-6
	var worstRel, worstAbs float64
	for i := 0; i < n; i++ {
		if lv[i] != fromLGB[i] || lv[i] != fromXGB64[i] {
			t.Errorf("row %d: leaves margin %v, predictd from the LightGBM text %v, from XGBoost's JSON summed in float64 %v: want all three equal",
				i, lv[i], fromLGB[i], fromXGB64[i])
		}
		if e := fixture.RelErr(fromXGB[i], pf.margins[i]); e > rel {
			t.Errorf("row %d: predictd margin %v, XGBoost's own %v: relative error %.3g > %g", i, fromXGB[i], pf.margins[i], e, rel)
		}
		d := math.Abs(lv[i] - fromXGB[i])
		worstAbs = max(worstAbs, d)
		worstRel = max(worstRel, fixture.RelErr(lv[i], fromXGB[i]))
		if bound := peerTrees * 0x1p-24 * max(1, math.Abs(fromXGB[i])); d > bound {
			t.Errorf("row %d: leaves margin %v, predictd (float32 sums, as XGBoost) %v: differ by %.3g, more than float32 rounding (%.3g)", i, lv[i], fromXGB[i], d, bound)
		}
	}
	t.Logf("%d rows, %d missing values: leaves = predictd (LightGBM text) = predictd (XGBoost JSON, float64 sums) bit for bit; "+
		"leaves vs predictd with XGBoost's float32 sums: largest difference %.3g absolute, %.3g relative", n, nan, worstAbs, worstRel)
}

// edgeRows returns n rows whose values lie on or next to the decision
// boundary of a split threshold t of their feature: XGBoost's float32 t,
// the float32 below it, the float64 midpoint between them where rounding
// to float32 changes, and the float64 neighbours of each. One value in 20
// is NaN.
func edgeRows(f *kernels.Forest, n int) []float64 {
	pts := model.SplitPoints(f)
	rng := rand.New(rand.NewPCG(3, 4))
	rows := make([]float64, n*f.NumFeatures)
	for i := range rows {
		ts := pts[i%f.NumFeatures]
		if len(ts) == 0 || rng.IntN(20) == 0 {
			rows[i] = math.NaN()
			continue
		}
		t := float32(ts[rng.IntN(len(ts))])
		p := math.Nextafter32(t, float32(math.Inf(-1)))
		c := []float64{float64(t), float64(p), (float64(t) + float64(p)) / 2}[rng.IntN(3)]
		rows[i] = []float64{math.Nextafter(c, math.Inf(-1)), c, math.Nextafter(c, math.Inf(1))}[rng.IntN(3)]
	}
	return rows
}

// TestBoundBelow32 checks the converter's thresholds against XGBoost's test
// itself around every threshold of the peer model.
func TestBoundBelow32(t *testing.T) {
	pf := loadPeers(t)
	for _, ts := range model.SplitPoints(&pf.fromXGB.Forest) {
		for _, v := range ts {
			t32 := float32(v)
			thr := math.Nextafter(boundBelow32(t32), math.Inf(-1))
			p := math.Nextafter32(t32, float32(math.Inf(-1)))
			for _, c := range []float64{float64(t32), float64(p), (float64(t32) + float64(p)) / 2} {
				for _, x := range []float64{math.Nextafter(c, math.Inf(-1)), c, math.Nextafter(c, math.Inf(1))} {
					if lgb, xgb := x <= thr, float32(x) < t32; lgb != xgb {
						t.Errorf("threshold %v: x = %v: LightGBM x <= %v is %v, XGBoost float32(x) < t is %v", t32, x, thr, lgb, xgb)
					}
				}
			}
		}
	}
}
