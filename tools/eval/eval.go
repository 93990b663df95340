package eval

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"math"
	"time"
)

// Options configures an evaluation.
type Options struct {
	// Repo, Model and Version name the model version (Version 0: the
	// latest).
	Repo, Model string
	Version     int
	// In is the labelled file (.csv with a header, or .parquet): the
	// model's feature columns, Label, and the Slices and Protected
	// columns.
	In string
	// Label is the column of true values: 0 or 1 for binary models, a
	// class index 0..Classes-1 for multiclass, a number for regression.
	Label string
	// Slices are columns to break the metrics down by, one group per
	// distinct value (a missing cell is the group MissingValue).
	// A value is the cell's text as internal/table gives it, surrounding
	// spaces trimmed.
	Slices []string
	// Protected is a column whose groups the fairness gaps compare
	// (binary models only); "" for none.
	Protected string
	// Threshold turns a binary model's probability into a class: positive
	// when the probability is at least Threshold. 0 means the default,
	// 0.5; otherwise it must be in (0, 1].
	Threshold float64
	// Bins is the number of uniform calibration bins over [0, 1]; 0 means
	// the default, 10.
	Bins int
	// TweediePower is the power of the Tweedie deviance (regression
	// tasks): 0 means the default, 1.5; otherwise at least 1 (1 is
	// Poisson, 2 gamma). scikit-learn also takes powers ≤ 0; they cannot
	// be asked for here.
	TweediePower float64
	// MaxSliceValues bounds the distinct values of one slice column; 0
	// means the default, 1000. A column with more is refused, naming it.
	MaxSliceValues int
	// Workers and BatchRows are score.Options' (the prediction's
	// parallelism); 0 for score's defaults.
	Workers, BatchRows int
}

// Defaults of Options.
const (
	DefaultThreshold      = 0.5
	DefaultBins           = 10
	DefaultTweediePower   = 1.5
	DefaultMaxSliceValues = 1000
)

// MissingValue is the slice value of a row whose slice cell is missing
// (table.Chunk.Null: an empty CSV field or NA, NaN, nan, null, N/A; a
// Parquet null or NaN).
const MissingValue = "(missing)"

// DefaultOptions returns Options with every default filled in; the caller
// sets Repo, Model, In and Label.
func DefaultOptions() Options {
	return Options{Threshold: DefaultThreshold, Bins: DefaultBins, TweediePower: DefaultTweediePower, MaxSliceValues: DefaultMaxSliceValues}
}

// Check fills the defaults into o and reports the first field that is
// wrong. Run calls it.
func (o *Options) Check() error {
	o.Threshold = cmp.Or(o.Threshold, DefaultThreshold)
	o.Bins = cmp.Or(o.Bins, DefaultBins)
	o.TweediePower = cmp.Or(o.TweediePower, DefaultTweediePower)
	o.MaxSliceValues = cmp.Or(o.MaxSliceValues, DefaultMaxSliceValues)
	switch {
	case o.Repo == "":
		return errors.New("eval options: Repo is empty, want the model repository folder")
	case o.Model == "":
		return errors.New("eval options: Model is empty, want a model name")
	case o.Version < 0:
		return fmt.Errorf("eval options: Version is %d, want a version number or 0 for the latest", o.Version)
	case o.In == "":
		return errors.New("eval options: In is empty, want a labelled .csv or .parquet file")
	case o.Label == "":
		return errors.New("eval options: Label is empty, want the label column's name")
	case !(o.Threshold > 0 && o.Threshold <= 1):
		return fmt.Errorf("eval options: Threshold is %v, want a probability in (0, 1]", o.Threshold)
	case o.Bins < 1 || o.Bins > 1000:
		return fmt.Errorf("eval options: Bins is %d, want 1 to 1000 calibration bins", o.Bins)
	case math.IsNaN(o.TweediePower) || o.TweediePower < 0 || (o.TweediePower > 0 && o.TweediePower < 1):
		return fmt.Errorf("eval options: TweediePower is %v, want at least 1 (0 for the default, 1.5)", o.TweediePower)
	case o.MaxSliceValues < 0:
		return fmt.Errorf("eval options: MaxSliceValues is %d, want a positive number (0 for the default)", o.MaxSliceValues)
	case o.Workers < 0 || o.BatchRows < 0:
		return fmt.Errorf("eval options: Workers %d and BatchRows %d, want positive numbers (0 for the defaults)", o.Workers, o.BatchRows)
	}
	seen := map[string]bool{o.Label: true}
	for i, s := range o.Slices {
		switch {
		case s == "":
			return fmt.Errorf("eval options: Slices[%d] is empty, want a column name", i)
		case s == o.Label:
			return fmt.Errorf("eval options: Slices[%d] is the label column %q", i, s)
		case seen[s]:
			return fmt.Errorf("eval options: Slices names %q twice", s)
		}
		seen[s] = true
	}
	if o.Protected == o.Label {
		return fmt.Errorf("eval options: Protected is the label column %q", o.Label)
	}
	return nil
}

