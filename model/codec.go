package model

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"sync"

	"github.com/klauspost/compress/zstd"

	"github.com/predictd/predictd/kernels"
)

// Payload format, version 2.
//
// A payload file is one or more zstd frames (RFC 8878) whose concatenated
// content, the body, is at most MaxPayloadBytes long, with a window of at
// most 8 MiB (payloadWindowBytes). The body is a sequence
// of fields with no padding; integers are little-endian, f64 is an IEEE 754
// binary64 stored as its bits in a u64, i32 is two's complement. "n × T"
// is n values of type T back to back. The body ends exactly after the last
// field of its section: trailing bytes are an error.
//
// Header (6 bytes):
//
//	magic    4 bytes  "PDMP"
//	version  u8       2 (writers); readers take 1 and 2, see Versions
//	kind     u8       1 = tree section (manifest kind "tree_ensemble"),
//	                  2 = dense section (manifest kind "linear" or "mlp")
//
// Link codes (u8), shared by both sections:
//
//	0 identity, 1 sigmoid, 2 softmax, 3 argmax, 4 exp, 5 log1pexp,
//	6 signed_square
//
// Tree section (fields of Trees and its kernels.Forest, in this order):
//
//	link          u8        link code
//	scale         f64       Trees.Scale
//	divide        f64       Trees.Divide
//	num_features  u32       Forest.NumFeatures
//	compare       u8        0 = LessFloat32, 1 = LessEqFloat64
//	float32_sum   u8        0 or 1
//	ngroups       u32       then ngroups × f64: Forest.Base
//	ntrees        u32       then ntrees × i32: Forest.Roots,
//	                        then ntrees × i32: Forest.Groups
//	has_weights   u8        0: Forest.Weights is nil;
//	                        1: ntrees × f64 follow (Forest.Weights)
//	nbounds       u32       then nbounds × i32: Forest.CatBounds
//	nwords        u32       then nwords × u32: Forest.CatSets
//	nnodes        u32       then nnodes node records, in Forest.Nodes order
//	nlinear       u32       then nlinear × f64: Forest.LinConst
//	nlinbounds    u32       then nlinbounds × i32: Forest.LinBounds
//	nlinterms     u32       then nlinterms × i32: Forest.LinFeatures,
//	                        then nlinterms × f64: Forest.LinCoeffs
//	linear                  only when nlinear > 0: nnodes × i32, the
//	                        Node.Linear of each node in Forest.Nodes order
//	                        (when nlinear is 0 they are all 0: omitted)
//
// A node record (17 bytes) for the node at index i of Forest.Nodes:
//
//	value    f64  Node.Value
//	feature  i32  Node.Feature (negative for a leaf)
//	right    i32  Node.Right − i for a split node (feature >= 0), computed
//	              modulo 2^32; Node.Right itself for a leaf (0 as written by
//	              model.AppendTree)
//	flags    u8   Node.Flags
//
// Dense section:
//
//	link     u8   link code
//	nlayers  u32  then nlayers layers, each:
//	  in          u32   Layer.In
//	  out         u32   Layer.Out
//	  activation  u8    0 identity, 1 relu, 2 tanh, 3 sigmoid
//	  weights     in·out × f64, row-major (row o holds the weights into unit o)
//	  bias        out × f64
//
// A reader must also apply the checks of Trees.Validate and Dense.Validate;
// DecodePayload does, so its result is safe to Predict with.
//
// Versions. Version 2 added LightGBM's linear leaves: the tree section's
// fields from nlinear on. A version 1 tree section ends after the node
// records and decodes as a forest without linear models (every Node.Linear
// 0); the dense section is the same in both. Writers write version 2 only,
// so a version 1 payload read and written again comes back as version 2
// with nlinear, nlinbounds and nlinterms 0. A version 1 reader refuses a
// version 2 payload by its version byte rather than misreading it.
//
// The linear column goes after the node records instead of into them so
// that a forest without linear leaves, nearly all of them, pays 12 body
// bytes (three zero counts) for the format change rather than 4 per node.
//
// Node layout, measured (zstd SpeedBestCompression, compressed bytes):
//
//	                               lgmulticlass.model   synthetic
//	rows, absolute Right                       23,857     379,121
//	columns, absolute Right                    25,285     385,132
//	columns, relative Right                    22,885     340,345
//	columns, relative Right,
//	  Value byte-shuffled                      26,741     310,448
//	rows, relative Right (kept)                21,434     338,083
//
// lgmulticlass.model is the LightGBM fixture (5 classes, 50 trees, 3,050
// nodes, 52,340-byte body); synthetic is 300 depth-6 trees with random
// thresholds and leaves (38,100 nodes, 650,158-byte body). Columns lose on
// the real model: an absolute Right column is a rising sequence zstd cannot
// match, and leaf values and thresholds, the bulk of the bytes, do not
// compress either way. Right relative to its node is the size of the left
// subtree plus one, a small number that repeats across trees. SpeedDefault
// was 1-2% larger than SpeedBestCompression; payloads are encoded once, at
// import, so the slower level is worth it.

