// Package gbdt trains histogram gradient-boosted trees, as XGBoost's "hist"
// tree method does, and returns them as a *model.Imported of kind trees, so
// that model.Write stores them and the daemon serves them through the same
// FastForest kernels as imported models.
//
// Binning: every value is read rounded to float32, as XGBoost reads it
// (beyond float32's range, ±Inf). Each feature's non-missing training
// values are cut into at most Options.MaxBin bins at quantile boundaries
// that are training values, the ones XGBoost 1.7.4's hist method picks: the
// values stream in row order through its weighted quantile sketch (eps
// 1/(8·MaxBin); an exact summary while the rows fit its queue, pruned and
// merged beyond), so the cuts are XGBoost's (TestCutsAtScale, 150,000 rows),
// each within eps·rows ranks of its quantile (TestCutsRankError); every
// distinct value gets its own bin when there are few enough; NaN is kept in
// a bin of its own. Bin b of a feature holds the values v with cut[b-1] <=
// float32(v) < cut[b]. A split after bin b sends x left when float32(x) <
// cut[b], which the tree stores as its threshold under the kernels'
// LessFloat32 rule (XGBoost's), so the served model routes a raw row exactly
// as the trainer routed its bins (TestBinsAreFloat32Less); a split of the
// missing values from all others is stored with its children swapped and
// threshold -Inf, as no float32 is above +Inf.
// Margins are summed in float64, base first and then tree by tree in order,
// as kernels.Forest does without Float32Sum: the trainer's own margins
// (Result.TrainMargins) equal the served model's raw margins bit for bit.
//
// Growth is depth-wise to Options.MaxDepth (GrowPolicy DepthWise) or
// best-first (LossGuide: the leaf whose split gains most is split next, ties
// to the lower node id, as XGBoost's lossguide driver), either bounded by
// Options.MaxLeaves. Each node's gradient and hessian histograms are built
// for the smaller child only and the larger child's are the parent's minus
// it; under LossGuide every leaf waiting to be split keeps its histogram
// (NumFeatures × 4 KiB). Gain and leaf weights follow XGBoost (L1 alpha, L2
// lambda, min_child_weight, gamma), including its float32 split gains and
// its order of candidates, so ties break as there; the missing-value
// direction is learned by trying both sides. On the committed fixtures (at
// most 1,500 training rows) the trees are XGBoost 1.7.4 hist's: test
// predictions agree within 1e-5, the float32 rounding XGBoost works in
// (TestQualityAgainstXGBoost; under lossguide and max_leaves,
// TestGrowthAgainstXGBoost); on a synthetic 200,000 x 40 set the test AUC
// and logloss are within 0.5% of XGBoost's, depth-wise and best-first
// (TestQualityAtScale). XGBoost holds each row's margin and gradient
// in float32, predictd in float64, so a split whose child hessian is within
// that rounding of MinChildWeight can go the other way.
//
// Determinism: a histogram build of a node with up to blockRows rows is
// split over features between threads, each feature's bins summed over the
// node's rows in ascending row order; a larger node is built in fixed blocks
// of blockRows rows, shared between threads and added in block order; a
// level's split searches and row partitions are split over nodes, each node
// owning its rows (under LossGuide, the searches of a split's two
// children); the best-first order is a total order on (gain, node id); the
// loss is summed in fixed blocks. So the same data, options and seed give
// the same model, bit for bit, at any Options.Threads.
//
// Train is safe to call concurrently; it does not retain its inputs.
package gbdt
