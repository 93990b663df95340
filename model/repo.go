package model

import (
	"bytes"
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/predictd/predictd/model/transform"
)

// Files inside a version folder.
const (
	ManifestFile = "manifest.json"
	PayloadFile  = "model.bin.zst"
)

// ErrNotFound reports a model or version the repository does not have.
var ErrNotFound = errors.New("not found")

// ErrVersionExists reports a write to a version that is already there.
var ErrVersionExists = errors.New("version already exists")

// WriteOptions control Write.
type WriteOptions struct {
	// Version to write; 0 picks the next free number (one past the highest).
	Version int
	// Created is recorded in the manifest; the zero value means now.
	Created time.Time
	// FeatureViews is recorded in the manifest (see Manifest.FeatureViews).
	FeatureViews []string
	// Precision of a dense model (see Manifest.Precision); "" records the
	// default, Manifest.DensePrecision.
	Precision string
	// Reference, if set, is stored with the version (see ReadReference); it
	// must profile the model's features and outputs.
	Reference *Reference
	// Contract, if set, is the YAML of a data contract (model/contract) to
	// store with the version, verbatim (see ReadContract); ContractSource
	// names its file in errors. It must parse and fit the model's features
	// (CheckContract).
	Contract       []byte
	ContractSource string
	// Transform, if set, is the fitted feature transforms the version
	// applies to its raw inputs (see TransformFile): imp's Features must be
	// its output Names, in order, all float. The manifest then lists the
	// transform's inputs as Features and imp's as ModelFeatures.
	Transform *transform.Pipeline
	// Lineage and Metrics, if set, are JSON objects recorded verbatim in
	// the manifest (see Manifest.Lineage; RecordEvaluation adds to them).
	Lineage json.RawMessage
	Metrics json.RawMessage
}

// ErrBadOption reports a WriteOptions field that does not fit the model
// (a precision for a tree ensemble, say).
var ErrBadOption = errors.New("bad write option")

