package quality

import (
	"math"
	"math/rand/v2"
	"slices"
	"strconv"
	"testing"
)

func TestCBPEOracle(t *testing.T) {
	f := loadFairness(t)
	for _, c := range f.CBPE {
		if got := EstimateAUC(c.P); !near(got, c.Want.AUC) {
			t.Errorf("%s: EstimateAUC = %v, want %v (roc_auc_score, rows weighted p and 1-p)", c.Name, got, show(c.Want.AUC))
		}
		if len(c.Want.Accuracy) != 3 || len(c.Want.Confusion) != 3 {
			t.Fatalf("%s: %d accuracies, %d confusions; want 3 thresholds", c.Name, len(c.Want.Accuracy), len(c.Want.Confusion))
		}
		for ts, w := range c.Want.Accuracy {
			thr, err := strconv.ParseFloat(ts, 64)
			if err != nil {
				t.Fatal(err)
			}
			if got := EstimateAccuracy(c.P, thr); !near(got, w) {
				t.Errorf("%s: EstimateAccuracy(threshold %v) = %v, want %v", c.Name, thr, got, show(w))
			}
			wc := c.Want.Confusion[ts]
			got, ok := EstimateConfusion(c.P, thr)
			if !ok || !near(got.TN, &wc.TN) || !near(got.FP, &wc.FP) || !near(got.FN, &wc.FN) || !near(got.TP, &wc.TP) {
				t.Errorf("%s: EstimateConfusion(threshold %v) = %+v, %v; want %+v, true", c.Name, thr, got, ok, wc)
			}
		}
	}
}

func TestCBPEUndefined(t *testing.T) {
	for name, p := range map[string][]float64{
		"no rows":   nil,
		"NaN score": {0.2, math.NaN()},
		"above 1":   {0.2, 1.5},
		"below 0":   {-0.1, 0.5},
	} {
		if got := EstimateAUC(p); !math.IsNaN(got) {
			t.Errorf("EstimateAUC(%s %v) = %v, want NaN", name, p, got)
		}
		if got := EstimateAccuracy(p, 0.5); !math.IsNaN(got) {
			t.Errorf("EstimateAccuracy(%s %v) = %v, want NaN", name, p, got)
		}
		if c, ok := EstimateConfusion(p, 0.5); ok || c != (ExpectedConfusion{}) {
			t.Errorf("EstimateConfusion(%s %v) = %+v, %v; want zero, false", name, p, c, ok)
		}
	}
	for _, p := range [][]float64{{0, 0}, {1, 1, 1}} {
		if got := EstimateAUC(p); !math.IsNaN(got) {
			t.Errorf("EstimateAUC(%v) = %v, want NaN (one expected class)", p, got)
		}
	}
	if c, ok := EstimateConfusionScored([]float64{0.5}, []float64{0.5, 0.6}, 0.5); ok || c != (ExpectedConfusion{}) {
		t.Errorf("EstimateConfusionScored(1 probability, 2 scores) = %+v, %v; want zero, false", c, ok)
	}
	if got := (ExpectedConfusion{}).Accuracy(); !math.IsNaN(got) {
		t.Errorf("ExpectedConfusion{}.Accuracy() = %v, want NaN", got)
	}
	// The decisions come from the scores, the probabilities from prob.
	if c, ok := EstimateConfusionScored([]float64{0.3, 0.6}, []float64{0.9, 0.1}, 0.5); !ok || c != (ExpectedConfusion{TP: 0.3, FP: 0.7, TN: 0.4, FN: 0.6}) {
		t.Errorf("EstimateConfusionScored([0.3 0.6], [0.9 0.1], 0.5) = %+v, %v; want {TN:0.4 FP:0.7 FN:0.6 TP:0.3}, true", c, ok)
	}
	p := []float64{0.9, 0.1, 0.5}
	EstimateAUC(p)
	if !slices.Equal(p, []float64{0.9, 0.1, 0.5}) {
		t.Errorf("EstimateAUC modified its input: %v", p)
	}
	// At threshold 0.5 a row is right with probability at least 1/2.
	if got := EstimateAccuracy([]float64{0.5, 0.49, 0.51}, 0.5); got < 0.5 {
		t.Errorf("EstimateAccuracy([0.5 0.49 0.51], 0.5) = %v, want >= 0.5", got)
	}
}

// window is one window of synthetic rows: scores p = sigmoid(mu + sd·z)
// with z standard normal, and labels y ~ Bernoulli(truth(p)).
func window(rng *rand.Rand, n int, mu, sd float64, truth func(float64) float64) (y, p []float64) {
	y, p = make([]float64, n), make([]float64, n)
	for i := range n {
		p[i] = 1 / (1 + math.Exp(-(mu + sd*rng.NormFloat64())))
		if rng.Float64() < truth(p[i]) {
			y[i] = 1
		}
	}
	return y, p
}

