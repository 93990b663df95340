package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime/debug"
	"strconv"
	"strings"

	"github.com/predictd/predictd/featcache"
	"github.com/predictd/predictd/tools/dataset"
)

// sourceFlags collects repeated --source view=path flags.
type sourceFlags map[string]string

func (s sourceFlags) String() string {
	var parts []string
	for k, v := range s {
		parts = append(parts, k+"="+v)
	}
	return strings.Join(parts, ",")
}

func (s sourceFlags) Set(v string) error {
	view, path, ok := strings.Cut(v, "=")
	if !ok || view == "" || path == "" {
		return fmt.Errorf("want view=path, got %q", v)
	}
	if _, dup := s[view]; dup {
		return fmt.Errorf("view %s is given twice", view)
	}
	s[view] = path
	return nil
}

// cmdDataset builds a point-in-time training set.
func cmdDataset(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("dataset", stderr)
	defsPath := fs.String("features", "", "feature definitions (YAML); each view's source: is its history file (CSV or Parquet), relative to this file's folder")
	entities := fs.String("entities", "", "entity file (.csv or .parquet): join key(s), the timestamp column, labels and any other columns, passed through")
	out := fs.String("out", "", "training set to write (.parquet); written to a temporary file and renamed when complete")
	views := fs.String("views", "", "views to join, comma-separated, in output order; default: every view whose join key is a column of the entity file")
	tsCol := fs.String("timestamp-column", "event_timestamp", "the entity file's timestamp column (in CSV, RFC 3339 or the forms pandas, Spark and DuckDB write, no offset meaning UTC; in Parquet TIMESTAMP, INT96, DATE or such text)")
	sources := sourceFlags{}
	fs.Var(sources, "source", "view=path: read the view's history from path instead of its source: (repeatable)")
	full := fs.Bool("full-feature-names", false, "name feature columns view__feature")
	memory := fs.String("memory", "256MiB", "bound on the join's sort, merge and result buffers (KiB, MiB, GiB or bytes; at least 1MiB), whatever the number of rows; the Go runtime, the readers' chunks and the output's row group come on top, and the process's Go memory limit is set to this plus 64MiB (unless GOMEMLIMIT is set) so that garbage does not pile up beside them. At 10M entity rows x 3 views, peak RSS was 320-337 MiB at 256MiB, 154 MiB at 64MiB (bench/dataset.sh)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if err := required(fs, "features", "entities", "out"); err != nil {
		return err
	}
	mem, err := parseByteSize(*memory)
	if err != nil {
		return usageErr("dataset: --memory %q: %v", *memory, err)
	}
	if mem < dataset.MinMemoryBytes {
		return usageErr("dataset: --memory %s is below the least, 1MiB", *memory)
	}
	defs, err := featcache.LoadDefs(*defsPath)
	if err != nil {
		return usageErr("dataset: --features: %v", err)
	}
	if os.Getenv("GOMEMLIMIT") == "" {
		// The garbage collector, paced by the live heap alone, lets the
		// heap grow to twice it: at 10M rows, 331 MiB peak RSS at 256MiB
		// against 291 MiB with this limit, for no more CPU time.
		debug.SetMemoryLimit(mem + 64<<20)
	}
	opts := dataset.Options{
		Defs:             defs,
		DefsDir:          filepath.Dir(*defsPath),
		Entities:         *entities,
		Out:              *out,
		TimestampColumn:  *tsCol,
		Sources:          sources,
		FullFeatureNames: *full,
		MemoryBytes:      mem,
	}
	if *views != "" {
		opts.Views = strings.Split(*views, ",")
	}
	st, err := dataset.Build(ctx, opts)
	if err != nil {
		return &exitError{2, err}
	}
	fmt.Fprintf(stdout, "%s: %d rows, %d columns\n", *out, st.Rows, len(st.Columns))
	for _, v := range st.Views {
		fmt.Fprintf(stdout, "  %s (%s, %d source rows): %d present, %d expired, %d missing\n",
			v.View, v.Source, v.SourceRows, v.Present, v.Expired, v.Missing)
	}
	return nil
}

// parseByteSize reads a size such as 256MiB, 1GiB, 512KiB or 1048576.
func parseByteSize(s string) (int64, error) {
	mult := int64(1)
	num := s
	for _, u := range []struct {
		suffix string
		mult   int64
	}{{"KiB", 1 << 10}, {"MiB", 1 << 20}, {"GiB", 1 << 30}, {"B", 1}} {
		if strings.HasSuffix(s, u.suffix) {
			num, mult = strings.TrimSuffix(s, u.suffix), u.mult
			break
		}
	}
	n, err := strconv.ParseInt(strings.TrimSpace(num), 10, 64)
	if err != nil || n <= 0 || n > (1<<62)/mult {
		return 0, fmt.Errorf("want a positive size such as 256MiB, 1GiB or a number of bytes")
	}
	return n * mult, nil
}
