package dataset

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"

	"github.com/predictd/predictd/featcache"
	"github.com/predictd/predictd/internal/table"
)

// Options configure Build.
type Options struct {
	// Defs are the feature definitions. Required.
	Defs *featcache.Defs
	// DefsDir is the folder a view's relative Source path is read from:
	// the definitions file's folder.
	DefsDir string
	// Entities is the entity file (.csv or .parquet): the join key column
	// of each selected view's entity, the TimestampColumn, and any other
	// columns (labels), passed through. Required.
	Entities string
	// Out is the training set written (.parquet). Required. It is written
	// to a temporary file in its folder and renamed into place when
	// complete, so it is either the whole result or left as it was.
	Out string
	// Views names the views to join, in output order; nil means every
	// view whose entity's join key is a column of the entity file, in
	// definition order.
	Views []string
	// TimestampColumn is the entity file's time column; default
	// "event_timestamp". In CSV its cells are times in one of
	// featcache.EventTimeForms (RFC 3339, and the forms pandas, Spark and
	// DuckDB write; no offset is UTC); in Parquet a TIMESTAMP, INT96, DATE
	// or such a string.
	TimestampColumn string
	// SourceTimeColumn is the event time column of the views' source
	// files, as materialize reads them; default "event_time".
	SourceTimeColumn string
	// Sources overrides the source file of the views it names (view name
	// to path, taken as given); other views read their definition's
	// Source, relative to DefsDir.
	Sources map[string]string
	// FullFeatureNames names each feature column view__feature instead of
	// feature.
	FullFeatureNames bool
	// MemoryBytes bounds the join's own buffers (see the package doc for
	// what it covers); default DefaultMemoryBytes, at least MinMemoryBytes.
	MemoryBytes int64
	// TempDir is where the scratch folder is made; default the output's
	// folder. The scratch folder is removed when Build returns, whether it
	// succeeded or not.
	TempDir string
	// ChunkRows is how many rows are read from a file at once; default
	// 1024.
	ChunkRows int
}

// DefaultMemoryBytes is Options.MemoryBytes' default, 256 MiB.
const DefaultMemoryBytes = 256 << 20

// MinMemoryBytes is the least Options.MemoryBytes accepted, 1 MiB.
const MinMemoryBytes = 1 << 20

// ViewStats counts what the join found for one view, per entity row.
type ViewStats struct {
	View       string
	Source     string // the source file read
	SourceRows int    // rows in the source file
	Present    int    // entity rows given a source row's values
	Expired    int    // a row at or before the timestamp, but TTL old or older: defaults
	Missing    int    // no row of the key at or before the timestamp: defaults
}

// Stats says what Build did.
type Stats struct {
	Rows    int      // entity rows, and rows written
	Columns []string // the output's columns, in order
	Views   []ViewStats
}

// viewPlan is one view joined: where its source is, its request sorter,
// and where its features go in the output.
type viewPlan struct {
	view     *featcache.View
	source   string
	keyCol   int // in the entity file
	col      int // first feature's index among all features
	defaults []float64
	reqs     *sorter
	stats    ViewStats
}

// plan is what Build checked before reading any row.
type plan struct {
	opts     Options
	entCols  []table.Column
	tsCol    int
	views    []*viewPlan
	features []string // output names of the features, in order
	width    int
}

