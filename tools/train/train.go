package train

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"time"

	"github.com/predictd/predictd/internal/table"
	"github.com/predictd/predictd/model"
	"github.com/predictd/predictd/model/transform"
	"github.com/predictd/predictd/tools/eval"
	"github.com/predictd/predictd/tools/train/spec"
)

// Options configure Run.
type Options struct {
	// Spec is the parsed training spec and SpecYAML the bytes it was
	// parsed from (recorded verbatim, with their sha256, in the lineage).
	Spec     *spec.Spec
	SpecYAML []byte
	// Inputs are the training data files (.csv or .parquet), read in this
	// order as one table; each must have the columns the spec reads.
	Inputs []string
	// Repo and Name say where the version is written; Version 0 writes
	// the next free version.
	Repo, Name string
	Version    int
	// Parent is the version this one retrains (recorded in the lineage);
	// nil for a first training.
	Parent *model.VersionRef
	// Threads fit the model (gbdt histograms, logistic gradients); 0 means
	// runtime.GOMAXPROCS(0). The model does not depend on it.
	Threads int
	// Created is recorded as the manifest's Created and the lineage's
	// time; the zero value means when Run finishes.
	Created time.Time
	// Tool and PredictdVersion are recorded in the lineage; Tool "" means
	// "predictd train".
	Tool, PredictdVersion string
	// ChunkRows is how many rows are read at once; 0 means 4096.
	ChunkRows int
	// Progress, if set, is called on Run's goroutine as work advances.
	Progress func(Progress)
}

// Progress is a report of how far Run has got.
type Progress struct {
	// Stage is "read" (pass one: fitting transforms), "transform" (pass
	// two), "fit", "evaluate", "profile" or "write".
	Stage string `json:"stage"`
	// Rows is how many data rows the stage has read so far.
	Rows int64 `json:"rows,omitempty"`
	// Iteration (1-based) of Iterations: boosting rounds of a gbdt fit.
	Iteration  int `json:"iteration,omitempty"`
	Iterations int `json:"iterations,omitempty"`
	// Metric names the losses: logloss, rmse, mlogloss, poisson-nloglik;
	// ValidLoss is NaN without validation rows (omitted in JSON).
	Metric    string  `json:"metric,omitempty"`
	TrainLoss float64 `json:"train_loss,omitempty"`
	ValidLoss float64 `json:"-"`
	// Elapsed is the time since Run started; Remaining an estimate for
	// the fit (rounds left times the mean round so far), 0 when unknown.
	Elapsed   time.Duration `json:"-"`
	Remaining time.Duration `json:"-"`
}

// Result is what Run wrote and measured.
type Result struct {
	Manifest *model.Manifest
	Dir      string
	// TrainRows and ValidRows are the rows fitted on and held out.
	TrainRows, ValidRows int
	// ValidIndex holds the validation rows' positions (0-based over all
	// inputs, in order), ValidPredictions the fitted model's predictions
	// of them (len(Manifest.Outputs) a row): what the served version
	// predicts for the same raw rows, bit for bit.
	ValidIndex       []int64
	ValidPredictions []float64
	// Evaluation is the validation rows' evaluation (the training rows'
	// when there are no validation rows), as recorded in the manifest.
	Evaluation *eval.Report
	// Training is the fit's history, as recorded in Metrics["training"].
	Training Training
	// Warnings are conditions that did not stop training (a logistic fit
	// that reached max_iter before converging).
	Warnings []string
}

// Training is the fit's history, recorded in the manifest's
// Metrics["training"].
type Training struct {
	Model string `json:"model"`
	// Rounds kept and the best round (0-based), gbdt only.
	Rounds    int `json:"rounds,omitempty"`
	BestRound int `json:"best_round,omitempty"`
	// Metric, TrainLoss and ValidLoss: the last kept round's losses (gbdt).
	Metric    string   `json:"metric,omitempty"`
	TrainLoss *float64 `json:"train_loss,omitempty"`
	ValidLoss *float64 `json:"valid_loss,omitempty"`
	// Objective and Iterations: the minimized objective and the solver's
	// iterations (linear models).
	Objective  *float64 `json:"objective,omitempty"`
	Iterations int      `json:"iterations,omitempty"`
	// Converged is false when a linear solver stopped at max_iter.
	Converged bool `json:"converged"`
}

// MetricsTrainingKey is the key of Training in Manifest.Metrics.
const MetricsTrainingKey = "training"

const defaultChunkRows = 4096

// data is the table read for training: model columns and labels, split.
type data struct {
	width                int
	xTrain, xValid       []float64
	yTrain, yValid       []float64
	validIndex           []int64
	files                []model.DataFile
	classes              int // multiclass: one more than the largest label
	pipeline             *transform.Pipeline
	inputsSHA256         string // sha256 of the files' sha256s
	takesMissing, anyNaN bool
}

