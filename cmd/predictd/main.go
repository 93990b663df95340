// Command predictd is the predictd binary: model import, batch scoring,
// inspection, benchmarking and the serving daemon; load testing and offline
// tools as they land.
// This file holds flags and wiring only.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/predictd/predictd/kernels"
	"github.com/predictd/predictd/model"
	"github.com/predictd/predictd/model/importer"
	"github.com/predictd/predictd/tools/bench"
	"github.com/predictd/predictd/tools/compare"
	"github.com/predictd/predictd/tools/score"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

// exitError carries the process exit status with its message.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string { return e.err.Error() }

func usageErr(format string, args ...any) error {
	return &exitError{2, fmt.Errorf(format, args...)}
}

const usage = `predictd: CPU inference for tree ensembles, linear models and MLPs.

Usage:
  predictd import  --from xgboost|lightgbm|onnx|native|sklearn --in FILE --repo DIR --name NAME [--version N] [--feature-names a,b,...|@FILE] [--class-labels a,b,...|@FILE] [--feature-views V1,V2:F] [--precision float64|float32] [--reference ROWS] [--contract contract.yaml]
  predictd score   --repo DIR --model NAME [--version N] --in FILE(.csv|.parquet) [--out FILE(.csv|.parquet)] [--raw] [--keep COL,...]
  predictd inspect --repo DIR --model NAME [--version N] [--json]
  predictd profile --repo DIR --model NAME [--version N] --in ROWS(.csv|.parquet) [--bins 20] [--top-k 20] [--sample 1000] [--max-rows N]
  predictd drift   --repo DIR --model NAME [--version N] --in ROWS(.csv|.parquet) [--json] [--min-rows 500]   (exit 1: drift, 2: no check)
  predictd compare --got FILE --want FILE [--rel 1e-6] [--abs 0]   (.csv or .parquet)
  predictd bench   --repo DIR --model NAME [--version N] [--in FILE] [--batch 1,32,256] [--threads 1,2] [--duration 2s] [--raw] [--json]
  predictd serve   --repo DIR [--listen ADDR] [--unix PATH] [--config FILE] [--admin-token-file FILE] ...
  predictd materialize --features defs.yaml --view NAME --in FILE.csv|FILE.parquet [--until TIME] [--store pebble:DIR|redis://HOST:PORT|http://HOST:PORT]
  predictd loadtest --url URL (--body FILE | --bodies FILE.ndjson) (--rate R | --concurrency N) [--duration D] [--slo-p99 D] [--json FILE] [--html FILE]
  predictd capacity --url URL (--body FILE | --bodies FILE.ndjson) --slo-p99 D [--target-rps R] [--cost-per-core-hour USD] [--json FILE] [--html FILE]
  predictd alerts  --config FILE [--out FILE]
  predictd dataset --features defs.yaml --entities FILE(.csv|.parquet) --out FILE.parquet [--views V1,V2] [--timestamp-column C] [--source VIEW=PATH ...] [--full-feature-names] [--memory 256MiB]
  predictd contract infer    --in FILE(.csv|.parquet) --out contract.yaml [--max-categories 50] [--bins 10]
  predictd contract validate --contract contract.yaml --in FILE [--against BASELINE] [--json FILE]   (exit 1: anomalies, 2: bad contract)
  predictd eval    --repo DIR --model NAME [--version N] --in FILE(.csv|.parquet) --label COL [--slice COL ...] [--protected COL] [--threshold 0.5] [--json FILE] [--html FILE] [--record]
  predictd feedback --url http://HOST:PORT --model NAME --in FILE(.csv|.parquet) [--id-column id] [--label-column label] [--time-column time] [--chunk 5000]
  predictd candidates --repo DIR --models a:1,b:2,c --in FILE --label COL [--slice COL ...] [--slo-p99 D] [--cost-per-core-hour X] [--rounds 3] [--json FILE] [--html FILE]   (exit 1: none meets the SLO)
  predictd train   --spec train.yaml --in FILE[,FILE...] --repo DIR --model NAME [--version N] [--threads N] [--json] [--predictions FILE] [--created TIME]
  predictd retrain --from NAME:VERSION --in FILE[,FILE...] --repo DIR [--model NAME] [--json] [--predictions FILE] [--created TIME]
  predictd rollback --url http://HOST:PORT --model NAME [--token-file FILE]   (stable returns to its previous version)
  predictd rollout status|start|promote|rollback|abort|pause|resume --url http://HOST:PORT --model NAME [--token-file FILE] [--json]
                   start: [--plan FILE] [--candidate N] [--stable N] [--steps 1,5,25,50,100] [--min-duration 5m] [--min-requests 1000] [--key X-User-Id]
  predictd audit verify --log FILE [--anchor-seq N --anchor-hash H]   (exit 1: damaged, naming the first bad entry; 2: no check)
  predictd audit show   --log FILE [--model M] [--action A] [--actor NAME] [--json]
  predictd version

Run 'predictd COMMAND -h' for a command's flags.
`

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	if err == nil {
		return
	}
	code := 1
	var ee *exitError
	if errors.As(err, &ee) {
		code = ee.code
	}
	if !errors.Is(err, flag.ErrHelp) {
		fmt.Fprintln(os.Stderr, "predictd:", err)
	} else {
		code = 0
	}
	os.Exit(code)
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return usageErr("no command given")
	}
	cmd, rest := args[0], args[1:]
	switch cmd {
	case "import":
		return cmdImport(ctx, rest, stdout, stderr)
	case "score":
		return cmdScore(ctx, rest, stdout, stderr)
	case "inspect":
		return cmdInspect(rest, stdout, stderr)
	case "profile":
		return cmdProfile(ctx, rest, stdout, stderr)
	case "drift":
		return cmdDrift(ctx, rest, stdout, stderr)
	case "compare":
		return cmdCompare(rest, stdout, stderr)
	case "bench":
		return cmdBench(ctx, rest, stdout, stderr)
	case "serve":
		return cmdServe(ctx, rest, stdout, stderr)
	case "materialize":
		return cmdMaterialize(ctx, rest, stdout, stderr)
	case "loadtest":
		return cmdLoadtest(ctx, rest, stdout, stderr)
	case "capacity":
		return cmdCapacity(ctx, rest, stdout, stderr)
	case "alerts":
		return cmdAlerts(rest, stdout, stderr)
	case "dataset":
		return cmdDataset(ctx, rest, stdout, stderr)
	case "contract":
		return cmdContract(ctx, rest, stdout, stderr)
	case "eval":
		return cmdEval(ctx, rest, stdout, stderr)
	case "rollback":
		return cmdRollback(ctx, rest, stdout, stderr)
	case "rollout":
		return cmdRollout(ctx, rest, stdout, stderr)
	case "feedback":
		return cmdFeedback(ctx, rest, stdout, stderr)
	case "candidates":
		return cmdCandidates(ctx, rest, stdout, stderr)
	case "train":
		return cmdTrain(ctx, rest, stdout, stderr)
	case "retrain":
		return cmdRetrain(ctx, rest, stdout, stderr)
	case "audit":
		return cmdAudit(ctx, rest, stdout, stderr)
	case "version", "--version":
		fmt.Fprintln(stdout, versionString())
		return nil
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return nil
	}
	fmt.Fprint(stderr, usage)
	return usageErr("unknown command %q", cmd)
}