// MaxPayloadBytes bounds the decompressed body of a payload. DecodePayload
// refuses a payload whose body would be larger, and stops decompressing at
// the first byte past it (or past the manifest's declared decoded size, when
// there is one; see DecodeSizedPayload), decoding the body as it streams in
// rather than holding it whole. EncodePayload refuses a model whose body
// would be larger, so it never writes what it cannot read.
const MaxPayloadBytes = 1 << 30

const (
	payloadMagic   = "PDMP"
	payloadVersion = 2 // written; also read: 1, without linear leaves

	tagTrees = 1
	tagDense = 2

	nodeBytes = 8 + 4 + 4 + 1 // one node record
)

// linkCodes maps a link code, the index, to its Link.
var linkCodes = [...]Link{
	LinkIdentity, LinkSigmoid, LinkSoftmax, LinkArgmax, LinkExp,
	LinkLog1pExp, LinkSignedSquare, LinkOVR, LinkProbability,
}

func linkCode(l Link) (uint8, bool) {
	for i, c := range linkCodes {
		if c == l {
			return uint8(i), true
		}
	}
	return 0, false
}

// The encoder is safe for concurrent EncodeAll and built on first use, so
// programs that never write a payload pay nothing. Its window is set rather
// than left to the library's default because decoders refuse a larger one
// (payloadWindowBytes).
var payloadEncoder = sync.OnceValues(func() (*zstd.Encoder, error) {
	return zstd.NewWriter(nil,
		zstd.WithEncoderLevel(zstd.SpeedBestCompression),
		zstd.WithWindowSize(payloadWindowBytes),
		zstd.WithEncoderConcurrency(1))
})

// EncodePayload returns the compressed payload encoding of p, which must be a
// valid *Trees or *Dense. The result depends only on the model: the same
// model encodes to the same bytes (with the same build of zstd). It is safe
// for concurrent use and does not modify p.
func EncodePayload(p Predictor) ([]byte, error) {
	payload, _, err := encodePayload(p)
	return payload, err
}

// encodePayload is EncodePayload that also returns the body's length, which
// the manifest records as Payload.DecodedBytes.
func encodePayload(p Predictor) (payload []byte, bodyBytes int, err error) {
	var body []byte
	switch m := p.(type) {
	case *Trees:
		body, err = encodeTrees(m)
	case *Dense:
		body, err = encodeDense(m)
	default:
		err = fmt.Errorf("cannot encode a %T, want *Trees or *Dense", p)
	}
	if err != nil {
		return nil, 0, fmt.Errorf("encode payload: %w", err)
	}
	if len(body) > MaxPayloadBytes {
		return nil, 0, fmt.Errorf("encode payload: body is %d bytes, over the %d-byte limit", len(body), MaxPayloadBytes)
	}
	enc, err := payloadEncoder()
	if err != nil {
		return nil, 0, fmt.Errorf("encode payload: %w", err)
	}
	return enc.EncodeAll(body, make([]byte, 0, len(body)/2)), len(body), nil
}

func appendHeader(b []byte, tag uint8) []byte {
	b = append(b, payloadMagic...)
	return append(b, payloadVersion, tag)
}

// fitsU32 reports whether n can be written as a u32 count.
func fitsU32(n int) bool { return n >= 0 && uint64(n) <= math.MaxUint32 }

