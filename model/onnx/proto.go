package onnx

import (
	"fmt"
	"math"

	"github.com/predictd/predictd/model"
)

// The subset of onnx.proto (onnx/onnx.proto, IR version 8; field numbers
// below) that the importer reads. Every other field is skipped.

// TensorProto.DataType values.
const (
	dtFloat  = 1
	dtInt32  = 6
	dtInt64  = 7
	dtString = 8
	dtDouble = 11
)

var dataTypeNames = map[int64]string{
	0: "UNDEFINED", 1: "FLOAT", 2: "UINT8", 3: "INT8", 4: "UINT16", 5: "INT16",
	6: "INT32", 7: "INT64", 8: "STRING", 9: "BOOL", 10: "FLOAT16", 11: "DOUBLE",
	12: "UINT32", 13: "UINT64", 14: "COMPLEX64", 15: "COMPLEX128", 16: "BFLOAT16",
}

func dataTypeName(t int64) string {
	if s, ok := dataTypeNames[t]; ok {
		return s
	}
	return fmt.Sprintf("data type %d", t)
}

// modelProto is ModelProto.
type modelProto struct {
	producerName    string      // 2
	producerVersion string      // 3
	graph           *graphProto // 7
	opsets          map[string]int64
}

// graphProto is GraphProto.
type graphProto struct {
	name         string        // 2
	nodes        []nodeProto   // 1
	initializers []tensorProto // 5
	inputs       []valueInfo   // 11
	outputs      []valueInfo   // 12
}

// nodeProto is NodeProto.
type nodeProto struct {
	index   int      // position in graph.node, for messages about unnamed nodes
	inputs  []string // 1
	outputs []string // 2
	name    string   // 3
	opType  string   // 4
	domain  string   // 7
	attrs   []attribute
}

// attribute is AttributeProto. has* record which value fields were present.
type attribute struct {
	name    string // 1
	typ     int64  // 20
	f       float32
	i       int64
	s       string
	t       *tensorProto
	floats  []float32
	ints    []int64
	strings []string
	hasF    bool
	hasI    bool
	hasS    bool
}

// tensorProto is TensorProto.
type tensorProto struct {
	name       string  // 8
	dims       []int64 // 1
	dataType   int64   // 2
	floatData  []float32
	int32Data  []int64
	int64Data  []int64
	doubleData []float64
	stringData []string // 6
	rawData    []byte   // 9, aliasing the file
	hasRaw     bool
	external   bool // data_location (14) = EXTERNAL, or external_data (13) set
	segmented  bool // segment (3) set
}

// valueInfo is ValueInfoProto with its TypeProto.Tensor flattened in.
type valueInfo struct {
	name     string
	isTensor bool // type.tensor_type present
	elemType int64
	hasShape bool
	dims     []dim
}

// dim is TensorShapeProto.Dimension: a value, a parameter name, or neither.
type dim struct {
	value    int64
	param    string
	hasValue bool
}

