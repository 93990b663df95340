package candidates

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/predictd/predictd/internal/htmlpage"
)

// BestMark marks the best candidate under the SLO in the table.
const BestMark = "★"

// WriteJSON writes r as one indented JSON object and a newline.
func (r *Report) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}

// metricText formats a quality metric: four decimals, "–" when undefined.
func metricText(m Metric) string {
	f := float64(m)
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return "–"
	}
	if a := math.Abs(f); a != 0 && (a >= 1e5 || a < 1e-3) {
		return strconv.FormatFloat(f, 'g', 4, 64)
	}
	return strconv.FormatFloat(f, 'f', 4, 64)
}

// bytesText formats a size in bytes with binary units.
func bytesText(n int64) string {
	const unit = 1024
	if n < unit {
		return strconv.FormatInt(n, 10) + " B"
	}
	v, u := float64(n)/unit, "KiB"
	for _, next := range []string{"MiB", "GiB", "TiB"} {
		if v < unit {
			break
		}
		v, u = v/unit, next
	}
	return strconv.FormatFloat(v, 'f', 1, 64) + " " + u
}

// moneyText formats a price with four significant digits.
func moneyText(v float64) string { return strconv.FormatFloat(v, 'g', 4, 64) }

// durationText formats microseconds as a duration ("10ms", "250µs").
func durationText(us float64) string {
	return time.Duration(us * float64(time.Microsecond)).String()
}

// primaryName is the primary metric's name for people.
func (r *Report) primaryName() string {
	if r.Kind == KindClassifier {
		return "AUC"
	}
	return "RMSE"
}

// table returns the comparison as a header and one row of cells per
// candidate, shared by the text and HTML forms.
func (r *Report) table() ([]string, [][]string) {
	priced := r.CostPerCoreHour > 0
	h := []string{"", "candidate"}
	if r.Kind == KindClassifier {
		h = append(h, "AUC", "log loss", "ECE")
	} else {
		h = append(h, "RMSE", "MAE")
	}
	h = append(h, "worst slice "+r.primaryName(), "p50 µs", "p99 µs", "rows/s", "batch", "core-s/1M")
	if priced {
		h = append(h, "cost/1M "+r.Currency)
	}
	h = append(h, "size", "dominated by")
	rows := make([][]string, len(r.Candidates))
	for i, c := range r.Candidates {
		mark := ""
		if c.Best {
			mark = BestMark
		}
		q := c.Quality
		row := []string{mark, c.Label}
		if r.Kind == KindClassifier {
			row = append(row, metricText(q.AUC), metricText(q.LogLoss), metricText(q.ECE))
		} else {
			row = append(row, metricText(q.RMSE), metricText(q.MAE))
		}
		worst := "–"
		if q.WorstSlice != "" {
			worst = metricText(q.WorstSliceValue) + " (" + q.WorstSlice + ")"
		}
		row = append(row, worst, htmlpage.Num(c.P50Micros), htmlpage.Num(c.P99Micros),
			htmlpage.Num(c.RowsPerSecond), strconv.Itoa(c.BestBatch), htmlpage.Num(c.CoreSecondsPerMillion))
		if priced {
			row = append(row, moneyText(c.CostPerMillion))
		}
		dom := "–"
		if len(c.DominatedBy) > 0 {
			dom = strings.Join(c.DominatedBy, ", ")
		}
		row = append(row, bytesText(c.ArtifactBytes), dom)
		rows[i] = row
	}
	return h, rows
}

