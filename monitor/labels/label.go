package labels

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/cockroachdb/pebble/v2"
)

// Task is what a model predicts, which decides the labels it takes and
// the metrics of its report.
type Task int

const (
	// Binary: the label is 0 or 1, the score the probability of 1.
	Binary Task = iota + 1
	// Regression: the label is any finite number.
	Regression
)

func (t Task) String() string {
	switch t {
	case Binary:
		return "binary"
	case Regression:
		return "regression"
	}
	return fmt.Sprintf("Task(%d)", int(t))
}

// Spec says how to read a model's predictions and labels.
type Spec struct {
	Task Task
	// Output is the index of the output that is the score (Binary: the
	// probability of class 1) or the prediction (Regression); default 0.
	// A row with fewer outputs has a NaN score.
	Output int
	// SliceColumns name Record's slice values, in order. A row with
	// fewer values has "" for the missing ones.
	SliceColumns []string
	// Protected names the protected attribute, one of SliceColumns, for
	// the report's group fairness (Binary only); "" for none.
	Protected string
	// Threshold: a Binary row is predicted positive when its score is at
	// least Threshold (accuracy, fairness, CBPE accuracy); 0 means 0.5.
	Threshold float64
}

// Configure sets model's Spec; Label and Report use it. It may be called
// again (a new version with other slices) and concurrently with the
// other methods.
func (s *Store) Configure(model string, spec Spec) error {
	switch {
	case spec.Task != Binary && spec.Task != Regression:
		return fmt.Errorf("labels: model %s: Spec.Task %v is neither Binary nor Regression", model, spec.Task)
	case spec.Output < 0:
		return fmt.Errorf("labels: model %s: Spec.Output %d is negative", model, spec.Output)
	case spec.Protected != "" && !slices.Contains(spec.SliceColumns, spec.Protected):
		return fmt.Errorf("labels: model %s: Spec.Protected %q is not one of Spec.SliceColumns %q", model, spec.Protected, spec.SliceColumns)
	case !(spec.Threshold >= 0 && spec.Threshold <= 1):
		return fmt.Errorf("labels: model %s: Spec.Threshold %v is outside [0, 1]", model, spec.Threshold)
	}
	if spec.Threshold == 0 {
		spec.Threshold = 0.5
	}
	spec.SliceColumns = slices.Clone(spec.SliceColumns)
	s.specMu.Lock()
	s.specs[model] = spec
	s.specMu.Unlock()
	return nil
}

func (s *Store) spec(model string) (Spec, bool) {
	s.specMu.RLock()
	defer s.specMu.RUnlock()
	sp, ok := s.specs[model]
	return sp, ok
}

// Label is one label sent for a prediction.
type Label struct {
	ID    string
	Value float64
	// Time is when the outcome was known; zero means the time Label is
	// called (Options.Now).
	Time time.Time
}

// Outcome is what became of one label.
type Outcome int

const (
	Joined    Outcome = iota // joined to its prediction
	Unknown                  // no prediction with this id: never recorded, dropped, or expired
	Duplicate                // the prediction already has a label: the first is kept
	Late                     // label time after the prediction time + JoinWindow: not joined
	Invalid                  // NaN or infinite value; a Binary label other than 0 or 1; model not configured
)

func (o Outcome) String() string {
	switch o {
	case Joined:
		return "joined"
	case Unknown:
		return "unknown"
	case Duplicate:
		return "duplicate"
	case Late:
		return "late"
	case Invalid:
		return "invalid"
	}
	return fmt.Sprintf("Outcome(%d)", int(o))
}

// MaxLabelErrors is the most LabelErrors a Result lists.
const MaxLabelErrors = 10

// LabelError says why a label was not joined.
type LabelError struct {
	Index   int     `json:"index"` // position in Label's labels
	ID      string  `json:"id"`
	Outcome Outcome `json:"-"`
	Reason  string  `json:"reason"` // Outcome and detail, for a person
}

// Result counts Label's outcomes; the counts add up to the labels given.
type Result struct {
	Joined    int `json:"joined"`
	Unknown   int `json:"unknown"`
	Duplicate int `json:"duplicate"`
	Late      int `json:"late"`
	Invalid   int `json:"invalid"`
	// Errors are the first MaxLabelErrors labels not joined, in order.
	Errors []LabelError `json:"errors,omitempty"`
}

func (r *Result) add(i int, id string, o Outcome, reason string) {
	switch o {
	case Joined:
		r.Joined++
		return
	case Unknown:
		r.Unknown++
	case Duplicate:
		r.Duplicate++
	case Late:
		r.Late++
	case Invalid:
		r.Invalid++
	}
	if len(r.Errors) < MaxLabelErrors {
		r.Errors = append(r.Errors, LabelError{Index: i, ID: id, Outcome: o, Reason: o.String() + ": " + reason})
	}
}

