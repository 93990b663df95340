package onnx

import (
	"bytes"
	"encoding/binary"
	"math"
	"slices"
	"strings"
	"testing"
)

func TestReadVarint(t *testing.T) {
	for _, tc := range []struct {
		in   []byte
		v    uint64
		n    int
		want string // error substring, "" for success
	}{
		{[]byte{0}, 0, 1, ""},
		{[]byte{0x7f}, 127, 1, ""},
		{[]byte{0x80, 0x01}, 128, 2, ""},
		{[]byte{0xac, 0x02, 0xff}, 300, 2, ""},
		{[]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01}, math.MaxUint64, 10, ""},
		{[]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02}, 0, 0, "overflows 64 bits"},
		{[]byte{0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x00}, 0, 0, "overflows 64 bits"},
		{nil, 0, 0, "truncated"},
		{[]byte{0x80}, 0, 0, "truncated"},
		{[]byte{0xff, 0xff, 0xff}, 0, 0, "truncated"},
	} {
		v, n, err := readVarint(tc.in)
		if tc.want != "" {
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("readVarint(%x) = %d, %d, %v; want error %q", tc.in, v, n, err, tc.want)
			}
			continue
		}
		if err != nil || v != tc.v || n != tc.n {
			t.Errorf("readVarint(%x) = %d, %d, %v; want %d, %d", tc.in, v, n, err, tc.v, tc.n)
		}
	}
}

func TestEachField(t *testing.T) {
	type got struct {
		num int
		typ wireType
		u   uint64
		b   string
	}
	collect := func(in []byte) ([]got, error) {
		var out []got
		err := eachField(in, func(f field) error {
			out = append(out, got{f.num, f.typ, f.u, string(f.b)})
			return nil
		})
		return out, err
	}
	// A message with every wire type; the group (with a nested group) is
	// skipped.
	msg := pb(nil).varint(1, 150).str(2, "testing").fixed32(3, 0xdeadbeef).key(4, wireFixed64)
	msg = append(msg, 1, 0, 0, 0, 0, 0, 0, 0x80)
	msg = msg.key(5, wireStartGroup).varint(1, 1).key(6, wireStartGroup).str(2, "x").key(6, wireEndGroup).key(5, wireEndGroup)
	msg = msg.varint(maxFieldNum, 9)
	fs, err := collect(msg)
	if err != nil {
		t.Fatal(err)
	}
	want := []got{{1, wireVarint, 150, ""}, {2, wireBytes, 0, "testing"}, {3, wireFixed32, 0xdeadbeef, ""},
		{4, wireFixed64, 0x8000000000000001, ""}, {maxFieldNum, wireVarint, 9, ""}}
	if !slices.Equal(fs, want) {
		t.Errorf("fields = %v, want %v", fs, want)
	}

	deep := bytes.Repeat(pb(nil).key(1, wireStartGroup), maxGroupDepth+2)
	for _, tc := range []struct {
		name string
		in   []byte
		want string
	}{
		{"field zero", []byte{0x00, 0x01}, "field number 0"},
		{"field too big", pb(nil).varint(1<<29, 1), "field number 536870912"},
		{"wire type 6", []byte{0x0e}, "unknown wire type 6"},
		{"wire type 7", []byte{0x0f}, "unknown wire type 7"},
		{"stray end group", pb(nil).key(3, wireEndGroup), "end-group without a start-group"},
		{"mismatched group", pb(nil).key(3, wireStartGroup).key(4, wireEndGroup), "group 3 closed as 4"},
		{"unclosed group", pb(nil).key(3, wireStartGroup).varint(1, 1), "truncated"},
		{"deep groups", deep, "nested too deeply"},
		{"length past end", []byte{0x12, 0x05, 'a', 'b'}, "truncated"},
		{"huge length", []byte{0x12, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01}, "truncated"},
		{"short fixed32", []byte{0x1d, 1, 2, 3}, "truncated"},
		{"short fixed64", []byte{0x21, 1, 2, 3, 4, 5, 6, 7}, "truncated"},
		{"truncated key", []byte{0x80}, "truncated"},
		{"truncated value", []byte{0x08, 0x80}, "truncated"},
	} {
		if _, err := collect(tc.in); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: eachField(%x) error = %v, want %q", tc.name, tc.in, err, tc.want)
		}
	}
}

func TestRepeatedScalars(t *testing.T) {
	one := func(b pb) field {
		var f field
		if err := eachField(b, func(g field) error { f = g; return nil }); err != nil {
			t.Fatal(err)
		}
		return f
	}
	// Packed and unpacked encodings of the same values read the same.
	var packedF []byte
	for _, v := range []float32{1.5, -2} {
		packedF = binary.LittleEndian.AppendUint32(packedF, math.Float32bits(v))
	}
	fs, err := one(pb(nil).bytes(7, packedF)).appendFloat32s(nil)
	if err != nil || !slices.Equal(fs, []float32{1.5, -2}) {
		t.Errorf("packed floats = %v, %v", fs, err)
	}
	fs, err = one(pb(nil).fixed32(7, math.Float32bits(3))).appendFloat32s(fs)
	if err != nil || !slices.Equal(fs, []float32{1.5, -2, 3}) {
		t.Errorf("unpacked float appended = %v, %v", fs, err)
	}
	if _, err := one(pb(nil).bytes(7, []byte{1, 2, 3})).appendFloat32s(nil); err == nil {
		t.Error("3 bytes of packed floats accepted")
	}
	if _, err := one(pb(nil).varint(7, 3)).appendFloat32s(nil); err == nil {
		t.Error("a varint accepted as a float")
	}
	is, err := one(pb(nil).bytes(8, []byte{0x01, 0xac, 0x02, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01})).appendInt64s(nil)
	if err != nil || !slices.Equal(is, []int64{1, 300, -1}) {
		t.Errorf("packed ints = %v, %v", is, err)
	}
	if _, err := one(pb(nil).bytes(8, []byte{0x80})).appendInt64s(nil); err == nil {
		t.Error("truncated packed int accepted")
	}
	ds, err := one(pb(nil).bytes(10, make([]byte, 16))).appendFloat64s(nil)
	if err != nil || !slices.Equal(ds, []float64{0, 0}) {
		t.Errorf("packed doubles = %v, %v", ds, err)
	}
	if _, err := one(pb(nil).bytes(10, make([]byte, 12))).appendFloat64s(nil); err == nil {
		t.Error("12 bytes of packed doubles accepted")
	}
}