func encodeTrees(t *Trees) ([]byte, error) {
	if err := t.Validate(); err != nil {
		return nil, err
	}
	f := &t.Forest
	link, ok := linkCode(t.Link)
	if !ok {
		return nil, fmt.Errorf("link %q has no payload code", t.Link)
	}
	for _, c := range []struct {
		what string
		n    int
	}{
		{"features", f.NumFeatures}, {"groups", len(f.Base)}, {"trees", len(f.Roots)},
		{"category bounds", len(f.CatBounds)}, {"category words", len(f.CatSets)}, {"nodes", len(f.Nodes)},
		{"linear models", len(f.LinConst)}, {"linear bounds", len(f.LinBounds)}, {"linear terms", len(f.LinFeatures)},
	} {
		if !fitsU32(c.n) {
			return nil, fmt.Errorf("%d %s do not fit the format's 32-bit count", c.n, c.what)
		}
	}
	size := 6 + 1 + 8 + 8 + 4 + 1 + 1 + 4 + 8*len(f.Base) + 4 + 8*len(f.Roots) + 1 + 8*len(f.Weights) +
		4 + 4*len(f.CatBounds) + 4 + 4*len(f.CatSets) + 4 + nodeBytes*len(f.Nodes) +
		4 + 8*len(f.LinConst) + 4 + 4*len(f.LinBounds) + 4 + (4+8)*len(f.LinFeatures)
	if len(f.LinConst) > 0 {
		size += 4 * len(f.Nodes)
	}
	b := make([]byte, 0, size)
	b = appendHeader(b, tagTrees)
	b = append(b, link)
	b = appendF64(b, t.Scale)
	b = appendF64(b, t.Divide)
	b = binary.LittleEndian.AppendUint32(b, uint32(f.NumFeatures))
	b = append(b, uint8(f.Compare), boolByte(f.Float32Sum))
	b = binary.LittleEndian.AppendUint32(b, uint32(len(f.Base)))
	b = appendF64s(b, f.Base)
	b = binary.LittleEndian.AppendUint32(b, uint32(len(f.Roots)))
	b = appendI32s(b, f.Roots)
	b = appendI32s(b, f.Groups)
	b = append(b, boolByte(f.Weights != nil))
	b = appendF64s(b, f.Weights)
	b = binary.LittleEndian.AppendUint32(b, uint32(len(f.CatBounds)))
	b = appendI32s(b, f.CatBounds)
	b = binary.LittleEndian.AppendUint32(b, uint32(len(f.CatSets)))
	for _, w := range f.CatSets {
		b = binary.LittleEndian.AppendUint32(b, w)
	}
	b = binary.LittleEndian.AppendUint32(b, uint32(len(f.Nodes)))
	for i := range f.Nodes {
		nd := &f.Nodes[i]
		b = appendF64(b, nd.Value)
		b = binary.LittleEndian.AppendUint32(b, uint32(nd.Feature))
		b = binary.LittleEndian.AppendUint32(b, uint32(relativeRight(nd, int32(i))))
		b = append(b, nd.Flags)
	}
	b = binary.LittleEndian.AppendUint32(b, uint32(len(f.LinConst)))
	b = appendF64s(b, f.LinConst)
	b = binary.LittleEndian.AppendUint32(b, uint32(len(f.LinBounds)))
	b = appendI32s(b, f.LinBounds)
	b = binary.LittleEndian.AppendUint32(b, uint32(len(f.LinFeatures)))
	b = appendI32s(b, f.LinFeatures)
	b = appendF64s(b, f.LinCoeffs)
	if len(f.LinConst) > 0 {
		for i := range f.Nodes {
			b = binary.LittleEndian.AppendUint32(b, uint32(f.Nodes[i].Linear))
		}
	}
	return b, nil
}

