package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/predictd/predictd/model"
	"github.com/predictd/predictd/tools/eval"
	"github.com/predictd/predictd/tools/train"
	"github.com/predictd/predictd/tools/train/spec"
)

// trainFlags are the flags train and retrain share.
type trainFlags struct {
	repo, name, in, predictions, created *string
	version, threads                     *int
	json                                 *bool
}

func addTrainFlags(fs interface {
	String(string, string, string) *string
	Int(string, int, string) *int
	Bool(string, bool, string) *bool
}, modelHelp string) trainFlags {
	return trainFlags{
		repo:        fs.String("repo", "", "model repository folder the version is written to"),
		name:        fs.String("model", "", modelHelp),
		in:          fs.String("in", "", "training rows: .csv with a header or .parquet; several files separated by commas are read in order as one table"),
		version:     fs.Int("version", 0, "version to write (default: the next free one)"),
		threads:     fs.Int("threads", 0, "threads fitting the model (default: one per core; the model does not depend on it)"),
		json:        fs.Bool("json", false, "progress and the result as JSON lines on stdout, for machines"),
		predictions: fs.String("predictions", "", "write the trained model's predictions of the validation rows to this CSV (column row: the row's position over all inputs, from 0)"),
		created:     fs.String("created", "", "time recorded as the version's creation (RFC 3339); default SOURCE_DATE_EPOCH when set, else now. Fixed, it makes a rerun byte-identical"),
	}
}

// cmdTrain is `predictd train`: fit a spec's transforms and model on data
// files and write a version that serves raw values (tools/train).
func cmdTrain(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("train", stderr)
	specPath := fs.String("spec", "", "training spec (YAML): label, task, model, features and their transforms")
	tf := addTrainFlags(fs, "model name to write a version of")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if err := required(fs, "spec", "in", "repo", "model"); err != nil {
		return err
	}
	data, err := os.ReadFile(*specPath)
	if err != nil {
		return err
	}
	s, err := spec.Parse(data, *specPath)
	if err != nil {
		return err
	}
	return runTrain(ctx, tf, s, data, nil, "predictd train", stdout, stderr)
}

// cmdRetrain is `predictd retrain --from NAME:VERSION`: train again on new
// data with the spec recorded in that version's lineage, recording it as
// the parent.
func cmdRetrain(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("retrain", stderr)
	from := fs.String("from", "", "the trained version to retrain, NAME:VERSION (VERSION latest for the highest)")
	tf := addTrainFlags(fs, "model name to write the new version of (default: the --from model)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if err := required(fs, "from", "in", "repo"); err != nil {
		return err
	}
	name, v, ok := strings.Cut(*from, ":")
	ver, err := strconv.Atoi(v)
	if v == "latest" {
		ver, err = 0, nil
	}
	if !ok || err != nil || ver < 0 || !model.ValidName(name) {
		return usageErr("retrain: --from %q: want NAME:VERSION, such as fraud:3 or fraud:latest", *from)
	}
	l, err := model.Open(*tf.repo, name, ver)
	if err != nil {
		return err
	}
	m := l.Manifest
	lin, ok, err := model.ReadTrainingLineage(m)
	if err != nil {
		return err
	}
	if !ok {
		return fmt.Errorf("retrain: %s version %d was not trained by predictd (its manifest has no training lineage); train it with predictd train --spec", m.Name, m.Version)
	}
	specName := lin.Spec + " (from " + m.Name + ":" + strconv.Itoa(m.Version) + ")"
	s, err := spec.Parse([]byte(lin.SpecYAML), specName)
	if err != nil {
		return fmt.Errorf("retrain: the spec recorded in %s version %d: %w", m.Name, m.Version, err)
	}
	s.File = lin.Spec
	if *tf.name == "" {
		*tf.name = m.Name
	}
	return runTrain(ctx, tf, s, []byte(lin.SpecYAML), &model.VersionRef{Name: m.Name, Version: m.Version}, "predictd retrain", stdout, stderr)
}

// createdTime is --created, else SOURCE_DATE_EPOCH, else the zero time
// (train.Run then takes the time it finishes).
func createdTime(flag string) (time.Time, error) {
	if flag != "" {
		t, err := time.Parse(time.RFC3339, flag)
		if err != nil {
			return time.Time{}, usageErr("--created %q: want an RFC 3339 time such as 2026-12-01T00:00:00Z", flag)
		}
		return t, nil
	}
	if e := os.Getenv("SOURCE_DATE_EPOCH"); e != "" {
		sec, err := strconv.ParseInt(e, 10, 64)
		if err != nil {
			return time.Time{}, usageErr("SOURCE_DATE_EPOCH %q: want a number of seconds since 1970", e)
		}
		return time.Unix(sec, 0), nil
	}
	return time.Time{}, nil
}