// TestTensorData covers the encodings of tensor data the importer reads.
func TestTensorData(t *testing.T) {
	decode := func(b pb) *tensorProto {
		tp, err := decodeTensor(b)
		if err != nil {
			t.Fatal(err)
		}
		return tp
	}
	floatData := pb(nil).varint(1, 2).varint(2, dtFloat).fixed32(4, math.Float32bits(0.5)).fixed32(4, math.Float32bits(-1))
	doubleData := pb(nil).varint(1, 2).varint(2, dtDouble).bytes(10,
		binary.LittleEndian.AppendUint64(binary.LittleEndian.AppendUint64(nil, math.Float64bits(1)), math.Float64bits(-2)))
	int32Raw := pb(nil).varint(2, dtInt32).bytes(9, []byte{0xff, 0xff, 0xff, 0xff}) // scalar -1
	for _, tc := range []struct {
		name string
		t    pb
		want []float64
	}{
		{"float raw", tensor("a", []int64{2}, 0.5, -1), []float64{0.5, -1}},
		{"float_data", floatData, []float64{0.5, -1}},
		{"double raw", tensorD("d", []int64{1, 2}, 1e300, -3), []float64{1e300, -3}},
		{"double_data", doubleData, []float64{1, -2}},
		{"scalar", tensor("s", nil, 7), []float64{7}},
		{"empty", tensor("e", []int64{0, 3}), []float64{}},
	} {
		got, err := decode(tc.t).float64s()
		if err != nil || !slices.Equal(got, tc.want) {
			t.Errorf("%s: float64s = %v, %v; want %v", tc.name, got, err, tc.want)
		}
	}
	if got, err := decode(tensorI64("s", []int64{3}, 0, -1, 5)).int64s(); err != nil || !slices.Equal(got, []int64{0, -1, 5}) {
		t.Errorf("int64_data = %v, %v", got, err)
	}
	if got, err := decode(int32Raw).int64s(); err != nil || !slices.Equal(got, []int64{-1}) {
		t.Errorf("int32 raw = %v, %v", got, err)
	}
	for _, tc := range []struct {
		name string
		t    pb
		want string
	}{
		{"negative dim", pb(nil).varint(1, -1).varint(2, dtFloat), "negative dimension -1"},
		{"float_data count", pb(nil).varint(1, 3).varint(2, dtFloat).fixed32(4, 0), "float_data has 1 values, shape [3] needs 3"},
		{"segment", pb(nil).varint(2, dtFloat).bytes(3, nil), "one segment"},
		{"external_data", pb(nil).varint(2, dtFloat).bytes(13, pb(nil).str(1, "location")), "external file"},
		{"string", pb(nil).varint(2, 8), "data type STRING"},
	} {
		if _, err := decode(tc.t).float64s(); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: float64s error = %v, want %q", tc.name, err, tc.want)
		}
	}
}

// TestTruncated: every proper prefix of small models is refused with an
// error, never a panic or a model. A prefix that ends on a field boundary
// is valid protobuf; here it lacks the opset_import that ModelProto ends
// with and Parse requires. (A model whose last field were optional, say a
// second opset_import it does not use, would have a valid proper prefix.)
func TestTruncated(t *testing.T) {
	g := small()
	g.opsets = map[string]int64{"": 13}
	models := map[string][]byte{"small": g.model()}
	for _, name := range []string{"flatten_gemm_sigmoid", "scaler_linear_softmax", "sklearn_binary_logistic", "scaler_linreg"} {
		models[name] = readModel(t, name)
	}
	for name, data := range models {
		if _, err := Parse(data); err != nil {
			t.Fatalf("%s: the whole model fails: %v", name, err)
		}
		for n := 0; n < len(data); n++ {
			imp, err := Parse(data[:n])
			if err == nil || imp != nil {
				t.Fatalf("%s cut to %d of %d bytes: Parse = %v, %v; want an error", name, n, len(data), imp, err)
			}
		}
	}
}

// TestCorrupt flips and overwrites every byte of a small model: Parse must
// return an error or a valid model, never panic.
func TestCorrupt(t *testing.T) {
	for _, name := range []string{"flatten_gemm_sigmoid", "sklearn_binary_logistic"} {
		data := readModel(t, name)
		for i := range data {
			for _, b := range []byte{data[i] ^ 0xff, data[i] ^ 0x01, 0x00, 0x80, 0xff} {
				c := slices.Clone(data)
				c[i] = b
				checkParsed(t, c)
			}
		}
	}
}
