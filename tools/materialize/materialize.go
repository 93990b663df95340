// Package materialize is the bulk path into the online feature store: it
// reads an offline file of feature rows (entity key, event time, values),
// CSV or Parquet, keeps the latest row per entity at or before a cut-off
// time, and writes those rows to a featcache.Store. Both formats give the
// same rows and refuse the same files: a file is read and checked whole
// before its first row is written. Because the store keeps the newer event
// of two writes, materializing again, or alongside pushes and streams, is
// safe: nothing newer is overwritten.
//
// File reads one file on the calling goroutine; Stores and Daemons are
// safe for concurrent use, so several files may be materialized at once.
// A Pebble store has one process at a time: while predictd serve holds it,
// bulk loads go through the daemon's push API (Daemon).
package materialize

import (
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/predictd/predictd/featcache"
	"github.com/predictd/predictd/internal/table"
)

// Options configure File.
type Options struct {
	// View is the feature view the file holds. Required.
	View *featcache.View
	// Until is the cut-off: rows with a later event time are ignored (a
	// backfill "as of" a date); zero means no cut-off.
	Until time.Time
	// TimeColumn names the event time column; default "event_time". In CSV
	// its values are times in a form of featcache.EventTimeForms (RFC 3339,
	// or 2026-11-25 12:00:00 as pandas, Spark and DuckDB write them; no
	// offset means UTC); see File for Parquet. The entity key
	// column is the view's entity's join key.
	TimeColumn string
	// BatchRows is the number of rows per store write; default 1000.
	BatchRows int
	// MaxFutureSkew is how far after Now an event time may be: a row at or
	// before Until but later than Now + MaxFutureSkew refuses the file, since
	// the store keeps the newer row and a future-dated one would hide every
	// update of its entity until its time. 0 means
	// featcache.DefaultMaxFutureSkew (24h), as for the daemon's push and
	// stream; negative is an error. Set a long duration (876000h, 100 years)
	// to accept any storable time.
	MaxFutureSkew time.Duration
	// MaxRecordBytes bounds one CSV record (a line, or several when a quoted
	// field spans lines): a longer one refuses the file with its line number
	// before it is read whole, so a huge field cannot take gigabytes. 0 means
	// the default, DefaultMaxRecordBytes; negative is an error. (Parquet
	// values are bounded per column instead: a join key by
	// featcache.MaxKeyBytes.)
	MaxRecordBytes int
	// Now is the clock MaxFutureSkew is measured from; default time.Now.
	Now func() time.Time
}

// DefaultMaxRecordBytes is Options.MaxRecordBytes' default, 1 MiB: room
// for thousands of features and long columns materialize ignores.
const DefaultMaxRecordBytes = 1 << 20

// Stats says what File did.
type Stats struct {
	Rows     int // data rows read
	Late     int // rows after Until, ignored
	Entities int // distinct entities at or before Until
	Written  int // rows the store took (newer than what it had)
	Skipped  int // rows the store already had something as new for
}