func newFlags(name string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet("predictd "+name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	return fs
}

func parseFlags(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return &exitError{2, err}
	}
	if fs.NArg() > 0 {
		return usageErr("%s: unexpected argument %q", fs.Name(), fs.Arg(0))
	}
	return nil
}

// nonNegative refuses a negative value in any int or duration flag of fs,
// however it was set (command line, environment, config file), naming the
// flag: none of predictd's limits, timeouts or periods has a meaning below
// zero.
func nonNegative(fs *flag.FlagSet) error {
	var bad error
	fs.VisitAll(func(f *flag.Flag) {
		g, ok := f.Value.(flag.Getter)
		if !ok || bad != nil {
			return
		}
		neg := false
		switch v := g.Get().(type) {
		case int:
			neg = v < 0
		case int64:
			neg = v < 0
		case float64:
			neg = v < 0
		case time.Duration:
			neg = v < 0
		}
		if neg {
			bad = usageErr("%s: --%s %s: must not be negative", fs.Name(), f.Name, f.Value)
		}
	})
	return bad
}

func required(fs *flag.FlagSet, names ...string) error {
	var missing []string
	for _, n := range names {
		if fs.Lookup(n).Value.String() == "" {
			missing = append(missing, "--"+n)
		}
	}
	if len(missing) > 0 {
		return usageErr("%s: missing required flag %s", fs.Name(), strings.Join(missing, ", "))
	}
	return nil
}

