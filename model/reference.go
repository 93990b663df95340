package model

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"time"

	"github.com/klauspost/compress/zstd"
)

// A reference is a model version's profile of the rows it was trained or
// validated on: per input feature and per output, the counts, missing rate,
// range, moments, bins with their counts, and a bounded sample of raw values.
// Drift statistics (monitor/drift) compare a window of served or batch rows
// against it. It is written by tools/profile (`predictd profile`, and
// `predictd import --reference`) and stored in the version folder as
// zstd-compressed JSON, named in the manifest with its size and sha256 like
// the payload. A version without one loads and serves normally: Open never
// reads it; ReadReference does, once, when a caller wants it.

// ReferenceFormatVersion is the reference format this build writes and reads.
const ReferenceFormatVersion = 1

// Distribution kinds.
const (
	// DistNumeric: bins are intervals between Edges.
	DistNumeric = "numeric"
	// DistCategorical: bins are the listed Categories, then "other".
	DistCategorical = "categorical"
)

// Limits a reference must keep; DecodeReference refuses anything past them.
const (
	// MaxReferenceBytes bounds a reference's decompressed JSON.
	MaxReferenceBytes = 512 << 20
	// MaxReferenceBins bounds the bins of one distribution (edges + 1, or
	// categories + 1).
	MaxReferenceBins = 1 << 16
	// MaxReferenceSample bounds the raw sample of one distribution.
	MaxReferenceSample = 1 << 20
)

// ErrNoReference reports a version that has no reference.
var ErrNoReference = errors.New("no reference")

// Reference is a version's profile of its training or validation rows. It is
// immutable once built or read: readers (the daemon's monitor, drift tools)
// may share one without locking.
type Reference struct {
	FormatVersion int `json:"format_version"`
	// Created is when the profile was computed (UTC, whole seconds).
	Created time.Time `json:"created"`
	// Source is the base name of the file profiled.
	Source string `json:"source,omitempty"`
	// Rows is the number of rows profiled.
	Rows int64 `json:"rows"`
	// Seed is the seed the raw samples were drawn with.
	Seed uint64 `json:"seed"`
	// Features has one entry per manifest feature, in the model's order;
	// Outputs one per manifest output.
	Features []Distribution `json:"features"`
	Outputs  []Distribution `json:"outputs"`
}

// Distribution is the reference profile of one feature or output.
//
// Bins. A numeric distribution's bins are the intervals between its Edges,
// closed on the left, with open ends: bin 0 is (-Inf, Edges[0]), bin i is
// [Edges[i-1], Edges[i]), the last is [Edges[len-1], +Inf). A categorical
// distribution's bins are its Categories, each holding exactly that code,
// then one bin for every other value ("other"). Counts holds the reference's
// non-missing values per bin; Bin maps a value to its bin.
type Distribution struct {
	Name string `json:"name"`
	Kind string `json:"kind"` // DistNumeric or DistCategorical
	// Count is the number of rows (the reference's Rows); Missing of them
	// had no value (NaN).
	Count   int64 `json:"count"`
	Missing int64 `json:"missing"`
	// Finite is the number of finite values; Min, Max, Mean and Std (the
	// population standard deviation, ddof 0) are over those, 0 when there
	// are none. ±Inf values are counted in the bins only.
	Finite int64   `json:"finite"`
	Min    float64 `json:"min"`
	Max    float64 `json:"max"`
	Mean   float64 `json:"mean"`
	Std    float64 `json:"std"`
	// Edges (numeric) are strictly ascending and finite.
	Edges []float64 `json:"edges,omitempty"`
	// Categories (categorical) are the most frequent codes, strictly
	// ascending and finite.
	Categories []float64 `json:"categories,omitempty"`
	// Counts has NumBins entries; they sum to Count - Missing.
	Counts []int64 `json:"counts"`
	// Sample (numeric) is a uniform random sample of the finite values,
	// ascending, for the sample-based statistics (Kolmogorov-Smirnov,
	// Wasserstein).
	Sample []float64 `json:"sample,omitempty"`
}

// NumBins is the number of bins: len(Edges)+1 or len(Categories)+1.
func (d *Distribution) NumBins() int {
	if d.Kind == DistCategorical {
		return len(d.Categories) + 1
	}
	return len(d.Edges) + 1
}

// MissingRate is Missing/Count, or NaN when Count is 0.
func (d *Distribution) MissingRate() float64 {
	if d.Count == 0 {
		return math.NaN()
	}
	return float64(d.Missing) / float64(d.Count)
}