// Run trains a model as o.Spec says on o.Inputs and writes it to o.Repo
// (see the package doc). Errors name the spec's line, or the data file's
// line and column.
func Run(ctx context.Context, o Options) (*Result, error) {
	if o.Spec == nil {
		return nil, errors.New("train: Options.Spec is nil")
	}
	if len(o.Inputs) == 0 {
		return nil, errors.New("train: no input files (Options.Inputs)")
	}
	if o.Repo == "" || !model.ValidName(o.Name) {
		return nil, fmt.Errorf("train: Options.Repo %q and Name %q: want a repository folder and a model name", o.Repo, o.Name)
	}
	if o.Threads == 0 {
		o.Threads = runtime.GOMAXPROCS(0)
	}
	if o.ChunkRows == 0 {
		o.ChunkRows = defaultChunkRows
	}
	if o.Tool == "" {
		o.Tool = "predictd train"
	}
	start := time.Now()
	report := func(p Progress) {
		if o.Progress != nil {
			p.Elapsed = time.Since(start)
			o.Progress(p)
		}
	}
	s := o.Spec
	d, err := readData(ctx, &o, report)
	if err != nil {
		return nil, err
	}
	f, err := fit(ctx, &o, d, start, report)
	if err != nil {
		return nil, err
	}
	return finish(ctx, &o, s, d, f, report)
}

// inValidation says whether row r (0-based over all inputs) is held out:
// splitmix64 of the seed and the row, as a fraction of 2^64, below
// fraction.
func inValidation(seed int64, r int64, fraction float64) bool {
	if fraction <= 0 {
		return false
	}
	z := uint64(seed) + uint64(r+1)*0x9e3779b97f4a7c15
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	z ^= z >> 31
	return float64(z>>11)*0x1p-53 < fraction
}

// checkLabel says what is wrong with a label for the task.
func checkLabel(task string, y float64) error {
	switch {
	case math.IsNaN(y):
		return errors.New("the label is missing; every row needs one")
	case math.IsInf(y, 0):
		return fmt.Errorf("label %v; want a finite number", y)
	case task == spec.TaskBinary && y != 0 && y != 1:
		return fmt.Errorf("label %v; a binary task's label is 0 or 1", y)
	case task == spec.TaskMulticlass && (y != math.Trunc(y) || y < 0 || y > 1<<20):
		return fmt.Errorf("label %v; a multiclass task's label is a class index 0, 1, 2, ...", y)
	case task == spec.TaskPoisson && y < 0:
		return fmt.Errorf("label %v; a poisson task's label is a count >= 0", y)
	}
	return nil
}

// openInput opens one data file and checks its columns against the spec.
func openInput(path string, s *spec.Spec) (*table.Reader, int, error) {
	r, err := table.Open(path, table.Options{})
	if err != nil {
		return nil, 0, err
	}
	if err := s.CheckColumns(r.Columns()); err != nil {
		r.Close()
		return nil, 0, fmt.Errorf("%w (data file %s)", err, path)
	}
	return r, r.Index(s.Label), nil
}

// rowFunc handles row j of chunk ch, row k over all inputs; idx locates
// the transform's inputs in ch and li the label.
type rowFunc func(ch *table.Chunk, j int, k int64, idx []int, li int) error

// eachRow reads every input in order and calls f for each row, with
// index(r) the transform inputs' columns in each file; after each chunk it
// reports stage. It returns the rows read per file.
func eachRow(ctx context.Context, o *Options, stage string, index func(*table.Reader) ([]int, error), report func(Progress), f rowFunc) ([]int64, error) {
	var ch table.Chunk
	var k int64
	rows := make([]int64, len(o.Inputs))
	for i, path := range o.Inputs {
		r, li, err := openInput(path, o.Spec)
		if err != nil {
			return nil, err
		}
		err = func() error {
			defer r.Close()
			idx, err := index(r)
			if err != nil {
				return err
			}
			for {
				if err := context.Cause(ctx); err != nil {
					return err
				}
				n, err := r.Next(&ch, o.ChunkRows)
				if errors.Is(err, io.EOF) {
					return nil
				}
				if err != nil {
					return err
				}
				for j := range n {
					if err := f(&ch, j, k+int64(j), idx, li); err != nil {
						return err
					}
				}
				k += int64(n)
				rows[i] += int64(n)
				report(Progress{Stage: stage, Rows: k})
			}
		}()
		if err != nil {
			return nil, err
		}
	}
	return rows, nil
}