// Build writes the point-in-time training set: the entity file's rows, in
// its order, with every column as it is, then each selected view's
// features as of each row's timestamp (see the package doc for the rule).
// It checks the inputs' columns before reading any row, and every row as
// it reads it; an error names the file, the line (CSV) or row (Parquet)
// and the column. Nothing is written to Out unless Build succeeds. ctx
// cancels it between chunks of rows.
func Build(ctx context.Context, opts Options) (Stats, error) {
	p, err := newPlan(opts)
	if err != nil {
		return Stats{}, err
	}
	opts = p.opts
	scratch, err := os.MkdirTemp(opts.TempDir, ".dataset-scratch-*")
	if err != nil {
		return Stats{}, fmt.Errorf("dataset: scratch folder: %w", err)
	}
	defer os.RemoveAll(scratch)
	defer func() {
		for _, v := range p.views {
			if v.reqs != nil {
				v.reqs.close()
			}
		}
	}()
	m := opts.MemoryBytes

	// Pass 1: each entity row's requests, one per view, into sorted runs.
	for _, v := range p.views {
		v.reqs = newSorter(scratch, "requests of "+v.view.Name, 0, m/2/int64(len(p.views)))
	}
	infer, rows, err := p.readRequests(ctx)
	if err != nil {
		return Stats{}, err
	}
	// The requests wait on disk while the sources are read, so that the
	// memory goes to one view at a time.
	for _, v := range p.views {
		if err := v.reqs.spill(); err != nil {
			return Stats{}, err
		}
	}
	// Collect the freed buffers now, before the next phase allocates its
	// own: otherwise the garbage collector, paced by the live heap, may
	// let both stand at once and the peak RSS pass the budget.
	runtime.GC()

	// Pass 2, per view: sort its source, merge-join it with its requests,
	// place the results by entity row.
	pl, err := newPlacer(scratch, uint64(rows), p.width, m/2, m/4)
	if err != nil {
		return Stats{}, err
	}
	defer pl.close()
	fanIn := int(max(m/4/readBufBytes, 2))
	for _, v := range p.views {
		if err := p.joinView(ctx, v, scratch, pl, fanIn); err != nil {
			return Stats{}, err
		}
		v.reqs.close()
		v.reqs = nil
		runtime.GC() // as above: the view's buffers go before the next's come
	}
	if err := pl.flush(); err != nil {
		return Stats{}, err
	}

	// Pass 3: the entity file again, with each row's features.
	if err := p.write(ctx, infer, rows, pl); err != nil {
		return Stats{}, err
	}
	st := Stats{Rows: rows}
	for _, c := range p.entCols {
		st.Columns = append(st.Columns, c.Name)
	}
	st.Columns = append(st.Columns, p.features...)
	for _, v := range p.views {
		st.Views = append(st.Views, v.stats)
	}
	return st, nil
}

