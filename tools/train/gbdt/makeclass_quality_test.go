//go:build !race

package gbdt

import (
	"context"
	"math"
	"sort"
	"sync"
	"testing"

	"github.com/predictd/predictd/monitor/quality"
)

// makeClassOracle is testdata/train/gbdt/makeclass_oracle.json, written by
// testdata/gen/train_gbdt_makeclass.py.
type makeClassOracle struct {
	XGBoost   string `json:"xgboost"`
	SHA256    string `json:"sha256"`
	TrainRows int    `json:"train_rows"`
	Rounds    int    `json:"rounds"`
	Params    struct {
		MaxDepth int     `json:"max_depth"`
		Eta      float64 `json:"eta"`
		MaxBin   int     `json:"max_bin"`
	} `json:"params"`
	Settings map[string]struct {
		Params struct {
			GrowPolicy string `json:"grow_policy"`
			MaxLeaves  int    `json:"max_leaves"`
			MaxDepth   *int   `json:"max_depth"`
		} `json:"params"`
		AUC     float64 `json:"auc"`
		LogLoss float64 `json:"logloss"`
	} `json:"settings"`
	// Thresholds are the depth-wise model's split thresholds per feature.
	Thresholds [][]float64 `json:"thresholds"`
}

var (
	mcOnce sync.Once
	mcData *Dataset
	mcOr   makeClassOracle
)

// makeClassChecked returns the synthetic set and its oracle, failing if the
// set is not the bytes the oracle was made from.
func makeClassChecked(t *testing.T) (*Dataset, *makeClassOracle) {
	mcOnce.Do(func() {
		readJSON(t, fixtures+"makeclass_oracle.json", &mcOr)
		mcData = makeClassSet()
	})
	if mcOr.XGBoost != "1.7.4" || len(mcOr.Settings) != 2 || len(mcOr.Thresholds) != mcFeatures {
		t.Fatalf("oracle from xgboost %s with %d settings and thresholds of %d features, want 1.7.4, 2 and %d", mcOr.XGBoost, len(mcOr.Settings), len(mcOr.Thresholds), mcFeatures)
	}
	if got := sha256Hex(makeClassBytes(mcData)); got != mcOr.SHA256 {
		t.Fatalf("generated data sha256 %s, oracle trained on %s: makeClassification changed; rerun testdata/gen/train_gbdt_makeclass.py", got, mcOr.SHA256)
	}
	return mcData, &mcOr
}

// TestCutsAtScale: on the 150,000 training rows of the synthetic set,
// where XGBoost's quantile sketch no longer keeps an exact summary, every
// split threshold of XGBoost 1.7.4's depth-wise model (3,590 distinct
// values over the 40 features) is one of predictd's cuts of that feature.
func TestCutsAtScale(t *testing.T) {
	d, or := makeClassChecked(t)
	train := d.split(0, or.TrainRows)
	cuts := computeCuts(train.Rows, or.TrainRows, mcFeatures, or.Params.MaxBin, 2)
	for f, ths := range or.Thresholds {
		if len(ths) == 0 {
			continue
		}
		have := map[float64]bool{}
		for _, c := range cuts[f] {
			have[c] = true
		}
		for _, th := range ths {
			if !have[th] {
				i := sort.SearchFloat64s(cuts[f], th)
				t.Errorf("feature %d: XGBoost threshold %v is not a cut; nearest cuts %v", f, th, cuts[f][max(0, i-1):min(len(cuts[f]), i+1)])
			}
		}
	}
}

// TestQualityAtScale: on the synthetic 200,000 x 40 make_classification set
// (150,000 rows train, 50,000 test), regenerated here and checked against
// the sha256 of the bytes XGBoost trained on, 100 rounds with XGBoost's
// defaults (depth 6, eta 0.3, max_bin 255) depth-wise, and best-first with
// 31 leaves and no depth limit, give a test AUC and logloss within 0.5%
// (relative) of XGBoost 1.7.4 hist's with the same hyperparameters.
func TestQualityAtScale(t *testing.T) {
	d, or := makeClassChecked(t)
	train, test := d.split(0, or.TrainRows), d.split(or.TrainRows, len(d.Labels))
	for name, st := range or.Settings {
		o := DefaultOptions()
		o.Rounds, o.MaxDepth, o.LearningRate, o.MaxBin = or.Rounds, or.Params.MaxDepth, or.Params.Eta, or.Params.MaxBin
		if st.Params.GrowPolicy != "" {
			o.GrowPolicy = GrowPolicy(st.Params.GrowPolicy)
		}
		if st.Params.MaxDepth != nil {
			o.MaxDepth = *st.Params.MaxDepth
		}
		o.MaxLeaves = st.Params.MaxLeaves
		res, err := Train(context.Background(), train, nil, o)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		p := res.Model.Model.Predict(nil, test.Rows, false)
		check := func(metric string, got, ref float64) {
			t.Logf("%s %s: predictd %.6f, xgboost %.6f (%+.3f%%)", name, metric, got, ref, 100*(got/ref-1))
			if !(math.Abs(got-ref) <= 0.005*math.Abs(ref)) {
				t.Errorf("%s %s: predictd %v, xgboost %v: more than 0.5%% apart", name, metric, got, ref)
			}
		}
		check("auc", quality.ROCAUC(test.Labels, p), st.AUC)
		check("logloss", quality.LogLoss(test.Labels, p), st.LogLoss)
	}
}
