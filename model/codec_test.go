package model

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math"
	"math/rand/v2"
	"reflect"
	"strings"
	"sync"
	"testing"

	"github.com/klauspost/compress/zstd"

	"github.com/predictd/predictd/kernels"
)

// codecTrees builds a two-group forest with numerical splits of every missing
// mode, categorical splits over a two-set table (one set spans two words),
// a single-leaf tree and DART weights.
func codecTrees(t testing.TB, float32Sum bool, cmp kernels.Compare) *Trees {
	t.Helper()
	tr := &Trees{Link: LinkSoftmax, Scale: 1, Divide: 1}
	f := &tr.Forest
	f.NumFeatures = 4
	f.Base = []float64{0.5, -0.25}
	f.Compare = cmp
	f.Float32Sum = float32Sum
	// Set 0 is {1, 3}; set 1 is {0, 33}.
	f.CatSets = []uint32{0b1010, 1, 2}
	f.CatBounds = []int32{0, 1, 3}
	trees := []struct {
		nodes       []SourceNode
		root, group int
	}{
		{
			// The root is not node 0, so layout reorders the nodes.
			nodes: []SourceNode{
				{Leaf: true, Value: 1},
				{Leaf: true, Value: -1},
				{Feature: 2, Value: 0, Left: 0, Right: 1, Flags: kernels.FlagCategorical},
				{Feature: 0, Value: 0.5, Left: 2, Right: 4, Flags: kernels.FlagDefaultLeft},
				{Leaf: true, Value: 2},
			},
			root: 3, group: 0,
		},
		{
			nodes: []SourceNode{
				{Feature: 1, Value: 0, Left: 1, Right: 2, Flags: kernels.FlagMissingZero | kernels.FlagDefaultLeft},
				{Leaf: true, Value: 0.3},
				{Feature: 3, Value: 1.5, Left: 3, Right: 4, Flags: kernels.FlagNaNIsZero},
				{Leaf: true, Value: -0.7},
				{Leaf: true, Value: 0.9},
			},
			group: 1,
		},
		{
			nodes: []SourceNode{
				{Feature: 3, Value: 1, Left: 1, Right: 2, Flags: kernels.FlagCategorical},
				{Leaf: true, Value: 0.25},
				{Leaf: true, Value: -0.125},
			},
			group: 0,
		},
		{nodes: []SourceNode{{Leaf: true, Value: 0.0625}}, group: 1},
	}
	for i, tree := range trees {
		if err := AppendTree(f, tree.nodes, tree.root, tree.group); err != nil {
			t.Fatalf("AppendTree(tree %d): %v", i, err)
		}
	}
	f.Weights = []float64{1, 0.5, 0.75, 1}
	if err := tr.Validate(); err != nil {
		t.Fatalf("codecTrees: %v", err)
	}
	return tr
}

// codecLinearTrees builds a one-group forest over four features mixing
// linear and constant leaves: a tree with a linear leaf of two terms, a
// constant leaf and a linear leaf without terms; a single-leaf linear tree;
// and a tree without linear leaves.
func codecLinearTrees(t testing.TB) *Trees {
	t.Helper()
	tr := &Trees{Link: LinkIdentity, Scale: 1, Divide: 1}
	f := &tr.Forest
	f.NumFeatures = 4
	f.Base = []float64{0.5}
	f.Compare = kernels.LessEqFloat64
	trees := [][]SourceNode{
		{
			{Feature: 0, Value: 0.5, Left: 1, Right: 2, Flags: kernels.FlagDefaultLeft},
			{Leaf: true, Value: -1, Linear: true, LinConst: 0.25, LinFeatures: []int{1, 3}, LinCoeffs: []float64{2, -0.5}},
			{Feature: 1, Value: 0, Left: 3, Right: 4, Flags: kernels.FlagNaNIsZero},
			{Leaf: true, Value: 0.75},
			{Leaf: true, Value: 1, Linear: true, LinConst: 3},
		},
		{{Leaf: true, Value: 0.1, Linear: true, LinConst: -0.2, LinFeatures: []int{2}, LinCoeffs: []float64{1.5}}},
		{
			{Feature: 2, Value: 1, Left: 1, Right: 2},
			{Leaf: true, Value: 0.3},
			{Leaf: true, Value: -0.3},
		},
	}
	for i, nodes := range trees {
		if err := AppendTree(f, nodes, 0, 0); err != nil {
			t.Fatalf("AppendTree(tree %d): %v", i, err)
		}
	}
	if err := tr.Validate(); err != nil {
		t.Fatalf("codecLinearTrees: %v", err)
	}
	return tr
}

