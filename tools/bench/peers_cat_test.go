package bench

import (
	"bufio"
	"fmt"
	"math"
	"os"
	"runtime"
	"strings"
	"testing"

	"github.com/dmitryikh/leaves"

	"github.com/predictd/predictd/internal/fixture"
	"github.com/predictd/predictd/kernels"
	"github.com/predictd/predictd/model"
	"github.com/predictd/predictd/model/lightgbm"
	"github.com/predictd/predictd/model/xgboost"
)

// catPeers is an XGBoost model with categorical splits converted to
// LightGBM text, read by predictd and by leaves, with rows to predict.
type catPeers struct {
	fromXGB, fromLGB *model.Trees
	leaves           *leaves.Ensemble
	rows             []float64
	nf, ng           int
}

// loadCatPeers converts the XGBoost JSON model at path and reads the CSV
// rows at csv (a header naming the model's features).
func loadCatPeers(tb testing.TB, path, csv string) *catPeers {
	tb.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		tb.Fatal(err)
	}
	imp, err := xgboost.Parse(data)
	if err != nil {
		tb.Fatalf("%s: %v", path, err)
	}
	cp := &catPeers{fromXGB: imp.Model.(*model.Trees), nf: len(imp.Features)}
	cp.ng = cp.fromXGB.Forest.NumGroups()
	names := make([]string, len(imp.Features))
	for i, f := range imp.Features {
		names[i] = f.Name
	}
	text, err := xgboostToLightGBM(cp.fromXGB, names)
	if err != nil {
		tb.Fatalf("%s: converting to LightGBM text: %v", path, err)
	}
	lgb, err := lightgbm.Parse([]byte(text))
	if err != nil {
		tb.Fatalf("predictd reading the converted LightGBM text: %v", err)
	}
	cp.fromLGB = lgb.Model.(*model.Trees)
	if cp.leaves, err = leaves.LGEnsembleFromReader(bufio.NewReader(strings.NewReader(text)), false); err != nil {
		tb.Fatalf("leaves reading the converted LightGBM text: %v", err)
	}
	tab := fixture.ReadTable(tb, csv)
	if strings.Join(tab.Header, " ") != strings.Join(names, " ") {
		tb.Fatalf("%s columns %v, model features %v", csv, tab.Header, names)
	}
	cp.rows = tab.Flat()
	return cp
}

// agree checks that leaves and predictd (reading the LightGBM text) give
// the same raw margins to the bit on the rows, and predictd reading
// XGBoost's JSON, summed in float64 as LightGBM does, too. Rows with a
// categorical value that is missing, negative or not an integer are left
// out: there the two libraries' rules differ (NaN's direction; XGBoost
// rounds to float32 before truncating, 0.999999999 is category 1 to it and
// 0 to LightGBM). It returns the number of rows compared.
func (cp *catPeers) agree(tb testing.TB) int {
	tb.Helper()
	n := len(cp.rows) / cp.nf
	sum64 := *cp.fromXGB
	sum64.Forest.Float32Sum = false
	if err := sum64.Prepare(); err != nil {
		tb.Fatal(err)
	}
	fromLGB := cp.fromLGB.Predict(nil, cp.rows, true)
	fromXGB64 := sum64.Predict(nil, cp.rows, true)
	lv := make([]float64, n*cp.ng)
	if err := cp.leaves.PredictDense(cp.rows, n, cp.nf, lv, 0, 1); err != nil {
		tb.Fatal(err)
	}
	cats := map[int]bool{}
	f := &cp.fromXGB.Forest
	for _, nd := range f.Nodes {
		if !nd.IsLeaf() && nd.Flags&kernels.FlagCategorical != 0 {
			cats[int(nd.Feature)] = true
		}
	}
	compared := 0
rows:
	for r := 0; r < n; r++ {
		for c := range cats {
			if x := cp.rows[r*cp.nf+c]; math.IsNaN(x) || x < 0 || x != math.Trunc(x) {
				continue rows
			}
		}
		compared++
		for g := 0; g < cp.ng; g++ {
			i := r*cp.ng + g
			if lv[i] != fromLGB[i] || lv[i] != fromXGB64[i] {
				tb.Fatalf("row %d class %d: leaves %v, predictd from the LightGBM text %v, from XGBoost's JSON summed in float64 %v: want all three equal",
					r, g, lv[i], fromLGB[i], fromXGB64[i])
			}
		}
	}
	return compared
}

// TestPeersAgreeCategorical converts XGBoost's categorical fixture and
// checks that leaves and predictd agree on it bit for bit, so that
// BenchmarkPeersCategorical times identical work.
func TestPeersAgreeCategorical(t *testing.T) {
	name := "gbtree_cat_partition_binary_logistic"
	cp := loadCatPeers(t, fixture.Path("xgboost", name+".json"), fixture.Path("xgboost", name+".csv"))
	if len(cp.fromLGB.Forest.CatSets) == 0 {
		t.Fatal("the converted model has no categorical splits")
	}
	n := cp.agree(t)
	if n < 100 {
		t.Fatalf("only %d rows without a missing category compared", n)
	}
	t.Logf("%d rows: leaves = predictd (LightGBM text) = predictd (XGBoost JSON, float64 sums) bit for bit", n)
}

// BenchmarkPeersCategorical times predictd and leaves on an XGBoost model
// with categorical splits converted to LightGBM text (bench/compare-trees.sh
// passes cat13 from bench/trees_models.py: 13 classes, 130 trees) in
// PREDICTD_PEERS_MODEL, rows in PREDICTD_PEERS_ROWS, after checking they
// agree; raw margins, batch 256 and 4096, 1 and 2 threads.
func BenchmarkPeersCategorical(b *testing.B) {
	path, csv := os.Getenv("PREDICTD_PEERS_MODEL"), os.Getenv("PREDICTD_PEERS_ROWS")
	if path == "" || csv == "" {
		b.Skip("set PREDICTD_PEERS_MODEL and PREDICTD_PEERS_ROWS (bench/compare-trees.sh does)")
	}
	cp := loadCatPeers(b, path, csv)
	cp.agree(b)
	n := len(cp.rows) / cp.nf
	for _, lib := range []string{"predictd", "leaves"} {
		for _, batch := range []int{256, 4096} {
			for _, threads := range []int{1, 2} {
				b.Run(fmt.Sprintf("lib=%s/batch=%d/threads=%d", lib, batch, threads), func(b *testing.B) {
					prev := runtime.GOMAXPROCS(threads)
					defer runtime.GOMAXPROCS(prev)
					in := cycleRows(cp.rows, cp.nf, batch)
					dst := make([]float64, batch*cp.ng)
					next := 0
					for b.Loop() {
						w := in[next*cp.nf : (next+batch)*cp.nf]
						next = (next + batch) % n
						if lib == "predictd" {
							dst = cp.fromLGB.Predict(dst[:0], w, true)
						} else if err := cp.leaves.PredictDense(w, batch, cp.nf, dst, 0, threads); err != nil {
							b.Fatal(err)
						}
					}
					b.ReportMetric(float64(b.Elapsed().Nanoseconds())/(float64(b.N)*float64(batch)), "ns/row")
				})
			}
		}
	}
}
