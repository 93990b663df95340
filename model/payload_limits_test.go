package model

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/klauspost/compress/zstd"
)

// limitsModel is a small tree model to store and then tamper with.
func limitsModel(t testing.TB) *Imported {
	t.Helper()
	tr := synthTrees(t, 40, 5, 6)
	feats := make([]Feature, tr.NumFeatures())
	for i := range feats {
		feats[i] = Feature{Name: fmt.Sprintf("f%d", i), Type: FeatureFloat}
	}
	outs, raw := DefaultOutputs(TaskBinary, tr.NumMargins(), tr.Link)
	return &Imported{
		Kind: KindTrees, Task: TaskBinary, Features: feats, Outputs: outs, RawOutputs: raw,
		Source: Source{Format: "native-json", File: "m.json", SHA256: "00"},
		Model:  tr,
	}
}

// writeLimitsModel stores limitsModel as version 1 of "m" in a new
// repository and returns the repository and the version folder.
func writeLimitsModel(t testing.TB) (repo, dir string) {
	t.Helper()
	repo = t.TempDir()
	_, dir, err := Write(repo, "m", limitsModel(t), WriteOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return repo, dir
}

// editManifest rewrites dir's manifest.json through its JSON form, so that
// a test can write what an older build or an attacker would.
func editManifest(t testing.TB, dir string, edit func(m map[string]any)) {
	t.Helper()
	path := filepath.Join(dir, ManifestFile)
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(data, &m); err != nil {
		t.Fatal(err)
	}
	edit(m)
	if data, err = json.Marshal(m); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
}

// plantPayload replaces dir's payload with data and makes the manifest's
// size and sha256 match it, as an attacker who can write the repository
// would. decoded sets payload.decoded_bytes; -1 removes it (a manifest from
// before the field).
func plantPayload(t testing.TB, dir string, data []byte, decoded int64) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(dir, PayloadFile), data, 0o644); err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(data)
	editManifest(t, dir, func(m map[string]any) {
		p := m["payload"].(map[string]any)
		p["sha256"] = hex.EncodeToString(sum[:])
		p["bytes"] = len(data)
		if decoded < 0 {
			delete(p, "decoded_bytes")
		} else {
			p["decoded_bytes"] = decoded
		}
	})
}

// zstdBombs caches the compressed bombs: each is small (33 KB per GiB) but
// takes a second or more per GiB to make.
var zstdBombs sync.Map // key string -> []byte

