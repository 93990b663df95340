package gbdt

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"flag"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"
)

var makeClassOut = flag.String("makeclass-out", "", "TestWriteMakeClassification writes makeclass.bin (the synthetic 200,000 x 40 set) to this directory")

// makeClassification generates a binary classification set by
// scikit-learn's make_classification algorithm, with its defaults but
// n_informative: 2 clusters per class, each centred on a distinct vertex of
// the ±classSep hypercube over the informative features, its rows standard
// normal draws times a random uniform(-1, 1) matrix plus the centroid; 2
// redundant features, random uniform(-1, 1) combinations of the
// informative ones; the rest standard normal noise; a fraction flipY of the
// labels replaced by a uniform draw of a class; then the rows and the
// features shuffled. Its random numbers come from math/rand/v2's PCG seeded
// with (seed, 0x6d616b65) — not numpy's stream, so the data are not
// scikit-learn's for any random_state — and every value is rounded to
// float32, so XGBoost (which works in float32) and predictd see the same
// numbers. Products are rounded before they are summed (no fused
// multiply-add), so the bytes are the same on every architecture. Rows are
// row-major, labels 0 or 1.
func makeClassification(n, nf, informative int, flipY, classSep float64, seed uint64) *Dataset {
	const redundant, clusters = 2, 4
	rng := rand.New(rand.NewPCG(seed, 0x6d616b65))
	// Distinct hypercube vertices, one per cluster.
	vertices := map[uint64]bool{}
	centroids := make([][]float64, clusters)
	for k := range centroids {
		var v uint64
		for {
			v = rng.Uint64N(1 << informative)
			if !vertices[v] {
				break
			}
		}
		vertices[v] = true
		c := make([]float64, informative)
		for j := range c {
			c[j] = -classSep
			if v>>j&1 == 1 {
				c[j] = classSep
			}
		}
		centroids[k] = c
	}
	x := make([]float64, n*nf)
	y := make([]float64, n)
	for r := 0; r < n; r++ {
		for j := 0; j < informative; j++ {
			x[r*nf+j] = rng.NormFloat64()
		}
	}
	// Clusters take n/clusters rows each, the first n%clusters one more;
	// cluster k is class k%2.
	start := 0
	tmp := make([]float64, informative)
	for k := 0; k < clusters; k++ {
		size := n / clusters
		if k < n%clusters {
			size++
		}
		a := make([]float64, informative*informative)
		for i := range a {
			a[i] = 2*rng.Float64() - 1
		}
		for r := start; r < start+size; r++ {
			row := x[r*nf : r*nf+informative]
			for j := range tmp {
				s := 0.0
				for i, v := range row {
					s += float64(v * a[i*informative+j])
				}
				tmp[j] = s + centroids[k][j]
			}
			copy(row, tmp)
			y[r] = float64(k % 2)
		}
		start += size
	}
	b := make([]float64, informative*redundant)
	for i := range b {
		b[i] = 2*rng.Float64() - 1
	}
	for r := 0; r < n; r++ {
		row := x[r*nf : (r+1)*nf]
		for j := 0; j < redundant; j++ {
			s := 0.0
			for i := 0; i < informative; i++ {
				s += float64(row[i] * b[i*redundant+j])
			}
			row[informative+j] = s
		}
		for j := informative + redundant; j < nf; j++ {
			row[j] = rng.NormFloat64()
		}
	}
	for r := range y {
		if rng.Float64() < flipY {
			y[r] = float64(rng.IntN(2))
		}
	}
	perm := rng.Perm(n)
	feat := rng.Perm(nf)
	d := &Dataset{NumFeatures: nf, Rows: make([]float64, n*nf), Labels: make([]float64, n)}
	for i, r := range perm {
		for j, f := range feat {
			d.Rows[i*nf+j] = float64(float32(x[r*nf+f]))
		}
		d.Labels[i] = y[r]
	}
	return d
}

// makeClassBytes is the set as testdata/gen/train_gbdt_makeclass.py reads
// it: the rows (row-major) as little-endian float32, then the labels as
// little-endian float32.
func makeClassBytes(d *Dataset) []byte {
	out := make([]byte, 0, 4*(len(d.Rows)+len(d.Labels)))
	for _, v := range d.Rows {
		out = binary.LittleEndian.AppendUint32(out, math.Float32bits(float32(v)))
	}
	for _, v := range d.Labels {
		out = binary.LittleEndian.AppendUint32(out, math.Float32bits(float32(v)))
	}
	return out
}

// The synthetic quality set: 200,000 rows of 40 features (20 informative),
// 1% of labels flipped, class separation 1; the first 150,000 rows train,
// the rest test.
const (
	mcRows, mcFeatures, mcInformative, mcTrain = 200000, 40, 20, 150000
	mcSeed                                     = 1
)

func makeClassSet() *Dataset {
	return makeClassification(mcRows, mcFeatures, mcInformative, 0.01, 1, mcSeed)
}

// split returns rows [lo, hi) of d.
func (d *Dataset) split(lo, hi int) *Dataset {
	nf := d.NumFeatures
	return &Dataset{NumFeatures: nf, Rows: d.Rows[lo*nf : hi*nf], Labels: d.Labels[lo:hi]}
}

func sha256Hex(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// TestWriteMakeClassification: the generator gives the same bytes twice
// for a seed and others for another seed, its labels are balanced (the
// 4 clusters are 2 per class; flips are symmetric) and its values are
// float32; with -makeclass-out DIR it writes DIR/makeclass.bin, the input of
// testdata/gen/train_gbdt_makeclass.py:
//
//	go test ./tools/train/gbdt -run TestWriteMakeClassification -args -makeclass-out /tmp/mc
func TestWriteMakeClassification(t *testing.T) {
	a := makeClassBytes(makeClassification(4000, 10, 5, 0.01, 1, 3))
	b := makeClassBytes(makeClassification(4000, 10, 5, 0.01, 1, 3))
	c := makeClassBytes(makeClassification(4000, 10, 5, 0.01, 1, 4))
	if !bytes.Equal(a, b) {
		t.Fatal("the same seed gave different data")
	}
	if bytes.Equal(a, c) {
		t.Fatal("seeds 3 and 4 gave the same data")
	}
	d := makeClassification(4000, 10, 5, 0.01, 1, 3)
	ones := 0.0
	for _, y := range d.Labels {
		ones += y
	}
	if ones < 1900 || ones > 2100 {
		t.Fatalf("%v of 4000 labels are 1, want about 2000", ones)
	}
	for i, v := range d.Rows {
		if float64(float32(v)) != v || math.IsNaN(v) {
			t.Fatalf("value %d is %v, not a float32", i, v)
		}
	}
	if *makeClassOut == "" {
		return
	}
	full := makeClassBytes(makeClassSet())
	path := filepath.Join(*makeClassOut, "makeclass.bin")
	if err := os.WriteFile(path, full, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("wrote %s: %d bytes, sha256 %s", path, len(full), sha256Hex(full))
}