// readFeatureNames reads --feature-names (and --class-labels): "a,b,c",
// or "@FILE" holding one name per line (blank lines and surrounding
// spaces ignored).
func readFeatureNames(v string) ([]string, error) {
	sep := ","
	if path, ok := strings.CutPrefix(v, "@"); ok {
		data, err := os.ReadFile(path)
		if err != nil {
			return nil, err
		}
		v, sep = string(data), "\n"
	}
	var names []string
	for _, n := range strings.Split(v, sep) {
		if n = strings.TrimSpace(n); n != "" || sep == "," {
			names = append(names, n)
		}
	}
	return names, nil
}

func cmdImport(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("import", stderr)
	from := fs.String("from", "", "source format: "+strings.Join(importer.Formats, ", "))
	in := fs.String("in", "", "model file to import")
	repo := fs.String("repo", "", "model repository folder")
	name := fs.String("name", "", "model name")
	ver := fs.Int("version", 0, "version to write (default: the next free number)")
	views := fs.String("feature-views", "", "comma-separated online feature views (or view:feature) serve fetches this model's inputs from by entity key")
	reference := fs.String("reference", "", "rows (.csv or .parquet: training or validation data) to profile into the version's reference, for drift statistics (see predictd profile)")
	contractFile := fs.String("contract", "", "data contract (YAML, see predictd contract infer) to store with the version; serve enforces or counts it per model")
	featureNames := fs.String("feature-names", "", "names for the model's features, in its order: a comma-separated list, or @FILE with one name per line (for ONNX graphs, which name only their input tensor, and files without names)")
	classLabels := fs.String("class-labels", "", "names for a classifier's classes, in its class order (binary: the class of 1-p, then p's): a comma-separated list, or @FILE with one name per line; the label output then carries them in place of class indices (replaces the names an ONNX or native file gives)")
	precision := fs.String("precision", "", "a dense model's arithmetic: float64 (the default, but for ONNX MLP graphs: the source library's own) or float32 (SIMD kernels, faster for wide MLPs, within 1e-5 of each row's scale; not for linear models)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if err := required(fs, "from", "in", "repo", "name"); err != nil {
		return err
	}
	if *ver < 0 {
		return usageErr("--version %d: want a positive integer", *ver)
	}
	imp, err := importer.ImportFile(*from, *in)
	if err != nil {
		var bad *importer.BadModelError
		if errors.As(err, &bad) {
			return &exitError{2, err}
		}
		return err
	}
	if *featureNames != "" {
		if imp.Transform != nil {
			return &exitError{2, fmt.Errorf("--feature-names: %s's features are its graph inputs (%s), which its preprocessing reads by name; name them when exporting the model (skl2onnx: initial_types, one input per column), not here", *in, strings.Join(imp.Transform.Inputs(), ", "))}
		}
		names, err := readFeatureNames(*featureNames)
		if err != nil {
			return &exitError{2, fmt.Errorf("--feature-names: %w", err)}
		}
		if err := importer.RenameFeatures(imp, names); err != nil {
			return &exitError{2, fmt.Errorf("--feature-names: %w", err)}
		}
	}
	if *classLabels != "" {
		labels, err := readFeatureNames(*classLabels)
		if err != nil {
			return &exitError{2, fmt.Errorf("--class-labels: %w", err)}
		}
		if err := importer.SetClassLabels(imp, labels); err != nil {
			return &exitError{2, fmt.Errorf("--class-labels: %s: %w", *in, err)}
		}
	}
	wo := model.WriteOptions{Version: *ver, Precision: *precision, Transform: imp.Transform}
	if *views != "" {
		wo.FeatureViews = strings.Split(*views, ",")
	}
	if *reference != "" {
		if wo.Reference, err = importReference(ctx, *name, imp, *reference); err != nil {
			return err
		}
	}
	if *contractFile != "" {
		if wo.Contract, err = os.ReadFile(*contractFile); err != nil {
			return &exitError{2, fmt.Errorf("--contract: %w", err)}
		}
		wo.ContractSource = *contractFile
	}
	_, dir, err := model.Write(*repo, *name, imp, wo)
	if err != nil {
		if errors.Is(err, model.ErrVersionExists) || errors.Is(err, model.ErrBadOption) {
			return &exitError{2, err}
		}
		return err
	}
	fmt.Fprintln(stdout, dir)
	return nil
}