// zstdBomb returns a zstd stream of prefix followed by zeros up to size
// bytes, compressed as a stream so that neither the test nor the encoder
// holds the decompressed bytes.
func zstdBomb(t testing.TB, prefix []byte, size int64) []byte {
	t.Helper()
	key := fmt.Sprintf("%x/%d", sha256.Sum256(prefix), size)
	if b, ok := zstdBombs.Load(key); ok {
		return b.([]byte)
	}
	var buf bytes.Buffer
	w, err := zstd.NewWriter(&buf, zstd.WithEncoderConcurrency(1))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write(prefix); err != nil {
		t.Fatal(err)
	}
	zeros := make([]byte, 1<<20)
	for left := size - int64(len(prefix)); left > 0; left -= int64(len(zeros)) {
		if _, err := w.Write(zeros[:min(left, int64(len(zeros)))]); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	zstdBombs.Store(key, buf.Bytes())
	return buf.Bytes()
}

// heapUse is what a call allocated: total bytes (the TotalAlloc delta,
// which counts even what was freed at once) and the peak live heap sampled
// every 200µs while it ran.
type heapUse struct {
	total, peak uint64
}

func measureHeap(fn func()) heapUse {
	runtime.GC()
	var before runtime.MemStats
	runtime.ReadMemStats(&before)
	var peak atomic.Uint64
	done := make(chan struct{})
	sampled := make(chan struct{})
	go func() {
		defer close(sampled)
		var ms runtime.MemStats
		for {
			runtime.ReadMemStats(&ms)
			if ms.HeapAlloc > peak.Load() {
				peak.Store(ms.HeapAlloc)
			}
			select {
			case <-done:
				return
			case <-time.After(200 * time.Microsecond):
			}
		}
	}()
	fn()
	close(done)
	<-sampled
	var after runtime.MemStats
	runtime.ReadMemStats(&after)
	p := peak.Load()
	if p > before.HeapAlloc {
		p -= before.HeapAlloc
	} else {
		p = 0
	}
	return heapUse{total: after.TotalAlloc - before.TotalAlloc, peak: p}
}

const mib = 1 << 20

// TestOpenZstdBomb: a payload whose manifest size and sha256 match but
// which decompresses to far more than the model is refused after a few MiB
// of allocation, whatever payload.decoded_bytes says (the import's value,
// none, or an attacker's 1 GiB), and the error names the file.
func TestOpenZstdBomb(t *testing.T) {
	_, dir := writeLimitsModel(t)
	honest, err := ReadManifest(dir)
	if err != nil {
		t.Fatal(err)
	}
	if honest.Payload.DecodedBytes <= 0 {
		t.Fatalf("Write recorded payload.decoded_bytes %d, want the body's size", honest.Payload.DecodedBytes)
	}
	real, err := os.ReadFile(filepath.Join(dir, PayloadFile))
	if err != nil {
		t.Fatal(err)
	}
	realBody := decompressT(t, real)
	sizes := []int64{1 << 30}
	if !testing.Short() {
		sizes = append(sizes, 4<<30)
	}
	for _, size := range sizes {
		for _, c := range []struct {
			name    string
			prefix  []byte // the body starts with this, then zeros
			decoded int64  // as plantPayload takes it; 0 for the import's
			want    string
		}{
			{"zeros/decoded_bytes=import", nil, 0, "frame"},
			{"zeros/decoded_bytes=none", nil, -1, "bad magic"},
			{"zeros/decoded_bytes=1GiB", nil, 1 << 30, "bad magic"},
			{"model+zeros/decoded_bytes=import", realBody, 0, "frame"},
			{"model+zeros/decoded_bytes=none", realBody, -1, "trailing bytes"},
			{"model+zeros/decoded_bytes=1GiB", realBody, 1 << 30, "trailing bytes"},
		} {
			t.Run(fmt.Sprintf("%dGiB/%s", size>>30, c.name), func(t *testing.T) {
				bomb := zstdBomb(t, c.prefix, size)
				decoded := c.decoded
				if decoded == 0 {
					decoded = honest.Payload.DecodedBytes
				}
				plantPayload(t, dir, bomb, decoded)
				var err error
				use := measureHeap(func() { _, err = OpenDir(dir) })
				t.Logf("%d-byte bomb of %d bytes: %v; allocated %.1f MiB in all, peak live heap +%.1f MiB",
					len(bomb), size, err, float64(use.total)/mib, float64(use.peak)/mib)
				if err == nil || !strings.Contains(err.Error(), filepath.Join(dir, PayloadFile)) || !strings.Contains(err.Error(), c.want) {
					t.Fatalf("OpenDir(bomb) error = %v, want one naming %s and containing %q", err, filepath.Join(dir, PayloadFile), c.want)
				}
				// The race detector's shadow memory and instrumentation
				// distort the counts; the bound is checked without it.
				// The bound: the model's body and payload, and the zstd
				// window an old manifest must allow (8 MiB), plus slack.
				limit := uint64(len(realBody)+len(real)+len(bomb)) + 12*mib
				if c.decoded == 0 {
					limit -= 8 * mib
				}
				if !raceEnabled && use.total > limit {
					t.Errorf("OpenDir(bomb) allocated %d bytes, want at most %d", use.total, limit)
				}
			})
		}
	}
}

// TestOpenOversizedPayload: a payload file padded far past the manifest's
// size is refused from its size alone, before it is read; so is one cut
// short. The error names the file and both sizes.
func TestOpenOversizedPayload(t *testing.T) {
	_, dir := writeLimitsModel(t)
	m, err := ReadManifest(dir)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, PayloadFile)
	for _, size := range []int64{1 << 30, m.Payload.Bytes + 1, m.Payload.Bytes - 1, 0} {
		// A sparse file: the test costs no disk, and a reader that read it
		// whole would still allocate the full size.
		if err := os.Truncate(path, size); err != nil {
			t.Fatal(err)
		}
		var err error
		use := measureHeap(func() { _, err = OpenDir(dir) })
		want := fmt.Sprintf("%s: %d bytes, manifest says %d", path, size, m.Payload.Bytes)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("OpenDir with a %d-byte payload: error = %v, want one containing %q", size, err, want)
		}
		if !raceEnabled && use.total > 1*mib {
			t.Errorf("OpenDir with a %d-byte payload allocated %d bytes, want at most %d", size, use.total, 1*mib)
		}
	}
}

// TestOpenDecodedBytes: the body must be exactly as long as the manifest's
// decoded_bytes says; a manifest without the field (written before it
// existed) still opens.
func TestOpenDecodedBytes(t *testing.T) {
	_, dir := writeLimitsModel(t)
	m, err := ReadManifest(dir)
	if err != nil {
		t.Fatal(err)
	}
	payload, err := os.ReadFile(filepath.Join(dir, PayloadFile))
	if err != nil {
		t.Fatal(err)
	}
	n := m.Payload.DecodedBytes
	for _, c := range []struct {
		decoded int64
		want    string // "" opens
	}{
		{n, ""},
		{-1, ""},
		{n + 1, fmt.Sprintf("body is %d bytes, the manifest's payload.decoded_bytes says %d", n, n+1)},
		{n - 1, fmt.Sprintf("zstd frame declares %d bytes, exceeds the %d-byte limit (the manifest's payload.decoded_bytes)", n, n-1)},
		{MaxPayloadBytes + 1, fmt.Sprintf("payload decoded_bytes %d is outside [0, %d]", MaxPayloadBytes+1, MaxPayloadBytes)},
	} {
		plantPayload(t, dir, payload, c.decoded)
		_, err := OpenDir(dir)
		switch {
		case c.want == "" && err != nil:
			t.Errorf("decoded_bytes %d: OpenDir: %v", c.decoded, err)
		case c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want)):
			t.Errorf("decoded_bytes %d: OpenDir error = %v, want one containing %q", c.decoded, err, c.want)
		}
	}
}

