package model_test

import (
	"bytes"
	"errors"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/klauspost/compress/zstd"
	"github.com/predictd/predictd/model"
)

// testReference is a small valid reference for a model with these features
// and outputs: every distribution over rows rows, a tenth of them missing.
func testReference(feats []model.Feature, outs []model.Output, multiclassClass bool) *model.Reference {
	const rows = 100
	numeric := func(name string) model.Distribution {
		return model.Distribution{
			Name: name, Kind: model.DistNumeric, Count: rows, Missing: 10, Finite: 90,
			Min: -1, Max: 2, Mean: 0.5, Std: 0.75,
			Edges:  []float64{-1, 0, 1, math.Nextafter(2, 3)},
			Counts: []int64{0, 30, 30, 30, 0},
			Sample: []float64{-1, -0.5, 0, 0.5, 1, 2},
		}
	}
	categorical := func(name string) model.Distribution {
		return model.Distribution{
			Name: name, Kind: model.DistCategorical, Count: rows, Missing: 10, Finite: 90,
			Min: 0, Max: 7, Mean: 2, Std: 1.5,
			Categories: []float64{0, 1, 3},
			Counts:     []int64{40, 30, 15, 5},
		}
	}
	r := &model.Reference{
		FormatVersion: model.ReferenceFormatVersion, Rows: rows, Seed: 1, Source: "train.csv",
		Created: time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC),
	}
	for _, f := range feats {
		if f.Type == model.FeatureCategorical {
			r.Features = append(r.Features, categorical(f.Name))
		} else {
			r.Features = append(r.Features, numeric(f.Name))
		}
	}
	for _, o := range outs {
		if multiclassClass {
			r.Outputs = append(r.Outputs, categorical(o.Name))
		} else {
			r.Outputs = append(r.Outputs, numeric(o.Name))
		}
	}
	return r
}

func TestDistributionBin(t *testing.T) {
	num := model.Distribution{Kind: model.DistNumeric, Edges: []float64{-1, 0, 1, 2}}
	cat := model.Distribution{Kind: model.DistCategorical, Categories: []float64{0, 1, 3}}
	for _, tc := range []struct {
		d    *model.Distribution
		x    float64
		want int
	}{
		{&num, math.NaN(), -1},
		{&num, math.Inf(-1), 0},
		{&num, -1.5, 0},
		{&num, -1, 1}, // bins are closed on the left
		{&num, math.Nextafter(0, -1), 1},
		{&num, 0, 2},
		{&num, math.Copysign(0, -1), 2},
		{&num, 1.999, 3},
		{&num, 2, 4},
		{&num, math.Inf(1), 4},
		{&cat, math.NaN(), -1},
		{&cat, 0, 0},
		{&cat, math.Copysign(0, -1), 0},
		{&cat, 1, 1},
		{&cat, 3, 2},
		{&cat, 2, 3}, // other
		{&cat, 0.5, 3},
		{&cat, -1, 3},
		{&cat, math.Inf(1), 3},
	} {
		if got := tc.d.Bin(tc.x); got != tc.want {
			t.Errorf("%s Bin(%v) = %d, want %d", tc.d.Kind, tc.x, got, tc.want)
		}
	}
	empty := model.Distribution{Kind: model.DistNumeric}
	if got := empty.Bin(42); got != 0 || empty.NumBins() != 1 {
		t.Errorf("no edges: Bin(42) = %d, NumBins %d; want 0 of 1", got, empty.NumBins())
	}
}

func TestDistributionBinDoesNotAllocate(t *testing.T) {
	d := model.Distribution{Kind: model.DistNumeric, Edges: []float64{-1, 0, 1, 2}}
	c := model.Distribution{Kind: model.DistCategorical, Categories: []float64{0, 1, 3}}
	if n := testing.AllocsPerRun(100, func() { _ = d.Bin(0.5) + c.Bin(3) }); n != 0 {
		t.Errorf("Bin allocates %v times", n)
	}
}