func cmdScore(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("score", stderr)
	repo := fs.String("repo", "", "model repository folder")
	name := fs.String("model", "", "model name")
	ver := fs.Int("version", 0, "model version (default: the latest)")
	in := fs.String("in", "", "input rows: .csv with a header, or .parquet")
	out := fs.String("out", "", "output file (.csv or .parquet); default stdout as CSV")
	raw := fs.Bool("raw", false, "write raw margins instead of predictions")
	keep := fs.String("keep", "", "input columns to copy to the output ahead of the predictions, comma-separated (ids, labels); columns not named here and not used by the model are ignored")
	def := score.DefaultOptions()
	workers := fs.Int("workers", def.Workers, "scoring goroutines")
	batch := fs.Int("batch-rows", def.BatchRows, "rows per work unit")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if err := required(fs, "repo", "model", "in"); err != nil {
		return err
	}
	if *workers <= 0 || *batch <= 0 {
		return usageErr("--workers and --batch-rows must be positive")
	}
	m, err := model.Open(*repo, *name, *ver)
	if err != nil {
		return err
	}
	opts := def
	opts.Features = m.Manifest.Columns()
	opts.Raw = *raw
	opts.Workers = *workers
	opts.BatchRows = *batch
	if *keep != "" {
		for k := range strings.SplitSeq(*keep, ",") {
			opts.Keep = append(opts.Keep, strings.TrimSpace(k))
		}
	}
	cols := m.Manifest.Outputs
	if *raw {
		cols = m.Manifest.RawOutputs
	}
	for _, c := range cols {
		opts.Outputs = append(opts.Outputs, c.Name)
	}
	if *out == "" {
		*out = "-"
	}
	_, err = score.ScoreModelFile(ctx, m, opts, *in, *out)
	return err
}

func cmdInspect(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("inspect", stderr)
	repo := fs.String("repo", "", "model repository folder")
	name := fs.String("model", "", "model name")
	ver := fs.Int("version", 0, "model version (default: the latest)")
	asJSON := fs.Bool("json", false, "print the manifest as JSON")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if err := required(fs, "repo", "model"); err != nil {
		return err
	}
	m, err := model.Open(*repo, *name, *ver)
	if err != nil {
		return err
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(m.Manifest)
	}
	return model.Describe(stdout, m)
}