// Bin returns the bin x falls in, in [0, NumBins), or -1 for a missing value
// (NaN). It does not allocate and is safe for concurrent use: the online
// histograms and the offline drift tool both bin through it.
func (d *Distribution) Bin(x float64) int {
	if x != x {
		return -1
	}
	if d.Kind == DistCategorical {
		c := d.Categories
		lo, hi := 0, len(c)
		for lo < hi { // first category >= x
			mid := int(uint(lo+hi) >> 1)
			if c[mid] < x {
				lo = mid + 1
			} else {
				hi = mid
			}
		}
		if lo < len(c) && c[lo] == x {
			return lo
		}
		return len(c)
	}
	e := d.Edges
	lo, hi := 0, len(e)
	for lo < hi { // the number of edges <= x
		mid := int(uint(lo+hi) >> 1)
		if e[mid] <= x {
			lo = mid + 1
		} else {
			hi = mid
		}
	}
	return lo
}

// ReferenceFile is the manifest's record of a version's reference: where it
// is and how to check it, and what inspect shows without reading it.
type ReferenceFile struct {
	// File is a plain file name in the version folder.
	File   string `json:"file"`
	SHA256 string `json:"sha256"`
	// Bytes is the file's size; DecodedBytes the JSON's, decompressed.
	Bytes        int64     `json:"bytes"`
	DecodedBytes int64     `json:"decoded_bytes"`
	Rows         int64     `json:"rows"`
	Source       string    `json:"source,omitempty"`
	Created      time.Time `json:"created"`
}

// check reports the first field of r that is missing or out of range.
func (r *ReferenceFile) check() error {
	switch {
	case !plainFileName(r.File):
		return fmt.Errorf("reference file %s: want a file name in the version folder, not a path", Quote(r.File))
	case len(r.SHA256) != 64:
		return fmt.Errorf("reference sha256 %s: want 64 hex digits", Quote(r.SHA256))
	case r.Bytes <= 0 || r.Bytes > maxReferenceFileBytes:
		return fmt.Errorf("reference bytes %d is outside [1, %d]", r.Bytes, int64(maxReferenceFileBytes))
	case r.DecodedBytes <= 0 || r.DecodedBytes > MaxReferenceBytes:
		return fmt.Errorf("reference decoded_bytes %d is outside [1, %d]", r.DecodedBytes, MaxReferenceBytes)
	case r.Rows < 0:
		return fmt.Errorf("reference rows %d is negative", r.Rows)
	}
	return nil
}

// maxReferenceFileBytes bounds a reference file: MaxReferenceBytes that
// do not compress, plus zstd's block headers.
const maxReferenceFileBytes = MaxReferenceBytes + 1<<20

// referenceWindowBytes is the zstd window the reference encoder uses, and so
// the largest a decoder accepts.
const referenceWindowBytes = 8 << 20

var referenceEncoder = sync.OnceValues(func() (*zstd.Encoder, error) {
	return zstd.NewWriter(nil,
		zstd.WithEncoderLevel(zstd.SpeedBetterCompression),
		zstd.WithWindowSize(referenceWindowBytes),
		zstd.WithEncoderConcurrency(1))
})

// EncodeReference checks r and returns it as zstd-compressed JSON, with the
// length of the JSON. The same reference encodes to the same bytes.
func EncodeReference(r *Reference) (data []byte, jsonBytes int, err error) {
	if err := r.Validate(); err != nil {
		return nil, 0, fmt.Errorf("encode reference: %w", err)
	}
	js, err := json.Marshal(r)
	if err != nil {
		return nil, 0, fmt.Errorf("encode reference: %w", err)
	}
	if len(js) > MaxReferenceBytes {
		return nil, 0, fmt.Errorf("encode reference: %d bytes of JSON, more than the %d a reference may have (a smaller sample?)", len(js), MaxReferenceBytes)
	}
	enc, err := referenceEncoder()
	if err != nil {
		return nil, 0, err
	}
	return enc.EncodeAll(js, nil), len(js), nil
}