func runTrain(ctx context.Context, tf trainFlags, s *spec.Spec, specYAML []byte, parent *model.VersionRef, tool string, stdout, stderr io.Writer) error {
	if *tf.threads < 0 || *tf.version < 0 {
		return usageErr("%s: --threads and --version must not be negative", tool)
	}
	created, err := createdTime(*tf.created)
	if err != nil {
		return err
	}
	var inputs []string
	for _, p := range strings.Split(*tf.in, ",") {
		if p = strings.TrimSpace(p); p != "" {
			inputs = append(inputs, p)
		}
	}
	o := train.Options{
		Spec: s, SpecYAML: specYAML, Inputs: inputs, Repo: *tf.repo, Name: *tf.name, Version: *tf.version,
		Parent: parent, Threads: *tf.threads, Created: created, Tool: tool, PredictdVersion: version,
	}
	pr := newTrainProgress(*tf.json, stdout, stderr)
	o.Progress = pr.report
	start := time.Now()
	res, err := train.Run(ctx, o)
	pr.end()
	if err != nil {
		return err
	}
	if *tf.predictions != "" {
		if err := writePredictions(*tf.predictions, res); err != nil {
			return err
		}
	}
	if *tf.json {
		return json.NewEncoder(stdout).Encode(trainDone{
			Event: "done", Model: res.Manifest.Name, Version: res.Manifest.Version, Dir: res.Dir,
			TrainRows: res.TrainRows, ValidRows: res.ValidRows, Training: res.Training,
			Evaluation: res.Evaluation.Recorded().Overall, Warnings: res.Warnings, Seconds: time.Since(start).Seconds(),
		})
	}
	for _, w := range res.Warnings {
		fmt.Fprintf(stderr, "warning: %s\n", w)
	}
	printTrained(stdout, res, s, time.Since(start))
	return nil
}

// trainDone is --json's last line.
type trainDone struct {
	Event      string         `json:"event"`
	Model      string         `json:"model"`
	Version    int            `json:"version"`
	Dir        string         `json:"dir"`
	TrainRows  int            `json:"train_rows"`
	ValidRows  int            `json:"valid_rows"`
	Training   train.Training `json:"training"`
	Evaluation eval.Metrics   `json:"evaluation"`
	Warnings   []string       `json:"warnings,omitempty"`
	Seconds    float64        `json:"seconds"`
}

func printTrained(w io.Writer, res *train.Result, s *spec.Spec, took time.Duration) {
	m := res.Manifest
	fmt.Fprintf(w, "trained %s version %d in %.1f s: %s\n", m.Name, m.Version, took.Seconds(), res.Dir)
	fmt.Fprintf(w, "  rows       %d training, %d validation (validation_fraction %g, seed %d)\n", res.TrainRows, res.ValidRows, s.ValidationFraction, s.Seed)
	fmt.Fprintf(w, "  inputs     %d raw (%d model columns after the transforms)\n", len(m.Features), len(m.ModelFeatures))
	t := res.Training
	switch {
	case t.Rounds > 0:
		fmt.Fprintf(w, "  model      %s: %d rounds kept (best round %d)\n", t.Model, t.Rounds, t.BestRound+1)
	default:
		fmt.Fprintf(w, "  model      %s: %d iterations\n", t.Model, t.Iterations)
	}
	e := res.Evaluation
	ov := e.Overall
	var parts []string
	add := func(name string, v float64) {
		if !math.IsNaN(v) {
			parts = append(parts, fmt.Sprintf("%s %.4f", name, v))
		}
	}
	switch e.Task {
	case eval.TaskBinary:
		add("auc", ov.AUC)
		add("logloss", ov.LogLoss)
		add("brier", ov.Brier)
		add("accuracy", ov.Accuracy)
	case eval.TaskMulticlass:
		add("logloss", ov.LogLoss)
		add("accuracy", ov.Accuracy)
		add("auc (macro)", ov.AUC)
	default:
		add("rmse", ov.RMSE)
		add("mae", ov.MAE)
		add("r2", ov.R2)
	}
	fmt.Fprintf(w, "  evaluation %s on the %s\n", strings.Join(parts, "  "), e.Input)
}