func cmdCompare(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("compare", stderr)
	got := fs.String("got", "", "predictions to check (.csv with a header, or .parquet)")
	want := fs.String("want", "", "reference predictions (.csv or .parquet, the same columns and rows)")
	rel := fs.Float64("rel", 1e-6, "relative tolerance: a value passes when |got-want| <= abs + rel*|want| (numpy.isclose's rule)")
	abs := fs.Float64("abs", 0, "absolute tolerance, added to rel*|want|: set it for values near zero (probabilities), where a relative error means nothing")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if err := required(fs, "got", "want"); err != nil {
		return err
	}
	rep, err := compare.Compare(*got, *want, compare.Tolerance{Rel: *rel, Abs: *abs})
	if err != nil {
		return err
	}
	rep.Print(stdout)
	if err := rep.Err(); err != nil {
		return &exitError{1, err}
	}
	return nil
}

func cmdBench(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("bench", stderr)
	repo := fs.String("repo", "", "model repository folder")
	name := fs.String("model", "", "model name")
	ver := fs.Int("version", 0, "model version (default: the latest)")
	in := fs.String("in", "", "input rows (.csv with a header, or .parquet; up to 100k rows); default rows drawn to exercise the model")
	// ints reads a comma-separated list of integers in [1, hi]; list
	// writes one.
	ints := func(flag, s string, hi int) ([]int, error) {
		var out []int
		for _, f := range strings.Split(s, ",") {
			v, err := strconv.Atoi(strings.TrimSpace(f))
			if err != nil || v < 1 || v > hi {
				return nil, usageErr("%s %q: %q is not an integer in [1, %d]; want a list such as 1,32,256", flag, s, f, hi)
			}
			out = append(out, v)
		}
		return out, nil
	}
	list := func(vs []int) string {
		s := make([]string, len(vs))
		for i, v := range vs {
			s[i] = strconv.Itoa(v)
		}
		return strings.Join(s, ",")
	}
	def := bench.DefaultOptions()
	batches := fs.String("batch", list(def.Batches), "rows per call, comma-separated")
	threads := fs.String("threads", list(def.Threads), "GOMAXPROCS values, comma-separated")
	dur := fs.Duration("duration", def.Duration, "measured time per (batch, threads) pair")
	raw := fs.Bool("raw", false, "measure raw margins instead of predictions")
	asJSON := fs.Bool("json", false, "print one JSON object instead of a table")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if err := required(fs, "repo", "model"); err != nil {
		return err
	}
	opts := def
	var err error
	if opts.Batches, err = ints("--batch", *batches, bench.MaxBatch); err != nil {
		return err
	}
	if opts.Threads, err = ints("--threads", *threads, bench.MaxThreads); err != nil {
		return err
	}
	if *ver < 0 {
		return usageErr("--version %d: want a positive integer", *ver)
	}
	if *dur <= 0 {
		return usageErr("--duration %v: want a positive duration such as 2s", *dur)
	}
	opts.Duration, opts.Warmup, opts.Raw = *dur, min(bench.DefaultWarmup, *dur), *raw
	m, err := model.Open(*repo, *name, *ver)
	if err != nil {
		return err
	}
	rep := bench.Report{Model: m.Manifest.Name, Version: m.Manifest.Version, Kind: m.Manifest.Kind, Input: "synthetic", Raw: *raw}
	if *in != "" {
		if opts.Rows, err = bench.ReadModelRows(*in, m, bench.DefaultMaxRows); err != nil {
			return err
		}
		rep.Input = *in
	}
	if rep.Result, err = bench.Run(ctx, m.Model, opts); err != nil {
		return err
	}
	if *asJSON {
		return rep.WriteJSON(stdout)
	}
	return rep.WriteText(stdout)
}

func versionString() string {
	s := fmt.Sprintf("predictd %s (%s, %s/%s, float32 kernels: %s)", version, runtime.Version(), runtime.GOOS, runtime.GOARCH, kernels.SIMDLevel())
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, st := range bi.Settings {
			if st.Key == "vcs.revision" && len(st.Value) >= 12 {
				s += " commit " + st.Value[:12]
			}
		}
	}
	return s
}