// TestOpenSymlinks: the manifest and the payload must be files in the
// version folder, or symlinks to files in it; a version opened by number
// must be inside the repository. Names that are paths are refused.
func TestOpenSymlinks(t *testing.T) {
	repo, dir := writeLimitsModel(t)
	payload := filepath.Join(dir, PayloadFile)
	manifest := filepath.Join(dir, ManifestFile)
	outside := t.TempDir()
	// moveOut moves file to outside and links it back; undo restores it.
	moveOut := func(file string) (undo func()) {
		moved := filepath.Join(outside, filepath.Base(file))
		if err := os.Rename(file, moved); err != nil {
			t.Fatal(err)
		}
		if err := os.Symlink(moved, file); err != nil {
			t.Fatal(err)
		}
		return func() {
			if err := os.Remove(file); err != nil {
				t.Fatal(err)
			}
			if err := os.Rename(moved, file); err != nil {
				t.Fatal(err)
			}
		}
	}
	open := func() error { _, err := Open(repo, "m", 1); return err }
	if err := open(); err != nil {
		t.Fatal(err)
	}

	// The target is not named: it is outside the repository.
	undo := moveOut(payload)
	if err := open(); err == nil || !strings.Contains(err.Error(), payload+": resolves outside the folder "+dir+": refused") || strings.Contains(err.Error(), outside) {
		t.Errorf("payload symlinked out of the repository: Open error = %v, want it refused naming the link and not %s", err, outside)
	}
	undo()
	undo = moveOut(manifest)
	if err := open(); err == nil || !strings.Contains(err.Error(), manifest+": resolves outside the folder "+dir+": refused") || strings.Contains(err.Error(), outside) {
		t.Errorf("manifest symlinked out of the repository: Open error = %v, want it refused naming the link and not %s", err, outside)
	}
	undo()

	// A symlink within the folder is fine.
	inner := filepath.Join(dir, "payload.v1")
	if err := os.Rename(payload, inner); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("payload.v1", payload); err != nil {
		t.Fatal(err)
	}
	if err := open(); err != nil {
		t.Errorf("payload symlinked within its folder: Open: %v", err)
	}
	// A device is outside, and not a regular file either.
	if err := os.Remove(payload); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("/dev/zero", payload); err != nil {
		t.Fatal(err)
	}
	if err := open(); err == nil || !strings.Contains(err.Error(), "outside the folder") {
		t.Errorf("payload symlinked to /dev/zero: Open error = %v, want it refused", err)
	}
	// A FIFO in the folder would block a reader: not a regular file.
	if err := os.Remove(payload); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Mkfifo(payload, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := open(); err == nil || !strings.Contains(err.Error(), "not a regular file") {
		t.Errorf("payload a FIFO: Open error = %v, want it refused", err)
	}
	if err := os.Remove(payload); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(inner, payload); err != nil {
		t.Fatal(err)
	}

	// Manifest file names that are paths.
	for _, name := range []string{"../1/" + PayloadFile, "/etc/passwd", "..", "sub/" + PayloadFile} {
		editManifest(t, dir, func(m map[string]any) { m["payload"].(map[string]any)["file"] = name })
		if err := open(); err == nil || !strings.Contains(err.Error(), "want a file name in the version folder") {
			t.Errorf("payload file %q: Open error = %v, want it refused", name, err)
		}
	}
	editManifest(t, dir, func(m map[string]any) { m["payload"].(map[string]any)["file"] = PayloadFile })

	// A version folder that is a symlink out of the repository.
	elsewhere := filepath.Join(outside, "2")
	if err := os.Mkdir(elsewhere, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{PayloadFile, ManifestFile} {
		data, err := os.ReadFile(filepath.Join(dir, f))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(elsewhere, f), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	editManifest(t, elsewhere, func(m map[string]any) { m["version"] = 2 })
	if err := os.Symlink(elsewhere, filepath.Join(repo, "m", "2")); err != nil {
		t.Fatal(err)
	}
	if _, err := Open(repo, "m", 2); err == nil || !strings.Contains(err.Error(), "outside the repository") {
		t.Errorf("version folder symlinked out of the repository: Open error = %v, want it refused", err)
	}
	if _, err := OpenDir(elsewhere); err != nil {
		t.Errorf("OpenDir of the same folder by its own path: %v", err)
	}
	// A model name that is a path is refused before it is joined to one.
	if _, err := Open(repo, "../"+filepath.Base(outside), 2); err == nil || !strings.Contains(err.Error(), "is not valid") {
		t.Errorf("Open of a model name with \"..\": error = %v, want the name refused", err)
	}
}

// TestWriteManifestLimit: Write refuses a manifest ReadManifest would
// refuse as too large, rather than store a version that cannot open.
func TestWriteManifestLimit(t *testing.T) {
	imp := limitsModel(t)
	imp.Features[0].Name = strings.Repeat("x", maxManifestBytes)
	_, _, err := Write(t.TempDir(), "m", imp, WriteOptions{})
	if err == nil || !strings.Contains(err.Error(), fmt.Sprintf("more than the %d a manifest may have", maxManifestBytes)) {
		t.Errorf("Write with a 64 MiB feature name: error = %.300v, want the manifest refused as too large", err)
	}
}

// TestDecodeSizedPayloadStream: a frame that does not declare its size
// (written as a stream) is still held to the declared body size: bytes
// past it are refused after at most one chunk, and so is a shorter body.
func TestDecodeSizedPayloadStream(t *testing.T) {
	body := decompressT(t, encodeT(t, codecTrees(t, false, 0)))
	stream := func(b []byte) []byte {
		var buf bytes.Buffer
		w, err := zstd.NewWriter(&buf, zstd.WithWindowSize(zstd.MinWindowSize), zstd.WithEncoderConcurrency(1))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.Write(b); err != nil {
			t.Fatal(err)
		}
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		return buf.Bytes()
	}
	n := int64(len(body))
	for _, c := range []struct {
		data     []byte
		declared int64
		want     string // "" decodes
	}{
		{stream(body), n, ""},
		{stream(body), 0, ""},
		{stream(append(bytes.Clone(body), make([]byte, 1<<20)...)), n, fmt.Sprintf("trailing bytes after the last field run past the body's limit of %d bytes (the manifest's payload.decoded_bytes)", n)},
		{stream(append(bytes.Clone(body), make([]byte, 1<<20)...)), 0, fmt.Sprintf("more than %d trailing bytes after the last field", chunkBytes)},
		{stream(append(bytes.Clone(body), 1, 2, 3)), n + 3, "3 trailing bytes after the last field"},
		{stream(body), n + 1, fmt.Sprintf("body is %d bytes, the manifest's payload.decoded_bytes says %d", n, n+1)},
		{stream(body), n - 1, fmt.Sprintf("zstd frame declares %d bytes, exceeds the %d-byte limit", n, n-1)},
		{stream(append(bytes.Clone(body), make([]byte, 1<<20)...)), n - 1, "more (the manifest's payload.decoded_bytes)"},
	} {
		_, err := DecodeSizedPayload(KindTrees, c.data, c.declared)
		switch {
		case c.want == "" && err != nil:
			t.Errorf("declared %d of %d: %v", c.declared, n, err)
		case c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want)):
			t.Errorf("declared %d of %d: error = %v, want one containing %q", c.declared, n, err, c.want)
		}
	}
}

// TestOpenLargeModel: a body over the 8 MiB zstd window (written with that
// window, not as one segment) round-trips through Write and Open with its
// declared size, and through the undeclared path.
func TestOpenLargeModel(t *testing.T) {
	imp := limitsModel(t)
	tr := synthTrees(t, 300, 10, 6)
	imp.Model = tr
	repo := t.TempDir()
	m, dir, err := Write(repo, "big", imp, WriteOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if m.Payload.DecodedBytes <= payloadWindowBytes {
		t.Fatalf("body is %d bytes, want over the %d-byte window", m.Payload.DecodedBytes, payloadWindowBytes)
	}
	var l *Loaded
	use := measureHeap(func() { l, err = OpenDir(dir) })
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%d-byte payload, %d-byte body: Open allocated %.1f MiB", m.Payload.Bytes, m.Payload.DecodedBytes, float64(use.total)/mib)
	rows := make([]float64, 6*50)
	for i := range rows {
		rows[i] = float64(i%13) - 6
	}
	if got, want := l.Model.Predict(nil, rows, false), tr.Predict(nil, rows, false); !sameFloats(got, want) {
		t.Errorf("Open(big) predicts %v, want %v", got[:4], want[:4])
	}
	plantPayload(t, dir, mustRead(t, filepath.Join(dir, PayloadFile)), -1)
	if _, err := OpenDir(dir); err != nil {
		t.Errorf("Open(big) without decoded_bytes: %v", err)
	}
}

func mustRead(t testing.TB, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