func TestReferenceEncodeDecode(t *testing.T) {
	r := testReference([]model.Feature{{"age", model.FeatureFloat}, {"plan", model.FeatureCategorical}}, []model.Output{{Name: "p"}}, false)
	data, n, err := model.EncodeReference(r)
	if err != nil {
		t.Fatal(err)
	}
	again, _, _ := model.EncodeReference(r)
	if !bytes.Equal(data, again) {
		t.Errorf("EncodeReference is not deterministic")
	}
	got, err := model.DecodeReference(data, int64(n))
	if err != nil {
		t.Fatal(err)
	}
	if got.Rows != r.Rows || len(got.Features) != 2 || got.Features[0].Edges[3] != r.Features[0].Edges[3] || !got.Created.Equal(r.Created) {
		t.Errorf("round trip = %+v, want %+v", got, r)
	}
	if _, err := model.DecodeReference(data, int64(n)+1); err == nil || !strings.Contains(err.Error(), "the manifest says") {
		t.Errorf("DecodeReference with a wrong declared size = %v, want a size error", err)
	}
	if _, err := model.DecodeReference(data, int64(n)-1); err == nil {
		t.Errorf("DecodeReference with a short declared size succeeded")
	}
}

// TestDecodeReferenceBomb: a small file that expands past its declared size
// is refused without being decompressed whole.
func TestDecodeReferenceBomb(t *testing.T) {
	enc, _ := zstd.NewWriter(nil, zstd.WithEncoderLevel(zstd.SpeedFastest))
	bomb := enc.EncodeAll(bytes.Repeat([]byte(" "), 64<<20), nil)
	for _, declared := range []int64{1000, 0} {
		_, err := model.DecodeReference(bomb, declared)
		if err == nil {
			t.Errorf("DecodeReference(64 MiB of spaces, declared %d) succeeded", declared)
		}
	}
}

func TestReferenceValidate(t *testing.T) {
	base := func() *model.Reference {
		return testReference([]model.Feature{{"age", model.FeatureFloat}, {"plan", model.FeatureCategorical}}, []model.Output{{Name: "p"}}, false)
	}
	if err := base().Validate(); err != nil {
		t.Fatalf("valid reference: %v", err)
	}
	for _, tc := range []struct {
		edit func(r *model.Reference)
		want string
	}{
		{func(r *model.Reference) { r.FormatVersion = 2 }, "format_version 2"},
		{func(r *model.Reference) { r.Features[1].Name = "age" }, `feature "age" appears twice`},
		{func(r *model.Reference) { r.Features[0].Name = "" }, "no name"},
		{func(r *model.Reference) { r.Features[0].Kind = "text" }, `kind "text"`},
		{func(r *model.Reference) { r.Features[0].Count = 99 }, "count 99, the reference has 100 rows"},
		{func(r *model.Reference) { r.Features[0].Missing = 101 }, "missing 101 is outside [0, 100]"},
		{func(r *model.Reference) { r.Features[0].Finite = 91 }, "finite 91 is outside [0, 90]"},
		{func(r *model.Reference) { r.Features[0].Edges[1] = -1 }, "edges[1] -1 is out of order after -1"},
		{func(r *model.Reference) { r.Features[0].Edges[0] = math.Inf(-1) }, "edges[0] is -Inf"},
		{func(r *model.Reference) { r.Features[0].Counts = r.Features[0].Counts[:4] }, "4 counts for 5 bins"},
		{func(r *model.Reference) { r.Features[0].Counts[1] = 31 }, "counts add up to 91, want count - missing = 90"},
		{func(r *model.Reference) { r.Features[0].Counts[1] = -1 }, "counts[1] -1 is outside"},
		{func(r *model.Reference) { r.Features[0].Sample[0] = 3 }, "sample[1] -0.5 is out of order after 3"},
		{func(r *model.Reference) { r.Features[0].Sample[0] = math.NaN() }, "sample[0] is NaN"},
		{func(r *model.Reference) { r.Features[0].Mean = math.Inf(1) }, "min, max, mean or std is +Inf"},
		{func(r *model.Reference) { r.Features[0].Min = 3 }, "min 3, max 2"},
		{func(r *model.Reference) { r.Features[0].Categories = []float64{1} }, "numeric distribution has categories"},
		{func(r *model.Reference) { r.Features[1].Categories[2] = 1 }, "categories[2] 1 is out of order"},
		{func(r *model.Reference) { r.Features[1].Sample = []float64{1} }, "categorical distribution has edges or a sample"},
		{func(r *model.Reference) { r.Outputs[0].Finite = 0 }, "a sample of 6 values, more than its 0 finite values"},
	} {
		r := base()
		tc.edit(r)
		if err := r.Validate(); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Validate() = %v, want %q", err, tc.want)
		}
	}
}

