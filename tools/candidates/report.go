package candidates

import (
	"github.com/predictd/predictd/internal/jsonfloat"
	"github.com/predictd/predictd/tools/eval"
)

// Metric is a float64 that is NaN when undefined (a slice metric without
// slices, an AUC on one class); JSON writes NaN and ±Inf as null and reads
// null back as NaN (jsonfloat.Float).
type Metric = jsonfloat.Float

// Kinds of comparison (Report.Kind).
const (
	KindClassifier = "classifier" // tasks binary and multiclass: ranked by AUC
	KindRegressor  = "regressor"  // every other task: ranked by RMSE
)

// Quality is a candidate's quality on the holdout, from tools/eval. The
// fields of the other kind are NaN (null in JSON).
type Quality struct {
	// Classifiers: ROC AUC, log loss, expected calibration error.
	AUC     Metric `json:"auc"`
	LogLoss Metric `json:"log_loss"`
	ECE     Metric `json:"ece"`
	// Regressors: root mean squared error, mean absolute error.
	RMSE Metric `json:"rmse"`
	MAE  Metric `json:"mae"`
	// WorstSlice is the slice ("column=value") with the worst primary
	// metric (lowest AUC, highest RMSE) over every --slice column,
	// WorstSliceRows its rows and WorstSliceValue the metric there; "",
	// 0 and NaN without slices.
	WorstSlice      string `json:"worst_slice,omitempty"`
	WorstSliceRows  int64  `json:"worst_slice_rows,omitempty"`
	WorstSliceValue Metric `json:"worst_slice_value"`
}

// Sample is one round's measurement of one candidate.
type Sample struct {
	Round int `json:"round"`
	// P50Micros and P99Micros are the single-row latency (batch 1, one
	// thread) in microseconds.
	P50Micros float64 `json:"p50_us"`
	P99Micros float64 `json:"p99_us"`
	// RowsPerSecond is the throughput on Report.Cores at each batch size,
	// in Report.Batches' order.
	RowsPerSecond []float64 `json:"rows_per_second"`
}

// Result is one candidate's row of the comparison.
type Result struct {
	Candidate
	// Label is "name:version" with the resolved version.
	Label string `json:"label"`
	// Task is tools/eval's task ("binary", "multiclass", "regression",
	// ...); Kind the model's kind (trees, linear, mlp).
	Task      string `json:"task"`
	ModelKind string `json:"model_kind"`
	// Rows is the number of holdout rows evaluated.
	Rows    int64   `json:"rows"`
	Quality Quality `json:"quality"`
	// Primary is the primary metric's value (Quality.AUC or
	// Quality.RMSE).
	Primary Metric `json:"primary"`
	// P50Micros and P99Micros are the medians over the rounds of the
	// single-row latency percentiles, in microseconds.
	P50Micros float64 `json:"p50_us"`
	P99Micros float64 `json:"p99_us"`
	// RowsPerSecond is the best over Report.Batches of the median
	// throughput on Report.Cores cores; BestBatch is that batch size.
	RowsPerSecond float64 `json:"rows_per_second"`
	BestBatch     int     `json:"best_batch"`
	// The spread over the rounds: the lowest and highest single-row p99,
	// and rows/s at BestBatch.
	P99MinMicros     float64 `json:"p99_min_us"`
	P99MaxMicros     float64 `json:"p99_max_us"`
	RowsPerSecondMin float64 `json:"rows_per_second_min"`
	RowsPerSecondMax float64 `json:"rows_per_second_max"`
	// CoreSecondsPerMillion = Report.Cores × 1e6 / RowsPerSecond.
	CoreSecondsPerMillion float64 `json:"core_seconds_per_million"`
	// CostPerMillion = Report.Cores × Report.CostPerCoreHour /
	// (RowsPerSecond × 3600) × 1e6, in Report.Currency; 0 when no price
	// was given.
	CostPerMillion float64 `json:"cost_per_million,omitempty"`
	// ArtifactBytes = PayloadBytes + ReferenceBytes + ManifestBytes +
	// OtherBytes: the payload file and the reference profile (0 when
	// none) as the manifest records their sizes, manifest.json's size on
	// disk, and the other regular files of the version folder (OtherFiles,
	// such as a contract; hidden files skipped).
	ArtifactBytes  int64    `json:"artifact_bytes"`
	PayloadBytes   int64    `json:"payload_bytes"`
	ReferenceBytes int64    `json:"reference_bytes,omitempty"`
	ManifestBytes  int64    `json:"manifest_bytes"`
	OtherBytes     int64    `json:"other_bytes,omitempty"`
	OtherFiles     []string `json:"other_files,omitempty"`
	// DominatedBy lists the labels of the candidates that dominate this
	// one (see the package doc); empty on the Pareto frontier.
	DominatedBy []string `json:"dominated_by,omitempty"`
	// WithinSLO is P99Micros ≤ the SLO's p99 (true without an SLO).
	WithinSLO bool `json:"within_slo"`
	// Best marks Report.Best.
	Best bool `json:"best,omitempty"`
	// Samples holds every round's measurement, in round order.
	Samples []Sample `json:"samples"`
	// Eval is tools/eval's report on the holdout (overall, by slice,
	// fairness), without its curves.
	Eval *eval.Report `json:"eval,omitempty"`
}