// newPlan validates opts and checks the files' columns.
func newPlan(opts Options) (*plan, error) {
	switch {
	case opts.Defs == nil:
		return nil, errors.New("dataset: Options.Defs is required")
	case opts.Entities == "":
		return nil, errors.New("dataset: Options.Entities is required")
	case opts.Out == "":
		return nil, errors.New("dataset: Options.Out is required")
	case strings.ToLower(filepath.Ext(opts.Out)) != ".parquet":
		return nil, fmt.Errorf("dataset: Options.Out %s: the training set is written as Parquet; name it .parquet", opts.Out)
	case opts.MemoryBytes != 0 && opts.MemoryBytes < MinMemoryBytes:
		return nil, fmt.Errorf("dataset: Options.MemoryBytes is %d, want at least %d (1 MiB) or 0 for the default (%d)", opts.MemoryBytes, MinMemoryBytes, DefaultMemoryBytes)
	case opts.ChunkRows < 0:
		return nil, fmt.Errorf("dataset: Options.ChunkRows is %d, want a positive count or 0 for the default", opts.ChunkRows)
	}
	if opts.MemoryBytes == 0 {
		opts.MemoryBytes = DefaultMemoryBytes
	}
	if opts.TimestampColumn == "" {
		opts.TimestampColumn = "event_timestamp"
	}
	if opts.SourceTimeColumn == "" {
		opts.SourceTimeColumn = "event_time"
	}
	if opts.ChunkRows == 0 {
		opts.ChunkRows = 1024
	}
	if opts.TempDir == "" {
		opts.TempDir = filepath.Dir(opts.Out)
	}
	for name := range opts.Sources {
		if _, ok := opts.Defs.View(name); !ok {
			return nil, fmt.Errorf("dataset: a source is given for view %q, which the feature definitions do not define", name)
		}
	}
	p := &plan{opts: opts}
	r, err := table.Open(opts.Entities, table.Options{})
	if err != nil {
		return nil, fmt.Errorf("dataset: entities: %w", err)
	}
	p.entCols = r.Columns()
	p.tsCol = r.Index(opts.TimestampColumn)
	r.Close()
	if p.tsCol < 0 {
		return nil, fmt.Errorf("dataset: %s has no timestamp column %q (its columns: %s); name it with --timestamp-column", opts.Entities, opts.TimestampColumn, colList(p.entCols))
	}
	index := map[string]int{}
	for i, c := range p.entCols {
		index[c.Name] = i
	}
	var views []*featcache.View
	if opts.Views == nil {
		for _, v := range opts.Defs.Views {
			if _, ok := index[v.Entity.JoinKey]; ok {
				views = append(views, v)
			}
		}
		if len(views) == 0 {
			return nil, fmt.Errorf("dataset: %s has no join key column of any feature view (its columns: %s; the views' join keys: %s)", opts.Entities, colList(p.entCols), joinKeys(opts.Defs))
		}
	} else {
		seen := map[string]bool{}
		for _, name := range opts.Views {
			v, ok := opts.Defs.View(name)
			if !ok {
				return nil, fmt.Errorf("dataset: view %q is not defined in the feature definitions", name)
			}
			if seen[name] {
				return nil, fmt.Errorf("dataset: view %q is named twice", name)
			}
			seen[name] = true
			if _, ok := index[v.Entity.JoinKey]; !ok {
				return nil, fmt.Errorf("dataset: %s has no column %q, the join key of view %s's entity %s (its columns: %s)", opts.Entities, v.Entity.JoinKey, v.Name, v.Entity.Name, colList(p.entCols))
			}
			views = append(views, v)
		}
		if len(views) == 0 {
			return nil, errors.New("dataset: Options.Views is empty; nil means every view the entity file has a join key for")
		}
	}
	taken := map[string]string{}
	for _, c := range p.entCols {
		taken[c.Name] = "a column of the entity file"
	}
	for _, v := range views {
		vp := &viewPlan{view: v, keyCol: index[v.Entity.JoinKey], col: p.width}
		vp.source = opts.Sources[v.Name]
		if vp.source == "" {
			if v.Source == "" {
				return nil, fmt.Errorf("dataset: view %s has no source: set its source: to a CSV or Parquet file in the feature definitions, or give --source %s=PATH", v.Name, v.Name)
			}
			vp.source = v.Source
			if !filepath.IsAbs(vp.source) {
				vp.source = filepath.Join(opts.DefsDir, vp.source)
			}
		}
		if err := checkSource(vp.source, v, opts.SourceTimeColumn); err != nil {
			return nil, err
		}
		for _, f := range v.Features {
			name := f.Name
			if opts.FullFeatureNames {
				name = v.Name + "__" + f.Name
			}
			if prev, ok := taken[name]; ok {
				hint := "; name the features view__feature with --full-feature-names"
				if opts.FullFeatureNames {
					hint = "; rename the column"
				}
				return nil, fmt.Errorf("dataset: output column %q of view %s would clash with %s%s", name, v.Name, prev, hint)
			}
			taken[name] = "a feature of view " + v.Name
			p.features = append(p.features, name)
			vp.defaults = append(vp.defaults, f.Default)
		}
		p.width += len(v.Features)
		if p.width > maxWidth {
			return nil, fmt.Errorf("dataset: the views selected have more than %d features; select fewer with --views", maxWidth)
		}
		vp.stats = ViewStats{View: v.Name, Source: vp.source}
		p.views = append(p.views, vp)
	}
	return p, nil
}

// checkSource checks that a view's source file opens and has the columns
// the join reads.
func checkSource(path string, v *featcache.View, timeCol string) error {
	r, err := table.Open(path, table.Options{})
	if err != nil {
		return fmt.Errorf("dataset: source of view %s: %w", v.Name, err)
	}
	defer r.Close()
	need := []string{v.Entity.JoinKey, timeCol}
	for _, f := range v.Features {
		need = append(need, f.Name)
	}
	for _, n := range need {
		if r.Index(n) < 0 {
			return fmt.Errorf("dataset: %s, the source of view %s, has no column %q (its columns: %s)", path, v.Name, n, colList(r.Columns()))
		}
	}
	return nil
}