func encodeDense(d *Dense) ([]byte, error) {
	if err := d.Validate(); err != nil {
		return nil, err
	}
	link, ok := linkCode(d.Link)
	if !ok {
		return nil, fmt.Errorf("link %q has no payload code", d.Link)
	}
	if !fitsU32(len(d.Layers)) {
		return nil, fmt.Errorf("%d layers do not fit the format's 32-bit count", len(d.Layers))
	}
	size := 6 + 1 + 4
	for i, l := range d.Layers {
		if !fitsU32(l.In) || !fitsU32(l.Out) {
			return nil, fmt.Errorf("layer %d shape %dx%d does not fit the format's 32-bit sizes", i, l.Out, l.In)
		}
		size += 4 + 4 + 1 + 8*len(l.Weights) + 8*len(l.Bias)
	}
	b := make([]byte, 0, size)
	b = appendHeader(b, tagDense)
	b = append(b, link)
	b = binary.LittleEndian.AppendUint32(b, uint32(len(d.Layers)))
	for _, l := range d.Layers {
		b = binary.LittleEndian.AppendUint32(b, uint32(l.In))
		b = binary.LittleEndian.AppendUint32(b, uint32(l.Out))
		b = append(b, uint8(l.Activation))
		b = appendF64s(b, l.Weights)
		b = appendF64s(b, l.Bias)
	}
	return b, nil
}

// relativeRight is the right field of the record of nd at index i.
func relativeRight(nd *kernels.Node, i int32) int32 {
	if nd.IsLeaf() {
		return nd.Right
	}
	return nd.Right - i // wraps; the decoder's addition undoes it
}

func boolByte(v bool) uint8 {
	if v {
		return 1
	}
	return 0
}

func appendF64(b []byte, v float64) []byte {
	return binary.LittleEndian.AppendUint64(b, math.Float64bits(v))
}

func appendF64s(b []byte, vs []float64) []byte {
	for _, v := range vs {
		b = binary.LittleEndian.AppendUint64(b, math.Float64bits(v))
	}
	return b
}

func appendI32s(b []byte, vs []int32) []byte {
	for _, v := range vs {
		b = binary.LittleEndian.AppendUint32(b, uint32(v))
	}
	return b
}

// DecodePayload decodes a payload written by EncodePayload for a model of
// the given kind: a *Trees for KindTrees, a *Dense for KindLinear and
// KindMLP. The body may be up to MaxPayloadBytes long; DecodeSizedPayload
// takes its exact length when the manifest declares it. The result has
// passed Validate, so Predict on it cannot panic or loop whatever the input
// bytes. It reads format versions 1 and 2 and is safe for concurrent use.
func DecodePayload(kind Kind, data []byte) (Predictor, error) {
	return DecodeSizedPayload(kind, data, 0)
}

// DecodeSizedPayload is DecodePayload for a payload whose body is declared
// to be bodyBytes long (the manifest's Payload.DecodedBytes); 0 means
// undeclared, and the body may then be up to MaxPayloadBytes. A body that
// is longer or shorter than declared is refused.
//
// Memory. The body is decompressed as a stream and decoded as it arrives;
// it is never held whole. Decoding allocates the decoded model, at most
// 24/17 of the body (a 17-byte node record becomes a 24-byte kernels.Node;
// every other field takes in memory the bytes it takes in the body, or
// none), plus the zstd window (at most payloadWindowBytes, and at most
// twice a declared body size) and 64 KiB of scratch. A count in the body is
// checked against what the body may still hold before anything is
// allocated for it, and an array over 1 MiB grows as its records arrive
// rather than from its count, so a count the body does not back costs at
// most twice the bytes that are there. Decompression stops at the first
// byte past the limit: a small file that expands to gigabytes costs about
// one window of memory and the time to decode its first bytes.
func DecodeSizedPayload(kind Kind, data []byte, bodyBytes int64) (Predictor, error) {
	return decodeSizedPayload(context.Background(), kind, data, bodyBytes)
}

// decodeSizedPayload is DecodeSizedPayload that stops once ctx is done: it
// checks ctx every chunkBytes of body decompressed and before the decoded
// model is prepared, and then returns an error wrapping ctx.Err().
func decodeSizedPayload(ctx context.Context, kind Kind, data []byte, bodyBytes int64) (Predictor, error) {
	p, err := decodeSized(ctx, kind, data, bodyBytes)
	if err != nil {
		return nil, fmt.Errorf("decode payload: %w", err)
	}
	return p, nil
}

