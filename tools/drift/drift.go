// Package drift is `predictd drift`: the drift statistics of a file of rows
// against a model version's reference, offline, so a batch can be checked
// before it reaches production. It reads the rows with tools/score's
// readers, predicts them with score.Score (the code `predictd score` runs),
// accumulates features and predictions over the reference's bins with
// monitor/drift's Accumulator, and judges them with monitor/drift.Compare:
// the function the daemon's monitor calls on its windows, so the offline
// and online numbers agree on the same rows. For a version with feature
// transforms the features compared are its transformed columns
// (Manifest.Columns()), what the model sees and its reference profiles.
//
// File and Rows may run concurrently with each other; a call owns its
// reader.
package drift

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"runtime"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/predictd/predictd/model"
	mdrift "github.com/predictd/predictd/monitor/drift"
	"github.com/predictd/predictd/tools/score"
)

// Options configures a drift run.
type Options struct {
	// SampleSize bounds the raw sample kept per numeric feature and output
	// for the Kolmogorov-Smirnov and Wasserstein statistics (a seeded
	// uniform sample of the file's values). Against a reference sample of
	// 1,000 values, 10,000 gives the KS test an effective size
	// n·m/(n+m) of 909, where the whole of an endless file would give
	// 1,000, and keeps its exact p-value cheap (tens of milliseconds).
	SampleSize int
	// Seed seeds the samples.
	Seed uint64
	// Thresholds judge the statistics (monitor/drift.DefaultThresholds).
	Thresholds mdrift.Thresholds
	// Workers and BatchRows are score.Options' (the prediction's
	// parallelism).
	Workers   int
	BatchRows int
}

// DefaultSampleSize is the default Options.SampleSize.
const DefaultSampleSize = 10_000

// DefaultOptions returns the defaults: samples of 10,000, seed 1, the
// default thresholds, score's parallelism.
func DefaultOptions() Options {
	so := score.DefaultOptions()
	return Options{
		SampleSize: DefaultSampleSize, Seed: 1, Thresholds: mdrift.DefaultThresholds(),
		Workers: so.Workers, BatchRows: so.BatchRows,
	}
}

// Report is a drift run's answer: the version and input it compared, and
// monitor/drift's report.
type Report struct {
	Model   string `json:"model"`
	Version int    `json:"version"`
	Input   string `json:"input"`
	Rows    int64  `json:"rows"`
	// Reference says what the version was profiled on.
	Reference struct {
		Rows    int64     `json:"rows"`
		Source  string    `json:"source,omitempty"`
		Created time.Time `json:"created"`
	} `json:"reference"`
	*mdrift.Report
}

// sink feeds the predictions score.Score writes to the accumulator.
type sink struct{ acc *mdrift.Accumulator }

func (s sink) Write(values []float64) error { s.acc.AddOutputs(values); return nil }
func (s sink) Close() error                 { return nil }

// tee hands score.Score the rows of r and feeds their features to the
// accumulator, in input order.
type tee struct {
	r   score.RowReader
	acc *mdrift.Accumulator
	nf  int
}

func (t tee) Read(dst []float64) (int, error) {
	n, err := t.r.Read(dst)
	t.acc.AddFeatures(dst[:n*t.nf])
	return n, err
}

// Rows accumulates the rows r yields, the columns p takes (m.Columns():
// for a version with feature transforms, the transformed columns, as
// score.OpenModelInput reads them), and p's predictions of them over the
// bins of ref, the reference of the version m describes: the window the
// online monitor fills from its histograms. It returns the window and the
// number of rows.
func Rows(ctx context.Context, p model.Predictor, m *model.Manifest, ref *model.Reference, r score.RowReader, opts Options) (*mdrift.Window, int64, error) {
	if opts.SampleSize <= 0 {
		return nil, 0, fmt.Errorf("drift options: SampleSize is %d, want a positive number", opts.SampleSize)
	}
	if err := ref.CheckManifest(m); err != nil {
		return nil, 0, err
	}
	acc := mdrift.NewAccumulator(ref, opts.SampleSize, opts.Seed)
	so := score.DefaultOptions()
	so.Features = m.Columns()
	for _, o := range m.Outputs {
		so.Outputs = append(so.Outputs, o.Name)
	}
	so.Workers = cmp.Or(opts.Workers, runtime.GOMAXPROCS(0))
	so.BatchRows = cmp.Or(opts.BatchRows, score.DefaultBatchRows)
	st, err := score.Score(ctx, p, so, tee{r, acc, len(so.Features)}, sink{acc})
	if err != nil {
		return nil, 0, err
	}
	return acc.Window(), st.Rows, nil
}