// Write stores imp as a new version of model name in the repository folder
// repo and returns its manifest and folder. The version appears atomically:
// files are written and synced in a hidden temporary folder next to the
// versions, which is then renamed into place, so a reader sees the whole
// version or none of it. Concurrent writers never overwrite each other: a
// rename onto an existing version fails, and with opts.Version 0 the writer
// moves on to the next number.
func Write(repo, name string, imp *Imported, opts WriteOptions) (*Manifest, string, error) {
	if !ValidName(name) {
		return nil, "", fmt.Errorf("model name %s: use 1-128 letters, digits, '-', '_' or '.', not starting with '.'", Quote(name))
	}
	if opts.Version < 0 {
		return nil, "", fmt.Errorf("version %d: want a positive integer", opts.Version)
	}
	payload, bodyBytes, err := encodePayload(imp.Model)
	if err != nil {
		return nil, "", fmt.Errorf("encode %s: %w", name, err)
	}
	sum := sha256.Sum256(payload)
	created := opts.Created
	if created.IsZero() {
		created = time.Now()
	}
	m := &Manifest{
		FormatVersion: FormatVersion,
		Name:          name,
		Kind:          imp.Kind,
		Task:          imp.Task,
		Classes:       imp.Classes,
		ClassLabels:   imp.ClassLabels,
		Features:      imp.Features,
		Outputs:       imp.Outputs,
		RawOutputs:    imp.RawOutputs,
		Created:       created.UTC().Truncate(time.Second),
		Source:        imp.Source,
		Payload: Payload{
			File: PayloadFile, SHA256: hex.EncodeToString(sum[:]),
			Bytes: int64(len(payload)), DecodedBytes: int64(bodyBytes),
		},
		FeatureViews: opts.FeatureViews,
	}
	if err := checkFeatureViews(m.FeatureViews); err != nil {
		return nil, "", err
	}
	if err := CheckClassLabels(m.Task, m.Classes, m.ClassLabels); err != nil {
		return nil, "", fmt.Errorf("%s: %w", name, err)
	}
	if len(m.ClassLabels) > 0 && !HasClassLabel(m.Task, imp.Model.NumOutputs(), LinkOf(imp.Model)) {
		return nil, "", fmt.Errorf("%s: class_labels: the model has no class label to name: it is a %s model with %d outputs and link %s, and only a probability (binary) or per-class outputs (multiclass) give one", name, m.Task, imp.Model.NumOutputs(), LinkOf(imp.Model))
	}
	for _, o := range []struct {
		name string
		v    json.RawMessage
		dst  *json.RawMessage
	}{{"Lineage", opts.Lineage, &m.Lineage}, {"Metrics", opts.Metrics, &m.Metrics}} {
		if o.v == nil {
			continue
		}
		if !json.Valid(o.v) || !bytes.HasPrefix(bytes.TrimSpace(o.v), []byte("{")) {
			return nil, "", fmt.Errorf("%w: WriteOptions.%s is not a JSON object", ErrBadOption, o.name)
		}
		*o.dst = o.v
	}
	var transformData []byte
	if p := opts.Transform; p != nil {
		m.ModelFeatures, m.Features = imp.Features, InputFeatures(p)
		var tf *TransformFile
		if transformData, tf, err = encodeTransformFile(p); err != nil {
			return nil, "", fmt.Errorf("%w: %w", ErrBadOption, err)
		}
		m.Transform = tf
		if err := checkTransform(p, m); err != nil {
			return nil, "", fmt.Errorf("%w: WriteOptions.Transform does not fit the model: %w", ErrBadOption, err)
		}
	}
	if err := checkPrecision(m.Kind, opts.Precision); err != nil {
		return nil, "", fmt.Errorf("%w: %w", ErrBadOption, err)
	}
	m.Precision = cmp.Or(opts.Precision, imp.Precision)
	if err := checkPrecision(m.Kind, m.Precision); err != nil {
		return nil, "", fmt.Errorf("BUG: importer precision: %w", err)
	}
	m.Precision = m.DensePrecision() // recorded, so the manifest says what serves
	if err := m.checkAgainst(imp.Model); err != nil {
		return nil, "", fmt.Errorf("BUG: importer produced an inconsistent model: %w", err)
	}
	modelDir := filepath.Join(repo, name)
	if err := os.MkdirAll(modelDir, 0o755); err != nil {
		return nil, "", err
	}
	tmp, err := os.MkdirTemp(modelDir, ".tmp-")
	if err != nil {
		return nil, "", err
	}
	defer os.RemoveAll(tmp) // a no-op once renamed
	if err := writeFileSync(filepath.Join(tmp, PayloadFile), payload); err != nil {
		return nil, "", err
	}
	if transformData != nil {
		if err := writeFileSync(filepath.Join(tmp, m.Transform.File), transformData); err != nil {
			return nil, "", err
		}
	}
	if opts.Reference != nil {
		data, rf, err := encodeReferenceFile(opts.Reference, m)
		if err != nil {
			return nil, "", fmt.Errorf("%w: %w", ErrBadOption, err)
		}
		if err := writeFileSync(filepath.Join(tmp, rf.File), data); err != nil {
			return nil, "", err
		}
		m.Reference = rf
	}
	if opts.Contract != nil {
		cf, err := encodeContractFile(opts.Contract, opts.ContractSource, m)
		if err != nil {
			return nil, "", fmt.Errorf("%w: %w", ErrBadOption, err)
		}
		if err := writeFileSync(filepath.Join(tmp, cf.File), opts.Contract); err != nil {
			return nil, "", err
		}
		m.Contract = cf
	}
	for attempt := 0; ; attempt++ {
		v := opts.Version
		if v == 0 {
			vs, err := Versions(repo, name)
			if err != nil && !errors.Is(err, ErrNotFound) {
				return nil, "", err
			}
			v = 1
			if len(vs) > 0 {
				v = vs[len(vs)-1] + 1
			}
		}
		m.Version = v
		if err := m.check(); err != nil {
			return nil, "", fmt.Errorf("BUG: manifest: %w", err)
		}
		js, err := json.MarshalIndent(m, "", "  ")
		if err != nil {
			return nil, "", err
		}
		// ReadManifest refuses more, so Write never stores what it cannot read.
		if len(js) >= maxManifestBytes {
			return nil, "", fmt.Errorf("%s: the manifest would be %d bytes, more than the %d a manifest may have (long feature names?)", name, len(js), maxManifestBytes)
		}
		if err := writeFileSync(filepath.Join(tmp, ManifestFile), append(js, '\n')); err != nil {
			return nil, "", err
		}
		if err := syncDir(tmp); err != nil {
			return nil, "", err
		}
		dst := filepath.Join(modelDir, strconv.Itoa(v))
		err = os.Rename(tmp, dst)
		if err == nil {
			return m, dst, syncDir(modelDir)
		}
		if !errors.Is(err, fs.ErrExist) && !errors.Is(err, syscall.ENOTEMPTY) {
			return nil, "", err
		}
		if opts.Version != 0 {
			return nil, "", fmt.Errorf("%s version %d: %w", name, v, ErrVersionExists)
		}
		if attempt > 100 {
			return nil, "", fmt.Errorf("%s: gave up finding a free version after %d tries", name, attempt)
		}
	}
}