func decodeSized(ctx context.Context, kind Kind, data []byte, bodyBytes int64) (Predictor, error) {
	var want uint8
	switch kind {
	case KindTrees:
		want = tagTrees
	case KindLinear, KindMLP:
		want = tagDense
	default:
		return nil, fmt.Errorf("unknown kind %q", kind)
	}
	if bodyBytes < 0 || bodyBytes > MaxPayloadBytes {
		return nil, fmt.Errorf("declared body size %d is outside [0, %d]", bodyBytes, MaxPayloadBytes)
	}
	lim := bodyLimit{bytes: MaxPayloadBytes, what: "the format's limit, MaxPayloadBytes"}
	if bodyBytes > 0 {
		lim = bodyLimit{bytes: bodyBytes, what: "the manifest's payload.decoded_bytes"}
	}
	window := lim.window()
	if err := checkFrameHeader(data, lim, window); err != nil {
		return nil, err
	}
	// Concurrency 1 decodes in the calling goroutine, block by block, with
	// no read-ahead: nothing is decompressed before the decoder needs it.
	zr, err := zstd.NewReader(bytes.NewReader(data),
		zstd.WithDecoderConcurrency(1),
		zstd.WithDecoderMaxMemory(uint64(window)),
		zstd.WithDecoderMaxWindow(uint64(window)))
	if err != nil {
		return nil, err
	}
	defer zr.Close()
	r := &reader{ctx: ctx, src: zr, left: lim.bytes, lim: lim, section: "header"}
	p, err := decodeBody(kind, want, r)
	if err != nil {
		return nil, err
	}
	if bodyBytes > 0 && r.read != bodyBytes {
		return nil, fmt.Errorf("body is %d bytes, %s says %d", r.read, lim.what, bodyBytes)
	}
	return p, nil
}

// payloadWindowBytes is the zstd window EncodePayload's encoder uses, and
// so the largest a decoder must accept: a body up to this size is written
// as one segment whose window is the body itself, a larger one with this
// window. A frame's window is allocated when the frame starts, whatever it
// holds, so a hostile header naming a larger one is refused unread.
const payloadWindowBytes = 8 << 20

// bodyLimit is the most bytes a body may hold and where that bound comes
// from, for errors.
type bodyLimit struct {
	bytes int64
	what  string
}

// window is the largest zstd window a payload with a body under l may
// have: the encoder makes a body of up to 1 KiB one window of the next
// power of two (at least zstd.MinWindowSize), and a larger one a single
// segment of its own length, up to payloadWindowBytes.
func (l bodyLimit) window() int64 {
	return min(payloadWindowBytes, max(zstd.MinWindowSize, 2*l.bytes))
}

// checkFrameHeader refuses a payload whose first frame declares more
// content than the limit allows, or a window larger than window, before
// anything is decompressed. Malformed headers are left to the decoder,
// which reports them.
func checkFrameHeader(data []byte, lim bodyLimit, window int64) error {
	var h zstd.Header
	if h.Decode(data) != nil || h.Skippable {
		return nil
	}
	if h.HasFCS && h.FrameContentSize > uint64(lim.bytes) {
		return fmt.Errorf("zstd frame declares %d bytes, exceeds the %d-byte limit (%s)", h.FrameContentSize, lim.bytes, lim.what)
	}
	w := h.WindowSize
	if h.SingleSegment {
		w = h.FrameContentSize
	}
	if w > uint64(window) {
		return fmt.Errorf("zstd frame window is %d bytes, exceeds the %d bytes a payload under %s may use", w, window, lim.what)
	}
	return nil
}

// decodeBody decodes a body holding section tag want from r.
func decodeBody(kind Kind, want uint8, r *reader) (Predictor, error) {
	var magic [len(payloadMagic)]byte
	if p := r.take("magic", len(magic)); p != nil {
		copy(magic[:], p)
		if string(magic[:]) != payloadMagic {
			return nil, fmt.Errorf("header: bad magic %q, want %q", magic[:], payloadMagic)
		}
	}
	version := r.u8("version")
	if r.err == nil && version != 1 && version != payloadVersion {
		return nil, fmt.Errorf("header: format version %d, this build reads 1 and %d", version, payloadVersion)
	}
	tag := r.u8("kind")
	if r.err != nil {
		return nil, r.err
	}
	if tag != tagTrees && tag != tagDense {
		return nil, fmt.Errorf("header: unknown kind tag %d", tag)
	}
	if tag != want {
		return nil, fmt.Errorf("header: kind tag %d does not hold a %s model", tag, kind)
	}
	if tag == tagTrees {
		return decodeTrees(r, version)
	}
	return decodeDense(r)
}

