package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/predictd/predictd/tools/eval"
)

// sliceFlags is --slice: repeatable, each value one column or several
// separated by commas.
type sliceFlags []string

func (s *sliceFlags) String() string { return strings.Join(*s, ",") }

func (s *sliceFlags) Set(v string) error {
	for _, c := range strings.Split(v, ",") {
		if c = strings.TrimSpace(c); c == "" {
			return errors.New("empty column name")
		}
		*s = append(*s, c)
	}
	return nil
}

// cmdEval evaluates a model version on a labelled file (tools/eval): a
// table on stdout, the whole report with --json, a page with --html, and
// with --record the evaluation written into the version's manifest. Exit
// status 2 for a usage error, 1 when the evaluation could not be made (a
// bad or unreadable input, a missing column, a bad label).
func cmdEval(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("eval", stderr)
	def := eval.DefaultOptions()
	repo := fs.String("repo", "", "model repository folder")
	name := fs.String("model", "", "model name")
	ver := fs.Int("version", 0, "model version (default: the latest)")
	in := fs.String("in", "", "labelled rows: .csv with a header, or .parquet, with the model's features and the label")
	label := fs.String("label", "", "label column: 0/1 (binary), a class index (multiclass) or the value (regression)")
	var slices sliceFlags
	fs.Var(&slices, "slice", "column to break the metrics down by (repeat, or separate with commas)")
	protected := fs.String("protected", "", "column whose groups the fairness gaps compare (binary models)")
	threshold := fs.Float64("threshold", def.Threshold, "a binary model's probability at or above which a row is predicted positive")
	bins := fs.Int("bins", def.Bins, "uniform calibration bins over [0, 1]")
	power := fs.Float64("tweedie-power", def.TweediePower, "power of the Tweedie deviance (regression; 0, or at least 1)")
	maxValues := fs.Int("max-slice-values", def.MaxSliceValues, "refuse a slice column with more distinct values than this")
	jsonOut := fs.String("json", "", "write the whole report as JSON to this file (- for stdout instead of the table); replaced whole at the end")
	htmlOut := fs.String("html", "", "write a self-contained HTML page to this file; replaced whole at the end")
	record := fs.Bool("record", false, "record the evaluation in the version's manifest (metrics and lineage) as monitoring's baseline")
	workers := fs.Int("workers", 0, "prediction goroutines (default: one per core)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if err := required(fs, "repo", "model", "in", "label"); err != nil {
		return err
	}
	if *workers < 0 {
		return usageErr("eval: --workers must not be negative")
	}
	o := eval.Options{
		Repo: *repo, Model: *name, Version: *ver, In: *in, Label: *label, Slices: slices, Protected: *protected,
		Threshold: *threshold, Bins: *bins, TweediePower: *power, MaxSliceValues: *maxValues, Workers: *workers,
	}
	// Flags that Options would take as "the default" are wrong here.
	switch {
	case *threshold == 0:
		return usageErr("eval: --threshold 0 would call every row positive; want a probability in (0, 1]")
	case *bins == 0:
		return usageErr("eval: --bins must be at least 1")
	case *maxValues == 0:
		return usageErr("eval: --max-slice-values must be at least 1")
	}
	if err := o.Check(); err != nil {
		return usageErr("%v", err)
	}
	reps, err := openReports("eval", *jsonOut, *htmlOut)
	if err != nil {
		return err
	}
	defer reps.discard()
	rep, err := eval.Run(ctx, o)
	if err != nil {
		return err
	}
	if !reps.jsonStdout {
		if err := rep.WriteText(stdout); err != nil {
			return err
		}
	}
	if err := reps.write(stdout, rep, rep.WriteHTML); err != nil {
		return err
	}
	if *record {
		dir, err := rep.Record(*repo, version)
		if err != nil {
			return err
		}
		fmt.Fprintf(stderr, "eval: recorded in %s\n", dir)
	}
	return nil
}
