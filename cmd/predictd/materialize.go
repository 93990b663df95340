package main

import (
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/predictd/predictd/featcache"
	"github.com/predictd/predictd/tools/materialize"
)

// cmdMaterialize loads the latest row per entity of an offline file into
// the online store.
func cmdMaterialize(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("materialize", stderr)
	defsPath := fs.String("features", "", "feature definitions (YAML)")
	view := fs.String("view", "", "the feature view the file holds")
	in := fs.String("in", "", "offline file (.csv or .parquet): the join key, the time column (RFC 3339, or as pandas, Spark and DuckDB write times; no offset means UTC) and the view's features")
	until := fs.String("until", "", "ignore rows with a later event time (2026-11-25T00:00:00Z, or 2026-11-25 00:00:00 as UTC); default: none")
	timeCol := fs.String("time-column", "event_time", "the event time column")
	store := fs.String("store", "pebble:predictd-features", "online store: pebble:DIR (not while a daemon has it open), redis://[[user]:password@]HOST:PORT[/DB] or rediss://... (TLS), or http://HOST:PORT: push the rows through a running predictd serve (POST /v1/features/{view}) into the store it holds")
	maxFuture := fs.Duration("max-future", featcache.DefaultMaxFutureSkew, "refuse the file if a row (at or before --until) has an event time more than this after now: a future row would hide its entity's updates until then")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if err := required(fs, "features", "view", "in"); err != nil {
		return err
	}
	if *maxFuture <= 0 {
		return usageErr("materialize: --max-future %s: want a positive duration such as 24h (876000h accepts any storable time)", *maxFuture)
	}
	opts := materialize.Options{TimeColumn: *timeCol, MaxFutureSkew: *maxFuture}
	if *until != "" {
		t, err := featcache.ParseEventTime(*until)
		if err != nil {
			return usageErr("materialize: --until: %v", err)
		}
		opts.Until = t
	}
	defs, err := featcache.LoadDefs(*defsPath)
	if err != nil {
		return usageErr("materialize: --features: %v", err)
	}
	v, ok := defs.View(*view)
	if !ok {
		return usageErr("materialize: --view %q is not defined in %s", *view, *defsPath)
	}
	opts.View = v
	var dst materialize.Putter
	if strings.HasPrefix(*store, "http://") || strings.HasPrefix(*store, "https://") {
		d, err := materialize.NewDaemon(materialize.DaemonOptions{URL: *store, View: v})
		if err != nil {
			return usageErr("materialize: --store: %v", err)
		}
		dst = d
	} else {
		st, err := openStore(*store)
		if err != nil {
			return usageErr("materialize: %v", err)
		}
		defer st.Close()
		dst = st
	}
	stats, err := materialize.File(ctx, dst, *in, opts)
	if err != nil {
		return &exitError{2, err}
	}
	fmt.Fprintf(stdout, "%s: %d rows, %d after --until ignored, %d entities: %d written, %d already as new in the store\n",
		*in, stats.Rows, stats.Late, stats.Entities, stats.Written, stats.Skipped)
	return nil
}