// codecDense builds a validated Dense with the given layer widths (the first
// is the input width), activations for the hidden layers, and link.
func codecDense(t testing.TB, link Link, widths []int, acts ...kernels.Activation) *Dense {
	t.Helper()
	rng := rand.New(rand.NewPCG(7, uint64(len(widths))))
	d := &Dense{Link: link}
	for i := 0; i+1 < len(widths); i++ {
		l := Layer{In: widths[i], Out: widths[i+1]}
		if i < len(acts) {
			l.Activation = acts[i]
		}
		l.Weights = make([]float64, l.In*l.Out)
		for j := range l.Weights {
			l.Weights[j] = rng.NormFloat64()
		}
		l.Bias = make([]float64, l.Out)
		for j := range l.Bias {
			l.Bias[j] = rng.NormFloat64() / 10
		}
		d.Layers = append(d.Layers, l)
	}
	if err := d.Validate(); err != nil {
		t.Fatalf("codecDense: %v", err)
	}
	return d
}

type codecCase struct {
	name string
	kind Kind
	p    Predictor
}

func codecCases(t testing.TB) []codecCase {
	noWeights := codecTrees(t, false, kernels.LessEqFloat64)
	noWeights.Forest.Weights = nil
	noWeights.Link = LinkArgmax
	sigmoid := &Trees{Link: LinkSigmoid, Scale: 0.5, Divide: 3}
	sigmoid.Forest = codecTrees(t, true, kernels.LessFloat32).Forest
	sigmoid.Forest.Base = sigmoid.Forest.Base[:1]
	for i := range sigmoid.Forest.Groups {
		sigmoid.Forest.Groups[i] = 0
	}
	// An averaged forest of probabilities (link code 8).
	probability := &Trees{Link: LinkProbability, Scale: 1, Divide: 2}
	probability.Forest = sigmoid.Forest
	return []codecCase{
		{"trees/f64sum/lesseq", KindTrees, codecTrees(t, false, kernels.LessEqFloat64)},
		{"trees/onegroup/probability", KindTrees, probability},
		{"trees/f32sum/less32", KindTrees, codecTrees(t, true, kernels.LessFloat32)},
		{"trees/f32sum/lesseq", KindTrees, codecTrees(t, true, kernels.LessEqFloat64)},
		{"trees/f64sum/less32", KindTrees, codecTrees(t, false, kernels.LessFloat32)},
		{"trees/noweights/argmax", KindTrees, noWeights},
		{"trees/onegroup/sigmoid", KindTrees, sigmoid},
		{"trees/linear-leaves", KindTrees, codecLinearTrees(t)},
		{"mlp/3layers/softmax", KindMLP, codecDense(t, LinkSoftmax, []int{4, 5, 3, 3}, kernels.ActReLU, kernels.ActTanh)},
		{"linear/sigmoid", KindLinear, codecDense(t, LinkSigmoid, []int{4, 1})},
	}
}

// codecRows are four rows of four features: NaN, negative zero, a subnormal,
// category codes inside and outside the sets.
var codecRows = []float64{
	0.2, math.NaN(), 3, 33,
	math.NaN(), 0, 1, 0,
	1, 1e-40, 2.9, math.NaN(),
	-1, math.Copysign(0, -1), math.NaN(), 1.5,
}

func encodeT(t testing.TB, p Predictor) []byte {
	t.Helper()
	b, err := EncodePayload(p)
	if err != nil {
		t.Fatalf("EncodePayload: %v", err)
	}
	return b
}

func decompressT(t testing.TB, payload []byte) []byte {
	t.Helper()
	body, err := testDecoder().DecodeAll(payload, nil)
	if err != nil {
		t.Fatalf("decompress: %v", err)
	}
	return body
}

var testEncoder = sync.OnceValue(func() *zstd.Encoder {
	enc, err := zstd.NewWriter(nil, zstd.WithEncoderLevel(zstd.SpeedFastest), zstd.WithEncoderConcurrency(1))
	if err != nil {
		panic(err)
	}
	return enc
})

// compress wraps a hand-made body in a zstd frame.
func compress(body []byte) []byte { return testEncoder().EncodeAll(body, nil) }

// testDecoder decompresses whole payloads for tests, which trust them.
var testDecoder = sync.OnceValue(func() *zstd.Decoder {
	d, err := zstd.NewReader(nil)
	if err != nil {
		panic(err)
	}
	return d
})

