package kernels

import (
	"math"
	"strings"
	"testing"
	"unsafe"
)

// stump is a forest of one split on feature 0 with threshold thr: left leaf
// -1, right leaf +1, so Margins tells which way a value went.
func stump(cmp Compare, flags uint8, thr float64) *Forest {
	return &Forest{
		Nodes: []Node{
			{Value: thr, Feature: 0, Right: 2, Flags: flags},
			{Value: -1, Feature: -1},
			{Value: 1, Feature: -1},
		},
		Roots:       []int32{0},
		Groups:      []int32{0},
		Base:        []float64{0},
		NumFeatures: 1,
		Compare:     cmp,
	}
}

func TestNumericalSplit(t *testing.T) {
	nan := math.NaN()
	thr := 0.3 // not a float32: the two rules differ around it
	t32 := float64(float32(thr))
	const L, R = -1.0, 1.0
	for _, tc := range []struct {
		name  string
		cmp   Compare
		flags uint8
		x     float64
		want  float64
	}{
		{"xgb below", LessFloat32, 0, 0.2, L},
		{"xgb equal goes right", LessFloat32, 0, t32, R},
		// 0.3 rounds to the float32 threshold itself, so it is not below it.
		{"xgb rounds the value to float32", LessFloat32, 0, thr, R},
		{"xgb previous float32 goes left", LessFloat32, 0, float64(math.Nextafter32(float32(thr), 0)), L},
		// Within half a float32 step of the threshold, the value rounds onto it.
		{"xgb rounds onto the threshold", LessFloat32, 0, t32 - 1e-9, R},
		{"xgb NaN default right", LessFloat32, 0, nan, R},
		{"xgb NaN default left", LessFloat32, FlagDefaultLeft, nan, L},
		{"lgb equal goes left", LessEqFloat64, 0, thr, L},
		{"lgb next float64 goes right", LessEqFloat64, 0, math.Nextafter(thr, 1), R},
		{"lgb NaN missing-type NaN default right", LessEqFloat64, 0, nan, R},
		{"lgb NaN missing-type NaN default left", LessEqFloat64, FlagDefaultLeft, nan, L},
		{"lgb None: NaN is 0, 0 <= 0.3", LessEqFloat64, FlagNaNIsZero | FlagDefaultLeft, nan, L},
		{"lgb Zero: NaN is zero, default right", LessEqFloat64, FlagMissingZero, nan, R},
		{"lgb Zero: 0 goes default right", LessEqFloat64, FlagMissingZero, 0, R},
		{"lgb Zero: 1e-36 is zero", LessEqFloat64, FlagMissingZero, 1e-36, R},
		{"lgb Zero: -1e-36 is zero", LessEqFloat64, FlagMissingZero, -1e-36, R},
		{"lgb Zero: 1e-30 is not zero", LessEqFloat64, FlagMissingZero, 1e-30, L},
		{"lgb Zero: default left", LessEqFloat64, FlagMissingZero | FlagDefaultLeft, 0, L},
		{"+Inf goes right", LessEqFloat64, 0, math.Inf(1), R},
		{"-Inf goes left", LessFloat32, 0, math.Inf(-1), L},
	} {
		f := stump(tc.cmp, tc.flags, thr)
		if err := f.Validate(); err != nil {
			t.Fatal(err)
		}
		if got := f.Margins(nil, []float64{tc.x})[0]; got != tc.want {
			t.Errorf("%s: x=%v went %v, want %v", tc.name, tc.x, got, tc.want)
		}
	}
}

func TestCategoricalSplit(t *testing.T) {
	f := stump(LessEqFloat64, FlagCategorical, 0)
	// Set 0 holds categories 1, 3 and 40 (second word).
	f.CatSets = []uint32{1<<1 | 1<<3, 1 << (40 - 32)}
	f.CatBounds = []int32{0, 2}
	if err := f.Validate(); err != nil {
		t.Fatal(err)
	}
	const L, R = -1.0, 1.0
	for _, tc := range []struct {
		x    float64
		want float64
	}{
		{1, L}, {3, L}, {40, L}, {3.9, L}, // truncated toward zero
		{0, R}, {2, R}, {41, R}, {64, R}, {1e12, R},
		{-0.5, R}, // truncates to 0, which is not in the set
		{-1, R}, {math.NaN(), R}, {math.Inf(1), R},
	} {
		if got := f.Margins(nil, []float64{tc.x})[0]; got != tc.want {
			t.Errorf("category %v went %v, want %v", tc.x, got, tc.want)
		}
	}
}