func TestReferenceWriteReadAttach(t *testing.T) {
	imp, rows := imported(t)
	repo := t.TempDir()
	// A version without a reference opens, serves and says so.
	if _, _, err := model.Write(repo, "iris", imp, model.WriteOptions{}); err != nil {
		t.Fatal(err)
	}
	l, err := model.Open(repo, "iris", 1)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := model.ReadReference(l.Dir, l.Manifest); !errors.Is(err, model.ErrNoReference) {
		t.Errorf("ReadReference of a version without one = %v, want ErrNoReference", err)
	}
	var desc strings.Builder
	if err := model.Describe(&desc, l); err != nil || !strings.Contains(desc.String(), "no reference") {
		t.Errorf("Describe = %v\n%s\nwant a line saying no reference", err, desc.String())
	}

	// Write with a reference: one atomic version holding both.
	ref := testReference(imp.Features, imp.Outputs, false)
	m, dir, err := model.Write(repo, "iris", imp, model.WriteOptions{Reference: ref})
	if err != nil {
		t.Fatal(err)
	}
	if m.Reference == nil || m.Reference.Rows != 100 || m.Reference.Source != "train.csv" {
		t.Fatalf("manifest reference = %+v", m.Reference)
	}
	l, err = model.Open(repo, "iris", m.Version)
	if err != nil {
		t.Fatal(err)
	}
	got, err := model.ReadReference(dir, l.Manifest)
	if err != nil {
		t.Fatal(err)
	}
	if got.Rows != ref.Rows || len(got.Features) != len(imp.Features) || got.Features[0].Name != imp.Features[0].Name {
		t.Errorf("ReadReference = %+v", got)
	}
	desc.Reset()
	if err := model.Describe(&desc, l); err != nil || !strings.Contains(desc.String(), "100 rows of train.csv, 10 features, 4 outputs, profiled 2026-05-01 12:00:00 UTC") {
		t.Errorf("Describe:\n%s\nwant the reference line", desc.String())
	}

	// A reference that does not fit the model is refused.
	bad := testReference(imp.Features[1:], imp.Outputs, false)
	if _, _, err := model.Write(repo, "iris", imp, model.WriteOptions{Reference: bad}); !errors.Is(err, model.ErrBadOption) || !strings.Contains(err.Error(), "reference has 9 features, the model 10") {
		t.Errorf("Write with a mismatched reference = %v", err)
	}
	if _, _, err := model.AttachReference(repo, "iris", 1, bad); err == nil {
		t.Errorf("AttachReference with a mismatched reference succeeded")
	}

	// Attach to version 1, then replace it: the old file goes, the payload
	// stays, and the version still predicts as before.
	m1, dir1, err := model.AttachReference(repo, "iris", 1, ref)
	if err != nil {
		t.Fatal(err)
	}
	ref2 := testReference(imp.Features, imp.Outputs, false)
	ref2.Source = "validation.csv"
	m2, _, err := model.AttachReference(repo, "iris", 1, ref2)
	if err != nil {
		t.Fatal(err)
	}
	if m2.Reference.File == m1.Reference.File {
		t.Errorf("a different reference has the same file name %s", m2.Reference.File)
	}
	if _, err := os.Stat(filepath.Join(dir1, m1.Reference.File)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the replaced reference file is still there: %v", err)
	}
	ents, _ := os.ReadDir(dir1)
	if len(ents) != 3 {
		var names []string
		for _, e := range ents {
			names = append(names, e.Name())
		}
		t.Errorf("version folder holds %v, want the manifest, the payload and one reference", names)
	}
	l1, err := model.Open(repo, "iris", 1)
	if err != nil {
		t.Fatal(err)
	}
	if r, err := model.ReadReference(l1.Dir, l1.Manifest); err != nil || r.Source != "validation.csv" {
		t.Errorf("ReadReference after replacing = %v, %v", r, err)
	}
	want := imp.Model.Predict(nil, rows, false)
	for i, v := range l1.Model.Predict(nil, rows, false) {
		if v != want[i] {
			t.Fatalf("prediction %d after AttachReference = %v, want %v", i, v, want[i])
		}
	}

	// A corrupt reference: the version still opens and serves; reading the
	// reference names the file; inspect says it is unreadable.
	path := filepath.Join(l1.Dir, l1.Manifest.Reference.File)
	data, _ := os.ReadFile(path)
	data[len(data)/2] ^= 0xff
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	l1, err = model.Open(repo, "iris", 1)
	if err != nil {
		t.Fatalf("a version with a corrupt reference does not open: %v", err)
	}
	if _, err := model.ReadReference(l1.Dir, l1.Manifest); err == nil || !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), "corrupt") {
		t.Errorf("ReadReference of a corrupt file = %v, want an error naming %s", err, path)
	}
	desc.Reset()
	if err := model.Describe(&desc, l1); err != nil || !strings.Contains(desc.String(), "unreadable: "+path) {
		t.Errorf("Describe:\n%s\nwant the reference unreadable", desc.String())
	}
	if _, _, err := model.AttachReference(repo, "iris", 9, ref); !errors.Is(err, model.ErrNotFound) {
		t.Errorf("AttachReference to a missing version = %v, want ErrNotFound", err)
	}
}

