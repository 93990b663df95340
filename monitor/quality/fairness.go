package quality

import (
	"cmp"
	"slices"
)

// GroupRates is one group of a protected attribute at a threshold.
type GroupRates[G cmp.Ordered] struct {
	Group     G
	Rows      int64 // rows of the group
	Positives int64 // rows of the group labelled positive
	// SelectionRate is the fraction of the group's rows predicted
	// positive (p ≥ threshold): fairlearn's selection_rate.
	SelectionRate float64
	// TPR is the fraction of the group's positive rows predicted
	// positive: fairlearn's true_positive_rate, scikit-learn's
	// recall_score. 0 when the group has no positive row, as both give
	// (recall_score's default zero_division; fairlearn's normalized
	// confusion matrix): the group is then listed in Fairness.NoPositives.
	TPR float64
}

// Fairness is a binary classifier's group fairness at a threshold, with
// the two differences fairlearn defines (fairlearn.metrics
// demographic_parity_difference and equal_opportunity_difference, both
// with method="between_groups": the largest group value minus the
// smallest).
type Fairness[G cmp.Ordered] struct {
	// Groups holds every group present, in ascending order of the group
	// value (cmp.Compare).
	Groups []GroupRates[G]
	// DemographicParityDifference is the largest minus the smallest
	// SelectionRate over Groups; NaN for no rows.
	DemographicParityDifference float64
	// EqualOpportunityDifference is the largest minus the smallest TPR
	// over the groups, a group without a positive row counting TPR 0 as
	// fairlearn and scikit-learn count it (so that the number equals
	// theirs on the same rows; such a gap says more about the data than
	// the model, which is why NoPositives names those groups). NaN for no
	// rows.
	EqualOpportunityDifference float64
	// NoPositives lists, ascending, the groups without a positive row,
	// whose TPR of 0 is a convention, not a measurement.
	NoPositives []G
}

// GroupFairness computes Fairness for labels y (1 positive, anything else
// negative), scores p, predicted positive when p ≥ threshold (a NaN p is
// predicted negative, as BinaryConfusion does), and group[i] the
// protected attribute's value for row i: a string or an integer code.
// The slices must have one length (else it panics with a BUG message).
func GroupFairness[G cmp.Ordered](y, p []float64, group []G, threshold float64) Fairness[G] {
	if len(y) != len(p) || len(p) != len(group) {
		panic("quality: BUG: GroupFairness: labels, scores and groups differ in length")
	}
	idx := make(map[G]int)
	var confs []Confusion
	var values []G
	for i, g := range group {
		k, ok := idx[g]
		if !ok {
			k = len(values)
			idx[g] = k
			values = append(values, g)
			confs = append(confs, Confusion{})
		}
		c := &confs[k]
		switch pos, pred := y[i] == 1, p[i] >= threshold; {
		case pos && pred:
			c.TP++
		case pos:
			c.FN++
		case pred:
			c.FP++
		default:
			c.TN++
		}
	}
	f := Fairness[G]{Groups: make([]GroupRates[G], len(values))}
	for k, g := range values {
		c := confs[k]
		f.Groups[k] = GroupRates[G]{Group: g, Rows: c.Rows(), Positives: c.TP + c.FN, SelectionRate: c.PositiveRate(), TPR: c.Recall()}
	}
	slices.SortFunc(f.Groups, func(a, b GroupRates[G]) int { return cmp.Compare(a.Group, b.Group) })
	rates, tprs := make([]float64, len(f.Groups)), make([]float64, len(f.Groups))
	for k, g := range f.Groups {
		rates[k], tprs[k] = g.SelectionRate, g.TPR
		if g.Positives == 0 {
			f.NoPositives = append(f.NoPositives, g.Group)
		}
	}
	f.DemographicParityDifference = Gap(rates)
	f.EqualOpportunityDifference = Gap(tprs)
	return f
}
