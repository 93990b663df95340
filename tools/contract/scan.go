package contract

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"

	"github.com/predictd/predictd/internal/table"
)

// Options configure Infer and Validate. Zero fields take DefaultOptions'
// values.
type Options struct {
	// ChunkRows is the number of rows read at a time (default 4096).
	ChunkRows int
	// MaxCategories: Infer lists a string or bool column's values as its
	// categories when it has at most this many distinct ones (default 50),
	// and profiles at most this many (the most frequent; the rest fold into
	// "other").
	MaxCategories int
	// MaxTracked bounds the distinct values counted per column (default
	// 10,000): values first seen after that many are counted together as
	// untracked, so a column of free text costs at most this many strings.
	MaxTracked int
	// SampleSize bounds the reservoir of numbers Infer keeps per numeric
	// column for its profile's bin edges and proportions (default 20,000):
	// exact when the column has at most that many values, otherwise a
	// uniform sample (a proportion's standard error is then at most
	// 0.5/sqrt(SampleSize), 0.0035 by default).
	SampleSize int
	// Bins is the number of bins of an inferred numeric profile (default
	// 10): edges at the sample's quantiles, fewer when values repeat.
	Bins int
	// Seed seeds the reservoir (default 1), so inferring twice writes the
	// same contract.
	Seed uint64
	// MaxExamples is the number of example rows an anomaly names (default
	// 3).
	MaxExamples int
	// MaxRecordBytes bounds a CSV record (table.Options); 0: its default.
	MaxRecordBytes int
}

// DefaultOptions returns the defaults.
func DefaultOptions() Options {
	return Options{ChunkRows: 4096, MaxCategories: 50, MaxTracked: 10000, SampleSize: 20000, Bins: 10, Seed: 1, MaxExamples: 3}
}

// withDefaults fills zero fields and refuses negative ones, naming them.
func (o Options) withDefaults() (Options, error) {
	d := DefaultOptions()
	for _, f := range []struct {
		name string
		v    *int
		def  int
	}{
		{"ChunkRows", &o.ChunkRows, d.ChunkRows}, {"MaxCategories", &o.MaxCategories, d.MaxCategories},
		{"MaxTracked", &o.MaxTracked, d.MaxTracked}, {"SampleSize", &o.SampleSize, d.SampleSize},
		{"Bins", &o.Bins, d.Bins}, {"MaxExamples", &o.MaxExamples, d.MaxExamples},
	} {
		if *f.v < 0 {
			return o, fmt.Errorf("contract: Options.%s is %d, want a positive number or 0 for the default (%d)", f.name, *f.v, f.def)
		}
		if *f.v == 0 {
			*f.v = f.def
		}
	}
	if o.MaxRecordBytes < 0 {
		return o, fmt.Errorf("contract: Options.MaxRecordBytes is %d, want a positive size or 0 for the default", o.MaxRecordBytes)
	}
	if o.MaxTracked < o.MaxCategories {
		return o, fmt.Errorf("contract: Options.MaxTracked (%d) is below Options.MaxCategories (%d)", o.MaxTracked, o.MaxCategories)
	}
	if o.Seed == 0 {
		o.Seed = d.Seed
	}
	return o, nil
}

// scan reads path chunk by chunk, calling each for every chunk; it stops
// when ctx is cancelled.
func scan(ctx context.Context, path string, opts Options, open func(r *table.Reader) error, each func(c *table.Chunk) error) error {
	r, err := table.Open(path, table.Options{MaxRecordBytes: opts.MaxRecordBytes})
	if err != nil {
		return err
	}
	defer r.Close()
	if err := open(r); err != nil {
		return err
	}
	var c table.Chunk
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		_, err := r.Next(&c, opts.ChunkRows)
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		if err := each(&c); err != nil {
			return err
		}
	}
}

// counter counts distinct values, at most max of them; values first seen
// after that are counted in untracked.
type counter struct {
	max       int
	counts    map[string]int64
	untracked int64
}

func newCounter(max int) *counter { return &counter{max: max, counts: make(map[string]int64)} }

func (c *counter) add(s string) {
	if n, ok := c.counts[s]; ok {
		c.counts[s] = n + 1
		return
	}
	if len(c.counts) >= c.max {
		c.untracked++
		return
	}
	c.counts[strings.Clone(s)] = 1
}

// total is the number of values added.
func (c *counter) total() int64 {
	t := c.untracked
	for _, n := range c.counts {
		t += n
	}
	return t
}

// top returns the tracked values by count, most frequent first (ties in
// ascending order of the value), at most k of them.
func (c *counter) top(k int) []string {
	vs := make([]string, 0, len(c.counts))
	for v := range c.counts {
		vs = append(vs, v)
	}
	sort.Slice(vs, func(i, j int) bool {
		a, b := c.counts[vs[i]], c.counts[vs[j]]
		if a != b {
			return a > b
		}
		return vs[i] < vs[j]
	})
	if len(vs) > k {
		vs = vs[:k]
	}
	return vs
}

// boolText is a bool cell's canonical text, true or false; ok is false
// for anything else. CSV cells true/false in any case and 0/1 are bools.
func boolText(s string) (string, bool) {
	switch {
	case strings.EqualFold(s, "true") || s == "1":
		return "true", true
	case strings.EqualFold(s, "false") || s == "0":
		return "false", true
	}
	return "", false
}