// Versions lists the versions of model name in repo, ascending. Folders
// that are not positive integers (such as in-progress writes) are skipped.
func Versions(repo, name string) ([]int, error) {
	if !ValidName(name) {
		return nil, fmt.Errorf("model name %s is not valid", Quote(name))
	}
	ents, err := os.ReadDir(filepath.Join(repo, name))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("model %q in %s: %w", name, repo, ErrNotFound)
	}
	if err != nil {
		return nil, err
	}
	var vs []int
	for _, e := range ents {
		if !e.IsDir() || strings.HasPrefix(e.Name(), ".") {
			continue
		}
		v, err := strconv.Atoi(e.Name())
		if err != nil || v <= 0 || strconv.Itoa(v) != e.Name() {
			continue
		}
		vs = append(vs, v)
	}
	sort.Ints(vs)
	return vs, nil
}

// Models lists the model names in repo.
func Models(repo string) ([]string, error) {
	ents, err := os.ReadDir(repo)
	if err != nil {
		return nil, err
	}
	var names []string
	for _, e := range ents {
		if e.IsDir() && ValidName(e.Name()) {
			names = append(names, e.Name())
		}
	}
	return names, nil
}

// Loaded is a verified model version ready to predict.
type Loaded struct {
	Manifest *Manifest
	Dir      string
	// Model predicts from the manifest's Columns.
	Model Predictor
	// Transform, for a version with transforms (Manifest.Transform), turns
	// a row of the raw Features into the Columns Model takes; nil
	// otherwise.
	Transform *transform.Pipeline
}

// Open is OpenContext with a context that is never cancelled.
func Open(repo, name string, version int) (*Loaded, error) {
	return OpenContext(context.Background(), repo, name, version)
}

