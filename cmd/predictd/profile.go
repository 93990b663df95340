package main

import (
	"context"
	"fmt"
	"io"

	"github.com/predictd/predictd/model"
	"github.com/predictd/predictd/tools/profile"
)

// cmdProfile computes a version's reference from training or validation
// rows and stores it in the version folder (model.AttachReference: atomic
// for readers). A daemon reads a version's reference when it loads the
// version, so one already serving it picks the new reference up only when it
// loads the version again (a restart, or an unload and reload).
func cmdProfile(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("profile", stderr)
	repo := fs.String("repo", "", "model repository folder")
	name := fs.String("model", "", "model name")
	ver := fs.Int("version", 0, "model version (default: the latest)")
	in := fs.String("in", "", "rows to profile (.csv with a header, or .parquet): training or validation data")
	def := profile.DefaultOptions()
	bins := fs.Int("bins", def.Bins, "equal-frequency bins per numeric feature and output, between its smallest and largest value")
	topK := fs.Int("top-k", def.TopK, "categories kept per categorical feature (the rest are 'other')")
	sample := fs.Int("sample", def.SampleSize, "raw values sampled per numeric feature and output (for the KS and Wasserstein statistics)")
	seed := fs.Uint64("seed", def.Seed, "seed of the samples")
	maxRows := fs.Int64("max-rows", def.MaxRows, "refuse a file with more rows (every value is held for exact quantiles: 8 bytes per feature and output per row)")
	workers := fs.Int("workers", def.Workers, "prediction goroutines")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if err := required(fs, "repo", "model", "in"); err != nil {
		return err
	}
	if *ver < 0 {
		return usageErr("profile: --version %d: want a positive integer", *ver)
	}
	opts := def
	opts.Bins, opts.TopK, opts.SampleSize, opts.Seed, opts.MaxRows, opts.Workers = *bins, *topK, *sample, *seed, *maxRows, *workers
	if err := opts.Check(); err != nil {
		return usageErr("profile: %v (see --bins, --top-k, --sample, --max-rows, --workers)", err)
	}
	l, err := model.Open(*repo, *name, *ver)
	if err != nil {
		return err
	}
	ref, err := profile.ModelFile(ctx, l, *in, opts)
	if err != nil {
		return err
	}
	_, dir, err := model.AttachReference(*repo, *name, l.Manifest.Version, ref)
	if err != nil {
		return err
	}
	fmt.Fprintln(stdout, dir)
	return profile.Summary(stdout, ref)
}

// importReference profiles the rows at path for a model being imported
// (import --reference). The version does not exist yet, so the rows are
// predicted with the imported model, and the reference is written with the
// version, atomically. Trees predict as served (compiled); a dense model
// imported with --precision float32 is profiled in float64, within 1e-5 of
// what it serves, far inside any bin.
func importReference(ctx context.Context, name string, imp *model.Imported, path string) (*model.Reference, error) {
	if t, ok := imp.Model.(*model.Trees); ok {
		if err := t.Prepare(); err != nil {
			return nil, err
		}
	}
	m := &model.Manifest{Name: name, Kind: imp.Kind, Task: imp.Task, Classes: imp.Classes, Features: imp.Features, Outputs: imp.Outputs}
	var (
		ref *model.Reference
		err error
	)
	if imp.Transform == nil {
		ref, err = profile.File(ctx, imp.Model, m, path, profile.DefaultOptions())
	} else {
		// A graph with preprocessing (an ONNX pipeline): the rows hold the
		// raw inputs, which the version's transform turns into the model's
		// columns, as profile does for a written version. The manifest is
		// the one model.Write will write, in memory.
		m.Features, m.ModelFeatures = model.InputFeatures(imp.Transform), imp.Features
		m.Transform = &model.TransformFile{}
		l := &model.Loaded{Manifest: m, Model: imp.Model, Transform: imp.Transform}
		ref, err = profile.ModelFile(ctx, l, path, profile.DefaultOptions())
	}
	if err != nil {
		return nil, fmt.Errorf("import --reference: %w", err)
	}
	return ref, nil
}
