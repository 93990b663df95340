// Command widemlp writes bench/batching.sh's wide MLP, 64→2048→2048→2048→1
// (relu hidden layers, a sigmoid output: task binary), as a native JSON
// model (model/native) for `predictd import --from native`, and rows for it
// as a CSV with a header. Issue 15 asks for a model whose single-row cost
// is nearly all fixed: its 8.5 million weights (34 MB as float32) do not
// fit the caches, so one row reads them all from memory, and a batch of
// 32 rows reads them once. It is made at bench time, not committed (the
// JSON is about 90 MB).
//
// Everything is drawn from a fixed seed (PCG), so every run writes the same
// bytes: weights uniform in ±√(6/in) (He's scale for relu, keeping the
// activations of the deep layers near the inputs' size), biases 0.01·N(0,1),
// rows N(0,1); 4 significant digits.
//
//	go run ./bench/widemlp --out-model wide.json --out-rows wide.csv
package main

import (
	"bufio"
	"flag"
	"fmt"
	"log"
	"math"
	"math/rand/v2"
	"os"
	"strconv"
)

func main() {
	modelOut := flag.String("out-model", "", "the native JSON model to write")
	rowsOut := flag.String("out-rows", "", "the rows CSV to write")
	features := flag.Int("features", 64, "inputs")
	width := flag.Int("width", 2048, "units in each hidden layer")
	hidden := flag.Int("hidden", 3, "hidden layers")
	nrows := flag.Int("rows", 256, "rows to write")
	seed := flag.Uint64("seed", 15, "the PCG seed")
	flag.Parse()
	if *modelOut == "" || *rowsOut == "" || *features < 1 || *width < 1 || *hidden < 1 || *nrows < 1 {
		flag.Usage()
		os.Exit(2)
	}
	rng := rand.New(rand.NewPCG(*seed, *seed^0x9e3779b97f4a7c15))
	if err := writeModel(*modelOut, rng, *features, *width, *hidden); err != nil {
		log.Fatalf("widemlp: %v", err)
	}
	if err := writeRows(*rowsOut, rng, *features, *nrows); err != nil {
		log.Fatalf("widemlp: %v", err)
	}
}

// num appends v with 4 significant digits.
func num(b []byte, v float64) []byte { return strconv.AppendFloat(b, v, 'g', 4, 64) }

func writeModel(path string, rng *rand.Rand, nf, width, hidden int) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	w := bufio.NewWriterSize(f, 1<<20)
	var b []byte
	b = append(b, `{"kind": "mlp", "task": "binary", "features": [`...)
	for i := range nf {
		if i > 0 {
			b = append(b, ", "...)
		}
		b = fmt.Appendf(b, "%q", fmt.Sprintf("f%d", i))
	}
	b = append(b, "],\n \"layers\": ["...)
	in := nf
	for l := 0; l <= hidden; l++ {
		out, act := width, "relu"
		if l == hidden {
			out, act = 1, "sigmoid"
		}
		if l > 0 {
			b = append(b, ",\n  "...)
		}
		b = append(b, `{"activation": "`...)
		b = append(b, act...)
		b = append(b, `", "weights": [`...)
		lim := math.Sqrt(6 / float64(in))
		for o := range out {
			if o > 0 {
				b = append(b, ',')
			}
			b = append(b, "\n   ["...)
			for j := range in {
				if j > 0 {
					b = append(b, ',')
				}
				b = num(b, (2*rng.Float64()-1)*lim)
			}
			b = append(b, ']')
			if _, err := w.Write(b); err != nil {
				f.Close()
				return err
			}
			b = b[:0]
		}
		b = append(b, "],\n   \"bias\": ["...)
		for o := range out {
			if o > 0 {
				b = append(b, ',')
			}
			b = num(b, 0.01*rng.NormFloat64())
		}
		b = append(b, "]}"...)
		in = out
	}
	b = append(b, "]}\n"...)
	if _, err := w.Write(b); err != nil {
		f.Close()
		return err
	}
	if err := w.Flush(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

func writeRows(path string, rng *rand.Rand, nf, n int) error {
	var b []byte
	for i := range nf {
		if i > 0 {
			b = append(b, ',')
		}
		b = fmt.Appendf(b, "f%d", i)
	}
	b = append(b, '\n')
	for range n {
		for i := range nf {
			if i > 0 {
				b = append(b, ',')
			}
			b = num(b, rng.NormFloat64())
		}
		b = append(b, '\n')
	}
	return os.WriteFile(path, b, 0o644)
}