// readData makes the two passes over the inputs (see the package doc).
func readData(ctx context.Context, o *Options, report func(Progress)) (*data, error) {
	s := o.Spec
	fr, err := transform.NewFitter(s.Transforms())
	if err != nil {
		return nil, fmt.Errorf("%s: %w", s.File, err)
	}
	d := &data{takesMissing: s.Model.Type == spec.ModelGBDT}
	sums := sha256.New()
	for _, path := range o.Inputs {
		df, err := fileInfo(path)
		if err != nil {
			return nil, err
		}
		sums.Write([]byte(df.SHA256))
		d.files = append(d.files, df)
	}
	d.inputsSHA256 = hex.EncodeToString(sums.Sum(nil))
	// Pass one: labels of every row, transforms fitted on training rows.
	var labels []float64
	var row transform.Row
	perFile, err := eachRow(ctx, o, "read", fr.TableIndex, report, func(ch *table.Chunk, j int, k int64, idx []int, li int) error {
		y := math.NaN()
		if !ch.Null(li, j) {
			var err error
			if y, err = ch.Float(li, j); err != nil {
				return fmt.Errorf("%w (the label column %s)", err, s.Label)
			}
		}
		if err := checkLabel(s.Task, y); err != nil {
			return fmt.Errorf("%s: column %s: %v", ch.Where(j), s.Label, err)
		}
		labels = append(labels, y)
		if inValidation(s.Seed, k, s.ValidationFraction) {
			return nil
		}
		var err error
		if row, err = fr.ChunkRow(row, ch, j, idx); err != nil {
			return err
		}
		if err := fr.Add(row); err != nil {
			return fmt.Errorf("%s: %w", ch.Where(j), err)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	for i, n := range perFile {
		d.files[i].Rows = n
	}
	if len(labels) == 0 {
		return nil, fmt.Errorf("%s: no data rows", o.Inputs[0])
	}
	if d.pipeline, err = fr.Fit(); err != nil {
		return nil, fmt.Errorf("fit the transforms of %s: %w", s.File, err)
	}
	d.width = d.pipeline.Width()
	// Pass two: every row through model.TransformRow, as serving does.
	var buf []float64
	_, err = eachRow(ctx, o, "transform", d.pipeline.TableIndex, report, func(ch *table.Chunk, j int, k int64, idx []int, _ int) error {
		var err error
		if row, err = d.pipeline.ChunkRow(row, ch, j, idx); err != nil {
			return err
		}
		if buf, err = model.TransformRow(buf[:0], d.pipeline, d.takesMissing, row); err != nil {
			return fmt.Errorf("%s: %w", ch.Where(j), err)
		}
		if inValidation(s.Seed, k, s.ValidationFraction) {
			d.xValid = append(d.xValid, buf...)
			d.yValid = append(d.yValid, labels[k])
			d.validIndex = append(d.validIndex, k)
		} else {
			d.xTrain = append(d.xTrain, buf...)
			d.yTrain = append(d.yTrain, labels[k])
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if len(d.yTrain) == 0 {
		return nil, fmt.Errorf("%s: all %d rows fell in the validation split (validation_fraction %v); the model needs training rows", s.File, len(labels), s.ValidationFraction)
	}
	if s.Task == spec.TaskMulticlass {
		for _, y := range labels {
			d.classes = max(d.classes, int(y)+1)
		}
		seen := make([]bool, d.classes)
		for _, y := range d.yTrain {
			seen[int(y)] = true
		}
		for k, ok := range seen {
			if !ok {
				return nil, fmt.Errorf("%s: class %d occurs in no training row (labels run from 0 to %d); a multiclass task needs every class in training", o.Inputs[0], k, d.classes-1)
			}
		}
		if d.classes < 2 {
			return nil, fmt.Errorf("%s: every label is 0; a multiclass task needs at least two classes", o.Inputs[0])
		}
	}
	if s.Task == spec.TaskBinary {
		var pos int
		for _, y := range d.yTrain {
			pos += int(y)
		}
		if pos == 0 || pos == len(d.yTrain) {
			return nil, fmt.Errorf("%s: every training label is %v; a binary task needs both classes", o.Inputs[0], d.yTrain[0])
		}
	}
	return d, nil
}

// fileInfo is a data file's size and sha256.
func fileInfo(path string) (model.DataFile, error) {
	f, err := os.Open(path)
	if err != nil {
		return model.DataFile{}, err
	}
	defer f.Close()
	h := sha256.New()
	n, err := io.Copy(h, f)
	if err != nil {
		return model.DataFile{}, fmt.Errorf("%s: %w", path, err)
	}
	return model.DataFile{File: path, SHA256: hex.EncodeToString(h.Sum(nil)), Bytes: n}, nil
}

// finish predicts and evaluates the validation rows, profiles the training
// rows and writes the version.
func finish(ctx context.Context, o *Options, s *spec.Spec, d *data, f *fitted, report func(Progress)) (*Result, error) {
	imp := f.imp
	specSum := sha256.Sum256(o.SpecYAML)
	imp.Source = model.Source{
		Format: "predictd-train", File: filepath.Base(s.File), SHA256: hex.EncodeToString(specSum[:]),
		Library: "predictd", LibraryVersion: o.PredictdVersion, Objective: f.objective, Booster: f.booster,
	}
	// The manifest as Write will make it, for the evaluation and profile.
	m := &model.Manifest{
		Name: o.Name, Version: o.Version, Kind: imp.Kind, Task: imp.Task, Classes: imp.Classes,
		Features: model.InputFeatures(d.pipeline), ModelFeatures: imp.Features, Outputs: imp.Outputs,
		RawOutputs: imp.RawOutputs, Transform: &model.TransformFile{},
	}
	res := &Result{TrainRows: len(d.yTrain), ValidRows: len(d.yValid), ValidIndex: d.validIndex, Training: f.training, Warnings: f.warnings}
	report(Progress{Stage: "evaluate"})
	evalX, evalY, evalName := d.xValid, d.yValid, fmt.Sprintf("validation split of %s (%d rows, seed %d)", joinFiles(d.files), len(d.yValid), s.Seed)
	if len(d.yValid) == 0 {
		evalX, evalY, evalName = d.xTrain, d.yTrain, fmt.Sprintf("training rows of %s (%d rows; no validation split)", joinFiles(d.files), len(d.yTrain))
	}
	preds := imp.Model.Predict(nil, evalX, false)
	if len(d.yValid) > 0 {
		res.ValidPredictions = preds
	}
	rep, err := eval.Predictions(m, evalY, preds, evalName, d.inputsSHA256, eval.Options{Label: s.Label})
	if err != nil {
		return nil, err
	}
	created := o.Created
	if created.IsZero() {
		created = time.Now()
	}
	created = created.UTC().Truncate(time.Second)
	rep.Created = created
	res.Evaluation = rep
	report(Progress{Stage: "profile"})
	ref, err := profileRows(ctx, imp.Model, m, d, s.Seed)
	if err != nil {
		return nil, err
	}
	ref.Created = created // not the time of profiling: see the package doc
	metrics, lineage, err := records(o, s, d, f, rep, created)
	if err != nil {
		return nil, err
	}
	report(Progress{Stage: "write"})
	man, dir, err := model.Write(o.Repo, o.Name, imp, model.WriteOptions{
		Version: o.Version, Created: created, Transform: d.pipeline, Reference: ref,
		Lineage: lineage, Metrics: metrics,
	})
	if err != nil {
		return nil, err
	}
	res.Manifest, res.Dir = man, dir
	rep.Model, rep.Version = man.Name, man.Version
	return res, nil
}

// records are the manifest's Metrics and Lineage objects.
func records(o *Options, s *spec.Spec, d *data, f *fitted, rep *eval.Report, created time.Time) (metrics, lineage json.RawMessage, err error) {
	specSum := sha256.Sum256(o.SpecYAML)
	tl := model.TrainingLineage{
		Tool: o.Tool, PredictdVersion: o.PredictdVersion, Spec: s.File, SpecSHA256: hex.EncodeToString(specSum[:]),
		SpecYAML: string(o.SpecYAML), Data: d.files, Seed: s.Seed, ValidationFraction: s.ValidationFraction,
		TrainRows: int64(len(d.yTrain)), ValidRows: int64(len(d.yValid)), Parent: o.Parent, Created: created,
	}
	el := model.EvaluationLineage{
		Tool: o.Tool, PredictdVersion: o.PredictdVersion, Input: rep.Input, InputSHA256: rep.InputSHA256,
		Rows: rep.Rows, Label: rep.Label, Created: created,
	}
	if metrics, err = json.Marshal(map[string]any{model.MetricsEvaluationKey: rep.Recorded(), MetricsTrainingKey: f.training}); err != nil {
		return nil, nil, err
	}
	if lineage, err = json.Marshal(map[string]any{model.LineageTrainingKey: tl, model.LineageEvaluationsKey: []model.EvaluationLineage{el}}); err != nil {
		return nil, nil, err
	}
	return metrics, lineage, nil
}

func joinFiles(fs []model.DataFile) string {
	s := ""
	for i, f := range fs {
		if i > 0 {
			s += ", "
		}
		s += filepath.Base(f.File)
	}
	return s
}