func decodeTrees(r *reader, version uint8) (*Trees, error) {
	r.section = "tree section"
	t := &Trees{}
	f := &t.Forest
	t.Link = r.link()
	t.Scale = r.f64("scale")
	t.Divide = r.f64("divide")
	f.NumFeatures = int(r.u32("num_features"))
	f.Compare = kernels.Compare(r.u8("compare"))
	f.Float32Sum = r.bool("float32_sum")
	f.Base = r.f64s("base", r.count("base", 8))
	nt := r.count("roots", 4+4)
	f.Roots = r.i32s("roots", nt)
	f.Groups = r.i32s("groups", nt)
	if r.bool("has_weights") {
		f.Weights = r.f64s("weights", nt)
		if f.Weights == nil && r.err == nil {
			f.Weights = []float64{}
		}
	}
	f.CatBounds = r.i32s("cat_bounds", r.count("cat_bounds", 4))
	f.CatSets = readSlice(r, "cat_sets", r.count("cat_sets", 4), 4, func(dst []uint32, _ int, p []byte) {
		for i := range dst {
			dst[i] = binary.LittleEndian.Uint32(p[4*i:])
		}
	})
	f.Nodes = readSlice(r, "nodes", r.count("nodes", nodeBytes), nodeBytes, func(dst []kernels.Node, first int, p []byte) {
		for i := range dst {
			rec := p[nodeBytes*i : nodeBytes*(i+1)]
			nd := &dst[i]
			nd.Value = math.Float64frombits(binary.LittleEndian.Uint64(rec))
			nd.Feature = int32(binary.LittleEndian.Uint32(rec[8:]))
			nd.Right = int32(binary.LittleEndian.Uint32(rec[12:]))
			if !nd.IsLeaf() {
				nd.Right += int32(first + i) // wraps like the encoder's subtraction
			}
			nd.Flags = rec[16]
		}
	})
	if version >= 2 {
		f.LinConst = r.f64s("lin_const", r.count("lin_const", 8))
		f.LinBounds = r.i32s("lin_bounds", r.count("lin_bounds", 4))
		nt := r.count("lin_terms", 4+8)
		f.LinFeatures = r.i32s("lin_features", nt)
		f.LinCoeffs = r.f64s("lin_coeffs", nt)
		if len(f.LinConst) > 0 {
			// The column fills fields of nodes already allocated, so its
			// length needs no separate bound.
			r.records("linear", len(f.Nodes), 4, func(first int, p []byte) {
				for i := range len(p) / 4 {
					f.Nodes[first+i].Linear = int32(binary.LittleEndian.Uint32(p[4*i:]))
				}
			})
		}
	}
	if err := r.finish(); err != nil {
		return nil, err
	}
	if err := t.Prepare(); err != nil {
		return nil, fmt.Errorf("invalid trees: %w", err)
	}
	return t, nil
}

func decodeDense(r *reader) (*Dense, error) {
	r.section = "dense section"
	d := &Dense{}
	d.Link = r.link()
	const layerHeader = 4 + 4 + 1
	n := r.count("layers", layerHeader)
	// Layers are appended as they are read, not allocated from the count:
	// a Layer takes 80 bytes in memory for 9 in the body.
	for i := 0; i < n && r.err == nil; i++ {
		var l Layer
		in, out := r.u32("in"), r.u32("out")
		l.In, l.Out = int(in), int(out)
		l.Activation = kernels.Activation(r.u8("activation"))
		// in·out fits in a uint64 because both fit in a uint32; the check
		// against what the body may hold comes before any allocation.
		nw := uint64(in) * uint64(out)
		if r.err == nil && nw+uint64(out) > uint64(r.left)/8 {
			r.fail("layer %d: weights: want %d entries, more than the %d bytes the body may still hold (%s)", i, nw+uint64(out), r.left, r.lim.what)
		}
		if r.err != nil {
			break
		}
		l.Weights = r.f64s(fmt.Sprintf("layer %d: weights", i), int(nw))
		l.Bias = r.f64s(fmt.Sprintf("layer %d: bias", i), int(out))
		d.Layers = append(d.Layers, l)
	}
	if err := r.finish(); err != nil {
		return nil, err
	}
	// Validated, not prepared: it predicts in float64 until the caller
	// that knows the manifest's precision calls Prepare (openDir).
	if err := d.Validate(); err != nil {
		return nil, fmt.Errorf("invalid dense model: %w", err)
	}
	return d, nil
}