func colList(cols []table.Column) string {
	names := make([]string, len(cols))
	for i, c := range cols {
		names[i] = c.Name
	}
	return strings.Join(names, ", ")
}

func joinKeys(d *featcache.Defs) string {
	var keys []string
	for _, v := range d.Views {
		keys = append(keys, v.Name+": "+v.Entity.JoinKey)
	}
	return strings.Join(keys, ", ")
}

// colInfer infers a CSV column's output type from its cells: INT64 if
// every non-missing cell is an int64, else DOUBLE if every one is a
// finite number, else STRING.
type colInfer struct {
	notInt, notFloat bool
}

// readRequests reads the entity file, adding each row's request to each
// view's sorter, and infers the CSV columns' types. It returns the number
// of rows.
func (p *plan) readRequests(ctx context.Context) ([]colInfer, int, error) {
	r, err := table.Open(p.opts.Entities, table.Options{})
	if err != nil {
		return nil, 0, fmt.Errorf("dataset: entities: %w", err)
	}
	defer r.Close()
	csv := strings.ToLower(filepath.Ext(p.opts.Entities)) == ".csv"
	infer := make([]colInfer, len(p.entCols))
	var c table.Chunk
	rows := 0
	keys := make([][]byte, len(p.views))
	for {
		if err := ctx.Err(); err != nil {
			return nil, 0, err
		}
		n, err := r.Next(&c, p.opts.ChunkRows)
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, 0, fmt.Errorf("dataset: %w", err)
		}
		for i := range n {
			t, err := c.Time(p.tsCol, i)
			if err != nil {
				return nil, 0, fmt.Errorf("dataset: %w", err)
			}
			for vi, v := range p.views {
				// Views of one entity share the key: canonicalize it once.
				if vi > 0 && p.views[vi-1].keyCol == v.keyCol && p.views[vi-1].view.Entity.KeyType == v.view.Entity.KeyType {
					keys[vi] = append(keys[vi][:0], keys[vi-1]...)
				} else if keys[vi], err = entityKey(keys[vi][:0], &c, v.keyCol, i, p.entCols[v.keyCol].Type, v.view.Entity); err != nil {
					return nil, 0, err
				}
				if err := v.reqs.add(keys[vi], t.UnixNano(), uint64(rows), nil); err != nil {
					return nil, 0, err
				}
			}
			if csv {
				for col := range infer {
					inferCell(&infer[col], c.Text(col, i))
				}
			}
			rows++
		}
	}
	return infer, rows, nil
}

func inferCell(ci *colInfer, s string) {
	if ci.notFloat {
		return
	}
	s = strings.TrimSpace(s)
	if table.Missing(s) {
		return
	}
	if !ci.notInt {
		if _, err := strconv.ParseInt(s, 10, 64); err == nil {
			return
		}
		ci.notInt = true
	}
	if x, err := strconv.ParseFloat(s, 64); err != nil || math.IsInf(x, 0) {
		ci.notFloat = true
	}
}

// entityKey appends a join key cell, in canonical form, to dst.
func entityKey(dst []byte, c *table.Chunk, col, row int, typ table.Type, e *featcache.Entity) ([]byte, error) {
	if c.Null(col, row) {
		return dst, fmt.Errorf("dataset: %s: column %q: the join key is missing", c.Where(row), e.JoinKey)
	}
	if n, ok := exactInt(c, col, row, typ); ok {
		// A Parquet integer: its decimal text is the canonical key of an
		// int entity, and a valid string key; no text made to be parsed.
		return strconv.AppendInt(dst, n, 10), nil
	}
	k, err := e.CanonicalKey(strings.TrimSpace(c.Text(col, row)))
	if err != nil {
		return dst, fmt.Errorf("dataset: %s: column %q: %v", c.Where(row), e.JoinKey, err)
	}
	return append(dst, k...), nil
}

