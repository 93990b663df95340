package eval

import (
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/predictd/predictd/internal/table"
	"github.com/predictd/predictd/model"
	"github.com/predictd/predictd/tools/score"
)

// mode is how a model's outputs are judged.
type mode int

const (
	modeProb  mode = iota // binary: one probability of class 1
	modeScore             // binary: one untransformed score (ranking metrics only)
	modeProbs             // multiclass: one probability per class
	modeClass             // multiclass: the class index
	modeValue             // regression
)

// modeOf says how m's outputs are judged, or why they cannot be.
func modeOf(m *model.Manifest) (string, mode, error) {
	switch m.Task {
	case model.TaskBinary:
		if len(m.Outputs) != 1 {
			return "", 0, fmt.Errorf("model %s v%d: a binary model with %d outputs; want one", m.Name, m.Version, len(m.Outputs))
		}
		if strings.Contains(m.Outputs[0].Meaning, "probability") {
			return TaskBinary, modeProb, nil
		}
		return TaskBinary, modeScore, nil
	case model.TaskMulticlass:
		switch len(m.Outputs) {
		case m.Classes:
			return TaskMulticlass, modeProbs, nil
		case 1:
			return TaskMulticlass, modeClass, nil
		}
		return "", 0, fmt.Errorf("model %s v%d: a multiclass model of %d classes with %d outputs; want one per class or the class index", m.Name, m.Version, m.Classes, len(m.Outputs))
	case model.TaskRegression, model.TaskCount, model.TaskPositive:
		if len(m.Outputs) != 1 {
			return "", 0, fmt.Errorf("model %s v%d: a %s model with %d outputs; want one", m.Name, m.Version, m.Task, len(m.Outputs))
		}
		return TaskRegression, modeValue, nil
	}
	return "", 0, fmt.Errorf("model %s v%d: task %q cannot be evaluated", m.Name, m.Version, m.Task)
}

// column is one slice column read from the file: each row's group index
// and the groups' values.
type column struct {
	name   string
	idx    int // in the file
	ids    []int32
	values []string
	index  map[string]int32
}

// data is what Run reads from the file.
type data struct {
	y    []float64 // labels (class indices as float64 for multiclass)
	cols []*column // Slices, then Protected (when it is not also a slice)
	rows int64
}

// readLabels reads the label, slice and protected columns of the file with
// internal/table, checking each label for the task.
func readLabels(ctx context.Context, o *Options, md mode, classes int) (*data, error) {
	r, err := table.Open(o.In, table.Options{})
	if err != nil {
		return nil, err
	}
	defer r.Close()
	names := func() string {
		var s []string
		for _, c := range r.Columns() {
			s = append(s, c.Name)
		}
		return strings.Join(s, ", ")
	}
	li := r.Index(o.Label)
	if li < 0 {
		return nil, fmt.Errorf("%s: no label column %q; the columns are: %s", o.In, o.Label, names())
	}
	d := &data{}
	want := append(slices.Clone(o.Slices), o.Protected)
	if o.Protected == "" || slices.Contains(o.Slices, o.Protected) {
		want = want[:len(o.Slices)]
	}
	for _, name := range want {
		i := r.Index(name)
		if i < 0 {
			what := "slice"
			if name == o.Protected && !slices.Contains(o.Slices, name) {
				what = "protected"
			}
			return nil, fmt.Errorf("%s: no %s column %q; the columns are: %s", o.In, what, name, names())
		}
		d.cols = append(d.cols, &column{name: name, idx: i, index: map[string]int32{}})
	}
	var ch table.Chunk
	for {
		if err := context.Cause(ctx); err != nil {
			return nil, err
		}
		n, err := r.Next(&ch, 4096)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, err
		}
		for row := range n {
			y, err := ch.Float(li, row)
			if err != nil {
				return nil, err
			}
			if err := checkLabel(y, md, classes); err != nil {
				return nil, fmt.Errorf("%s: column %q: %v", ch.Where(row), o.Label, err)
			}
			d.y = append(d.y, y)
			for _, c := range d.cols {
				v := MissingValue
				if !ch.Null(c.idx, row) {
					v = strings.TrimSpace(ch.Text(c.idx, row))
				}
				id, ok := c.index[v]
				if !ok {
					if len(c.values) >= o.MaxSliceValues {
						return nil, fmt.Errorf("%s: column %q has more than %d distinct values: slice by a coarser column", o.In, c.name, o.MaxSliceValues)
					}
					id = int32(len(c.values))
					c.index[v] = id
					c.values = append(c.values, v)
				}
				c.ids = append(c.ids, id)
			}
		}
	}
	d.rows = int64(len(d.y))
	if d.rows == 0 {
		return nil, fmt.Errorf("%s: no rows to evaluate", o.In)
	}
	return d, nil
}

// checkLabel says what is wrong with a label for the task.
func checkLabel(y float64, md mode, classes int) error {
	switch {
	case math.IsNaN(y):
		return errors.New("the label is missing; every row needs one")
	case md == modeProb || md == modeScore:
		if y != 0 && y != 1 {
			return fmt.Errorf("label %v; a binary model's label is 0 or 1", y)
		}
	case md == modeProbs || md == modeClass:
		if y != math.Trunc(y) || y < 0 || y >= float64(classes) {
			return fmt.Errorf("label %v; this model's labels are class indices 0 to %d", y, classes-1)
		}
	}
	return nil
}

// collect is the RowWriter that keeps score.Score's predictions in order.
type collect struct{ out []float64 }

