package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	mcontract "github.com/predictd/predictd/model/contract"
	"github.com/predictd/predictd/tools/contract"
)

// cmdContract infers a data contract from a file, or validates a file
// against one (tools/contract). validate's exit status: 0 when the file
// keeps the contract, 1 with anomalies, 2 when the check could not be made
// (a usage error, a malformed contract, an unreadable input).
func cmdContract(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	const use = "contract: want a subcommand: infer --in FILE --out contract.yaml, or validate --contract contract.yaml --in FILE [--against BASELINE] [--json FILE]"
	if len(args) == 0 {
		return usageErr(use)
	}
	switch args[0] {
	case "infer":
		return contractInfer(ctx, args[1:], stdout, stderr)
	case "validate":
		return contractValidate(ctx, args[1:], stdout, stderr)
	case "-h", "--help", "help":
		fmt.Fprintln(stdout, "predictd "+use)
		return nil
	}
	return usageErr("contract: unknown subcommand %q (%s)", args[0], use)
}

func contractInfer(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("contract infer", stderr)
	in := fs.String("in", "", "rows to infer from (.csv with a header, or .parquet)")
	out := fs.String("out", "", "contract file to write (YAML)")
	def := contract.DefaultOptions()
	maxCat := fs.Int("max-categories", def.MaxCategories, "list a string or bool column's values as its categories when it has at most this many")
	bins := fs.Int("bins", def.Bins, "bins of a numeric column's profile")
	sample := fs.Int("sample", def.SampleSize, "numbers sampled per numeric column for its profile (exact below this many)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if err := required(fs, "in", "out"); err != nil {
		return err
	}
	if *maxCat <= 0 || *bins <= 0 || *sample <= 0 {
		return usageErr("contract infer: --max-categories, --bins and --sample must be positive")
	}
	opts := def
	opts.MaxCategories, opts.Bins, opts.SampleSize = *maxCat, *bins, *sample
	opts.MaxTracked = max(opts.MaxTracked, *maxCat)
	c, err := contract.Infer(ctx, *in, opts)
	if err != nil {
		return &exitError{2, err}
	}
	header := fmt.Sprintf("Data contract inferred by predictd contract infer from %s.\nEdit it: ranges, categories and max_missing are what that file held.", filepath.Base(*in))
	if err := mcontract.WriteFile(*out, c, header); err != nil {
		return &exitError{2, err}
	}
	fmt.Fprintf(stdout, "wrote %s: %d columns\n", *out, len(c.Columns))
	return nil
}

func contractValidate(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("contract validate", stderr)
	cpath := fs.String("contract", "", "contract file (YAML)")
	in := fs.String("in", "", "rows to validate (.csv with a header, or .parquet)")
	against := fs.String("against", "", "baseline rows: measure skew against this file instead of the contract's profiles")
	jsonOut := fs.String("json", "", "also write the report as JSON to this file")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if err := required(fs, "contract", "in"); err != nil {
		return err
	}
	c, err := mcontract.Load(*cpath)
	if err != nil {
		return &exitError{2, err}
	}
	rep, err := contract.Validate(ctx, c, *in, *against, contract.DefaultOptions())
	if err != nil {
		return &exitError{2, err}
	}
	if *jsonOut != "" {
		var b bytes.Buffer
		if err := rep.WriteJSON(&b); err != nil {
			return &exitError{2, err}
		}
		if err := writeFileAtomic(*jsonOut, b.Bytes()); err != nil {
			return &exitError{2, err}
		}
	}
	if err := rep.WriteText(stdout); err != nil {
		return &exitError{2, err}
	}
	if n := len(rep.Anomalies); n > 0 {
		kinds := make([]string, 0, n)
		for _, a := range rep.Anomalies {
			kinds = append(kinds, a.Column+": "+a.Kind)
		}
		return &exitError{1, fmt.Errorf("%s breaks %s: %s (%s)", *in, *cpath, contract.Count(n), strings.Join(kinds, ", "))}
	}
	return nil
}

// writeFileAtomic writes data to path through a temporary file in the
// same folder, renamed over path once complete.
func writeFileAtomic(path string, data []byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return err
	}
	_, err = tmp.Write(data)
	if err == nil {
		err = tmp.Chmod(0o644)
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), path)
	}
	if err != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}