// exactInt reads an integer cell of a Parquet INT column without
// formatting it as text (table.Chunk.Int). ok is false for any other type,
// and for a value beyond int64, and the caller reads the text.
func exactInt(c *table.Chunk, col, row int, typ table.Type) (int64, bool) {
	if typ != table.Int {
		return 0, false
	}
	n, err := c.Int(col, row)
	return n, err == nil
}

// joinView sorts v's source, joins it with v's requests and places the
// results.
func (p *plan) joinView(ctx context.Context, v *viewPlan, scratch string, pl *placer, fanIn int) error {
	src := newSorter(scratch, "source of "+v.view.Name, len(v.view.Features), p.opts.MemoryBytes/2)
	defer src.close()
	r, err := table.Open(v.source, table.Options{})
	if err != nil {
		return fmt.Errorf("dataset: source of view %s: %w", v.view.Name, err)
	}
	defer r.Close()
	keyCol, timeCol := r.Index(v.view.Entity.JoinKey), r.Index(p.opts.SourceTimeColumn)
	featCols := make([]int, len(v.view.Features))
	for i, f := range v.view.Features {
		featCols[i] = r.Index(f.Name)
	}
	if keyCol < 0 || timeCol < 0 || min(featCols[0], featCols[len(featCols)-1]) < 0 {
		return fmt.Errorf("dataset: %s changed while being read", v.source)
	}
	vals := make([]float64, len(featCols))
	keyType := r.Columns()[keyCol].Type
	var key []byte
	var c table.Chunk
	var seq uint64
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		n, err := r.Next(&c, p.opts.ChunkRows)
		if err == io.EOF {
			break
		}
		if err != nil {
			return fmt.Errorf("dataset: %w", err)
		}
		for i := range n {
			key, err = entityKey(key[:0], &c, keyCol, i, keyType, v.view.Entity)
			if err != nil {
				return err
			}
			t, err := c.Time(timeCol, i)
			if err != nil {
				return fmt.Errorf("dataset: %w", err)
			}
			for j, col := range featCols {
				x, err := c.Float(col, i)
				if err != nil {
					return fmt.Errorf("dataset: %w", err)
				}
				if err := v.view.Features[j].CheckValue(x); err != nil {
					return fmt.Errorf("dataset: %s: column %q: %v", c.Where(i), v.view.Features[j].Name, err)
				}
				vals[j] = x
			}
			if err := src.add(key, t.UnixNano(), seq, vals); err != nil {
				return err
			}
			seq++
		}
	}
	v.stats.SourceRows = int(seq)
	rows, err := src.finish(fanIn)
	if err != nil {
		return err
	}
	reqs, err := v.reqs.finish(fanIn)
	if err != nil {
		return err
	}
	ttl := v.view.TTL
	return joinSorted(reqs, rows, ttl, v.defaults, func(row uint64, st featcache.Status, vals []float64) error {
		switch st {
		case featcache.StatusPresent:
			v.stats.Present++
		case featcache.StatusExpired:
			v.stats.Expired++
		default:
			v.stats.Missing++
		}
		return pl.put(row, v.col, vals)
	})
}