// DecodeReference decompresses and parses a reference written by
// EncodeReference, whose JSON is jsonBytes long (the manifest's
// decoded_bytes; 0 means undeclared, up to MaxReferenceBytes), and
// validates it. Decompression stops past the declared size, so a small file
// cannot expand into much more memory than it declares. Safe for concurrent
// use.
func DecodeReference(data []byte, jsonBytes int64) (*Reference, error) {
	if jsonBytes < 0 || jsonBytes > MaxReferenceBytes {
		return nil, fmt.Errorf("declared size %d is outside [0, %d]", jsonBytes, MaxReferenceBytes)
	}
	limit := jsonBytes
	if limit == 0 {
		limit = MaxReferenceBytes
	}
	window := min(referenceWindowBytes, max(zstd.MinWindowSize, 2*limit))
	var h zstd.Header
	if h.Decode(data) == nil && !h.Skippable {
		if h.HasFCS && h.FrameContentSize > uint64(limit) {
			return nil, fmt.Errorf("zstd frame declares %d bytes, more than the %d allowed", h.FrameContentSize, limit)
		}
		w := h.WindowSize
		if h.SingleSegment {
			w = h.FrameContentSize
		}
		if w > uint64(window) {
			return nil, fmt.Errorf("zstd frame window is %d bytes, more than the %d allowed", w, window)
		}
	}
	zr, err := zstd.NewReader(bytes.NewReader(data),
		zstd.WithDecoderConcurrency(1),
		zstd.WithDecoderMaxMemory(uint64(window)),
		zstd.WithDecoderMaxWindow(uint64(window)))
	if err != nil {
		return nil, err
	}
	defer zr.Close()
	js, err := io.ReadAll(io.LimitReader(zr, limit+1))
	if err != nil {
		return nil, fmt.Errorf("decompress: %w", err)
	}
	switch {
	case int64(len(js)) > limit:
		return nil, fmt.Errorf("decompresses past %d bytes", limit)
	case jsonBytes > 0 && int64(len(js)) != jsonBytes:
		return nil, fmt.Errorf("decompresses to %d bytes, the manifest says %d", len(js), jsonBytes)
	}
	var r Reference
	if err := json.Unmarshal(js, &r); err != nil {
		return nil, err
	}
	if err := r.Validate(); err != nil {
		return nil, err
	}
	return &r, nil
}

// Validate reports the first inconsistency in r: a format this build does
// not read, a distribution whose counts do not add up, bins out of order,
// a value that is not finite. A reference that passes cannot make Bin or
// the drift statistics index out of range.
func (r *Reference) Validate() error {
	if r.FormatVersion != ReferenceFormatVersion {
		return fmt.Errorf("reference format_version %d, this build reads %d", r.FormatVersion, ReferenceFormatVersion)
	}
	if r.Rows < 0 {
		return fmt.Errorf("reference rows %d is negative", r.Rows)
	}
	for _, side := range []struct {
		what string
		ds   []Distribution
	}{{"feature", r.Features}, {"output", r.Outputs}} {
		seen := make(map[string]bool, len(side.ds))
		for i := range side.ds {
			d := &side.ds[i]
			if seen[d.Name] {
				return fmt.Errorf("reference %s %s appears twice", side.what, Quote(d.Name))
			}
			seen[d.Name] = true
			if err := d.validate(r.Rows); err != nil {
				return fmt.Errorf("reference %s %d (%s): %w", side.what, i, Quote(d.Name), err)
			}
		}
	}
	return nil
}

func (d *Distribution) validate(rows int64) error {
	finite := func(what string, vs []float64, strict bool) error {
		for i, v := range vs {
			if math.IsNaN(v) || math.IsInf(v, 0) {
				return fmt.Errorf("%s[%d] is %v, want a finite number", what, i, v)
			}
			if i > 0 && (vs[i-1] > v || strict && vs[i-1] == v) {
				return fmt.Errorf("%s[%d] %v is out of order after %v", what, i, v, vs[i-1])
			}
		}
		return nil
	}
	switch {
	case d.Name == "":
		return fmt.Errorf("no name")
	case d.Kind != DistNumeric && d.Kind != DistCategorical:
		return fmt.Errorf("kind %s, want %s or %s", Quote(d.Kind), DistNumeric, DistCategorical)
	case d.Count != rows:
		return fmt.Errorf("count %d, the reference has %d rows", d.Count, rows)
	case d.Missing < 0 || d.Missing > d.Count:
		return fmt.Errorf("missing %d is outside [0, %d]", d.Missing, d.Count)
	case d.Finite < 0 || d.Finite > d.Count-d.Missing:
		return fmt.Errorf("finite %d is outside [0, %d]", d.Finite, d.Count-d.Missing)
	case d.Kind == DistNumeric && len(d.Categories) > 0:
		return fmt.Errorf("a numeric distribution has categories")
	case d.Kind == DistCategorical && (len(d.Edges) > 0 || len(d.Sample) > 0):
		return fmt.Errorf("a categorical distribution has edges or a sample")
	case d.NumBins() > MaxReferenceBins:
		return fmt.Errorf("%d bins, more than %d", d.NumBins(), MaxReferenceBins)
	case len(d.Counts) != d.NumBins():
		return fmt.Errorf("%d counts for %d bins", len(d.Counts), d.NumBins())
	case int64(len(d.Sample)) > min(d.Finite, MaxReferenceSample):
		return fmt.Errorf("a sample of %d values, more than its %d finite values (or %d)", len(d.Sample), d.Finite, MaxReferenceSample)
	}
	for _, v := range []float64{d.Min, d.Max, d.Mean, d.Std} {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return fmt.Errorf("min, max, mean or std is %v, want a finite number", v)
		}
	}
	if d.Min > d.Max || d.Std < 0 {
		return fmt.Errorf("min %v, max %v, std %v: want min <= max and std >= 0", d.Min, d.Max, d.Std)
	}
	if err := finite("edges", d.Edges, true); err != nil {
		return err
	}
	if err := finite("categories", d.Categories, true); err != nil {
		return err
	}
	if err := finite("sample", d.Sample, false); err != nil {
		return err
	}
	var sum int64
	for i, c := range d.Counts {
		if c < 0 || c > d.Count {
			return fmt.Errorf("counts[%d] %d is outside [0, %d]", i, c, d.Count)
		}
		sum += c
	}
	if sum != d.Count-d.Missing {
		return fmt.Errorf("counts add up to %d, want count - missing = %d", sum, d.Count-d.Missing)
	}
	return nil
}