func sameFloats(a, b []float64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if math.Float64bits(a[i]) != math.Float64bits(b[i]) && !(math.IsNaN(a[i]) && math.IsNaN(b[i])) {
			return false
		}
	}
	return true
}

func TestPayloadRoundTrip(t *testing.T) {
	for _, c := range codecCases(t) {
		t.Run(c.name, func(t *testing.T) {
			got, err := DecodePayload(c.kind, encodeT(t, c.p))
			if err != nil {
				t.Fatalf("DecodePayload: %v", err)
			}
			switch want := c.p.(type) {
			case *Trees:
				g, ok := got.(*Trees)
				if !ok {
					t.Fatalf("decoded a %T, want *Trees", got)
				}
				if !sameTrees(g, want) {
					t.Errorf("decoded trees differ:\ngot  %+v\nwant %+v", g, want)
				}
			case *Dense:
				g, ok := got.(*Dense)
				if !ok {
					t.Fatalf("decoded a %T, want *Dense", got)
				}
				if g.Link != want.Link || !reflect.DeepEqual(g.Layers, want.Layers) {
					t.Errorf("decoded dense differs:\ngot  %s %+v\nwant %s %+v", g.Link, g.Layers, want.Link, want.Layers)
				}
			}
			// A decoded forest is compiled; a decoded dense model is left
			// on the float64 path (openDir prepares the float32 one when
			// the manifest asks): compare with the original as it is.
			orig := c.p
			for _, raw := range []bool{false, true} {
				want := orig.Predict(nil, codecRows, raw)
				g := got.Predict(nil, codecRows, raw)
				if !sameFloats(g, want) {
					t.Errorf("Predict(raw=%v) after round trip = %v, want %v", raw, g, want)
				}
			}
		})
	}
}

func TestPayloadDeterministic(t *testing.T) {
	for _, c := range codecCases(t) {
		a, b := encodeT(t, c.p), encodeT(t, c.p)
		if !bytes.Equal(a, b) {
			t.Errorf("%s: two encodings differ:\n%x\n%x", c.name, a, b)
		}
	}
}

func TestEncodePayloadRejects(t *testing.T) {
	bad := codecTrees(t, false, kernels.LessEqFloat64)
	bad.Divide = 0
	for _, c := range []struct {
		name string
		p    Predictor
		want string
	}{
		{"nil", nil, "cannot encode a <nil>"},
		{"other type", fakePredictor{}, "cannot encode a model.fakePredictor"},
		{"invalid trees", bad, "tree divisor 0"},
		{"root past nodes", &Trees{Link: LinkIdentity, Scale: 1, Divide: 1, Forest: kernels.Forest{
			NumFeatures: 1, Base: []float64{0}, Roots: []int32{0, 10}, Groups: []int32{0, 0},
			Nodes: []kernels.Node{{Feature: 0, Right: 2}, {Feature: -1}, {Feature: -1}},
		}}, "tree 0: node range [0,10) is empty or past the 3 nodes"},
		{"dense without layers", &Dense{Link: LinkIdentity}, "no layers"},
		{"dense short weights", &Dense{Link: LinkIdentity, Layers: []Layer{{In: 2, Out: 1, Weights: []float64{1}, Bias: []float64{0}}}}, "1 weights"},
	} {
		_, err := EncodePayload(c.p)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("EncodePayload(%s) error = %v, want one containing %q", c.name, err, c.want)
		}
	}
}

type fakePredictor struct{ Predictor }

// checkPredict runs p on a few rows and checks the output lengths; a decoded
// model, however corrupt its source, must survive this.
func checkPredict(t testing.TB, p Predictor) {
	t.Helper()
	nf := p.NumFeatures()
	if nf > 1<<16 {
		return // too wide to build rows for; Validate has passed, and rows are only read up to nf
	}
	const n = 3
	rows := make([]float64, n*nf)
	vals := []float64{math.NaN(), 0, 1, -1, 3, 33, 1e300, -0.5, math.Inf(1), 1e-40}
	for i := range rows {
		rows[i] = vals[i%len(vals)]
	}
	if out := p.Predict(nil, rows, false); len(out) != n*p.NumOutputs() {
		t.Fatalf("Predict gave %d values for %d rows, want %d", len(out), n, n*p.NumOutputs())
	}
	if out := p.Predict(make([]float64, 2, 8), rows, true); len(out) != 2+n*p.NumMargins() {
		t.Fatalf("Predict(raw) gave %d values for %d rows, want %d", len(out)-2, n, n*p.NumMargins())
	}
}

