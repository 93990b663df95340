package gbdt

import (
	"encoding/csv"
	"math"
	"math/rand/v2"
	"os"
	"strconv"
	"testing"
)

// readCSV reads a fixture written by testdata/gen/train_gbdt_oracle.py:
// label first, then the features, an empty field for a missing value.
func readCSV(t *testing.T, path string) *Dataset {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	recs, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	if len(recs) < 2 {
		t.Fatalf("%s: %d records, want a header and rows", path, len(recs))
	}
	d := &Dataset{NumFeatures: len(recs[0]) - 1, Names: recs[0][1:]}
	for i, rec := range recs[1:] {
		for j, s := range rec {
			if s == "" && j > 0 {
				d.Rows = append(d.Rows, math.NaN())
				continue
			}
			v, err := strconv.ParseFloat(s, 64)
			if err != nil {
				t.Fatalf("%s:%d: column %d: %v", path, i+2, j+1, err)
			}
			if j == 0 {
				d.Labels = append(d.Labels, v)
			} else {
				d.Rows = append(d.Rows, v)
			}
		}
	}
	return d
}

// synthetic makes n rows of nf features with a binary label depending on a
// few of them; a fraction of values is missing.
func synthetic(n, nf int, missing float64, seed uint64) *Dataset {
	rng := rand.New(rand.NewPCG(seed, 1))
	d := &Dataset{NumFeatures: nf, Rows: make([]float64, n*nf), Labels: make([]float64, n)}
	for r := 0; r < n; r++ {
		row := d.Rows[r*nf : (r+1)*nf]
		for f := range row {
			row[f] = rng.NormFloat64()
		}
		s := row[0] + 0.5*row[1%nf]*row[2%nf] - math.Abs(row[3%nf])
		if rng.Float64() < 1/(1+math.Exp(-2*s)) {
			d.Labels[r] = 1
		}
		for f := range row {
			if rng.Float64() < missing {
				row[f] = math.NaN()
			}
		}
	}
	return d
}