// hanleyMcNeilSE is the standard error of an ROC AUC a over npos positive
// and nneg negative rows (Hanley and McNeil 1982).
func hanleyMcNeilSE(a float64, npos, nneg int64) float64 {
	q1, q2 := a/(2-a), 2*a*a/(1+a)
	v := (a*(1-a) + float64(npos-1)*(q1-a*a) + float64(nneg-1)*(q2-a*a)) / float64(npos*nneg)
	return math.Sqrt(v)
}

// accuracySE is the standard deviation of the realized accuracy at
// threshold given calibrated scores p: each row is right with
// probability q (p, or 1-p below the threshold), independently.
func accuracySE(p []float64, threshold float64) float64 {
	v := 0.0
	for _, x := range p {
		q := x
		if x < threshold {
			q = 1 - x
		}
		v += q * (1 - q)
	}
	return math.Sqrt(v) / float64(len(p))
}

// gaps is, over windows, how far the estimates fall from the realized
// values in standard errors.
type gaps struct {
	windows                 int
	aucWithin3, accWithin3  int
	aucZ, accZ              []float64
	estAUC, trueAUC         float64 // means
	estAcc, trueAcc         float64
	meanAUCSE, meanAccSE    float64
	maxAbsAUCGap, maxAccGap float64
	meanAUCGap, meanAccGap  float64 // mean of est - true
}

const cbpeRows, cbpeThreshold = 2000, 0.5

func measure(seed uint64, windows int, mu, sd float64, truth func(float64) float64) gaps {
	rng := rand.New(rand.NewPCG(seed, 19))
	var g gaps
	g.windows = windows
	for range windows {
		y, p := window(rng, cbpeRows, mu, sd, truth)
		cm := BinaryConfusion(y, p, cbpeThreshold)
		ta, ea := ROCAUC(y, p), EstimateAUC(p)
		tc, ec := cm.Accuracy(), EstimateAccuracy(p, cbpeThreshold)
		seA := hanleyMcNeilSE(ea, cm.TP+cm.FN, cm.TN+cm.FP)
		seC := accuracySE(p, cbpeThreshold)
		za, zc := (ea-ta)/seA, (ec-tc)/seC
		if math.Abs(za) <= 3 {
			g.aucWithin3++
		}
		if math.Abs(zc) <= 3 {
			g.accWithin3++
		}
		g.aucZ, g.accZ = append(g.aucZ, za), append(g.accZ, zc)
		g.estAUC += ea / float64(windows)
		g.trueAUC += ta / float64(windows)
		g.estAcc += ec / float64(windows)
		g.trueAcc += tc / float64(windows)
		g.meanAUCSE += seA / float64(windows)
		g.meanAccSE += seC / float64(windows)
		g.meanAUCGap += (ea - ta) / float64(windows)
		g.meanAccGap += (ec - tc) / float64(windows)
		g.maxAbsAUCGap = max(g.maxAbsAUCGap, math.Abs(ea-ta))
		g.maxAccGap = max(g.maxAccGap, math.Abs(ec-tc))
	}
	return g
}

func (g gaps) log(t *testing.T, what string) {
	t.Helper()
	t.Logf("%s: %d windows of %d rows: AUC est %.4f true %.4f (mean gap %+.4f, max |gap| %.4f, mean SE %.4f, within 3 SE %d); "+
		"accuracy est %.4f true %.4f (mean gap %+.4f, max |gap| %.4f, mean SE %.4f, within 3 SE %d)",
		what, g.windows, cbpeRows, g.estAUC, g.trueAUC, g.meanAUCGap, g.maxAbsAUCGap, g.meanAUCSE, g.aucWithin3,
		g.estAcc, g.trueAcc, g.meanAccGap, g.maxAccGap, g.meanAccSE, g.accWithin3)
}

func identity(p float64) float64 { return p }

// rmsZ is the root mean square of z: about 1 when the standard error is
// the gaps' real spread, below 1 when it is conservative.
func rmsZ(z []float64) float64 {
	s := 0.0
	for _, v := range z {
		s += v * v
	}
	return math.Sqrt(s / float64(len(z)))
}

// TestCBPETracksCalibrated: with perfectly calibrated scores (y drawn
// from Bernoulli(p)), the estimated AUC and accuracy at 0.5 fall within 3
// standard errors of the realized ones in at least 95% of 200 windows of
// 2,000 rows (measured: all 200, for both). The AUC's standard error is
// Hanley and McNeil's at the estimate; the accuracy's is the exact one of
// the realized accuracy given the scores.
func TestCBPETracksCalibrated(t *testing.T) {
	g := measure(1, 200, 0, 1.5, identity)
	g.log(t, "calibrated")
	t.Logf("rms gap in standard errors: AUC %.2f, accuracy %.2f", rmsZ(g.aucZ), rmsZ(g.accZ))
	if g.aucWithin3 < 190 || g.accWithin3 < 190 {
		t.Errorf("calibrated scores: within 3 standard errors in %d (AUC) and %d (accuracy) of %d windows, want >= 95%% (190)",
			g.aucWithin3, g.accWithin3, g.windows)
	}
}