// CheckManifest reports a mismatch between r and the manifest m: a
// reference profiles exactly m's Columns (numeric for float features,
// categorical for categorical ones) and outputs, by name and in order.
func (r *Reference) CheckManifest(m *Manifest) error {
	cols := m.Columns()
	if len(r.Features) != len(cols) {
		return fmt.Errorf("reference has %d features, the model %d", len(r.Features), len(cols))
	}
	for i, f := range cols {
		d := &r.Features[i]
		if d.Name != f.Name {
			return fmt.Errorf("reference feature %d is %s, the model's is %s", i, Quote(d.Name), Quote(f.Name))
		}
		if want := FeatureDistKind(f); d.Kind != want {
			return fmt.Errorf("reference feature %s is %s, want %s", Quote(f.Name), d.Kind, want)
		}
	}
	if len(r.Outputs) != len(m.Outputs) {
		return fmt.Errorf("reference has %d outputs, the model %d", len(r.Outputs), len(m.Outputs))
	}
	for i, o := range m.Outputs {
		d := &r.Outputs[i]
		if d.Name != o.Name {
			return fmt.Errorf("reference output %d is %s, the model's is %s", i, Quote(d.Name), Quote(o.Name))
		}
		if want := OutputDistKind(m); d.Kind != want {
			return fmt.Errorf("reference output %s is %s, want %s", Quote(o.Name), d.Kind, want)
		}
	}
	return nil
}

// FeatureDistKind is the kind of distribution a reference keeps for f:
// categorical for integer-coded categorical features, numeric otherwise.
func FeatureDistKind(f Feature) string {
	if f.Type == FeatureCategorical {
		return DistCategorical
	}
	return DistNumeric
}

// OutputDistKind is the kind of distribution a reference keeps for m's
// outputs: categorical when the one output is a class index (a multiclass
// model with an argmax link), numeric for probabilities and values.
func OutputDistKind(m *Manifest) string {
	if m.Task == TaskMulticlass && len(m.Outputs) == 1 {
		return DistCategorical
	}
	return DistNumeric
}

// referenceFileName is the file a reference with this sha256 is stored in:
// named by its content, so that replacing a version's reference never
// changes a file a reader may be reading (see AttachReference).
func referenceFileName(sum []byte) string {
	return "reference-" + hex.EncodeToString(sum[:8]) + ".json.zst"
}

// encodeReferenceFile encodes r for the manifest m and returns the file's
// bytes and its manifest record.
func encodeReferenceFile(r *Reference, m *Manifest) ([]byte, *ReferenceFile, error) {
	if err := r.CheckManifest(m); err != nil {
		return nil, nil, fmt.Errorf("%s: %w", m.Name, err)
	}
	data, n, err := EncodeReference(r)
	if err != nil {
		return nil, nil, err
	}
	sum := sha256.Sum256(data)
	return data, &ReferenceFile{
		File: referenceFileName(sum[:]), SHA256: hex.EncodeToString(sum[:]),
		Bytes: int64(len(data)), DecodedBytes: int64(n),
		Rows: r.Rows, Source: r.Source, Created: r.Created,
	}, nil
}