// FuzzDecodeReference: no input makes DecodeReference panic, and what it
// accepts is valid and encodes again to something it accepts.
func FuzzDecodeReference(f *testing.F) {
	r := testReference([]model.Feature{{"age", model.FeatureFloat}, {"plan", model.FeatureCategorical}}, []model.Output{{Name: "p"}}, false)
	data, _, err := model.EncodeReference(r)
	if err != nil {
		f.Fatal(err)
	}
	dec, _ := zstd.NewReader(nil)
	js, err := dec.DecodeAll(data, nil)
	if err != nil {
		f.Fatal(err)
	}
	// Seeds come compressed (as stored) and as JSON, compressed before
	// decoding, so the fuzzer's mutations reach the JSON and the checks.
	f.Add(false, data)
	f.Add(true, js)
	enc, _ := zstd.NewWriter(nil, zstd.WithEncoderConcurrency(1))
	f.Fuzz(func(t *testing.T, isJSON bool, data []byte) {
		if isJSON {
			data = enc.EncodeAll(data, nil)
		}
		r, err := model.DecodeReference(data, 0)
		if err != nil {
			return
		}
		if err := r.Validate(); err != nil {
			t.Fatalf("DecodeReference accepted an invalid reference: %v", err)
		}
		for i := range r.Features {
			d := &r.Features[i]
			for _, x := range []float64{math.NaN(), math.Inf(-1), -1, 0, 1, math.Inf(1)} {
				if b := d.Bin(x); b < -1 || b >= d.NumBins() {
					t.Fatalf("Bin(%v) = %d of %d bins", x, b, d.NumBins())
				}
			}
		}
		again, n, err := model.EncodeReference(r)
		if err != nil {
			t.Fatalf("EncodeReference of a decoded reference: %v", err)
		}
		if _, err := model.DecodeReference(again, int64(n)); err != nil {
			t.Fatalf("a re-encoded reference does not decode: %v", err)
		}
	})
}
