// Package candidates compares model versions on one labelled holdout by
// the book's explicit trade-offs: quality against latency and cost. It is
// the logic behind `predictd candidates`.
//
// # What is measured
//
// For each candidate (a model name and version) Run reports:
//
//   - quality, from tools/eval on the holdout (the same metric code as
//     `predictd eval`): for classifiers (task binary or multiclass) ROC AUC,
//     log loss, expected calibration error and the worst slice's AUC; for
//     every other task RMSE, MAE and the worst slice's RMSE. The primary
//     metric, the one candidates are ranked by, is AUC (higher is better)
//     or RMSE (lower is better). All candidates must be of one kind.
//
//   - single-row latency: the median and 99th percentile of one
//     Predict call of one row on one thread (tools/bench, batch 1,
//     GOMAXPROCS 1), over the holdout's own rows;
//
//   - batch throughput: rows per second on all Cores (GOMAXPROCS = Cores),
//     the best over Options.Batches (64, 256 and 1024 rows by default);
//
//   - cost per million predictions, from that throughput:
//
//     CostPerMillion = Cores × CostPerCoreHour / (RowsPerSecond × 3600) × 1e6
//
//     computed by loadtest/capacity.MakePlan (its replica basis, one
//     replica of Cores cores at full utilisation), so `predictd capacity`
//     and this command price a core the same way. Without a price the
//     report still carries CoreSecondsPerMillion = Cores × 1e6 /
//     RowsPerSecond, which the cost is proportional to;
//
//   - artifact size: the payload file's bytes as the manifest records
//     them, plus the reference profile's bytes when the version has one,
//     plus manifest.json's own size and that of any other regular file in
//     the version folder, such as a contract (ArtifactBytes, with the
//     parts beside it).
//
// # Noise
//
// The machine is shared and its speed drifts, so candidates are measured
// interleaved: Rounds rounds, each measuring every candidate once (all its
// cells), the starting candidate rotated by one each round (A B C, B C A,
// C A B, ...), so that a slow spell or a warm cache falls on every
// candidate alike. A candidate's p50, p99 and rows/s per batch size are
// the medians over its rounds; the best batch size is then picked from
// those medians. Every round's figures are kept in Result.Samples and
// their spread in Result's Min and Max fields, which the decisions below
// use.
//
// # Decisions
//
// Candidate A dominates B when A is at least as good as B on each of the
// primary quality metric, the single-row p99 and the cost axis
// (core-seconds per million, to which the cost per million, when priced,
// is the same multiple for every candidate) and strictly better on at
// least one. Quality, computed exactly, compares exactly. The measured
// axes compare by their rounds, because the machine's noise is larger
// than many real differences: A is better only when its slowest round is
// faster than B's fastest, and rounds that overlap are a tie (with one
// round this is plain comparison). So two copies of one model, whose
// rounds overlap, dominate neither each other, and a better model
// dominates one whose speed is within the noise of its own. A candidate
// with an undefined (NaN) value on an axis neither dominates nor is
// dominated.
//
// The best under the SLO is, among candidates whose median p99 is at most
// the SLO's (every candidate when no SLO is given), the one with the best
// primary metric; ties go to the lower median cost, then the lower median
// p99, then the one listed first. A candidate whose primary metric is
// undefined is never best. Report.Best is -1 when no candidate qualifies.
// Report.Notes flags a candidate whose rounds' p99 lie on both sides of
// the SLO.
//
// # Concurrency
//
// Run changes runtime.GOMAXPROCS while it measures (see tools/bench), so it
// must not run concurrently with another Run or with work whose speed
// matters. The other functions are pure and safe for concurrent use.
package candidates
