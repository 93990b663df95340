package onnx

import (
	"encoding/binary"
	"math"
)

// A small protobuf encoder for ONNX messages, so tests can state a graph
// in a few lines instead of shipping a file per case. Field numbers are
// those of onnx.proto, as in proto.go.

type pb []byte

func (m pb) key(num int, wt wireType) pb {
	return binary.AppendUvarint(m, uint64(num)<<3|uint64(wt))
}

func (m pb) varint(num int, v int64) pb {
	return binary.AppendUvarint(m.key(num, wireVarint), uint64(v))
}

func (m pb) bytes(num int, b []byte) pb {
	m = binary.AppendUvarint(m.key(num, wireBytes), uint64(len(b)))
	return append(m, b...)
}

func (m pb) str(num int, s string) pb { return m.bytes(num, []byte(s)) }

func (m pb) fixed32(num int, v uint32) pb {
	return binary.LittleEndian.AppendUint32(m.key(num, wireFixed32), v)
}

// tensor is a FLOAT initializer in raw_data, as exporters write it.
func tensor(name string, dims []int64, vals ...float32) pb {
	var t pb
	for _, d := range dims {
		t = t.varint(1, d)
	}
	t = t.varint(2, dtFloat).str(8, name)
	raw := make([]byte, 0, 4*len(vals))
	for _, v := range vals {
		raw = binary.LittleEndian.AppendUint32(raw, math.Float32bits(v))
	}
	return t.bytes(9, raw)
}

// tensorD is a DOUBLE initializer in raw_data.
func tensorD(name string, dims []int64, vals ...float64) pb {
	var t pb
	for _, d := range dims {
		t = t.varint(1, d)
	}
	t = t.varint(2, dtDouble).str(8, name)
	raw := make([]byte, 0, 8*len(vals))
	for _, v := range vals {
		raw = binary.LittleEndian.AppendUint64(raw, math.Float64bits(v))
	}
	return t.bytes(9, raw)
}

// tensorI64 is an INT64 tensor in int64_data (packed).
func tensorI64(name string, dims []int64, vals ...int64) pb {
	var t pb
	for _, d := range dims {
		t = t.varint(1, d)
	}
	var packed []byte
	for _, v := range vals {
		packed = binary.AppendUvarint(packed, uint64(v))
	}
	return t.varint(2, dtInt64).str(8, name).bytes(7, packed)
}

// valueInfo: dims are ints (dim_value) or strings (dim_param).
func vinfo(name string, elem int64, dims ...any) pb {
	var shape pb
	for _, d := range dims {
		var dm pb
		switch d := d.(type) {
		case int:
			dm = dm.varint(1, int64(d))
		case string:
			dm = dm.str(2, d)
		}
		shape = shape.bytes(1, dm)
	}
	tt := pb(nil).varint(1, elem).bytes(2, shape)
	return pb(nil).str(1, name).bytes(2, pb(nil).bytes(1, tt))
}

func attrF(name string, f float32) pb {
	return pb(nil).str(1, name).varint(20, 1).fixed32(2, math.Float32bits(f))
}

func attrI(name string, i int64) pb { return pb(nil).str(1, name).varint(20, 2).varint(3, i) }

func attrS(name, s string) pb { return pb(nil).str(1, name).varint(20, 3).str(4, s) }

func attrT(name string, t pb) pb { return pb(nil).str(1, name).varint(20, 4).bytes(5, t) }

// attrFloats writes the floats unpacked, as the Python protobuf runtime
// does for proto2's repeated float (not declared packed).
func attrFloats(name string, fs ...float32) pb {
	a := pb(nil).str(1, name).varint(20, 6)
	for _, f := range fs {
		a = a.fixed32(7, math.Float32bits(f))
	}
	return a
}

func attrInts(name string, is ...int64) pb {
	a := pb(nil).str(1, name).varint(20, 7)
	for _, i := range is {
		a = a.varint(8, i)
	}
	return a
}