// File materializes the file at path into store: a featcache.Store opened
// by this process, or a Daemon pushing to a running predictd serve. The
// extension says the format:
//
//   - .csv: a header naming the join key, the time column and every
//     feature of the view; an empty cell, NA, NaN or null is a missing
//     value.
//   - .parquet: top-level columns named the same. The join key is a
//     string (BYTE_ARRAY, STRING or ENUM) or an integer (INT32, INT64),
//     canonicalized by Entity.CanonicalKey as a CSV cell is (spaces
//     trimmed). The time column is a TIMESTAMP (millis, micros or nanos,
//     UTC-adjusted or not: taken as UTC), a legacy INT96 timestamp, or a
//     string holding times as in CSV; a bare INT64 is refused, its unit
//     being a guess. A feature is BOOLEAN (0 or 1), INT32, INT64 (signed,
//     unsigned), FLOAT, DOUBLE or a DECIMAL however it is stored (INT32,
//     INT64, FIXED_LEN_BYTE_ARRAY, BYTE_ARRAY); null and NaN are missing.
//
// In both, other columns are ignored, a column name given twice is refused
// (naming both positions), ±Inf and a fraction in an int or categorical
// feature are refused, and of an entity's rows at or before opts.Until the
// one with the latest event time is written (the first of equal times).
// Event times are read as the daemon's push and stream read them
// (featcache.ParseEventTime, featcache.CheckEventTime): a time outside the
// years 1678..2262 is refused, not wrapped around, and so is a row at or
// before Until more than opts.MaxFutureSkew after now. Join keys must pass
// featcache.CheckKey (at most featcache.MaxKeyBytes bytes, no control
// bytes). A malformed file is refused before anything is written, with an
// error naming the file, the row (CSV: "path:line"; Parquet: "row N",
// counted from 0 over the data rows) and the column.
func File(ctx context.Context, store Putter, path string, opts Options) (Stats, error) {
	if opts.View == nil {
		return Stats{}, errors.New("materialize: Options.View is required")
	}
	switch {
	case opts.MaxFutureSkew < 0:
		return Stats{}, fmt.Errorf("materialize: Options.MaxFutureSkew is %s, want a positive duration or 0 for the default (%s)", opts.MaxFutureSkew, featcache.DefaultMaxFutureSkew)
	case opts.MaxRecordBytes < 0:
		return Stats{}, fmt.Errorf("materialize: Options.MaxRecordBytes is %d, want a positive size or 0 for the default (%d)", opts.MaxRecordBytes, DefaultMaxRecordBytes)
	}
	opts = opts.withDefaults()
	ext := strings.ToLower(filepath.Ext(path))
	if ext != ".csv" && ext != ".parquet" {
		return Stats{}, fmt.Errorf("materialize: %s: want a .csv or .parquet file (got %q)", path, ext)
	}
	f, err := os.Open(path)
	if err != nil {
		return Stats{}, fmt.Errorf("materialize: %w", err)
	}
	defer f.Close()
	var latest map[string]featcache.Row
	var st Stats
	if ext == ".csv" {
		latest, st, err = readCSV(f, path, opts)
	} else {
		var fi os.FileInfo
		if fi, err = f.Stat(); err != nil {
			return Stats{}, fmt.Errorf("materialize: %w", err)
		}
		latest, st, err = readParquet(f, fi.Size(), path, opts)
	}
	if err != nil {
		return st, err
	}
	batch := make([]featcache.Row, 0, opts.BatchRows)
	flush := func() error {
		if len(batch) == 0 {
			return nil
		}
		n, err := store.Put(ctx, opts.View.Name, batch)
		if err != nil {
			return fmt.Errorf("materialize %s into view %s: %w", path, opts.View.Name, err)
		}
		st.Written += n
		st.Skipped += len(batch) - n
		batch = batch[:0]
		return nil
	}
	for _, r := range latest {
		batch = append(batch, r)
		if len(batch) == opts.BatchRows {
			if err := flush(); err != nil {
				return st, err
			}
		}
	}
	return st, flush()
}

