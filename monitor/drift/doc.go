// Package drift computes drift statistics of a window of rows against a
// model version's reference profile (model.Reference): the one
// implementation that the daemon's monitor (online, over its histograms and
// reservoirs) and `predictd drift` (offline, over a file, via tools/drift)
// both call, so the two give the same numbers on the same rows.
//
// # Statistics
//
// Each function equals scipy or numpy on the same data to 1e-9 (oracle
// fixtures in testdata/drift, made by testdata/gen/drift_oracle.py):
//
//   - PSI over binned counts (numpy; empty bins get proportion Epsilon);
//   - JSDistance over binned counts: scipy.spatial.distance.jensenshannon
//     with base 2;
//   - ChiSquare over category counts: scipy.stats.chisquare with expected
//     frequencies scaled from the reference (see ChiSquare);
//   - KS over raw samples: scipy.stats.ks_2samp, exact p-value;
//   - Wasserstein over raw samples: scipy.stats.wasserstein_distance;
//   - the missing-rate change, window minus reference.
//
// They are pure functions of their arguments: no state, safe for concurrent
// use. PSI, JSDistance, ChiSquare, KSStatistic and Wasserstein do not
// allocate; KS allocates one column of the smaller sample's size for its
// exact p-value.
//
// # Windows and verdicts
//
// A Window holds, per reference distribution, the rows seen, the missing
// ones, counts over the reference's bins (model.Distribution.Bin) and a raw
// sample. The online monitor fills one from its histograms and reservoirs;
// Accumulator fills one from rows, single-threaded (tools/drift uses it).
// Compare turns a reference and a window into a Report: every statistic and
// a Status per feature and output, judged against Thresholds, whose
// defaults and their sources are documented on DefaultThresholds.
//
// A Window and an Accumulator belong to one goroutine at a time; Compare
// only reads its arguments and may run concurrently with other Compares
// over the same reference.
package drift