// decodeCorrupt decodes a compressed corrupt body; it must fail or give a
// model that validates and predicts.
func decodeCorrupt(t testing.TB, kind Kind, body []byte) error {
	t.Helper()
	p, err := DecodePayload(kind, compress(body))
	if err != nil {
		return err
	}
	switch m := p.(type) {
	case *Trees:
		if err := m.Validate(); err != nil {
			t.Fatalf("decoded trees fail Validate: %v\nbody %x", err, body)
		}
	case *Dense:
		if err := m.Validate(); err != nil {
			t.Fatalf("decoded dense fails Validate: %v\nbody %x", err, body)
		}
	default:
		t.Fatalf("decoded a %T", p)
	}
	checkPredict(t, p)
	return nil
}

func TestDecodePayloadTruncated(t *testing.T) {
	for _, c := range codecCases(t) {
		body := decompressT(t, encodeT(t, c.p))
		for n := 0; n < len(body); n++ {
			if err := decodeCorrupt(t, c.kind, body[:n]); err == nil {
				t.Errorf("%s: body cut to %d of %d bytes decoded without error", c.name, n, len(body))
			}
		}
	}
}

func TestDecodePayloadByteFlips(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	flips := 2000
	if testing.Short() {
		flips = 200
	}
	for _, c := range codecCases(t) {
		body := decompressT(t, encodeT(t, c.p))
		decoded := 0
		for range flips {
			b := bytes.Clone(body)
			i := rng.IntN(len(b))
			b[i] ^= byte(1 + rng.IntN(255))
			if decodeCorrupt(t, c.kind, b) == nil {
				decoded++
			}
		}
		t.Logf("%s: %d of %d flipped bodies still decode", c.name, decoded, flips)
	}
}

