package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/predictd/predictd/tools/bench"
	"github.com/predictd/predictd/tools/candidates"
)

// candidateSlices is the repeatable --slice flag of candidates.
type candidateSlices []string

func (s *candidateSlices) String() string { return strings.Join(*s, ",") }

func (s *candidateSlices) Set(v string) error {
	if strings.TrimSpace(v) == "" {
		return errors.New("empty column name")
	}
	*s = append(*s, v)
	return nil
}

// cmdCandidates is `predictd candidates`: model versions compared on one
// holdout by quality, single-row p99, throughput, cost and size. The table
// goes to stdout, one progress line per candidate and round to stderr.
// Exit 0 when a candidate is best (within --slo-p99 when given), 1 when
// --slo-p99 is given and no candidate meets it (the table and reports are
// still written) or the comparison failed, 2 on usage errors.
func cmdCandidates(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	d := candidates.DefaultOptions()
	fs := newFlags("candidates", stderr)
	repo := fs.String("repo", "", "model repository folder")
	models := fs.String("models", "", "candidates, comma-separated: NAME (the latest version) or NAME:VERSION")
	in := fs.String("in", "", "labelled holdout: .csv with a header, or .parquet")
	label := fs.String("label", "", "the holdout's label column")
	var slices candidateSlices
	fs.Var(&slices, "slice", "a column to evaluate by slice (repeatable); the worst slice is reported")
	slo := fs.Duration("slo-p99", 0, "single-row p99 latency the best candidate must meet (0: no SLO, the best quality wins)")
	cost := fs.Float64("cost-per-core-hour", 0, "price of one core for an hour, in --currency (0: no price; core-seconds per 1M still shown)")
	currency := fs.String("currency", "USD", "the unit of --cost-per-core-hour")
	dur := fs.Duration("duration", d.Cell, "measured time of each cell (batch 1 on one thread, each --batch on --cores) in each round")
	rounds := fs.Int("rounds", d.Rounds, "interleaved measurement rounds; medians are taken over them")
	batches := fs.String("batch", joinInts(d.Batches), "batch sizes for throughput, comma-separated; the best is reported")
	cores := fs.Int("cores", d.Cores, "threads of the throughput measurement, and the cores the cost pays for")
	jsonOut := fs.String("json", "", "write the full report as JSON to this file (- for stdout instead of the table)")
	htmlOut := fs.String("html", "", "write a self-contained HTML page (table and quality-against-p99 plot) to this file")
	quiet := fs.Bool("quiet", false, "no progress lines on stderr")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if err := required(fs, "repo", "models", "in", "label"); err != nil {
		return err
	}
	if err := nonNegative(fs); err != nil {
		return err
	}
	cs, err := candidates.ParseCandidates(*models)
	if err != nil {
		return usageErr("candidates: --models: %v", err)
	}
	o := candidates.Options{
		Repo: *repo, Candidates: cs, In: *in, Label: *label, Slices: slices,
		SLOP99: *slo, CostPerCoreHour: *cost, Currency: *currency,
		Cores: *cores, Rounds: *rounds, Cell: *dur, Warmup: min(candidates.DefaultWarmup, *dur), MaxRows: d.MaxRows,
	}
	if *dur == 0 {
		return usageErr("candidates: --duration 0s: want a positive duration such as 500ms")
	}
	if *rounds == 0 || *cores == 0 {
		return usageErr("candidates: --rounds %d, --cores %d: want at least 1 each", *rounds, *cores)
	}
	for _, f := range strings.Split(*batches, ",") {
		v, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || v < 1 || v > bench.MaxBatch {
			return usageErr("candidates: --batch %q: %q is not an integer in [1, %d]; want a list such as 64,256,1024", *batches, f, bench.MaxBatch)
		}
		o.Batches = append(o.Batches, v)
	}
	if err := o.Check(); err != nil {
		return usageErr("%v", err)
	}
	if !*quiet {
		o.Progress = stderr
	}
	reps, err := openReports("candidates", *jsonOut, *htmlOut)
	if err != nil {
		return err
	}
	defer reps.discard()
	r, err := candidates.Run(ctx, o)
	if err != nil {
		return fmt.Errorf("candidates: %w", err)
	}
	if *jsonOut != "-" {
		if err := r.WriteText(stdout); err != nil {
			return err
		}
	}
	if err := reps.write(stdout, r, r.WriteHTML); err != nil {
		return err
	}
	if r.SLOP99Micros > 0 && r.Best < 0 {
		return &exitError{1, fmt.Errorf("candidates: no candidate meets the single-row p99 SLO of %v", *slo)}
	}
	return nil
}

// joinInts writes vs comma-separated.
func joinInts(vs []int) string {
	s := make([]string, len(vs))
	for i, v := range vs {
		s[i] = strconv.Itoa(v)
	}
	return strings.Join(s, ",")
}