// Label joins labels to model's predictions by id. It first waits for
// the predictions already queued (Flush), so a label sent right after its
// response finds its prediction. Each label's outcome is counted in the
// Result and in Stats; none fails the call. The joined rows are committed
// with fsync before Label returns. A label for an id that appears twice in
// labels is joined once, the second counted Duplicate. The error is for
// the store itself failing (nothing of the call is then applied) or
// being closed.
func (s *Store) Label(model string, labels []Label) (Result, error) {
	if err := s.Flush(); err != nil {
		return Result{}, err
	}
	s.closeMu.RLock()
	defer s.closeMu.RUnlock()
	if s.closed {
		return Result{}, ErrClosed
	}
	spec, configured := s.spec(model)
	now := s.opts.Now()

	s.mu.Lock()
	defer s.mu.Unlock()
	b := s.db.NewIndexedBatch()
	defer b.Close()
	var r Result
	type moved struct {
		ns    int64
		bytes int64
	}
	var accounted []moved
	var key, val []byte
	window := s.opts.JoinWindow.Nanoseconds()
	for i, l := range labels {
		switch {
		case !configured:
			r.add(i, l.ID, Invalid, fmt.Sprintf("model %q has no Spec (Configure)", model))
			continue
		case math.IsNaN(l.Value) || math.IsInf(l.Value, 0):
			r.add(i, l.ID, Invalid, fmt.Sprintf("label %v is not a number", l.Value))
			continue
		case spec.Task == Binary && l.Value != 0 && l.Value != 1:
			r.add(i, l.ID, Invalid, fmt.Sprintf("label %v of a binary classifier is neither 0 nor 1", l.Value))
			continue
		}
		key = appendIndexKey(key[:0], model, l.ID)
		iv, err := get(b, key)
		if err != nil {
			return Result{}, fmt.Errorf("labels: label %d (id %q): %w", i, l.ID, err)
		}
		if iv == nil {
			r.add(i, l.ID, Unknown, "no prediction of model "+model+" has this id in the store")
			continue
		}
		version, ns, err := parseIndexValue(iv)
		if err != nil {
			return Result{}, fmt.Errorf("labels: label %d (id %q): index: %w", i, l.ID, err)
		}
		lt := l.Time
		if lt.IsZero() {
			lt = now
		}
		key = appendRowKey(key[:0], kindPending, model, version, ns, l.ID)
		pv, err := get(b, key)
		if err != nil {
			return Result{}, fmt.Errorf("labels: label %d (id %q): %w", i, l.ID, err)
		}
		if pv == nil {
			key[0] = kindJoined
			jv, err := get(b, key)
			if err != nil {
				return Result{}, fmt.Errorf("labels: label %d (id %q): %w", i, l.ID, err)
			}
			if jv != nil {
				r.add(i, l.ID, Duplicate, "the prediction already has a label; the first is kept")
			} else {
				r.add(i, l.ID, Unknown, "the prediction has expired")
			}
			continue
		}
		if lt.UnixNano()-ns > window {
			r.add(i, l.ID, Late, fmt.Sprintf("label time %s is more than the join window %v after the prediction time %s",
				lt.UTC().Format(time.RFC3339Nano), s.opts.JoinWindow, time.Unix(0, ns).UTC().Format(time.RFC3339Nano)))
			continue
		}
		val = appendLabel(append(val[:0], pv...), l.Value, lt.UnixNano())
		if err := b.Delete(key, nil); err != nil {
			return Result{}, fmt.Errorf("labels: label %d (id %q): %w", i, l.ID, err)
		}
		key[0] = kindJoined
		if err := b.Set(key, val, nil); err != nil {
			return Result{}, fmt.Errorf("labels: label %d (id %q): %w", i, l.ID, err)
		}
		accounted = append(accounted, moved{ns, labelSuffixLen})
		r.add(i, l.ID, Joined, "")
	}
	if b.Count() > 0 {
		if err := b.Commit(pebble.Sync); err != nil {
			return Result{}, fmt.Errorf("labels: commit labels of model %s: %w", model, err)
		}
	}
	for _, m := range accounted {
		s.account(m.ns, m.bytes)
	}
	s.joined.Add(int64(r.Joined))
	s.unknown.Add(int64(r.Unknown))
	s.duplicate.Add(int64(r.Duplicate))
	s.late.Add(int64(r.Late))
	s.invalid.Add(int64(r.Invalid))
	return r, nil
}

// get returns a copy of key's value in b (which reads through to the
// database), or nil when there is none.
func get(b *pebble.Batch, key []byte) ([]byte, error) {
	v, closer, err := b.Get(key)
	if errors.Is(err, pebble.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	out := append([]byte{}, v...)
	closer.Close()
	return out, nil
}