func TestDecodePayloadErrors(t *testing.T) {
	trees := codecTrees(t, false, kernels.LessEqFloat64)
	tb := decompressT(t, encodeT(t, trees))
	nn := len(trees.Forest.Nodes)
	const linTail = 3 * 4                       // nlinear, nlinbounds, nlinterms: all 0
	nodesAt := len(tb) - linTail - nodeBytes*nn // first node record
	ng := len(trees.Forest.Base)
	rootsAt := 6 + 1 + 8 + 8 + 4 + 1 + 1 + 4 + 8*ng + 4
	dense := codecDense(t, LinkSoftmax, []int{4, 5, 3, 3}, kernels.ActReLU, kernels.ActTanh)
	db := decompressT(t, encodeT(t, dense))

	// patch returns a copy of body with fn applied.
	patch := func(body []byte, fn func(b []byte) []byte) []byte { return fn(bytes.Clone(body)) }
	put32 := func(at int, v uint32) func([]byte) []byte {
		return func(b []byte) []byte { binary.LittleEndian.PutUint32(b[at:], v); return b }
	}
	put8 := func(at int, v byte) func([]byte) []byte {
		return func(b []byte) []byte { b[at] = v; return b }
	}
	// The first tree's root is a numerical split at node 0.
	if trees.Forest.Nodes[0].IsLeaf() || trees.Forest.Nodes[0].Flags&kernels.FlagCategorical != 0 {
		t.Fatalf("test assumes node 0 is a numerical split: %+v", trees.Forest.Nodes[0])
	}
	// An RLE block would expand this frame to 2 GiB; its header says so.
	huge := []byte{0x28, 0xb5, 0x2f, 0xfd, 0xe0, 0, 0, 0, 0x80, 0, 0, 0, 0, 0x03, 0x00, 0x10, 0}

	for _, c := range []struct {
		name string
		kind Kind
		data []byte // compressed payload
		want string
	}{
		{"empty", KindTrees, nil, "decode payload: header: magic: want 4 bytes, 0 left"},
		{"not zstd", KindTrees, []byte("PDMP\x01\x01"), "decode payload: decompress:"},
		{"too large", KindTrees, huge, "exceeds the 1073741824-byte limit"},
		{"bad magic", KindTrees, compress(patch(tb, put8(0, 'X'))), `header: bad magic "XDMP", want "PDMP"`},
		{"version", KindTrees, compress(patch(tb, put8(4, 3))), "header: format version 3, this build reads 1 and 2"},
		{"version 0", KindTrees, compress(patch(tb, put8(4, 0))), "header: format version 0, this build reads 1 and 2"},
		{"unknown kind tag", KindTrees, compress(patch(tb, put8(5, 9))), "header: unknown kind tag 9"},
		{"unknown kind", "forest", compress(tb), `decode payload: unknown kind "forest"`},
		{"kind mismatch", KindMLP, compress(tb), "kind tag 1 does not hold a mlp model"},
		{"dense as trees", KindTrees, compress(db), "kind tag 2 does not hold a tree_ensemble model"},
		{"link code", KindTrees, compress(patch(tb, put8(6, 9))), "tree section: link: unknown link code 9"},
		{"float32 flag", KindTrees, compress(patch(tb, put8(28, 2))), "tree section: float32_sum: flag 2, want 0 or 1"},
		{"right out of range", KindTrees, compress(patch(tb, put32(nodesAt+12, 1000))), "tree 0 node 0: children out of the tree's range"},
		{"right onto left child", KindTrees, compress(patch(tb, put32(nodesAt+12, 1))), "tree 0 node 0: children out of the tree's range"},
		{"feature out of range", KindTrees, compress(patch(tb, put32(nodesAt+8, 99))), "tree 0 node 0: feature 99 out of range [0,4)"},
		{"root past nodes", KindTrees, compress(patch(tb, put32(rootsAt+4, 1000))), "node range [0,1000) is empty or past the 14 nodes"},
		{"roots decrease", KindTrees, compress(patch(tb, put32(rootsAt+8, 1))), "tree 1: node range [5,1) is empty"},
		{"group out of range", KindTrees, compress(patch(tb, put32(rootsAt+4*len(trees.Forest.Roots), 5))), "tree 0: output group 5 out of range [0,2)"},
		{"zero scale", KindTrees, compress(patch(tb, func(b []byte) []byte { clear(b[7:15]); return b })), "sigmoid scale 0 is not a positive number"},
		{"trailing bytes", KindTrees, compress(append(bytes.Clone(tb), 0)), "tree section: 1 trailing bytes after the last field"},
		{"node count", KindTrees, compress(patch(tb, put32(nodesAt-4, 12345))), fmt.Sprintf("decode payload: tree section: nodes: want 12345 entries, %d bytes left", nodeBytes*nn+linTail)},
		{"tree count", KindTrees, compress(patch(tb, put32(rootsAt-4, math.MaxUint32))), "tree section: roots: want 4294967295 entries"},
		{"dense weights count", KindMLP, compress(patch(db, put32(6+1+4, 1<<20))), "dense section: layer 0: weights: want 5242880 entries"},
		{"dense layer count", KindMLP, compress(patch(db, put32(6+1, 1<<30))), "dense section: layers: want 1073741824 entries"},
		{"dense activation", KindMLP, compress(patch(db, put8(6+1+4+8, 4))), "layer 0: unknown activation 4"},
		{"dense link", KindMLP, compress(patch(db, put8(6, 3))), `dense model link "argmax"`},
		{"dense truncated", KindLinear, compress(db[:len(db)-1]), "dense section: layer 2: bias: want 3 entries, 23 bytes left"},
		{"dense trailing", KindLinear, compress(append(bytes.Clone(db), 1, 2)), "dense section: 2 trailing bytes"},
	} {
		p, err := DecodePayload(c.kind, c.data)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: DecodePayload = %v, %v; want error containing %q", c.name, p, err, c.want)
		}
	}
}

func FuzzDecodePayload(f *testing.F) {
	kinds := []Kind{KindTrees, KindLinear, KindMLP}
	for _, c := range codecCases(f) {
		k := uint8(0)
		for i, kk := range kinds {
			if kk == c.kind {
				k = uint8(i)
			}
		}
		payload := encodeT(f, c.p)
		// Seeds come in both forms: a payload as written, and its body for
		// the fuzzer to mutate, compressed before decoding. Mutating the
		// compressed form mostly tests zstd's checksum.
		f.Add(k, false, payload)
		f.Add(k, true, decompressT(f, payload))
	}
	f.Fuzz(func(t *testing.T, k uint8, isBody bool, data []byte) {
		kind := kinds[int(k)%len(kinds)]
		if isBody {
			data = compress(data)
		}
		p, err := DecodePayload(kind, data)
		if isBody {
			// Declaring the body's true size changes nothing but the bound.
			body := decompressT(t, data)
			if len(body) > 0 {
				p2, err2 := DecodeSizedPayload(kind, data, int64(len(body)))
				if (err == nil) != (err2 == nil) {
					t.Fatalf("DecodePayload error %v, but with the body's size declared %v", err, err2)
				}
				if err == nil && !bytes.Equal(encodeT(t, p2), encodeT(t, p)) {
					t.Fatalf("DecodeSizedPayload and DecodePayload decode different models")
				}
			}
		}
		if err != nil {
			if p != nil {
				t.Fatalf("DecodePayload returned %T and error %v", p, err)
			}
			return
		}
		checkPredict(t, p)
		// A decoded model re-encodes to the same body.
		again, err := EncodePayload(p)
		if err != nil {
			t.Fatalf("re-encode decoded model: %v", err)
		}
		if isBody {
			want := upgradeV1(decompressT(t, data))
			if got := decompressT(t, again); !bytes.Equal(got, want) {
				t.Fatalf("re-encoded body differs:\ngot  %x\nwant %x", got, want)
			}
		}
	})
}

