// Command train_gbdt times tools/train/gbdt.Train on a data set in raw files
// (for bench/train_gbdt.sh): x as rows×cols little-endian float64,
// row-major, and y as rows little-endian int64 labels (0/1). It trains once
// with binary logistic loss (depth-wise, or best-first with -grow lossguide
// and -max-leaves) and prints one line of JSON: the fit time in seconds
// (binning included, reading the files not), rows per second, and the final
// training logloss.
package main

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"flag"
	"fmt"
	"math"
	"os"
	"runtime/pprof"
	"time"

	"github.com/predictd/predictd/monitor/quality"
	"github.com/predictd/predictd/tools/train/gbdt"
)

func main() {
	xPath := flag.String("x", "", "x file (float64, row-major)")
	yPath := flag.String("y", "", "y file (int64)")
	cols := flag.Int("cols", 0, "columns of x")
	trees := flag.Int("trees", 50, "boosting rounds")
	depth := flag.Int("depth", 6, "max depth")
	eta := flag.Float64("eta", 0.3, "learning rate")
	maxBin := flag.Int("max-bin", 255, "bins per feature")
	threads := flag.Int("threads", 1, "threads")
	grow := flag.String("grow", "depthwise", "grow policy: depthwise or lossguide")
	maxLeaves := flag.Int("max-leaves", 0, "most leaves a tree (0: no limit)")
	testX := flag.String("test-x", "", "optional test x file: report its logloss and AUC")
	testY := flag.String("test-y", "", "test y file")
	cpuProfile := flag.String("cpuprofile", "", "write a CPU profile of the fit here")
	flag.Parse()
	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		if err != nil {
			fmt.Fprintln(os.Stderr, "train_gbdt:", err)
			os.Exit(1)
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			fmt.Fprintln(os.Stderr, "train_gbdt:", err)
			os.Exit(1)
		}
		defer pprof.StopCPUProfile()
	}
	if err := run(*xPath, *yPath, *testX, *testY, *cols, *trees, *depth, *eta, *maxBin, *threads, gbdt.GrowPolicy(*grow), *maxLeaves); err != nil {
		pprof.StopCPUProfile()
		fmt.Fprintln(os.Stderr, "train_gbdt:", err)
		os.Exit(1)
	}
}

func read(xPath, yPath string, cols int) (*gbdt.Dataset, error) {
	xb, err := os.ReadFile(xPath)
	if err != nil {
		return nil, err
	}
	yb, err := os.ReadFile(yPath)
	if err != nil {
		return nil, err
	}
	rows := len(yb) / 8
	if cols <= 0 || len(xb) != rows*cols*8 {
		return nil, fmt.Errorf("%s has %d bytes, want %d rows × %d cols × 8", xPath, len(xb), rows, cols)
	}
	d := &gbdt.Dataset{NumFeatures: cols, Rows: make([]float64, rows*cols), Labels: make([]float64, rows)}
	for i := range d.Rows {
		d.Rows[i] = math.Float64frombits(binary.LittleEndian.Uint64(xb[8*i:]))
	}
	for i := range d.Labels {
		d.Labels[i] = float64(int64(binary.LittleEndian.Uint64(yb[8*i:])))
	}
	return d, nil
}

func run(xPath, yPath, testX, testY string, cols, trees, depth int, eta float64, maxBin, threads int, grow gbdt.GrowPolicy, maxLeaves int) error {
	d, err := read(xPath, yPath, cols)
	if err != nil {
		return err
	}
	rows := len(d.Labels)
	o := gbdt.DefaultOptions()
	o.Rounds, o.MaxDepth, o.LearningRate, o.MaxBin, o.Threads = trees, depth, eta, maxBin, threads
	o.GrowPolicy, o.MaxLeaves = grow, maxLeaves
	start := time.Now()
	res, err := gbdt.Train(context.Background(), d, nil, o)
	if err != nil {
		return err
	}
	sec := time.Since(start).Seconds()
	out := map[string]any{
		"fit_s":         sec,
		"rows_per_s":    float64(rows) / sec,
		"train_logloss": res.TrainLoss[len(res.TrainLoss)-1],
		"threads":       threads,
	}
	if testX != "" {
		t, err := read(testX, testY, cols)
		if err != nil {
			return err
		}
		p := res.Model.Model.Predict(nil, t.Rows, false)
		out["test_logloss"] = quality.LogLoss(t.Labels, p)
		out["test_auc"] = quality.ROCAUC(t.Labels, p)
	}
	return json.NewEncoder(os.Stdout).Encode(out)
}