// withDefaults returns o with each zero field set to its default.
func (o Options) withDefaults() Options {
	if o.TimeColumn == "" {
		o.TimeColumn = "event_time"
	}
	if o.BatchRows <= 0 {
		o.BatchRows = 1000
	}
	if o.MaxFutureSkew == 0 {
		o.MaxFutureSkew = featcache.DefaultMaxFutureSkew
	}
	if o.MaxRecordBytes == 0 {
		o.MaxRecordBytes = DefaultMaxRecordBytes
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return o
}

// readCSV reads every row and keeps the latest per entity.
func readCSV(r io.Reader, path string, opts Options) (map[string]featcache.Row, Stats, error) {
	opts = opts.withDefaults()
	v := opts.View
	cr := csv.NewReader(table.LimitRecords(r, opts.MaxRecordBytes))
	cr.ReuseRecord = true
	tooLong := func(err error) error {
		var tl *table.RecordTooLongError
		if errors.As(err, &tl) {
			return fmt.Errorf("materialize: %s:%d: record longer than %d bytes: refused before reading it whole (a join key may have at most %d bytes)", path, tl.Line, opts.MaxRecordBytes, featcache.MaxKeyBytes)
		}
		return nil
	}
	header, err := cr.Read()
	if err != nil {
		if e := tooLong(err); e != nil {
			return nil, Stats{}, e
		}
		return nil, Stats{}, fmt.Errorf("materialize: %s: reading the header: %v", path, err)
	}
	headerLine, _ := cr.FieldPos(0)
	col := make(map[string]int, len(header))
	for i, h := range header {
		h = strings.TrimSpace(h)
		if j, dup := col[h]; dup {
			return nil, Stats{}, fmt.Errorf("materialize: %s:%d: column %q appears twice in the header, as columns %d and %d (counted from 1); rename or drop one", path, headerLine, h, j+1, i+1)
		}
		col[h] = i
	}
	keyCol, ok := col[v.Entity.JoinKey]
	if !ok {
		return nil, Stats{}, fmt.Errorf("materialize: %s: no column %q (the join key of entity %s)", path, v.Entity.JoinKey, v.Entity.Name)
	}
	timeCol, ok := col[opts.TimeColumn]
	if !ok {
		return nil, Stats{}, fmt.Errorf("materialize: %s: no column %q (the event time)", path, opts.TimeColumn)
	}
	featCol := make([]int, len(v.Features))
	for j, ft := range v.Features {
		if featCol[j], ok = col[ft.Name]; !ok {
			return nil, Stats{}, fmt.Errorf("materialize: %s: no column %q (feature of view %s)", path, ft.Name, v.Name)
		}
	}
	latest := make(map[string]featcache.Row)
	var st Stats
	now := opts.Now()
	for {
		rec, err := cr.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			if e := tooLong(err); e != nil {
				return nil, st, e
			}
			return nil, st, fmt.Errorf("materialize: %s: %v", path, err)
		}
		line, _ := cr.FieldPos(0)
		st.Rows++
		at, err := featcache.ParseEventTime(strings.TrimSpace(rec[timeCol]))
		if err != nil {
			return nil, st, fmt.Errorf("materialize: %s:%d: column %q: %v", path, line, opts.TimeColumn, err)
		}
		if !opts.Until.IsZero() && at.After(opts.Until) {
			st.Late++
			continue
		}
		if err := featcache.CheckFuture(at, now, opts.MaxFutureSkew); err != nil {
			return nil, st, fmt.Errorf("materialize: %s:%d: column %q: %v", path, line, opts.TimeColumn, err)
		}
		key, err := v.Entity.CanonicalKey(strings.TrimSpace(rec[keyCol]))
		if err != nil {
			return nil, st, fmt.Errorf("materialize: %s:%d: column %q: %v", path, line, v.Entity.JoinKey, err)
		}
		if old, ok := latest[key]; ok && !at.After(old.EventTime) {
			continue
		}
		vals := make([]float64, len(v.Features))
		for j, ft := range v.Features {
			x, err := cell(rec[featCol[j]], ft)
			if err != nil {
				return nil, st, fmt.Errorf("materialize: %s:%d: column %q: %v", path, line, ft.Name, err)
			}
			vals[j] = x
		}
		latest[key] = featcache.Row{Entity: key, EventTime: at, Values: vals}
	}
	st.Entities = len(latest)
	return latest, st, nil
}

// cell reads one feature value: a number (an integer for int and
// categorical features), or a missing value.
func cell(s string, ft featcache.Feature) (float64, error) {
	s = strings.TrimSpace(s)
	if table.Missing(s) {
		return math.NaN(), nil
	}
	x, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsInf(x, 0) {
		return 0, fmt.Errorf("%q is not a finite number", s)
	}
	return x, ft.CheckValue(x)
}