// synthTrees builds a forest of full binary trees of the given depth with
// random splits over nf features and random leaves.
func synthTrees(tb testing.TB, trees, depth, nf int) *Trees {
	rng := rand.New(rand.NewPCG(1, 2))
	tr := &Trees{Link: LinkSigmoid, Scale: 1, Divide: 1}
	tr.Forest.NumFeatures = nf
	tr.Forest.Base = []float64{0}
	tr.Forest.Compare = kernels.LessFloat32
	tr.Forest.Float32Sum = true
	var nodes []SourceNode
	var grow func(d int) int
	grow = func(d int) int {
		i := len(nodes)
		nodes = append(nodes, SourceNode{Leaf: true, Value: rng.NormFloat64() / 10})
		if d < depth {
			l := grow(d + 1)
			r := grow(d + 1)
			nodes[i] = SourceNode{Feature: rng.IntN(nf), Value: float64(float32(rng.NormFloat64())), Left: l, Right: r, Flags: uint8(rng.IntN(2))}
		}
		return i
	}
	for range trees {
		nodes = nodes[:0]
		grow(0)
		if err := AppendTree(&tr.Forest, nodes, 0, 0); err != nil {
			tb.Fatal(err)
		}
	}
	return tr
}

var benchSink Predictor

func BenchmarkDecodePayload(b *testing.B) {
	for _, c := range []struct {
		name string
		kind Kind
		p    Predictor
	}{
		{"trees=300/depth=6", KindTrees, synthTrees(b, 300, 6, 50)},
		{"layers=3/width=256", KindMLP, codecDense(b, LinkSoftmax, []int{256, 256, 256, 10}, kernels.ActReLU, kernels.ActReLU)},
	} {
		payload := encodeT(b, c.p)
		body := decompressT(b, payload)
		b.Run(c.name, func(b *testing.B) {
			// Throughput is of the decompressed body, the size of the model.
			b.SetBytes(int64(len(body)))
			b.ReportMetric(float64(len(payload)), "payload-bytes")
			b.ReportAllocs()
			for b.Loop() {
				p, err := DecodePayload(c.kind, payload)
				if err != nil {
					b.Fatal(err)
				}
				benchSink = p
			}
		})
	}
}

// upgradeV1 returns the body that a decoded version 1 body re-encodes to:
// version byte 2 and, in a tree section, the three linear counts appended,
// all 0. Any other body comes back unchanged.
func upgradeV1(body []byte) []byte {
	if len(body) < 6 || body[4] != 1 {
		return body
	}
	b := bytes.Clone(body)
	b[4] = 2
	if b[5] == tagTrees {
		b = append(b, make([]byte, 3*4)...)
	}
	return b
}

// downgradeV2 is upgradeV1's inverse for a model without linear leaves: the
// version 1 body of the same model, as the version 1 encoder wrote it.
func downgradeV2(t testing.TB, body []byte) []byte {
	t.Helper()
	b := bytes.Clone(body)
	b[4] = 1
	if b[5] == tagTrees {
		tail := b[len(b)-3*4:]
		if !bytes.Equal(tail, make([]byte, 3*4)) {
			t.Fatalf("body has linear models, which version 1 cannot hold: tail %x", tail)
		}
		b = b[:len(b)-3*4]
	}
	return b
}