func (c *collect) Write(v []float64) error { c.out = append(c.out, v...); return nil }
func (c *collect) Close() error            { return nil }

// predict predicts every row of the file as `predictd score` does: read
// by score.OpenModelInput, so a version with feature transforms reads its
// raw inputs and predicts from its columns.
func predict(ctx context.Context, l *model.Loaded, o *Options) ([]float64, int64, error) {
	so := score.DefaultOptions()
	so.Features = l.Manifest.Columns()
	for _, out := range l.Manifest.Outputs {
		so.Outputs = append(so.Outputs, out.Name)
	}
	so.Workers = cmp.Or(o.Workers, so.Workers)
	so.BatchRows = cmp.Or(o.BatchRows, so.BatchRows)
	in, closeIn, err := score.OpenModelInput(o.In, l)
	if err != nil {
		return nil, 0, err
	}
	defer closeIn()
	var c collect
	st, err := score.Score(ctx, l.Model, so, in, &c)
	return c.out, st.Rows, err
}

// fileSHA256 is the hex sha256 of the file at path.
func fileSHA256(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", fmt.Errorf("%s: %w", path, err)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

func run(ctx context.Context, o Options) (*Report, error) {
	l, err := model.OpenContext(ctx, o.Repo, o.Model, o.Version)
	if err != nil {
		return nil, err
	}
	m := l.Manifest
	task, md, err := modeOf(m)
	if err != nil {
		return nil, err
	}
	if o.Protected != "" && md != modeProb {
		return nil, fmt.Errorf("eval: a protected column's groups are compared on a binary classifier's probabilities; model %s v%d gives %s", m.Name, m.Version, m.Outputs[0].Meaning)
	}
	d, err := readLabels(ctx, &o, md, m.Classes)
	if err != nil {
		return nil, err
	}
	preds, rows, err := predict(ctx, l, &o)
	if err != nil {
		return nil, err
	}
	if rows != d.rows {
		return nil, fmt.Errorf("%s: the label reader found %d rows, the feature reader %d: check for blank lines or unbalanced quotes", o.In, d.rows, rows)
	}
	sum, err := fileSHA256(o.In)
	if err != nil {
		return nil, err
	}
	rep := &Report{
		Model: m.Name, Version: m.Version, Task: task, ModelTask: string(m.Task), Input: o.In, InputSHA256: sum,
		Label: o.Label, Rows: d.rows, Threshold: o.Threshold, Bins: o.Bins, TweediePower: o.TweediePower,
	}
	if task == TaskMulticlass {
		rep.Classes = m.Classes
	}
	ev := evaluator{o: &o, md: md, k: m.Classes, width: len(m.Outputs)}
	rep.Overall = ev.metricsOf(d.y, preds)
	rep.Confusion = ev.confusion(d.y, preds)
	switch md {
	case modeProb, modeScore:
		rep.Curves = ev.curves(d.y, preds)
	case modeProbs:
		rep.Curves = ev.classCurves(d.y, preds)
	case modeValue:
		rep.Curves = ev.regressionCurve(d.y, preds)
	}
	for ci, c := range d.cols {
		if ci >= len(o.Slices) {
			break
		}
		groups := groupRows(c)
		start := len(rep.Slices)
		for _, g := range groups {
			rep.Slices = append(rep.Slices, SliceReport{Column: c.name, Value: c.values[g.id], Rows: int64(len(g.rows)), Metrics: ev.metrics(d.y, preds, g.rows)})
		}
		rep.Spreads = append(rep.Spreads, spreads(c.name, rep.Slices[start:])...)
		if err := context.Cause(ctx); err != nil {
			return nil, err
		}
	}
	if o.Protected != "" {
		for _, c := range d.cols {
			if c.name == o.Protected {
				rep.Fairness = ev.fairness(c, d.y, preds)
				break
			}
		}
	}
	rep.Created = time.Now().UTC().Truncate(time.Second)
	return rep, nil
}

type group struct {
	id   int32
	rows []int
}

// groupRows returns a column's groups, values ascending with MissingValue
// last, each with its rows in file order.
func groupRows(c *column) []group {
	gs := make([]group, len(c.values))
	for i := range gs {
		gs[i].id = int32(i)
	}
	for row, id := range c.ids {
		gs[id].rows = append(gs[id].rows, row)
	}
	slices.SortFunc(gs, func(a, b group) int {
		va, vb := c.values[a.id], c.values[b.id]
		if (va == MissingValue) != (vb == MissingValue) {
			if va == MissingValue {
				return 1
			}
			return -1
		}
		return strings.Compare(va, vb)
	})
	return gs
}

// spreads is the best-to-worst range of each metric over a column's
// slices, for the metrics finite on at least one of them (an infinite
// value, from an overflowing prediction, is left out like NaN).
func spreads(col string, ss []SliceReport) []Spread {
	var out []Spread
	for _, d := range metricDefs {
		var sp Spread
		found := false
		for _, s := range ss {
			v := *d.get(&s.Metrics)
			if math.IsNaN(v) || math.IsInf(v, 0) {
				continue
			}
			better := func(a, b float64) bool { return (d.higher && a > b) || (!d.higher && a < b) }
			if !found || better(v, sp.Best) {
				sp.Best, sp.BestValue = v, s.Value
			}
			if !found || better(sp.Worst, v) {
				sp.Worst, sp.WorstValue = v, s.Value
			}
			found = true
		}
		if found {
			sp.Column, sp.Metric, sp.Spread = col, d.name, math.Abs(sp.Best-sp.Worst)
			out = append(out, sp)
		}
	}
	return out
}
