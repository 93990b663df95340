package bench

import (
	"encoding/json"
	"fmt"
	"io"
	"text/tabwriter"

	"github.com/predictd/predictd/model"
)

// Report is a Result labelled with the model version it measured and where
// its rows came from: what `predictd bench` prints.
type Report struct {
	Model   string     `json:"model"`
	Version int        `json:"version"`
	Kind    model.Kind `json:"kind"`
	// Input is the file the rows were read from, or "synthetic".
	Input string `json:"input"`
	// Raw is set when margins, not predictions, were measured.
	Raw bool `json:"raw"`
	Result
}

// WriteJSON writes r as one JSON object followed by a newline.
func (r *Report) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}

// WriteText writes r as a heading and an aligned table, one line per cell.
func (r *Report) WriteText(w io.Writer) error {
	what := "predictions"
	if r.Raw {
		what = "raw margins"
	}
	if _, err := fmt.Fprintf(w, "%s version %d (%s): %s of %d rows from %s\n", r.Model, r.Version, r.Kind, what, r.Rows, r.Input); err != nil {
		return err
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "batch\tthreads\tns/row\trows/s\tbatch p50 µs\tbatch p99 µs\tcalls\t")
	for _, c := range r.Cells {
		fmt.Fprintf(tw, "%d\t%d\t%.1f\t%.0f\t%.2f\t%.2f\t%d\t\n",
			c.Batch, c.Threads, c.NsPerRow, c.RowsPerSecond, c.BatchP50Micros, c.BatchP99Micros, c.Calls)
	}
	return tw.Flush()
}
