// Command train_linear times tools/train/linear.LogisticL2 on a data set in
// raw files (for bench/train_linear.sh): x as rows×cols little-endian
// float64, row-major, and y as rows little-endian int64 class ids. It fits
// -reps times and prints one line of JSON: the median fit time in seconds,
// the iterations and the objective of the last fit.
package main

import (
	"encoding/binary"
	"encoding/json"
	"flag"
	"fmt"
	"math"
	"os"
	"slices"
	"time"

	"gonum.org/v1/gonum/mat"

	"github.com/predictd/predictd/tools/train/linear"
)

func main() {
	xPath := flag.String("x", "", "x file (float64, row-major)")
	yPath := flag.String("y", "", "y file (int64)")
	cols := flag.Int("cols", 0, "columns of x")
	c := flag.Float64("c", 1, "inverse regularization strength")
	tol := flag.Float64("tol", 1e-4, "gradient infinity-norm tolerance")
	objTol := flag.Float64("objtol", 0, "relative objective decrease to stop at (scipy's ftol; 0: off)")
	reps := flag.Int("reps", 1, "fits to time")
	flag.Parse()
	if err := run(*xPath, *yPath, *cols, *c, *tol, *objTol, *reps); err != nil {
		fmt.Fprintln(os.Stderr, "train_linear:", err)
		os.Exit(1)
	}
}

func run(xPath, yPath string, cols int, c, tol, objTol float64, reps int) error {
	xb, err := os.ReadFile(xPath)
	if err != nil {
		return err
	}
	yb, err := os.ReadFile(yPath)
	if err != nil {
		return err
	}
	rows := len(yb) / 8
	if cols <= 0 || len(xb) != rows*cols*8 {
		return fmt.Errorf("%s has %d bytes, want %d rows × %d cols × 8", xPath, len(xb), rows, cols)
	}
	x := make([]float64, rows*cols)
	for i := range x {
		x[i] = math.Float64frombits(binary.LittleEndian.Uint64(xb[8*i:]))
	}
	y := make([]int, rows)
	for i := range y {
		y[i] = int(int64(binary.LittleEndian.Uint64(yb[8*i:])))
	}
	opts := linear.DefaultLogisticOptions()
	opts.C, opts.Tol, opts.ObjectiveTol = c, tol, objTol
	xm := mat.NewDense(rows, cols, x)
	var times []float64
	var f *linear.Fit
	for range reps {
		t0 := time.Now()
		f, err = linear.LogisticL2(xm, y, opts)
		if err != nil {
			return err
		}
		times = append(times, time.Since(t0).Seconds())
	}
	slices.Sort(times)
	return json.NewEncoder(os.Stdout).Encode(map[string]any{
		"fit_s": times[len(times)/2], "n_iter": f.Iterations, "objective": f.Objective, "stalled": f.Stalled,
	})
}