// ReadReference reads, checks and decodes the reference of the version in
// dir whose manifest is m. It returns an error wrapping ErrNoReference when
// m records none. A file of the wrong size or checksum, or one that does not
// profile m's features and outputs, is refused with an error naming it. The
// daemon calls it when it loads a version, and a failure there must not stop
// the version from serving (it serves with no reference).
func ReadReference(dir string, m *Manifest) (*Reference, error) {
	rf := m.Reference
	if rf == nil {
		return nil, fmt.Errorf("%s version %d: %w", m.Name, m.Version, ErrNoReference)
	}
	data, path, err := readSidecar(dir, "reference", rf.File, rf.Bytes, rf.SHA256)
	if err != nil {
		return nil, err
	}
	r, err := DecodeReference(data, rf.DecodedBytes)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if err := r.CheckManifest(m); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return r, nil
}

// AttachReference stores r as the reference of an existing version of model
// name in repo (0: the latest) and returns the updated manifest and the
// version folder. It replaces any reference the version had.
//
// The change is atomic for readers: the reference goes to a new file named
// by its checksum (written, synced, renamed into place), then a new
// manifest.json is renamed over the old one; only then is the previous
// reference file removed. A reader sees the old manifest and its reference
// or the new manifest and its; the one window it can lose is reading the
// old manifest just before the swap and its reference just after the
// removal, and that read fails cleanly (file not found), not with a torn
// file. The payload is untouched. Two concurrent attaches to one version:
// the last manifest rename wins, and a loser's file may be left behind.
//
// A daemon reads a version's reference when it loads the version, so one
// already serving it keeps what it read until it loads the version again.
func AttachReference(repo, name string, version int, r *Reference) (*Manifest, string, error) {
	dir, m, err := versionManifest(repo, name, version)
	if err != nil {
		return nil, "", err
	}
	data, rf, err := encodeReferenceFile(r, m)
	if err != nil {
		return nil, "", err
	}
	old := m.Reference
	if err := writeFileAtomic(dir, rf.File, data); err != nil {
		return nil, "", err
	}
	m.Reference = rf
	js, err := marshalManifest(m)
	if err != nil {
		return nil, "", err
	}
	if err := writeFileAtomic(dir, ManifestFile, js); err != nil {
		return nil, "", err
	}
	if old != nil && old.File != rf.File && plainFileName(old.File) {
		if err := os.Remove(filepath.Join(dir, old.File)); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return nil, "", fmt.Errorf("remove the previous reference: %w", err)
		}
	}
	return m, dir, syncDir(dir)
}

// versionManifest finds version (0: the latest) of model name in repo and
// reads its manifest, for the tools that add to a version after it was
// written (AttachReference, RecordEvaluation). It returns the version
// folder and the manifest.
func versionManifest(repo, name string, version int) (string, *Manifest, error) {
	if !ValidName(name) {
		return "", nil, fmt.Errorf("model name %s is not valid", Quote(name))
	}
	if version == 0 {
		vs, err := Versions(repo, name)
		if err != nil {
			return "", nil, err
		}
		if len(vs) == 0 {
			return "", nil, fmt.Errorf("model %q in %s has no versions: %w", name, repo, ErrNotFound)
		}
		version = vs[len(vs)-1]
	}
	dir := filepath.Join(repo, name, strconv.Itoa(version))
	if _, err := os.Stat(dir); errors.Is(err, fs.ErrNotExist) {
		return "", nil, fmt.Errorf("model %q version %d in %s: %w", name, version, repo, ErrNotFound)
	}
	m, err := ReadManifest(dir)
	if err != nil {
		return "", nil, err
	}
	return dir, m, nil
}

// marshalManifest is the manifest.json Write stores for m, after checking
// that ReadManifest will read it back.
func marshalManifest(m *Manifest) ([]byte, error) {
	if err := m.check(); err != nil {
		return nil, fmt.Errorf("BUG: manifest: %w", err)
	}
	js, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return nil, err
	}
	if len(js) >= maxManifestBytes {
		return nil, fmt.Errorf("%s: the manifest would be %d bytes, more than the %d a manifest may have (long feature names?)", m.Name, len(js), maxManifestBytes)
	}
	return append(js, '\n'), nil
}

// writeFileAtomic writes data to dir/name through a synced temporary file
// renamed over it, so a reader sees the old file or the new one, whole.
func writeFileAtomic(dir, name string, data []byte) error {
	f, err := os.CreateTemp(dir, ".tmp-"+name+"-")
	if err != nil {
		return err
	}
	tmp := f.Name()
	defer os.Remove(tmp) // a no-op once renamed
	if err := f.Chmod(0o644); err != nil {
		f.Close()
		return err
	}
	if err := writeSyncClose(f, data); err != nil {
		return err
	}
	return os.Rename(tmp, filepath.Join(dir, name))
}