// writePredictions writes the validation rows' predictions as CSV, whole
// or not at all.
func writePredictions(path string, res *train.Result) error {
	var b strings.Builder
	b.WriteString("row")
	for _, o := range res.Manifest.Outputs {
		b.WriteString("," + o.Name)
	}
	b.WriteByte('\n')
	k := len(res.Manifest.Outputs)
	for i, r := range res.ValidIndex {
		b.WriteString(strconv.FormatInt(r, 10))
		for _, v := range res.ValidPredictions[i*k : (i+1)*k] {
			b.WriteString("," + strconv.FormatFloat(v, 'g', -1, 64))
		}
		b.WriteByte('\n')
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".predictions-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.WriteString(b.String()); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}

// trainProgress shows train.Run's progress: with --json, JSON lines on
// stdout; otherwise one line on stderr, rewritten in place on a terminal
// and printed at most every 10% of the rounds elsewhere.
type trainProgress struct {
	json       bool
	out, err   io.Writer
	tty        bool
	last       time.Time
	lastTenth  int
	lastStage  string
	lineLength int
}

func newTrainProgress(asJSON bool, stdout, stderr io.Writer) *trainProgress {
	p := &trainProgress{json: asJSON, out: stdout, err: stderr}
	if f, ok := stderr.(*os.File); ok {
		p.tty = isTerminal(f)
	}
	return p
}

// trainEvent is one --json progress line.
type trainEvent struct {
	Event string `json:"event"`
	train.Progress
	ValidLoss *float64 `json:"valid_loss,omitempty"`
	Elapsed   float64  `json:"elapsed_seconds"`
	Remaining float64  `json:"remaining_seconds,omitempty"`
}

func (p *trainProgress) report(g train.Progress) {
	final := g.Iterations > 0 && g.Iteration == g.Iterations
	stageChange := g.Stage != p.lastStage
	p.lastStage = g.Stage
	if p.json {
		// Every stage change, the last round, and otherwise at most 10 lines a second.
		if !stageChange && !final && time.Since(p.last) < 100*time.Millisecond {
			return
		}
		p.last = time.Now()
		ev := trainEvent{Event: "progress", Progress: g, Elapsed: g.Elapsed.Seconds(), Remaining: g.Remaining.Seconds()}
		if !math.IsNaN(g.ValidLoss) && g.Iteration > 0 {
			v := g.ValidLoss
			ev.ValidLoss = &v
		}
		json.NewEncoder(p.out).Encode(ev)
		return
	}
	line := p.line(g)
	if p.tty {
		if !stageChange && !final && time.Since(p.last) < 100*time.Millisecond {
			return
		}
		p.last = time.Now()
		pad := ""
		if n := p.lineLength - len(line); n > 0 {
			pad = strings.Repeat(" ", n)
		}
		fmt.Fprintf(p.err, "\r%s%s", line, pad)
		p.lineLength = len(line)
		return
	}
	// Not a terminal: a line per stage, per tenth of the rounds, and
	// every 5 s while reading.
	if g.Iterations > 0 {
		tenth := g.Iteration * 10 / g.Iterations
		if tenth == p.lastTenth && !stageChange {
			return
		}
		p.lastTenth = tenth
	} else if !stageChange && time.Since(p.last) < 5*time.Second {
		return
	}
	p.last = time.Now()
	fmt.Fprintln(p.err, line)
}

func (p *trainProgress) line(g train.Progress) string {
	el := g.Elapsed.Round(100 * time.Millisecond)
	if g.Iterations == 0 {
		if g.Rows > 0 {
			return fmt.Sprintf("train: %s: %d rows  elapsed %s", g.Stage, g.Rows, el)
		}
		return fmt.Sprintf("train: %s  elapsed %s", g.Stage, el)
	}
	s := fmt.Sprintf("train: round %d/%d  train %s %.5f", g.Iteration, g.Iterations, g.Metric, g.TrainLoss)
	if !math.IsNaN(g.ValidLoss) {
		s += fmt.Sprintf("  valid %.5f", g.ValidLoss)
	}
	return s + fmt.Sprintf("  elapsed %s  remaining %s", el, g.Remaining.Round(100*time.Millisecond))
}

// end finishes a terminal's progress line.
func (p *trainProgress) end() {
	if p.tty && !p.json && p.lineLength > 0 {
		fmt.Fprintln(p.err)
	}
}