// Report is a finished comparison.
type Report struct {
	// In and Label are the holdout file and its label column; Slices the
	// slice columns.
	In     string   `json:"in"`
	Label  string   `json:"label"`
	Slices []string `json:"slices,omitempty"`
	// Kind is KindClassifier or KindRegressor; Primary names the primary
	// metric ("auc" or "rmse") and HigherIsBetter its direction.
	Kind           string `json:"kind"`
	Primary        string `json:"primary"`
	HigherIsBetter bool   `json:"higher_is_better"`
	// SLOP99Micros is the SLO's single-row p99 in microseconds; 0 means
	// none was given.
	SLOP99Micros    float64 `json:"slo_p99_us,omitempty"`
	CostPerCoreHour float64 `json:"cost_per_core_hour,omitempty"`
	Currency        string  `json:"currency,omitempty"`
	// Cores is the thread count (GOMAXPROCS) of the throughput
	// measurement and the cores the cost pays for.
	Cores int `json:"cores"`
	// Batches are the batch sizes throughput was measured at; Rounds,
	// CellMillis and WarmupMillis the interleaved measurement's shape
	// (each cell measured CellMillis after WarmupMillis of warm-up, in
	// every round); BenchRows the holdout rows the calls cycled through.
	Batches      []int   `json:"batches"`
	Rounds       int     `json:"rounds"`
	CellMillis   float64 `json:"cell_ms"`
	WarmupMillis float64 `json:"warmup_ms"`
	BenchRows    int     `json:"bench_rows"`
	// Machine describes where it ran: GOOS/GOARCH, CPU model, and the
	// load average before and after the measurement (Linux only).
	Machine Machine `json:"machine"`
	// Candidates are in the order they were asked for.
	Candidates []Result `json:"candidates"`
	// Best is the index in Candidates of the best under the SLO, -1 when
	// none qualifies.
	Best int `json:"best"`
	// Frontier lists the labels of the candidates no other dominates.
	Frontier []string `json:"frontier"`
	// Notes flag what the reader should doubt: a candidate whose rounds'
	// p99 lie on both sides of the SLO.
	Notes []string `json:"notes,omitempty"`
}

// Machine describes the computer a comparison ran on.
type Machine struct {
	OS         string `json:"os"`
	Arch       string `json:"arch"`
	CPU        string `json:"cpu,omitempty"`
	NumCPU     int    `json:"num_cpu"`
	LoadBefore string `json:"load_before,omitempty"`
	LoadAfter  string `json:"load_after,omitempty"`
}