// verdict is the one-line answer: the best under the SLO, or that none
// meets it, or the best without an SLO.
func (r *Report) verdict() string {
	slo := ""
	if r.SLOP99Micros > 0 {
		slo = "single-row p99 ≤ " + durationText(r.SLOP99Micros)
	}
	if r.Best < 0 {
		if slo == "" {
			return "no candidate has a defined " + r.primaryName() + ": none is best"
		}
		fastest := -1
		for i, c := range r.Candidates {
			if fastest < 0 || c.P99Micros < r.Candidates[fastest].P99Micros {
				fastest = i
			}
		}
		msg := "no candidate meets " + slo
		if fastest >= 0 {
			c := r.Candidates[fastest]
			msg += fmt.Sprintf(": the fastest, %s, has p99 %s µs", c.Label, htmlpage.Num(c.P99Micros))
		}
		return msg
	}
	b := r.Candidates[r.Best]
	what := fmt.Sprintf("%s (%s %s, p99 %s µs", b.Label, r.primaryName(), metricText(b.Primary), htmlpage.Num(b.P99Micros))
	if r.CostPerCoreHour > 0 {
		what += fmt.Sprintf(", %s %s per 1M", moneyText(b.CostPerMillion), r.Currency)
	}
	what += ")"
	if slo == "" {
		return "best (no SLO given: the best " + r.primaryName() + "): " + what
	}
	return "best under " + slo + ": " + what
}

// method is the notes on how the numbers were made, one per line.
func (r *Report) method() []string {
	dir := "higher"
	if !r.HigherIsBetter {
		dir = "lower"
	}
	m := r.Machine
	cpu := m.CPU
	if cpu == "" {
		cpu = m.Arch
	}
	load := ""
	if m.LoadBefore != "" {
		load = fmt.Sprintf(", load average %s before, %s after", m.LoadBefore, m.LoadAfter)
	}
	batches := make([]string, len(r.Batches))
	for i, b := range r.Batches {
		batches[i] = strconv.Itoa(b)
	}
	notes := []string{
		fmt.Sprintf("quality: tools/eval on %s (label %s); ranked by %s (%s is better)", r.In, r.Label, r.primaryName(), dir),
		fmt.Sprintf("speed: %d interleaved rounds, the first candidate rotated each round, each cell %s after %s of warm-up, over %d holdout rows; medians over the rounds",
			r.Rounds, durationText(r.CellMillis*1000), durationText(r.WarmupMillis*1000), r.BenchRows),
		fmt.Sprintf("p50/p99: one row per Predict call on one thread, in process (the model's own time: no HTTP, no feature fetch); rows/s: the best median over batches %s on %d cores",
			strings.Join(batches, ", "), r.Cores),
		"core-s/1M = cores × 1e6 / rows/s",
	}
	if r.CostPerCoreHour > 0 {
		notes = append(notes, fmt.Sprintf("cost/1M = cores × cost per core-hour / (rows/s × 3600) × 1e6, at %s %s per core-hour",
			moneyText(r.CostPerCoreHour), r.Currency))
	}
	notes = append(notes,
		"size = the payload file + the reference profile (if any) + manifest.json + any other file in the version folder (a contract, say)",
		"dominated: another candidate is at least as good on "+r.primaryName()+", p99 and cost, and better on one; p99 and cost count as better only beyond the rounds' spread (the slowest round of one faster than the fastest of the other)",
		fmt.Sprintf("machine: %s/%s, %d × %s%s", m.OS, m.Arch, m.NumCPU, cpu, load),
	)
	return notes
}

// WriteText writes r as people read it: the table (★ on the best under
// the SLO), the verdict, the Pareto frontier and how the numbers were
// made.
func (r *Report) WriteText(w io.Writer) error {
	h, rows := r.table()
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, strings.Join(h, "\t"))
	for _, row := range rows {
		fmt.Fprintln(tw, strings.Join(row, "\t"))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintf(w, "\n%s\n", r.verdict())
	fmt.Fprintf(w, "frontier (dominated by none): %s\n", strings.Join(r.Frontier, ", "))
	for _, n := range r.Notes {
		fmt.Fprintf(w, "note: %s\n", n)
	}
	for _, n := range r.method() {
		if _, err := fmt.Fprintf(w, "  %s\n", n); err != nil {
			return err
		}
	}
	return nil
}
