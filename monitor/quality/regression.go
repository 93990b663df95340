package quality

import "math"

// RMSE is mean_squared_error(y, p, squared=False); NaN for no rows.
func RMSE(y, p []float64) float64 {
	if len(y) == 0 {
		return math.NaN()
	}
	s := 0.0
	for i, v := range y {
		d := v - p[i]
		s += d * d
	}
	return math.Sqrt(s / float64(len(y)))
}

// MAE is mean_absolute_error(y, p); NaN for no rows.
func MAE(y, p []float64) float64 {
	if len(y) == 0 {
		return math.NaN()
	}
	s := 0.0
	for i, v := range y {
		s += math.Abs(v - p[i])
	}
	return s / float64(len(y))
}

// R2 is r2_score(y, p) (force_finite=True): 1 - Σ(y-p)²/Σ(y-ȳ)²; 1 when
// the predictions are exact, 0 when they are not but y is constant; NaN
// for fewer than two rows (scikit-learn warns and returns NaN).
func R2(y, p []float64) float64 {
	if len(y) < 2 {
		return math.NaN()
	}
	mean := 0.0
	for _, v := range y {
		mean += v
	}
	mean /= float64(len(y))
	num, den := 0.0, 0.0
	for i, v := range y {
		num += (v - p[i]) * (v - p[i])
		den += (v - mean) * (v - mean)
	}
	switch {
	case num == 0:
		return 1
	case den == 0:
		return 0
	}
	return 1 - num/den
}

// PoissonDeviance is mean_poisson_deviance(y, p): TweedieDeviance at
// power 1.
func PoissonDeviance(y, p []float64) float64 { return TweedieDeviance(y, p, 1) }

// TweedieDeviance is mean_tweedie_deviance(y, p, power=power), with
// scikit-learn's formulas for power 0 (squared error), 1 (Poisson), 2
// (gamma) and the rest. NaN for no rows, and where scikit-learn raises:
// a power in (0, 1); for power < 0 a p ≤ 0; for 1 ≤ power < 2 a y < 0 or a
// p ≤ 0; for power ≥ 2 a y ≤ 0 or a p ≤ 0.
func TweedieDeviance(y, p []float64, power float64) float64 {
	if len(y) == 0 || (power > 0 && power < 1) || math.IsNaN(power) {
		return math.NaN()
	}
	for i, v := range y {
		switch q := p[i]; {
		case power < 0 && !(q > 0),
			power >= 1 && power < 2 && (v < 0 || !(q > 0)),
			power >= 2 && (!(v > 0) || !(q > 0)):
			return math.NaN()
		}
	}
	s := 0.0
	for i, v := range y {
		q := p[i]
		var d float64
		switch power {
		case 0:
			d = (v - q) * (v - q)
		case 1:
			d = 2 * (xlogy(v, v/q) - v + q)
		case 2:
			d = 2 * (math.Log(q/v) + v/q - 1)
		default:
			yt := v
			if power < 0 {
				yt = max(v, 0)
			}
			d = 2 * (math.Pow(yt, 2-power)/((1-power)*(2-power)) - v*math.Pow(q, 1-power)/(1-power) + math.Pow(q, 2-power)/(2-power))
		}
		s += d
	}
	return s / float64(len(y))
}

// xlogy is scipy's xlogy: 0 when x is 0, else x·log(y).
func xlogy(x, y float64) float64 {
	if x == 0 && y == y {
		return 0
	}
	return x * math.Log(y)
}