func TestFloat32SumAndWeights(t *testing.T) {
	// Two single-leaf trees: 0.1 and 0.2 summed from base 0.3 in float32
	// (XGBoost) differ from the float64 sum.
	leaf := func(v float64) Node { return Node{Value: v, Feature: -1} }
	f := &Forest{
		Nodes:       []Node{leaf(0.1), leaf(0.2)},
		Roots:       []int32{0, 1},
		Groups:      []int32{0, 0},
		Weights:     []float64{1, 0.5},
		Base:        []float64{0.3},
		NumFeatures: 1,
		Float32Sum:  true,
	}
	if err := f.Validate(); err != nil {
		t.Fatal(err)
	}
	want32 := float32(0.3) + float32(0.1) + float32(0.2)*float32(0.5)
	if got := f.Margins(nil, []float64{0}); got[0] != float64(want32) {
		t.Errorf("float32 sum = %.9g, want %.9g", got[0], want32)
	}
	f.Float32Sum = false
	if got := f.Margins(nil, []float64{0}); got[0] != 0.3+0.1+0.2*0.5 {
		t.Errorf("float64 sum = %.17g, want %.17g", got[0], 0.3+0.1+0.2*0.5)
	}
}

func TestValidate(t *testing.T) {
	for _, tc := range []struct {
		name string
		edit func(f *Forest)
	}{
		{"right child past tree", func(f *Forest) { f.Nodes[0].Right = 3 }},
		{"right child points back", func(f *Forest) { f.Nodes[0].Right = 0 }},
		{"feature out of range", func(f *Forest) { f.Nodes[0].Feature = 1 }},
		{"group out of range", func(f *Forest) { f.Groups[0] = 1 }},
		{"weights length", func(f *Forest) { f.Weights = []float64{1, 1} }},
		{"missing category set", func(f *Forest) { f.Nodes[0].Flags = FlagCategorical }},
		{"split as last node", func(f *Forest) { f.Nodes = f.Nodes[:1] }},
		{"no groups", func(f *Forest) { f.Base = nil }},
	} {
		f := stump(LessFloat32, 0, 0.5)
		tc.edit(f)
		if err := f.Validate(); err == nil {
			t.Errorf("%s: Validate() = nil, want an error", tc.name)
		}
	}
}

func TestXGBoostCategoricalSplit(t *testing.T) {
	const L, R = -1.0, 1.0
	for _, dflt := range []uint8{0, FlagDefaultLeft} {
		f := stump(LessFloat32, FlagCategorical|FlagCategoryRight|dflt, 0)
		f.CatSets = []uint32{1<<0 | 1<<3, 1 << (39 - 32)} // {0, 3, 39}
		f.CatBounds = []int32{0, 2}
		if err := f.Validate(); err != nil {
			t.Fatal(err)
		}
		nanWay := R
		if dflt != 0 {
			nanWay = L
		}
		for _, tc := range []struct {
			x    float64
			want float64
		}{
			{0, R}, {3, R}, {39, R}, {3.7, R}, {math.Copysign(0, -1), R}, // members go right
			{math.Nextafter(3, 0), R},                         // rounds to 3 in float32
			{1, L}, {40, L}, {64, L}, {1e10, L}, {1 << 24, L}, // not members go left, whatever the default
			{-0.5, L}, {-1, L}, {-1.4e-45, L},
			{math.NaN(), nanWay},
		} {
			if got := f.Margins(nil, []float64{tc.x})[0]; got != tc.want {
				t.Errorf("default-left=%v: category %v went %v, want %v", dflt != 0, tc.x, got, tc.want)
			}
		}
	}
}

func TestNodeSize(t *testing.T) {
	// Linear lives in the padding after Flags; a larger Node would make every
	// tree walk touch more cache lines.
	if got := unsafe.Sizeof(Node{}); got != 24 {
		t.Errorf("unsafe.Sizeof(Node{}) = %d, want 24", got)
	}
}

// linearStump is stump's split on feature 0 at 0.5 over three features,
// whose left leaf (value -1) is linear model 0: 0.25 + 2·x1 − 0.5·x2, and
// whose right leaf (value 1) is linear model 1, a constant 3 with no terms.
func linearStump() *Forest {
	f := stump(LessEqFloat64, 0, 0.5)
	f.NumFeatures = 3
	f.Nodes[1].Linear = 1
	f.Nodes[2].Linear = 2
	f.LinConst = []float64{0.25, 3}
	f.LinBounds = []int32{0, 2, 2}
	f.LinFeatures = []int32{1, 2}
	f.LinCoeffs = []float64{2, -0.5}
	return f
}

func TestLinearLeaf(t *testing.T) {
	nan := math.NaN()
	f := linearStump()
	if err := f.Validate(); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		row  []float64
		want float64
	}{
		{[]float64{0, 1, 4}, 0.25 + 2*1 + -0.5*4}, // 0.25
		{[]float64{0, -3, 0.5}, 0.25 + 2*-3 + -0.5*0.5},
		{[]float64{0, 0, 0}, 0.25},
		// A NaN in a model feature falls back to the leaf's value.
		{[]float64{0, nan, 4}, -1},
		{[]float64{0, 1, nan}, -1},
		// NaN in the split feature only steers the split (right by default).
		{[]float64{nan, 1, 4}, 3},
		// A model without terms is its constant, not the leaf's value, and
		// ignores NaN anywhere.
		{[]float64{1, nan, nan}, 3},
		// Infinities are not missing: they flow through the sum.
		{[]float64{0, math.Inf(1), 0}, math.Inf(1)},
	} {
		if got := f.Margins(nil, tc.row)[0]; got != tc.want {
			t.Errorf("Margins(%v) = %v, want %v", tc.row, got, tc.want)
		}
	}
}