const (
	// chunkBytes is the scratch a reader decompresses arrays through.
	chunkBytes = 64 << 10
	// trustBytes is the largest array allocated whole from its count;
	// larger ones grow, doubling, as their records arrive.
	trustBytes = 1 << 20
)

// reader decodes a body front to back as it is decompressed. Its first
// error sticks: later reads return zero values and do not advance, so
// decoding code reads every field and checks r.err once, at the end.
type reader struct {
	// ctx stops the decode: fill checks it once every chunkBytes of body
	// (a chunk decompresses and decodes in well under a millisecond), and
	// finish before the model is prepared.
	ctx     context.Context
	checkAt int64     // fill checks ctx once read reaches this
	src     io.Reader // the decompressed body
	left    int64     // bytes the body may still hold, by lim
	lim     bodyLimit // the bound on the whole body
	read    int64     // bytes of the body read so far
	buf     [8]byte   // holds the scalar field being read
	scratch []byte    // for arrays; grows to at most chunkBytes
	section string    // names the part being read in errors
	err     error
}

// fail records the first error, prefixed with the section.
func (r *reader) fail(format string, args ...any) {
	if r.err == nil {
		r.err = fmt.Errorf("%s: %s", r.section, fmt.Sprintf(format, args...))
	}
}

// cancelled records ctx's error, naming the section and how far the body
// was read, and reports whether there was one.
func (r *reader) cancelled() bool {
	err := r.ctx.Err()
	if err != nil && r.err == nil {
		r.err = fmt.Errorf("%s: cancelled after %d bytes of the body: %w", r.section, r.read, err)
	}
	return err != nil
}

// fill reads len(p) bytes of the body into p and reports how many it got
// before the body ended. Any other read error is a decompression error,
// which it records; so is ctx being done, checked before the read once
// every chunkBytes.
func (r *reader) fill(p []byte) (int, bool) {
	if r.read >= r.checkAt {
		if r.cancelled() {
			return 0, false
		}
		r.checkAt = r.read + chunkBytes
	}
	n, err := io.ReadFull(r.src, p)
	r.read += int64(n)
	r.left -= int64(n)
	switch {
	case err == nil:
		return n, true
	case errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF):
		return n, false
	default:
		if r.err == nil {
			r.err = fmt.Errorf("decompress: %w", err)
		}
		return n, false
	}
}

// take returns the next n ≤ 8 bytes of field, or nil once there is an
// error. The bytes are valid until the next read.
func (r *reader) take(field string, n int) []byte {
	if r.err != nil {
		return nil
	}
	if int64(n) > r.left {
		r.fail("%s: want %d bytes, the body may hold only %d more (%s)", field, n, r.left, r.lim.what)
		return nil
	}
	p := r.buf[:n]
	if got, ok := r.fill(p); !ok {
		r.fail("%s: want %d bytes, %d left", field, n, got)
		return nil
	}
	return p
}

// records reads n records of size bytes of field in chunks, calling fn
// with the index of each chunk's first record and the chunk's bytes.
func (r *reader) records(field string, n, size int, fn func(first int, p []byte)) {
	if r.err != nil || n == 0 {
		return
	}
	if int64(n)*int64(size) > r.left {
		r.fail("%s: want %d entries, more than the %d bytes the body may still hold (%s)", field, n, r.left, r.lim.what)
		return
	}
	per := chunkBytes / size
	for done := 0; done < n; {
		k := min(per, n-done)
		p := r.chunk(k * size)
		if got, ok := r.fill(p); !ok {
			r.fail("%s: want %d entries, %d bytes left", field, n, done*size+got)
			return
		}
		fn(done, p)
		done += k
	}
}

// chunk returns n ≤ chunkBytes bytes of scratch, growing it to fit: a small
// body never pays for a full chunk.
func (r *reader) chunk(n int) []byte {
	if cap(r.scratch) < n {
		r.scratch = make([]byte, max(n, min(2*cap(r.scratch), chunkBytes)))
	}
	return r.scratch[:n]
}