// TestDecodePayloadVersion1: a version 1 payload, which has no linear
// fields, decodes to the model it was written from, with no linear leaves,
// and writes back as version 2.
func TestDecodePayloadVersion1(t *testing.T) {
	for _, c := range codecCases(t) {
		if tr, ok := c.p.(*Trees); ok && len(tr.Forest.LinConst) > 0 {
			continue
		}
		t.Run(c.name, func(t *testing.T) {
			v2 := decompressT(t, encodeT(t, c.p))
			v1 := downgradeV2(t, v2)
			got, err := DecodePayload(c.kind, compress(v1))
			if err != nil {
				t.Fatalf("DecodePayload(version 1 body %x): %v", v1, err)
			}
			var same bool
			switch want := c.p.(type) {
			case *Trees:
				g, ok := got.(*Trees)
				same = ok && sameTrees(g, want)
			case *Dense:
				g, ok := got.(*Dense)
				same = ok && g.Link == want.Link && reflect.DeepEqual(g.Layers, want.Layers)
			}
			if !same {
				t.Errorf("version 1 body decoded to\n%+v\nwant\n%+v", got, c.p)
			}
			if again := decompressT(t, encodeT(t, got)); !bytes.Equal(again, v2) {
				t.Errorf("version 1 model re-encoded to\n%x\nwant the version 2 body\n%x", again, v2)
			}
		})
	}
	// A version 1 header in front of linear fields: version 1 ends after
	// the node records, so they are trailing bytes.
	lin := decompressT(t, encodeT(t, codecLinearTrees(t)))
	lin[4] = 1
	if _, err := DecodePayload(KindTrees, compress(lin)); err == nil || !strings.Contains(err.Error(), "trailing bytes after the last field") {
		t.Errorf("linear body marked version 1: DecodePayload error = %v, want trailing bytes", err)
	}
}

func TestDecodePayloadLinearErrors(t *testing.T) {
	tr := codecLinearTrees(t)
	f := &tr.Forest
	body := decompressT(t, encodeT(t, tr))
	nn, nl, nt := len(f.Nodes), len(f.LinConst), len(f.LinFeatures)
	colAt := len(body) - 4*nn                    // the Node.Linear column
	coeffsAt := colAt - 8*nt                     // LinCoeffs
	featsAt := coeffsAt - 4*nt                   // LinFeatures
	boundsAt := featsAt - 4 - 4*len(f.LinBounds) // LinBounds
	constAt := boundsAt - 4 - 8*nl               // LinConst
	if got := binary.LittleEndian.Uint32(body[constAt-4:]); int(got) != nl {
		t.Fatalf("test layout is off: nlinear reads %d, want %d", got, nl)
	}
	leaf := -1 // first linear leaf
	for i := range f.Nodes {
		if f.Nodes[i].Linear != 0 {
			leaf = i
			break
		}
	}
	split := 0 // node 0 is a split
	put32 := func(at int, v uint32) []byte {
		b := bytes.Clone(body)
		binary.LittleEndian.PutUint32(b[at:], v)
		return b
	}
	for _, c := range []struct {
		name string
		body []byte
		want string
	}{
		{"linear past the models", put32(colAt+4*leaf, uint32(nl+1)), fmt.Sprintf("tree 0 node %d: linear model %d does not exist (the forest has %d)", leaf, nl, nl)},
		{"linear on a split", put32(colAt+4*split, 1), "tree 0 node 0: a split node has linear model 0"},
		{"linear feature out of range", put32(featsAt, 4), "linear term 0: feature 4 out of range [0,4)"},
		{"linear bounds past terms", put32(boundsAt+4*nl, uint32(nt+1)), fmt.Sprintf("linear model bounds do not span the %d linear terms", nt)},
		{"linear model count", put32(constAt-4, math.MaxUint32), "tree section: lin_const: want 4294967295 entries"},
		{"linear term count", put32(featsAt-4, 1<<30), "tree section: lin_terms: want 1073741824 entries"},
		{"linear column cut", body[:len(body)-1], fmt.Sprintf("tree section: linear: want %d entries, %d bytes left", nn, 4*nn-1)},
	} {
		p, err := DecodePayload(KindTrees, compress(c.body))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: DecodePayload = %v, %v; want error containing %q", c.name, p, err, c.want)
		}
	}
}