func attrStrings(name string, ss ...string) pb {
	a := pb(nil).str(1, name).varint(20, 8)
	for _, s := range ss {
		a = a.str(9, s)
	}
	return a
}

// nd is a node; op "ml.X" puts X in the ai.onnx.ml domain, "dom:X" in
// domain dom.
type nd struct {
	op, name string
	in, out  []string
	attrs    []pb
}

func (n nd) encode() pb {
	var m pb
	for _, s := range n.in {
		m = m.str(1, s)
	}
	for _, s := range n.out {
		m = m.str(2, s)
	}
	if n.name != "" {
		m = m.str(3, n.name)
	}
	op, domain := n.op, ""
	if len(op) > 3 && op[:3] == "ml." {
		op, domain = op[3:], mlDomain
	}
	for i := 0; i < len(op); i++ {
		if op[i] == ':' {
			op, domain = op[i+1:], op[:i]
			break
		}
	}
	m = m.str(4, op)
	for _, a := range n.attrs {
		m = m.bytes(5, a)
	}
	if domain != "" {
		m = m.str(7, domain)
	}
	return m
}

func ins(s ...string) []string { return s }

// gr is a graph with the opsets of the model around it.
type gr struct {
	nodes           []nd
	inits           []pb
	inputs, outputs []pb
	opsets          map[string]int64 // nil: default domain 13 and ai.onnx.ml 1
	producer        string
}

func (g gr) model() []byte {
	var graph pb
	for _, n := range g.nodes {
		graph = graph.bytes(1, n.encode())
	}
	graph = graph.str(2, "test")
	for _, t := range g.inits {
		graph = graph.bytes(5, t)
	}
	for _, v := range g.inputs {
		graph = graph.bytes(11, v)
	}
	for _, v := range g.outputs {
		graph = graph.bytes(12, v)
	}
	m := pb(nil).varint(1, 8).str(2, g.producer).str(3, "0.1").bytes(7, graph)
	opsets := g.opsets
	if opsets == nil {
		opsets = map[string]int64{"": 13, mlDomain: 1}
	}
	for _, d := range []string{"", mlDomain, "com.microsoft"} {
		if v, ok := opsets[d]; ok {
			m = m.bytes(8, pb(nil).str(1, d).varint(2, v))
		}
	}
	return m
}

// small is a valid two-layer graph the error cases start from:
// x [N, 4] -> Gemm(transB=1, 3 units) -> Relu -> Gemm(2 units) -> Softmax.
func small() gr {
	return gr{
		nodes: []nd{
			{"Gemm", "fc1", ins("x", "w1", "b1"), ins("h1"), []pb{attrI("transB", 1)}},
			{"Relu", "relu1", ins("h1"), ins("a1"), nil},
			{"Gemm", "fc2", ins("a1", "w2", "b2"), ins("h2"), nil},
			{"Softmax", "sm", ins("h2"), ins("y"), []pb{attrI("axis", -1)}},
		},
		inits: []pb{
			tensor("w1", []int64{3, 4}, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, -1),
			tensor("b1", []int64{3}, 0.5, 0, -0.5),
			tensor("w2", []int64{3, 2}, 1, -1, 2, 0, 0, 1), // [K, N]: transB=0
			tensor("b2", []int64{2}, 0, 0.25),
		},
		inputs:  []pb{vinfo("x", dtFloat, "N", 4)},
		outputs: []pb{vinfo("y", dtFloat, "N", 2)},
	}
}

// smallWant evaluates small() on row x, the same way by hand.
func smallWant(x []float64) []float64 {
	h := []float64{x[0] + 0.5, x[1], x[2] - x[3] - 0.5}
	for i := range h {
		h[i] = max(h[i], 0)
	}
	z0 := h[0] + 2*h[1]
	z1 := -h[0] + h[2] + 0.25
	m := max(z0, z1)
	e0, e1 := math.Exp(z0-m), math.Exp(z1-m)
	return []float64{e0 / (e0 + e1), e1 / (e0 + e1)}
}
