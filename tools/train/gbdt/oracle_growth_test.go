//go:build !race

package gbdt

import "testing"

// This file is left out of -race builds (the test takes 40 s there); it
// runs in the non-race pass.

// TestGrowthAgainstXGBoost: as TestQualityAgainstXGBoost, on the same
// fixtures and hyperparameters, under XGBoost's lossguide policy with
// max_leaves 8 and no depth limit, and with max_leaves 31 and max_depth 6,
// and under depthwise with max_leaves 12 and max_depth 5: the test
// predictions are within predTol of XGBoost 1.7.4 hist's, so best-first
// order, its ties and the leaf limit are XGBoost's.
func TestGrowthAgainstXGBoost(t *testing.T) {
	var or oracle
	readJSON(t, fixtures+"oracle.json", &or)
	var gor growthOracle
	readJSON(t, fixtures+"oracle_growth.json", &gor)
	if gor.XGBoost != "1.7.4" || len(gor.Settings) != 3 {
		t.Fatalf("growth oracle from xgboost %s with %d settings, want 1.7.4 and 3", gor.XGBoost, len(gor.Settings))
	}
	for setting, st := range gor.Settings {
		if len(st.Cases) != 5 {
			t.Fatalf("%s: %d cases, want 5", setting, len(st.Cases))
		}
		t.Run(setting, func(t *testing.T) {
			for name, c := range st.Cases {
				o := oracleOptions(&or, &c)
				o.GrowPolicy, o.MaxLeaves, o.MaxDepth = GrowPolicy(st.Params.GrowPolicy), st.Params.MaxLeaves, st.Params.MaxDepth
				checkOracleCase(t, name, &c, o)
			}
		})
	}
}