func decodeModel(b []byte) (*modelProto, error) {
	m := &modelProto{opsets: map[string]int64{}}
	var graphs [][]byte
	err := eachField(b, func(f field) error {
		var err error
		switch f.num {
		case 2:
			m.producerName, err = f.str()
		case 3:
			m.producerVersion, err = f.str()
		case 7:
			var g []byte
			g, err = f.msg()
			graphs = append(graphs, g)
		case 8:
			var sub []byte
			if sub, err = f.msg(); err == nil {
				err = decodeOpset(sub, m.opsets)
			}
		}
		if err != nil {
			return fmt.Errorf("ModelProto field %d: %w", f.num, err)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if len(graphs) > 0 {
		g, err := decodeGraph(concat(graphs))
		if err != nil {
			return nil, fmt.Errorf("graph: %w", err)
		}
		m.graph = g
	}
	return m, nil
}

// concat joins the encodings of a singular message field that occurs more
// than once: protobuf merges such occurrences, and merging is decoding
// their concatenation.
func concat(parts [][]byte) []byte {
	if len(parts) == 1 {
		return parts[0]
	}
	var out []byte
	for _, p := range parts {
		out = append(out, p...)
	}
	return out
}

func decodeOpset(b []byte, into map[string]int64) error {
	var domain string
	var version int64
	err := eachField(b, func(f field) error {
		var err error
		switch f.num {
		case 1:
			domain, err = f.str()
		case 2:
			version, err = f.int64()
		}
		return err
	})
	if err != nil {
		return fmt.Errorf("opset_import: %w", err)
	}
	if domain == "ai.onnx" {
		domain = ""
	}
	into[domain] = version
	return nil
}

func decodeGraph(b []byte) (*graphProto, error) {
	g := &graphProto{}
	err := eachField(b, func(f field) error {
		if f.num != 2 && f.num != 1 && f.num != 5 && f.num != 11 && f.num != 12 {
			return nil
		}
		sub, err := f.msg()
		if err != nil {
			return fmt.Errorf("GraphProto field %d: %w", f.num, err)
		}
		switch f.num {
		case 2:
			g.name = string(sub)
		case 1:
			n, err := decodeNode(sub)
			if err != nil {
				return fmt.Errorf("node %d: %w", len(g.nodes), err)
			}
			n.index = len(g.nodes)
			g.nodes = append(g.nodes, n)
		case 5:
			t, err := decodeTensor(sub)
			if err != nil {
				return fmt.Errorf("initializer %d: %w", len(g.initializers), err)
			}
			g.initializers = append(g.initializers, *t)
		case 11, 12:
			v, err := decodeValueInfo(sub)
			if err != nil {
				which := "input"
				if f.num == 12 {
					which = "output"
				}
				return fmt.Errorf("%s %s: %w", which, model.Quote(v.name), err)
			}
			if f.num == 11 {
				g.inputs = append(g.inputs, v)
			} else {
				g.outputs = append(g.outputs, v)
			}
		}
		return nil
	})
	return g, err
}

func decodeNode(b []byte) (nodeProto, error) {
	var n nodeProto
	err := eachField(b, func(f field) error {
		var err error
		var s string
		switch f.num {
		case 1, 2, 3, 4, 7:
			if s, err = f.str(); err != nil {
				return fmt.Errorf("NodeProto field %d: %w", f.num, err)
			}
		}
		switch f.num {
		case 1:
			n.inputs = append(n.inputs, s)
		case 2:
			n.outputs = append(n.outputs, s)
		case 3:
			n.name = s
		case 4:
			n.opType = s
		case 7:
			n.domain = s
		case 5:
			var sub []byte
			if sub, err = f.msg(); err != nil {
				return fmt.Errorf("NodeProto field 5: %w", err)
			}
			a, err := decodeAttribute(sub)
			if err != nil {
				return fmt.Errorf("attribute %s: %w", model.Quote(a.name), err)
			}
			n.attrs = append(n.attrs, a)
		}
		return nil
	})
	return n, err
}

func decodeAttribute(b []byte) (attribute, error) {
	var a attribute
	var tensors [][]byte
	err := eachField(b, func(f field) error {
		var err error
		switch f.num {
		case 1:
			a.name, err = f.str()
		case 20:
			a.typ, err = f.int64()
		case 2:
			a.f, err = f.float32()
			a.hasF = true
		case 3:
			a.i, err = f.int64()
			a.hasI = true
		case 4:
			a.s, err = f.str()
			a.hasS = true
		case 5:
			var sub []byte
			sub, err = f.msg()
			tensors = append(tensors, sub)
		case 7:
			a.floats, err = f.appendFloat32s(a.floats)
		case 8:
			a.ints, err = f.appendInt64s(a.ints)
		case 9:
			var s string
			s, err = f.str()
			a.strings = append(a.strings, s)
		}
		if err != nil {
			return fmt.Errorf("AttributeProto field %d: %w", f.num, err)
		}
		return nil
	})
	if err != nil {
		return a, err
	}
	if len(tensors) > 0 {
		t, err := decodeTensor(concat(tensors))
		if err != nil {
			return a, fmt.Errorf("tensor value: %w", err)
		}
		a.t = t
	}
	return a, nil
}

func decodeTensor(b []byte) (*tensorProto, error) {
	t := &tensorProto{}
	err := eachField(b, func(f field) error {
		var err error
		switch f.num {
		case 1:
			t.dims, err = f.appendInt64s(t.dims)
		case 2:
			t.dataType, err = f.int64()
		case 3:
			t.segmented = true
		case 4:
			t.floatData, err = f.appendFloat32s(t.floatData)
		case 5:
			t.int32Data, err = f.appendInt64s(t.int32Data)
		case 6:
			var s string
			s, err = f.str()
			t.stringData = append(t.stringData, s)
		case 7:
			t.int64Data, err = f.appendInt64s(t.int64Data)
		case 8:
			t.name, err = f.str()
		case 9:
			t.rawData, err = f.msg()
			t.hasRaw = true
		case 10:
			t.doubleData, err = f.appendFloat64s(t.doubleData)
		case 13:
			t.external = true
		case 14:
			var loc int64
			loc, err = f.int64()
			if loc == 1 {
				t.external = true
			}
		}
		if err != nil {
			return fmt.Errorf("TensorProto field %d: %w", f.num, err)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return t, nil
}

func decodeValueInfo(b []byte) (valueInfo, error) {
	var v valueInfo
	var types [][]byte
	err := eachField(b, func(f field) error {
		var err error
		switch f.num {
		case 1:
			v.name, err = f.str()
		case 2:
			var sub []byte
			sub, err = f.msg()
			types = append(types, sub)
		}
		if err != nil {
			return fmt.Errorf("ValueInfoProto field %d: %w", f.num, err)
		}
		return nil
	})
	if err != nil || len(types) == 0 {
		return v, err
	}
	// TypeProto: tensor_type (1) is TypeProto.Tensor.
	var tensorTypes [][]byte
	err = eachField(concat(types), func(f field) error {
		if f.num != 1 {
			return nil
		}
		sub, err := f.msg()
		tensorTypes = append(tensorTypes, sub)
		return err
	})
	if err != nil {
		return v, fmt.Errorf("TypeProto: %w", err)
	}
	if len(tensorTypes) == 0 {
		return v, nil
	}
	v.isTensor = true
	// TypeProto.Tensor: elem_type (1), shape (2).
	var shapes [][]byte
	err = eachField(concat(tensorTypes), func(f field) error {
		var err error
		switch f.num {
		case 1:
			v.elemType, err = f.int64()
		case 2:
			var sub []byte
			sub, err = f.msg()
			shapes = append(shapes, sub)
		}
		return err
	})
	if err != nil {
		return v, fmt.Errorf("TypeProto.Tensor: %w", err)
	}
	if len(shapes) == 0 {
		return v, nil
	}
	v.hasShape = true
	// TensorShapeProto: dim (1), each a Dimension {dim_value 1, dim_param 2}.
	err = eachField(concat(shapes), func(f field) error {
		if f.num != 1 {
			return nil
		}
		sub, err := f.msg()
		if err != nil {
			return err
		}
		var d dim
		err = eachField(sub, func(f field) error {
			var err error
			switch f.num {
			case 1:
				d.value, err = f.int64()
				d.hasValue, d.param = true, ""
			case 2:
				d.param, err = f.str()
				d.hasValue, d.value = false, 0
			}
			return err
		})
		v.dims = append(v.dims, d)
		return err
	})
	if err != nil {
		return v, fmt.Errorf("TensorShapeProto: %w", err)
	}
	return v, nil
}

// maxElements bounds a tensor's element count before its data is
// checked against it: a forged shape cannot overflow the arithmetic, and
// nothing is allocated until the data is known to hold that many values.
const maxElements = 1 << 31

// numElements is the product of dims, refusing negative dims and products
// beyond maxElements.
func numElements(dims []int64) (int, error) {
	n := int64(1)
	for _, d := range dims {
		if d < 0 {
			return 0, fmt.Errorf("negative dimension %d in shape %v", d, dims)
		}
		if d != 0 && n > maxElements/d {
			return 0, fmt.Errorf("shape %v has more than %d elements", dims, int64(maxElements))
		}
		n *= d
	}
	return int(n), nil
}

// float64s returns a FLOAT or DOUBLE tensor's values, row-major, as
// float64, after checking that the data holds exactly the shape's number
// of elements.
func (t *tensorProto) float64s() ([]float64, error) {
	if err := t.inline(); err != nil {
		return nil, err
	}
	width := 4
	switch t.dataType {
	case dtFloat:
	case dtDouble:
		width = 8
	default:
		return nil, fmt.Errorf("data type %s, want FLOAT or DOUBLE", dataTypeName(t.dataType))
	}
	n, err := numElements(t.dims)
	if err != nil {
		return nil, err
	}
	switch {
	case t.hasRaw:
		if len(t.rawData) != n*width {
			return nil, fmt.Errorf("raw_data has %d bytes, shape %v needs %d", len(t.rawData), t.dims, n*width)
		}
		out := make([]float64, 0, n)
		for b := t.rawData; len(b) > 0; b = b[width:] {
			if width == 4 {
				out = append(out, float64(math.Float32frombits(le32(b))))
			} else {
				out = append(out, math.Float64frombits(le64(b)))
			}
		}
		return out, nil
	case t.dataType == dtFloat:
		if len(t.floatData) != n {
			return nil, fmt.Errorf("float_data has %d values, shape %v needs %d", len(t.floatData), t.dims, n)
		}
		out := make([]float64, n)
		for i, v := range t.floatData {
			out[i] = float64(v)
		}
		return out, nil
	default:
		if len(t.doubleData) != n {
			return nil, fmt.Errorf("double_data has %d values, shape %v needs %d", len(t.doubleData), t.dims, n)
		}
		return t.doubleData, nil
	}
}

// int64s returns an INT64 or INT32 tensor's values.
func (t *tensorProto) int64s() ([]int64, error) {
	if err := t.inline(); err != nil {
		return nil, err
	}
	var width int
	var typed []int64
	switch t.dataType {
	case dtInt64:
		width, typed = 8, t.int64Data
	case dtInt32:
		width, typed = 4, t.int32Data
	default:
		return nil, fmt.Errorf("data type %s, want INT64", dataTypeName(t.dataType))
	}
	n, err := numElements(t.dims)
	if err != nil {
		return nil, err
	}
	if !t.hasRaw {
		if len(typed) != n {
			return nil, fmt.Errorf("%d values, shape %v needs %d", len(typed), t.dims, n)
		}
		out := make([]int64, n)
		for i, v := range typed {
			if width == 4 {
				v = int64(int32(v))
			}
			out[i] = v
		}
		return out, nil
	}
	if len(t.rawData) != n*width {
		return nil, fmt.Errorf("raw_data has %d bytes, shape %v needs %d", len(t.rawData), t.dims, n*width)
	}
	out := make([]int64, 0, n)
	for b := t.rawData; len(b) > 0; b = b[width:] {
		if width == 8 {
			out = append(out, int64(le64(b)))
		} else {
			out = append(out, int64(int32(le32(b))))
		}
	}
	return out, nil
}

// inline refuses tensors whose data is not in the file itself.
func (t *tensorProto) inline() error {
	if t.external {
		return fmt.Errorf("data is stored in an external file; re-save the model with all tensors inside it (onnx.save_model(..., save_as_external_data=False))")
	}
	if t.segmented {
		return fmt.Errorf("tensor is one segment of a larger tensor; predictd reads whole tensors only")
	}
	return nil
}

// strings returns a STRING tensor's values (string_data).
func (t *tensorProto) strings() ([]string, error) {
	if err := t.inline(); err != nil {
		return nil, err
	}
	if t.dataType != dtString {
		return nil, fmt.Errorf("data type %s, want STRING", dataTypeName(t.dataType))
	}
	n, err := numElements(t.dims)
	if err != nil {
		return nil, err
	}
	if len(t.stringData) != n {
		return nil, fmt.Errorf("string_data has %d values, shape %v needs %d", len(t.stringData), t.dims, n)
	}
	return t.stringData, nil
}