// File compares the rows of the file at path (.csv or .parquet, read by
// score.OpenModelInput: a version with feature transforms reads its raw
// inputs, and its columns are compared) with the reference ref of the
// loaded version l.
func File(ctx context.Context, l *model.Loaded, ref *model.Reference, path string, opts Options) (*Report, error) {
	if err := opts.Thresholds.Check(); err != nil {
		return nil, err
	}
	r, closeRows, err := score.OpenModelInput(path, l)
	if err != nil {
		return nil, err
	}
	defer closeRows()
	w, rows, err := Rows(ctx, l.Model, l.Manifest, ref, r, opts)
	if err != nil {
		return nil, err
	}
	if rows == 0 {
		return nil, fmt.Errorf("%s: no rows to compare", path)
	}
	mr, err := mdrift.Compare(ref, w, opts.Thresholds)
	if err != nil {
		return nil, err
	}
	rep := &Report{Model: l.Manifest.Name, Version: l.Manifest.Version, Input: path, Rows: rows, Report: mr}
	rep.Reference.Rows, rep.Reference.Source, rep.Reference.Created = ref.Rows, ref.Source, ref.Created
	return rep, nil
}

// Flagged lists the features and outputs whose status is s, features
// first, as "feature NAME" or "output NAME".
func (r *Report) Flagged(s mdrift.Status) []string {
	var out []string
	for _, x := range r.Features {
		if x.Status == s {
			out = append(out, "feature "+x.Name)
		}
	}
	for _, x := range r.Outputs {
		if x.Status == s {
			out = append(out, "output "+x.Name)
		}
	}
	return out
}

// WriteJSON writes r as one indented JSON object; statistics that do not
// apply are null.
func (r *Report) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}

// WriteText writes r as a table, one line per feature and output, then the
// reasons for every status other than ok.
func (r *Report) WriteText(w io.Writer) error {
	src := ""
	if r.Reference.Source != "" {
		src = " of " + r.Reference.Source
	}
	fmt.Fprintf(w, "model %s version %d: reference %d rows%s (profiled %s)\n", r.Model, r.Version, r.Reference.Rows, src, r.Reference.Created.Format("2006-01-02 15:04:05 MST"))
	fmt.Fprintf(w, "input %s: %d rows\n", r.Input, r.Rows)
	drifted, warned := r.Flagged(mdrift.StatusDrift), r.Flagged(mdrift.StatusWarn)
	fmt.Fprintf(w, "status %s: %d drift, %d warn of %d features and %d outputs\n\n", r.Status, len(drifted), len(warned), len(r.Features), len(r.Outputs))
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "\tname\tstatus\tmissing\tΔmissing\tpsi\tjs\tks\tks p\twasserstein\tchi2\tchi2 p\t")
	num := func(x float64) string {
		if math.IsNaN(x) {
			return "-"
		}
		return fmt.Sprintf("%.4g", x)
	}
	signed := func(x float64) string {
		if math.IsNaN(x) {
			return "-"
		}
		return fmt.Sprintf("%+.4f", x)
	}
	line := func(what string, x mdrift.Result) {
		s := x.Stats
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t\n", what, x.Name, x.Status,
			num(s.MissingRate), signed(s.MissingChange), num(s.PSI), num(s.JS), num(s.KS), num(s.KSPValue),
			num(s.Wasserstein), num(s.ChiSquare), num(s.ChiSquarePValue))
	}
	for _, x := range r.Features {
		line("feature", x)
	}
	for _, x := range r.Outputs {
		line("output", x)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	var notes []string
	for _, rs := range [][]mdrift.Result{r.Features, r.Outputs} {
		for _, x := range rs {
			if x.Status != mdrift.StatusOK {
				notes = append(notes, fmt.Sprintf("  %s %s: %s", x.Status, x.Name, strings.Join(x.Reasons, "; ")))
			}
		}
	}
	if len(notes) > 0 {
		fmt.Fprintf(w, "\n%s\n", strings.Join(notes, "\n"))
	}
	return nil
}