// readSlice reads n records of size bytes of field into a new slice,
// decoding each chunk with dec (dst has one element per record of p; first
// is the index of dst[0]). It returns nil when n is 0 or on error. Up to
// trustBytes the slice is allocated from n at once; beyond, it grows as the
// records arrive, so a count the body does not back costs at most twice
// what the body holds.
func readSlice[T any](r *reader, field string, n, size int, dec func(dst []T, first int, p []byte)) []T {
	if r.err != nil || n == 0 {
		return nil
	}
	s := make([]T, 0, min(n, max(1, trustBytes/size)))
	r.records(field, n, size, func(first int, p []byte) {
		k := len(p) / size
		if len(s)+k > cap(s) {
			grown := make([]T, len(s), min(n, max(2*cap(s), len(s)+k)))
			copy(grown, s)
			s = grown
		}
		s = s[:len(s)+k]
		dec(s[first:], first, p)
	})
	if r.err != nil {
		return nil
	}
	return s
}

func (r *reader) u8(field string) uint8 {
	if p := r.take(field, 1); p != nil {
		return p[0]
	}
	return 0
}

func (r *reader) u32(field string) uint32 {
	if p := r.take(field, 4); p != nil {
		return binary.LittleEndian.Uint32(p)
	}
	return 0
}

func (r *reader) f64(field string) float64 {
	if p := r.take(field, 8); p != nil {
		return math.Float64frombits(binary.LittleEndian.Uint64(p))
	}
	return 0
}

func (r *reader) bool(field string) bool {
	switch v := r.u8(field); v {
	case 0:
		return false
	case 1:
		return true
	default:
		r.fail("%s: flag %d, want 0 or 1", field, v)
		return false
	}
}

func (r *reader) link() Link {
	c := r.u8("link")
	if int(c) >= len(linkCodes) {
		r.fail("link: unknown link code %d", c)
		return ""
	}
	return linkCodes[c]
}

// count reads a u32 entry count of field and checks that that many entries
// of size bytes each fit in what the body may still hold, so that a corrupt
// count cannot make the caller allocate past the body's limit.
func (r *reader) count(field string, size int) int {
	n := r.u32(field)
	if r.err != nil {
		return 0
	}
	if uint64(n)*uint64(size) > uint64(r.left) {
		r.fail("%s: want %d entries, more than the %d bytes the body may still hold (%s)", field, n, r.left, r.lim.what)
		return 0
	}
	return int(n)
}

// f64s reads n f64 values of field; nil when n is 0 or on error.
func (r *reader) f64s(field string, n int) []float64 {
	return readSlice(r, field, n, 8, func(dst []float64, _ int, p []byte) {
		for i := range dst {
			dst[i] = math.Float64frombits(binary.LittleEndian.Uint64(p[8*i:]))
		}
	})
}

// i32s reads n i32 values of field; nil when n is 0 or on error.
func (r *reader) i32s(field string, n int) []int32 {
	return readSlice(r, field, n, 4, func(dst []int32, _ int, p []byte) {
		for i := range dst {
			dst[i] = int32(binary.LittleEndian.Uint32(p[4*i:]))
		}
	})
}

// finish returns the first error, or an error if the body goes on after
// the last field. It reads at most a chunk past it, so a body padded with a
// gigabyte of zeros is refused without decompressing them. It checks ctx
// first, so a cancelled decode does not go on to prepare the model.
func (r *reader) finish() error {
	if r.err != nil || r.cancelled() {
		return r.err
	}
	limit := r.left // what the body may still hold
	if n, _ := r.fill(r.buf[:1]); n == 0 {
		return r.err // the body ends here (or decompression failed)
	}
	// It goes on: count up to a chunk more, for the message.
	counted := int(min(limit, chunkBytes))
	m, _ := r.fill(r.chunk(counted))
	switch n := 1 + m; {
	case r.err != nil:
	case n <= counted:
		r.fail("%d trailing bytes after the last field", n)
	case int64(counted) == limit:
		r.fail("trailing bytes after the last field run past the body's limit of %d bytes (%s)", r.lim.bytes, r.lim.what)
	default:
		r.fail("more than %d trailing bytes after the last field", counted)
	}
	return r.err
}