// write streams the entity file again and writes each row with its
// features to the output, through a temporary file renamed on success.
func (p *plan) write(ctx context.Context, infer []colInfer, rows int, pl *placer) (err error) {
	r, err := table.Open(p.opts.Entities, table.Options{})
	if err != nil {
		return fmt.Errorf("dataset: entities: %w", err)
	}
	defer r.Close()
	csv := strings.ToLower(filepath.Ext(p.opts.Entities)) == ".csv"
	kinds := make([]outKind, 0, len(p.entCols)+len(p.features))
	names := make([]string, 0, cap(kinds))
	for i, c := range p.entCols {
		k := outString
		switch {
		case i == p.tsCol:
			k = outTime
		case csv && !infer[i].notInt:
			k = outInt
		case csv && !infer[i].notFloat:
			k = outFloat
		case csv:
		case c.Type == table.Int:
			k = outInt
		case c.Type == table.Float:
			k = outFloat
		case c.Type == table.Bool:
			k = outBool
		case c.Type == table.Time:
			k = outTime
		}
		kinds = append(kinds, k)
		names = append(names, c.Name)
	}
	for _, f := range p.features {
		kinds = append(kinds, outFloat)
		names = append(names, f)
	}
	dir := filepath.Dir(p.opts.Out)
	f, err := os.CreateTemp(dir, "."+filepath.Base(p.opts.Out)+".tmp-*")
	if err != nil {
		return fmt.Errorf("dataset: %w", err)
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(f.Name())
		}
	}()
	w := newOutWriter(f, names, kinds)
	table_ := make([]float64, pl.bucketRows*uint64(max(p.width, 1)))
	bucket, first, inBucket := -1, uint64(0), 0
	var c table.Chunk
	row := 0
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		n, err := r.Next(&c, p.opts.ChunkRows)
		if err == io.EOF {
			break
		}
		if err != nil {
			return fmt.Errorf("dataset: %w", err)
		}
		for i := range n {
			if row >= rows {
				return fmt.Errorf("dataset: %s changed while being read: more than the %d rows read first", p.opts.Entities, rows)
			}
			if uint64(row) >= first+uint64(inBucket) {
				bucket++
				if first, inBucket, err = pl.load(bucket, table_); err != nil {
					return err
				}
			}
			w.begin()
			for col, k := range kinds[:len(p.entCols)] {
				if err := addCell(w, &c, col, i, p.entCols[col], k, col == p.tsCol); err != nil {
					return err
				}
			}
			vals := table_[(uint64(row)-first)*uint64(p.width):][:p.width]
			for _, x := range vals {
				if math.IsNaN(x) {
					w.addNull()
				} else {
					w.addFloat(x)
				}
			}
			if err := w.end(); err != nil {
				return fmt.Errorf("dataset: write %s: %w", p.opts.Out, err)
			}
			row++
		}
	}
	if row != rows {
		return fmt.Errorf("dataset: %s changed while being read: %d rows, %d read first", p.opts.Entities, row, rows)
	}
	if err := w.close(); err != nil {
		return fmt.Errorf("dataset: write %s: %w", p.opts.Out, err)
	}
	if err := f.Sync(); err != nil {
		return fmt.Errorf("dataset: write %s: %w", p.opts.Out, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("dataset: write %s: %w", p.opts.Out, err)
	}
	if err := os.Chmod(f.Name(), 0o644); err != nil {
		return fmt.Errorf("dataset: %w", err)
	}
	if err := os.Rename(f.Name(), p.opts.Out); err != nil {
		return fmt.Errorf("dataset: %w", err)
	}
	return nil
}

// addCell appends an entity file cell to the output row as kind k.
func addCell(w *outWriter, c *table.Chunk, col, row int, tc table.Column, k outKind, ts bool) error {
	if c.Null(col, row) && !ts {
		w.addNull()
		return nil
	}
	switch k {
	case outTime:
		t, err := c.Time(col, row)
		if err != nil {
			return fmt.Errorf("dataset: %w", err)
		}
		w.addInt(t.UnixNano())
	case outInt:
		if n, ok := exactInt(c, col, row, tc.Type); ok {
			w.addInt(n)
			return nil
		}
		s := strings.TrimSpace(c.Text(col, row))
		x, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return fmt.Errorf("dataset: %s: column %q: %s is not an int64", c.Where(row), tc.Name, s)
		}
		w.addInt(x)
	case outFloat:
		x, err := c.Float(col, row)
		if err != nil {
			return fmt.Errorf("dataset: %w", err)
		}
		w.addFloat(x)
	case outBool:
		w.addBool(c.Text(col, row) == "true")
	default:
		w.addString(c.Text(col, row))
	}
	return nil
}
