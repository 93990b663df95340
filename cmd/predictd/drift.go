package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/predictd/predictd/model"
	mdrift "github.com/predictd/predictd/monitor/drift"
	"github.com/predictd/predictd/tools/drift"
)

// cmdDrift compares a file of rows with a version's reference (tools/drift)
// and prints the statistics and a status per feature and output. Exit
// status: 0 when nothing drifts (warnings, and features with too few rows to
// judge, included), 1 when a feature or output drifts, 2 when the check
// could not be made (a usage error, a bad or unreadable input, a version
// without a reference).
func cmdDrift(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("drift", stderr)
	repo := fs.String("repo", "", "model repository folder")
	name := fs.String("model", "", "model name")
	ver := fs.Int("version", 0, "model version (default: the latest)")
	in := fs.String("in", "", "rows to check (.csv with a header, or .parquet)")
	asJSON := fs.Bool("json", false, "print one JSON object instead of a table")
	def := drift.DefaultOptions()
	sample := fs.Int("sample", def.SampleSize, "raw values sampled per numeric feature and output (for the KS and Wasserstein statistics)")
	seed := fs.Uint64("seed", def.Seed, "seed of the samples")
	minRows := fs.Int64("min-rows", def.Thresholds.MinRows, "judge a feature only over at least this many rows (PSI's sampling noise grows as rows shrink)")
	workers := fs.Int("workers", def.Workers, "prediction goroutines")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if err := required(fs, "repo", "model", "in"); err != nil {
		return err
	}
	if *ver < 0 || *sample <= 0 || *minRows < 0 || *workers < 0 {
		return usageErr("drift: --version, --min-rows and --workers must not be negative, --sample must be positive")
	}
	failed := func(err error) error { return &exitError{2, err} }
	l, err := model.Open(*repo, *name, *ver)
	if err != nil {
		return failed(err)
	}
	ref, err := model.ReadReference(l.Dir, l.Manifest)
	if errors.Is(err, model.ErrNoReference) {
		return failed(fmt.Errorf("model %s version %d has no reference to compare with: add one with predictd profile --repo %s --model %s --version %d --in TRAINING_ROWS", l.Manifest.Name, l.Manifest.Version, *repo, l.Manifest.Name, l.Manifest.Version))
	}
	if err != nil {
		return failed(err)
	}
	opts := def
	opts.SampleSize, opts.Seed, opts.Thresholds.MinRows, opts.Workers = *sample, *seed, *minRows, *workers
	rep, err := drift.File(ctx, l, ref, *in, opts)
	if err != nil {
		return failed(err)
	}
	if *asJSON {
		err = rep.WriteJSON(stdout)
	} else {
		err = rep.WriteText(stdout)
	}
	if err != nil {
		return failed(err)
	}
	if rep.Status == mdrift.StatusDrift {
		return &exitError{1, fmt.Errorf("drift in %s: %s", *in, strings.Join(rep.Flagged(mdrift.StatusDrift), ", "))}
	}
	return nil
}