func TestAppendTreeLinear(t *testing.T) {
	tr := codecLinearTrees(t)
	f := &tr.Forest
	// Pre-order meets the two-term leaf, then the term-less one, then the
	// single-leaf tree's.
	wantConst := []float64{0.25, 3, -0.2}
	wantBounds := []int32{0, 2, 2, 3}
	wantFeats := []int32{1, 3, 2}
	wantCoeffs := []float64{2, -0.5, 1.5}
	if !reflect.DeepEqual(f.LinConst, wantConst) || !reflect.DeepEqual(f.LinBounds, wantBounds) ||
		!reflect.DeepEqual(f.LinFeatures, wantFeats) || !reflect.DeepEqual(f.LinCoeffs, wantCoeffs) {
		t.Errorf("linear tables = %v %v %v %v, want %v %v %v %v",
			f.LinConst, f.LinBounds, f.LinFeatures, f.LinCoeffs, wantConst, wantBounds, wantFeats, wantCoeffs)
	}
	var linear []int32
	for _, nd := range f.Nodes {
		linear = append(linear, nd.Linear)
	}
	if want := []int32{0, 1, 0, 0, 2, 3, 0, 0, 0}; !reflect.DeepEqual(linear, want) {
		t.Errorf("Node.Linear in layout order = %v, want %v", linear, want)
	}

	// Rows of four features. The margin is base 0.5, then the three trees'
	// outputs, added in float64 in that order (sum, at run time); a linear
	// leaf is its constant, then its terms, added in order.
	sum := func(vs ...float64) float64 {
		s := 0.0
		for _, v := range vs {
			s += v
		}
		return s
	}
	nan := math.NaN()
	for _, c := range []struct {
		row  []float64
		want float64
	}{
		// x0 <= 0.5: 0.25 + 2·1 − 0.5·4; single leaf −0.2 + 1.5·0; x2 <= 1: 0.3.
		{[]float64{0, 1, 0, 4}, sum(0.5, sum(0.25, 2, -2), sum(-0.2, 0), 0.3)},
		// x3 NaN: the first leaf falls back to its value −1; −0.2 + 1.5·2;
		// x2 > 1: −0.3.
		{[]float64{0, 1, 2, nan}, sum(0.5, -1, sum(-0.2, 3), -0.3)},
		// x0 > 0.5, x1 > 0: the term-less leaf gives its constant 3, not its
		// value 1; x2 NaN: the single leaf falls back to its value 0.1, and
		// the third tree sends NaN right (no default-left flag): −0.3.
		{[]float64{1, 1, nan, 0}, sum(0.5, 3, 0.1, -0.3)},
		// x0 > 0.5, x1 <= 0: the constant leaf 0.75.
		{[]float64{1, -1, 0, 0}, sum(0.5, 0.75, sum(-0.2, 0), 0.3)},
	} {
		if got := tr.Predict(nil, c.row, true)[0]; got != c.want {
			t.Errorf("Predict(%v) = %v, want %v", c.row, got, c.want)
		}
	}

	for _, c := range []struct {
		name string
		leaf SourceNode
		want string
	}{
		{"feature out of range", SourceNode{Leaf: true, Linear: true, LinFeatures: []int{4}, LinCoeffs: []float64{1}},
			"leaf 0: linear term 0 uses feature 4, but the model has 4 features"},
		{"negative feature", SourceNode{Leaf: true, Linear: true, LinFeatures: []int{0, -1}, LinCoeffs: []float64{1, 1}},
			"leaf 0: linear term 1 uses feature -1, but the model has 4 features"},
		{"counts differ", SourceNode{Leaf: true, Linear: true, LinFeatures: []int{0, 1}, LinCoeffs: []float64{1}},
			"leaf 0: linear model has 2 features but 1 coefficients"},
	} {
		before := codecLinearTrees(t)
		g := codecLinearTrees(t)
		if err := AppendTree(&g.Forest, []SourceNode{c.leaf}, 0, 0); err == nil || err.Error() != c.want {
			t.Errorf("%s: AppendTree error = %v, want %q", c.name, err, c.want)
		}
		if !reflect.DeepEqual(g, before) {
			t.Errorf("%s: AppendTree changed the forest on error:\ngot  %+v\nwant %+v", c.name, g.Forest, before.Forest)
		}
		// A good linear leaf first, so that the failure has appended to
		// every table and must take it back.
		split := []SourceNode{
			{Feature: 0, Left: 1, Right: 2},
			{Leaf: true, Linear: true, LinConst: 1, LinFeatures: []int{0}, LinCoeffs: []float64{1}},
			c.leaf,
		}
		if err := AppendTree(&g.Forest, split, 0, 0); err == nil || !strings.Contains(err.Error(), c.want[len("leaf 0"):]) {
			t.Errorf("%s, after a good linear leaf: AppendTree error = %v, want %q", c.name, err, c.want)
		}
		if !reflect.DeepEqual(g, before) {
			t.Errorf("%s, after a good linear leaf: AppendTree changed the forest on error:\ngot  %+v\nwant %+v", c.name, g.Forest, before.Forest)
		}
	}
}

// sameTrees compares the encoded fields of two tree models, not the
// evaluation tables Prepare derives from them.
func sameTrees(a, b *Trees) bool {
	return reflect.DeepEqual(a.Forest, b.Forest) && a.Link == b.Link && a.Scale == b.Scale && a.Divide == b.Divide
}