// OpenContext loads version of model name from repo (0 means the highest
// version), verifying the payload's size and checksum before decoding it. A
// corrupt or truncated artifact is refused with an error naming the file;
// so is a file that resolves outside its version folder, or a version
// folder outside the repository, without saying where it points.
//
// It stops soon after ctx is done: ctx is checked before each file is read,
// every payloadReadBytes of the payload file and every 64 KiB of the
// decompressed body (under a millisecond of work between checks), and
// the error then names the file being read and wraps ctx.Err(). Two steps
// run to their end once started: parsing the manifest (at most
// maxManifestBytes) and compiling the decoded model for prediction
// (Trees.Prepare: about 50 ms of the 110 ms open of a 1.2M-node forest,
// measured). Nothing is left running once it returns.
func OpenContext(ctx context.Context, repo, name string, version int) (*Loaded, error) {
	if !ValidName(name) {
		return nil, fmt.Errorf("model name %s is not valid", Quote(name))
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("%s: open cancelled: %w", filepath.Join(repo, name), err)
	}
	if version == 0 {
		vs, err := Versions(repo, name)
		if err != nil {
			return nil, err
		}
		if len(vs) == 0 {
			return nil, fmt.Errorf("model %q in %s has no versions: %w", name, repo, ErrNotFound)
		}
		version = vs[len(vs)-1]
	}
	dir := filepath.Join(repo, name, strconv.Itoa(version))
	if _, err := os.Stat(dir); errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("model %q version %d in %s: %w", name, version, repo, ErrNotFound)
	}
	// Versions and Models skip symlinked folders; a version asked for by
	// number is refused if it resolves outside the repository.
	realRepo, err := filepath.EvalSymlinks(repo)
	if err != nil {
		return nil, err
	}
	realDir, err := filepath.EvalSymlinks(dir)
	if err != nil {
		if out, cause := outsideErr(err, repo, realRepo); out {
			return nil, fmt.Errorf("model %q version %d: %s resolves outside the repository %s: %w", name, version, dir, repo, cause)
		}
		return nil, err
	}
	// Where it resolves to is not said: the daemon shows load errors to
	// clients, and a path outside the repository is none of theirs.
	if !inside(realRepo, realDir) {
		return nil, fmt.Errorf("model %q version %d: %s resolves outside the repository %s: refused", name, version, dir, repo)
	}
	return openDir(ctx, dir)
}

// maxManifestBytes bounds a manifest.json, lineage, metrics and reference
// data included.
const maxManifestBytes = 64 << 20

// payloadReadBytes is how much of a payload file OpenContext reads between
// checks of its context: 1 MiB reads in well under a millisecond from the
// page cache, a few from a disk.
const payloadReadBytes = 1 << 20

// maxPayloadFileBytes bounds a payload file: a body of MaxPayloadBytes
// that does not compress, plus the frame's block headers (3 bytes per
// 128 KiB block) and header.
const maxPayloadFileBytes = MaxPayloadBytes + 1<<20

// OpenDir loads the version stored in dir. Both files must be regular files
// in dir, or symlinks to files inside it; the payload's size is checked
// against the manifest before it is read, its sha256 before it is decoded,
// and decompression stops at the manifest's decoded size.
func OpenDir(dir string) (*Loaded, error) {
	return openDir(context.Background(), dir)
}

// openDir is OpenDir that stops once ctx is done, as OpenContext says.
func openDir(ctx context.Context, dir string) (*Loaded, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("read manifest %s: cancelled: %w", filepath.Join(dir, ManifestFile), err)
	}
	m, err := ReadManifest(dir)
	if err != nil {
		return nil, err
	}
	ppath := filepath.Join(dir, m.Payload.File)
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("read payload %s: cancelled: %w", ppath, err)
	}
	f, size, err := openInside(dir, m.Payload.File)
	if err != nil {
		return nil, fmt.Errorf("read payload: %w", err)
	}
	defer f.Close()
	if size != m.Payload.Bytes {
		return nil, fmt.Errorf("%s: %d bytes, manifest says %d: the artifact is truncated or corrupt", ppath, size, m.Payload.Bytes)
	}
	// Read in pieces, hashing each as it arrives, so that ctx is checked
	// between them.
	payload := make([]byte, size)
	h := sha256.New()
	for off := int64(0); off < size; {
		if err := ctx.Err(); err != nil {
			return nil, fmt.Errorf("read payload %s: cancelled after %d of %d bytes: %w", ppath, off, size, err)
		}
		n, err := io.ReadFull(f, payload[off:min(size, off+payloadReadBytes)])
		h.Write(payload[off : off+int64(n)])
		off += int64(n)
		if err != nil {
			if err == io.EOF && off > 0 {
				err = io.ErrUnexpectedEOF // as one ReadFull of the whole file says
			}
			return nil, fmt.Errorf("read payload %s: %w", ppath, err)
		}
	}
	if n, _ := f.Read(make([]byte, 1)); n > 0 {
		return nil, fmt.Errorf("%s: grew past the manifest's %d bytes while read", ppath, m.Payload.Bytes)
	}
	if got := hex.EncodeToString(h.Sum(nil)); got != m.Payload.SHA256 {
		return nil, fmt.Errorf("%s: sha256 %s, manifest says %s: the artifact is corrupt", ppath, got, m.Payload.SHA256)
	}
	p, err := decodeSizedPayload(ctx, m.Kind, payload, m.Payload.DecodedBytes)
	if err != nil {
		return nil, fmt.Errorf("%s (%d bytes): %w", ppath, size, err)
	}
	if err := m.checkAgainst(p); err != nil {
		return nil, fmt.Errorf("%s: %w", filepath.Join(dir, ManifestFile), err)
	}
	if d, ok := p.(*Dense); ok && m.DensePrecision() == PrecisionFloat32 {
		if err := d.Prepare(); err != nil { // packs the float32 kernels' weights
			return nil, fmt.Errorf("%s (%d bytes): %w", ppath, size, err)
		}
	}
	l := &Loaded{Manifest: m, Dir: dir, Model: p}
	if m.Transform != nil {
		if err := ctx.Err(); err != nil {
			return nil, fmt.Errorf("read transform %s: cancelled: %w", filepath.Join(dir, m.Transform.File), err)
		}
		if l.Transform, err = readTransform(dir, m); err != nil {
			return nil, err
		}
	}
	return l, nil
}