// Tasks, as Report.Task names them.
const (
	TaskBinary     = "binary"
	TaskMulticlass = "multiclass"
	TaskRegression = "regression"
)

// Report is one evaluation.
type Report struct {
	Model   string `json:"model"`
	Version int    `json:"version"`
	// Task is how the model was judged: "binary", "multiclass" or
	// "regression" (the manifest's tasks regression, count and positive);
	// ModelTask is the manifest's own.
	Task      string `json:"task"`
	ModelTask string `json:"model_task"`
	// Classes is the manifest's class count (multiclass), else 0.
	Classes int `json:"classes,omitempty"`
	// Input is the file as given, InputSHA256 its content's hash; Label
	// the label column.
	Input       string `json:"input"`
	InputSHA256 string `json:"input_sha256"`
	Label       string `json:"label"`
	// Rows is the number of rows evaluated.
	Rows int64 `json:"rows"`
	// Threshold, Bins and TweediePower are the settings the numbers were
	// computed with.
	Threshold    float64 `json:"threshold"`
	Bins         int     `json:"bins"`
	TweediePower float64 `json:"tweedie_power"`
	// Created is when the evaluation finished (UTC, whole seconds).
	Created time.Time `json:"created"`

	Overall Metrics `json:"overall"`
	// Confusion is the confusion matrix over all rows, by true class
	// (rows) and predicted class (columns): [[TN FP] [FN TP]] for binary
	// models at Threshold; nil for regression.
	Confusion [][]int64 `json:"confusion,omitempty"`
	// Curves are the curves over all rows: ROC, precision-recall and
	// calibration for binary models, one-vs-rest ROC per class for
	// multiclass probabilities, predicted against actual by bins for
	// regression; nil for a multiclass model that gives only the class.
	Curves *Curves `json:"curves,omitempty"`
	// Slices has one entry per slice column and value: columns in
	// Options.Slices' order, values in ascending order (MissingValue
	// last).
	Slices []SliceReport `json:"slices,omitempty"`
	// Spreads has, per slice column, the best-to-worst spread of each
	// metric finite on at least one of its values (NaN and ±Inf are left
	// out).
	Spreads []Spread `json:"spreads,omitempty"`
	// Fairness compares the protected column's groups (binary models with
	// Options.Protected set); nil otherwise.
	Fairness *Fairness `json:"fairness,omitempty"`
}

// SliceReport is the metrics of the rows that hold Value in Column.
type SliceReport struct {
	Column  string  `json:"column"`
	Value   string  `json:"value"`
	Rows    int64   `json:"rows"`
	Metrics Metrics `json:"metrics"`
}

// Spread is one metric's range over one slice column's values.
type Spread struct {
	Column string `json:"column"`
	Metric string `json:"metric"`
	// Best and Worst are the values by the metric's direction, at the
	// slice values BestValue and WorstValue; Spread = |Best - Worst|.
	Best       float64 `json:"best"`
	BestValue  string  `json:"best_value"`
	Worst      float64 `json:"worst"`
	WorstValue string  `json:"worst_value"`
	Spread     float64 `json:"spread"`
}