func TestLinearLeafSumOrder(t *testing.T) {
	// The terms are added to the constant one at a time, in order, each
	// product rounded: 1 + 1e-16 + 1e-16 is 1 in float64, where adding the
	// two small terms first would give 1.0000000000000002.
	f := &Forest{
		Nodes:       []Node{{Value: 0, Feature: -1, Linear: 1}},
		Roots:       []int32{0},
		Groups:      []int32{0},
		Base:        []float64{0},
		NumFeatures: 2,
		LinConst:    []float64{1},
		LinBounds:   []int32{0, 2},
		LinFeatures: []int32{0, 1},
		LinCoeffs:   []float64{1e-16, 1e-16},
	}
	if err := f.Validate(); err != nil {
		t.Fatal(err)
	}
	if got := f.Margins(nil, []float64{1, 1})[0]; got != 1 {
		t.Errorf("single linear leaf 1 + 1e-16 + 1e-16 = %.17g, want 1", got)
	}
	// A product that needs rounding, then an addition: a fused multiply-add
	// would round once and could differ.
	a, x := 0.1, 3.0
	f.LinConst[0] = -0.3
	f.LinCoeffs = []float64{a, 0}
	want := -0.3 + float64(a*x) // 5.551115123125783e-17
	if got := f.Margins(nil, []float64{x, 0})[0]; got != want {
		t.Errorf("-0.3 + 0.1·3 = %.17g, want %.17g (product rounded before the sum)", got, want)
	}
}

func TestLinearLeafFloat32SumAndWeights(t *testing.T) {
	f := linearStump()
	f.Float32Sum = true
	f.Weights = []float64{0.5}
	row := []float64{0, 0.1, 0}
	leaf := 0.25 + 2*0.1
	want := float32(0) + float32(leaf)*float32(0.5)
	if got := f.Margins(nil, row)[0]; got != float64(want) {
		t.Errorf("float32 sum of weighted linear leaf = %.9g, want %.9g", got, want)
	}
}

func TestLinearLeafAllocs(t *testing.T) {
	f := linearStump()
	rows := []float64{0, 1, 4, 0, math.NaN(), 4, 1, 2, 3}
	dst := make([]float64, 0, 3)
	if n := testing.AllocsPerRun(100, func() { dst = f.Margins(dst[:0], rows) }); n != 0 {
		t.Errorf("Margins with linear leaves allocates %v times per call, want 0", n)
	}
}

func TestValidateLinear(t *testing.T) {
	for _, tc := range []struct {
		name string
		edit func(f *Forest)
		want string
	}{
		{"leaf refers past the models", func(f *Forest) { f.Nodes[2].Linear = 3 }, "tree 0 node 2: linear model 2 does not exist (the forest has 2)"},
		{"negative linear", func(f *Forest) { f.Nodes[1].Linear = -1 }, "tree 0 node 1: linear model -2 does not exist"},
		{"linear on a split", func(f *Forest) { f.Nodes[0].Linear = 1 }, "tree 0 node 0: a split node has linear model 0"},
		{"feature out of range", func(f *Forest) { f.LinFeatures[1] = 3 }, "linear term 1: feature 3 out of range [0,3)"},
		{"negative feature", func(f *Forest) { f.LinFeatures[0] = -1 }, "linear term 0: feature -1 out of range"},
		{"coefficients short", func(f *Forest) { f.LinCoeffs = f.LinCoeffs[:1] }, "2 linear features but 1 coefficients"},
		{"bounds short", func(f *Forest) { f.LinBounds = f.LinBounds[:2] }, "2 linear models but 2 linear model bounds, want 3"},
		{"bounds past terms", func(f *Forest) { f.LinBounds[2] = 3 }, "linear model bounds do not span the 2 linear terms"},
		{"bounds not from 0", func(f *Forest) { f.LinBounds[0] = 1 }, "linear model bounds do not span"},
		{"bounds decrease", func(f *Forest) { f.LinBounds[1] = 3; f.LinBounds[2] = 2 }, "linear model 1 has negative length"},
		{"constants without bounds", func(f *Forest) { f.LinBounds = nil }, "2 linear constants and 2 terms but no linear model bounds"},
		{"terms without models", func(f *Forest) {
			f.Nodes[1].Linear, f.Nodes[2].Linear = 0, 0
			f.LinConst, f.LinBounds = nil, nil
		}, "0 linear constants and 2 terms but no linear model bounds"},
	} {
		f := linearStump()
		tc.edit(f)
		if err := f.Validate(); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: Validate() = %v, want an error containing %q", tc.name, err, tc.want)
		}
	}
}