// ReadManifest reads and checks dir's manifest.json.
func ReadManifest(dir string) (*Manifest, error) {
	path := filepath.Join(dir, ManifestFile)
	f, size, err := openInside(dir, ManifestFile)
	if err != nil {
		return nil, fmt.Errorf("read manifest: %w", err)
	}
	defer f.Close()
	if size > maxManifestBytes {
		return nil, fmt.Errorf("%s: %d bytes, more than the %d a manifest may have", path, size, maxManifestBytes)
	}
	data, err := io.ReadAll(io.LimitReader(f, maxManifestBytes+1))
	if err != nil {
		return nil, fmt.Errorf("read manifest: %w", err)
	}
	if len(data) > maxManifestBytes {
		return nil, fmt.Errorf("%s: grew past %d bytes while read", path, maxManifestBytes)
	}
	var m Manifest
	if err := json.Unmarshal(data, &m); err != nil {
		return nil, fmt.Errorf("%s: %v", path, err)
	}
	if err := m.check(); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if v, err := strconv.Atoi(filepath.Base(dir)); err == nil && v != m.Version {
		return nil, fmt.Errorf("%s: version %d does not match its folder %s", path, m.Version, filepath.Base(dir))
	}
	return &m, nil
}

// checkAgainst reports a mismatch between the manifest's columns and the
// payload's shape.
func (m *Manifest) checkAgainst(p Predictor) error {
	switch p := p.(type) {
	case *Trees:
		if m.Kind != KindTrees {
			return fmt.Errorf("kind %s, but the payload is a tree ensemble", m.Kind)
		}
	case *Dense:
		if m.Kind != KindLinear && m.Kind != KindMLP {
			return fmt.Errorf("kind %s, but the payload is a dense model", m.Kind)
		}
		if m.Kind == KindLinear && len(p.Layers) != 1 {
			return fmt.Errorf("kind linear, but the payload has %d layers", len(p.Layers))
		}
	default:
		return fmt.Errorf("unknown payload type %T", p)
	}
	switch {
	case len(m.Columns()) != p.NumFeatures():
		what := "features"
		if m.Transform != nil {
			what = "model_features"
		}
		return fmt.Errorf("manifest lists %d %s, payload takes %d", len(m.Columns()), what, p.NumFeatures())
	case len(m.Outputs) != p.NumOutputs():
		return fmt.Errorf("manifest lists %d outputs, payload gives %d", len(m.Outputs), p.NumOutputs())
	case len(m.RawOutputs) != p.NumMargins():
		return fmt.Errorf("manifest lists %d raw outputs, payload gives %d", len(m.RawOutputs), p.NumMargins())
	case len(m.ClassLabels) > 0 && !HasClassLabel(m.Task, p.NumOutputs(), LinkOf(p)):
		return fmt.Errorf("class_labels: the model has no class label to name (a %s model with %d outputs and link %s; see HasClassLabel)", m.Task, p.NumOutputs(), LinkOf(p))
	}
	return nil
}