// Curves are a model's curves over all rows; the binary ones as
// scikit-learn 1.2.1 returns them (see monitor/quality). A task's curves
// are empty for the others.
type Curves struct {
	// ROC: roc_curve (drop_intermediate=True): FPR and TPR ascending,
	// Thresholds descending, the first the highest score + 1.
	ROC struct {
		FPR        Floats `json:"fpr"`
		TPR        Floats `json:"tpr"`
		Thresholds Floats `json:"thresholds"`
	} `json:"roc"`
	// PR: precision_recall_curve: recall descending to 0, precision ending
	// in 1; Thresholds ascending, one fewer.
	PR struct {
		Precision  Floats `json:"precision"`
		Recall     Floats `json:"recall"`
		Thresholds Floats `json:"thresholds"`
	} `json:"pr"`
	// Calibration: calibration_curve (strategy="uniform") over Bins bins,
	// non-empty bins only, with each bin's row count.
	Calibration struct {
		MeanPredicted    Floats  `json:"mean_predicted"`
		FractionPositive Floats  `json:"fraction_positive"`
		Count            []int64 `json:"count"`
	} `json:"calibration"`
	// ClassROC (multiclass probabilities) is each class's one-vs-rest
	// roc_curve and AUC; a class whose AUC is undefined (no row of it, or
	// only rows of it) is left out.
	ClassROC []ClassROC `json:"class_roc,omitempty"`
	// Regression (regression tasks) compares predictions with labels over
	// Bins bins of rows of equal count (the last bins one row fewer when
	// the rows do not divide evenly), by ascending prediction: each bin's
	// mean prediction, mean label and row count. Empty bins (fewer rows
	// than Bins) are left out. Ties in the prediction may fall in two bins.
	Regression struct {
		MeanPredicted Floats  `json:"mean_predicted"`
		MeanLabel     Floats  `json:"mean_label"`
		Count         []int64 `json:"count"`
	} `json:"regression"`
}

// ClassROC is one class's one-vs-rest ROC curve.
type ClassROC struct {
	Class int     `json:"class"`
	AUC   float64 `json:"auc"`
	FPR   Floats  `json:"fpr"`
	TPR   Floats  `json:"tpr"`
}

// Fairness compares the groups of a protected column at the threshold, as
// fairlearn defines the gaps: DemographicParityDifference is the largest
// minus the smallest rate of positive predictions over the groups
// (fairlearn.metrics.demographic_parity_difference);
// EqualOpportunityDifference the largest minus the smallest true positive
// rate (recall; a group without positive labels has a rate of 0, as
// recall_score's zero_division default gives).
type Fairness struct {
	Column                      string          `json:"column"`
	Groups                      []FairnessGroup `json:"groups"`
	DemographicParityDifference float64         `json:"demographic_parity_difference"`
	EqualOpportunityDifference  float64         `json:"equal_opportunity_difference"`
}

// FairnessGroup is one value of the protected column.
type FairnessGroup struct {
	Value        string  `json:"value"`
	Rows         int64   `json:"rows"`
	Positives    int64   `json:"positives"`
	PositiveRate float64 `json:"positive_rate"`
	TPR          float64 `json:"tpr"`
}

// WorstSlice returns the slice, over every slice column, with the worst
// value of the named metric by its direction (the lowest AUC, the highest
// RMSE), skipping slices where it is NaN; false when no slice has it
// defined or metric is not a metric name (see MetricNames; case and
// underscores are ignored, so "logloss" is "log_loss"). Ties go to the
// first slice in Slices' order.
func (r *Report) WorstSlice(metric string) (SliceReport, bool) {
	d, ok := lookup(metric)
	if !ok {
		return SliceReport{}, false
	}
	best, found := SliceReport{}, false
	for _, s := range r.Slices {
		v := *d.get(&s.Metrics)
		if math.IsNaN(v) {
			continue
		}
		if w := *d.get(&best.Metrics); !found || (d.higher && v < w) || (!d.higher && v > w) {
			best, found = s, true
		}
	}
	return best, found
}

// Run evaluates a model version on a labelled file (see the package doc).
// It stops when ctx is canceled and returns context.Cause of ctx then.
func Run(ctx context.Context, opts Options) (*Report, error) {
	if err := opts.Check(); err != nil {
		return nil, err
	}
	rep, err := run(ctx, opts)
	if err != nil && ctx.Err() != nil {
		return nil, context.Cause(ctx)
	}
	return rep, err
}