// TestCBPEMiscalibrated: when the scores are no longer calibrated the
// estimate, a function of the scores alone, no longer tracks: labels drawn
// from Bernoulli(p³) (the model overestimates) or from a truth twice as
// sharp as p in log-odds (the model underestimates) put the estimates
// beyond 3 standard errors in most windows.
func TestCBPEMiscalibrated(t *testing.T) {
	cube := measure(2, 200, 0, 1.5, func(p float64) float64 { return p * p * p })
	cube.log(t, "truth p^3")
	if cube.aucWithin3 > 10 || cube.accWithin3 > 100 {
		t.Errorf("truth p^3: within 3 standard errors in %d (AUC) and %d (accuracy) of %d windows, want <= 10 and <= 100",
			cube.aucWithin3, cube.accWithin3, cube.windows)
	}
	sharp := measure(3, 200, 0, 1.5, func(p float64) float64 { return 1 / (1 + math.Exp(-2*math.Log(p/(1-p)))) })
	sharp.log(t, "truth sharper")
	if sharp.aucWithin3 > 10 || sharp.accWithin3 > 10 {
		t.Errorf("sharper truth: within 3 standard errors in %d (AUC) and %d (accuracy) of %d windows, want <= 10 each",
			sharp.aucWithin3, sharp.accWithin3, sharp.windows)
	}
}

// TestCBPEFollowsCovariateShift: the score distribution shifts (logit
// mean 0 → 1, spread 1.5 → 0.7) with calibration intact; the realized AUC
// falls by about 0.13. The estimate stays within 3 standard errors in at
// least 95% of windows after the shift too, and its mean change is within
// 10% of the realized mean change.
func TestCBPEFollowsCovariateShift(t *testing.T) {
	before := measure(4, 100, 0, 1.5, identity)
	after := measure(5, 100, 1, 0.7, identity)
	before.log(t, "before shift")
	after.log(t, "after shift")
	if after.aucWithin3 < 95 || after.accWithin3 < 95 {
		t.Errorf("after the shift: within 3 standard errors in %d (AUC) and %d (accuracy) of %d windows, want >= 95",
			after.aucWithin3, after.accWithin3, after.windows)
	}
	dTrue, dEst := after.trueAUC-before.trueAUC, after.estAUC-before.estAUC
	if math.Abs(dTrue) < 0.05 || math.Abs(dEst-dTrue) > 0.1*math.Abs(dTrue) {
		t.Errorf("AUC change: estimated %+.4f, realized %+.4f; want a realized change beyond 0.05 and the estimate within 10%% of it",
			dEst, dTrue)
	}
}

// TestCBPEIsotonicRepairs: with the scores miscalibrated as in
// TestCBPEMiscalibrated (truth p³), calibrating them by an Isotonic fitted
// on a labelled reference window of 20,000 rows, as NannyML does, brings
// the estimates back: the estimated AUC (of the calibrated probabilities)
// and accuracy (of the model's decisions p ≥ 0.5, with the calibrated
// probabilities) within 3 standard errors of the realized ones in at
// least 95% of 200 windows.
func TestCBPEIsotonicRepairs(t *testing.T) {
	cube := func(p float64) float64 { return p * p * p }
	rng := rand.New(rand.NewPCG(6, 19))
	ry, rp := window(rng, 20000, 0, 1.5, cube)
	iso, err := FitIsotonic(ry, rp)
	if err != nil {
		t.Fatal(err)
	}
	const windows = 200
	aucIn, accIn := 0, 0
	var zA, zC []float64
	var cal []float64
	for range windows {
		y, p := window(rng, cbpeRows, 0, 1.5, cube)
		cal = iso.Calibrate(cal[:0], p)
		cm := BinaryConfusion(y, p, cbpeThreshold)
		ta, ea := ROCAUC(y, p), EstimateAUC(cal)
		ec, ok := EstimateConfusionScored(cal, p, cbpeThreshold)
		if !ok {
			t.Fatalf("EstimateConfusionScored refused calibrated probabilities")
		}
		tc := cm.Accuracy()
		// The accuracy's standard error given the calibrated probabilities.
		v := 0.0
		for i, q := range cal {
			if p[i] < cbpeThreshold {
				q = 1 - q
			}
			v += q * (1 - q)
		}
		za := (ea - ta) / hanleyMcNeilSE(ea, cm.TP+cm.FN, cm.TN+cm.FP)
		zc := (ec.Accuracy() - tc) / (math.Sqrt(v) / float64(len(p)))
		zA, zC = append(zA, za), append(zC, zc)
		if math.Abs(za) <= 3 {
			aucIn++
		}
		if math.Abs(zc) <= 3 {
			accIn++
		}
	}
	t.Logf("isotonic-calibrated, truth p^3: within 3 SE in %d (AUC) and %d (accuracy) of %d windows; rms gap in SE %.2f and %.2f",
		aucIn, accIn, windows, rmsZ(zA), rmsZ(zC))
	if aucIn < 190 || accIn < 190 {
		t.Errorf("calibrated by isotonic: within 3 standard errors in %d (AUC) and %d (accuracy) of %d windows, want >= 190 each",
			aucIn, accIn, windows)
	}
}