// readSidecar reads a file the manifest records beside the payload (what:
// "reference", "contract", "transform"): file inside dir, refused unless
// its size is size and its sha256 the hex sum. It returns the bytes and the
// file's path, for the caller's own errors.
func readSidecar(dir, what, file string, size int64, sum string) ([]byte, string, error) {
	path := filepath.Join(dir, file)
	f, got, err := openInside(dir, file)
	if err != nil {
		return nil, path, fmt.Errorf("read %s: %w", what, err)
	}
	defer f.Close()
	if got != size {
		return nil, path, fmt.Errorf("%s: %d bytes, manifest says %d: the %s is truncated or corrupt", path, got, size, what)
	}
	data := make([]byte, size)
	if _, err := io.ReadFull(f, data); err != nil {
		return nil, path, fmt.Errorf("read %s %s: %w", what, path, err)
	}
	h := sha256.Sum256(data)
	if hs := hex.EncodeToString(h[:]); hs != sum {
		return nil, path, fmt.Errorf("%s: sha256 %s, manifest says %s: the %s is corrupt", path, hs, sum, what)
	}
	return data, path, nil
}

// openInside opens the file name directly inside dir for reading and
// returns it with its size. It refuses a name that is a path, a file that
// is (or resolves through symlinks to) anything outside dir, and anything
// but a regular file (a FIFO or a device such as /dev/zero would block or
// never end). Errors name the file, but not where a symlink out of dir
// points.
func openInside(dir, name string) (*os.File, int64, error) {
	path := filepath.Join(dir, name)
	if !plainFileName(name) {
		return nil, 0, fmt.Errorf("%s: %s is a path, want a file name in the folder", path, Quote(name))
	}
	realDir, err := filepath.EvalSymlinks(dir)
	if err != nil {
		return nil, 0, err
	}
	real, err := filepath.EvalSymlinks(path)
	if err != nil {
		if out, cause := outsideErr(err, dir, realDir); out {
			return nil, 0, fmt.Errorf("%s: resolves outside the folder %s: %w", path, dir, cause)
		}
		return nil, 0, err
	}
	if !inside(realDir, real) {
		return nil, 0, fmt.Errorf("%s: resolves outside the folder %s: refused", path, dir)
	}
	st, err := os.Lstat(real)
	if err != nil {
		return nil, 0, err
	}
	if !st.Mode().IsRegular() {
		return nil, 0, fmt.Errorf("%s: a %s, not a regular file: refused", path, st.Mode().Type())
	}
	f, err := os.Open(real)
	if err != nil {
		return nil, 0, err
	}
	// The file opened must be the one checked, not one swapped in since.
	if fst, err := f.Stat(); err != nil || !os.SameFile(st, fst) {
		f.Close()
		return nil, 0, fmt.Errorf("%s: replaced while being opened", path)
	}
	return f, st.Size(), nil
}

// outsideErr reports whether err, from filepath.EvalSymlinks, is about a
// path that is neither in one of dirs nor one of their parent folders: a
// symlink pointing out of them to something missing or unreadable. It
// then returns err's cause without that path, which errors must not show.
func outsideErr(err error, dirs ...string) (bool, error) {
	var pe *fs.PathError
	if !errors.As(err, &pe) {
		return false, err
	}
	for _, d := range dirs {
		if inside(d, pe.Path) || inside(pe.Path, d) {
			return false, err
		}
	}
	return true, pe.Err
}

// inside reports whether path p is dir or lies under it; both must be
// cleaned absolute or cleaned relative paths of the same kind.
func inside(dir, p string) bool {
	rel, err := filepath.Rel(dir, p)
	return err == nil && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator)) && !filepath.IsAbs(rel)
}

func writeFileSync(path string, data []byte) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return err
	}
	return writeSyncClose(f, data)
}

// writeSyncClose writes data to f, syncs it to disk and closes it; f is
// closed whatever fails.
func writeSyncClose(f *os.File, data []byte) error {
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}
