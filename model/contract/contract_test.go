package contract

import (
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

const sample = `# a contract
unexpected_columns: ignore
columns:
  - name: amount
    type: float
    max_missing: 0.01
    min: 0
    max: 5000
    profile:
      edges: [10, 50, 200]
      proportions: [0.2, 0.3, 0.3, 0.2]
    jensen_shannon_max: 0.2
  - name: country
    type: string
    required: false
    categories: [DE, FR, US, "true"]
    profile:
      values: [US, DE]
      proportions: [0.5, 0.3]
      other: 0.2
  - name: code
    type: int
    categories: [0, 1, 7]
  - name: flag
    type: bool
  - name: at
    type: time
`

func f64(x float64) *float64 { return &x }

func TestParse(t *testing.T) {
	c, err := Parse([]byte(sample), "c.yaml")
	if err != nil {
		t.Fatal(err)
	}
	want := &Contract{
		UnexpectedColumns: UnexpectedIgnore,
		Columns: []Column{
			{Name: "amount", Type: Float, Required: true, MaxMissing: 0.01, Min: f64(0), Max: f64(5000),
				Profile: &Profile{Edges: []float64{10, 50, 200}, Proportions: []float64{0.2, 0.3, 0.3, 0.2}}, Skew: 0.2},
			{Name: "country", Type: String, Categories: []string{"DE", "FR", "US", "true"},
				Profile: &Profile{Values: []string{"US", "DE"}, Proportions: []float64{0.5, 0.3}, Other: 0.2}},
			{Name: "code", Type: Int, Required: true, Categories: []string{"0", "1", "7"}},
			{Name: "flag", Type: Bool, Required: true},
			{Name: "at", Type: Time, Required: true},
		},
	}
	for i, line := range []int{4, 13, 21, 24, 26} {
		if c.Columns[i].Line != line {
			t.Errorf("column %s on line %d, want %d", c.Columns[i].Name, c.Columns[i].Line, line)
		}
		c.Columns[i].Line = 0
	}
	if !reflect.DeepEqual(c, want) {
		t.Fatalf("Parse =\n%+v\nwant\n%+v", c, want)
	}
	if c.Columns[1].SkewThreshold() != DefaultSkew || c.Columns[0].SkewThreshold() != 0.2 {
		t.Errorf("skew thresholds %v %v", c.Columns[1].SkewThreshold(), c.Columns[0].SkewThreshold())
	}
}

// TestWriteRoundTrip: Write's output parses back to the same contract, and
// writing that again gives the same bytes (a stable order).
func TestWriteRoundTrip(t *testing.T) {
	c, err := Parse([]byte(sample), "c.yaml")
	if err != nil {
		t.Fatal(err)
	}
	c.Columns[1].Skew = DefaultSkew                       // Write spells the default out
	c.Columns[0].Profile.Proportions[0] = 0.1 + 0.2 - 0.1 // not short in decimal
	c.Columns[0].Profile.Proportions[1] = 0.5 - c.Columns[0].Profile.Proportions[0]
	out, err := Write(c, "inferred from x.csv\nedit me")
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{"# inferred from x.csv\n# edit me\n", "edges: [10, 50, 200] # bins", `"true"`, "l_infinity_max: 0.1", "max_missing: 0 # no missing value allowed"} {
		if !strings.Contains(string(out), s) {
			t.Errorf("Write output lacks %q:\n%s", s, out)
		}
	}
	back, err := Parse(out, "out.yaml")
	if err != nil {
		t.Fatalf("Parse(Write) = %v\n%s", err, out)
	}
	zeroLines(c)
	zeroLines(back)
	if !reflect.DeepEqual(back, c) {
		t.Fatalf("Parse(Write(c)) =\n%+v\nwant\n%+v\n%s", back, c, out)
	}
	again, _ := Write(back, "inferred from x.csv\nedit me")
	if string(again) != string(out) {
		t.Fatalf("Write is not stable:\n%s\n---\n%s", out, again)
	}
}

func TestParseErrors(t *testing.T) {
	for _, tc := range []struct{ doc, want string }{
		{"", "c.yaml: empty contract file"},
		{"columns: [\n", "c.yaml: yaml: line"},
		{"colums: []\n", "c.yaml:1: colums: unknown key"},
		{"unexpected_columns: warn\ncolumns: []\n", `c.yaml:1: unexpected_columns: "warn": want error or ignore`},
		{"unexpected_columns: error\n", "c.yaml:1: columns: missing"},
		{"columns: {}\n", "c.yaml:1: columns: want a list, got a mapping"},
		{"columns:\n  - name: a\n", "c.yaml:2: columns[0]: missing type"},
		{"columns:\n  - type: int\n", "c.yaml:2: columns[0]: missing name"},
		{"columns:\n  - name: a\n    type: integer\n", `c.yaml:3: columns[0].type: "integer": want bool, int`},
		{"columns:\n  - name: a\n    type: int\n    typo: 1\n", "c.yaml:4: columns[0].typo: unknown key"},
		{"columns:\n  - name: a\n    type: int\n    type: int\n", "c.yaml:4: columns[0].type: duplicate key"},
		{"columns:\n  - name: a\n    type: int\n  - name: a\n    type: float\n", `c.yaml:4: columns[1].name: column "a" appears twice (first on line 2)`},
		{"columns:\n  - name: a\n    type: int\n    max_missing: 1.5\n", "c.yaml:4: columns[0].max_missing: 1.5: want a rate from 0 to 1"},
		{"columns:\n  - name: a\n    type: int\n    max_missing: lots\n", `c.yaml:4: columns[0].max_missing: want a number, got scalar "lots"`},
		{"columns:\n  - name: a\n    type: int\n    required: yes\n", `c.yaml:4: columns[0].required: want true or false, got scalar "yes"`},
		{"columns:\n  - name: a\n    type: int\n    min: .nan\n", "c.yaml:4: columns[0].min: want a finite number"},
		{"columns:\n  - name: a\n    type: float\n    min: 5\n    max: 1\n", "c.yaml:4: columns[0].min: min 5 is above max 1"},
		{"columns:\n  - name: a\n    type: string\n    max: 1\n", "c.yaml:4: columns[0].max: max: only int and float columns have a range"},
		{"columns:\n  - name: a\n    type: float\n    categories: [1]\n", "c.yaml:4: columns[0].categories: categories: only string, bool and int"},
		{"columns:\n  - name: a\n    type: int\n    categories: [1, x]\n", `c.yaml:4: columns[0].categories: categories[1] "x": an int column's categories are integer codes`},
		{"columns:\n  - name: a\n    type: bool\n    categories: [yes]\n", `c.yaml:4: columns[0].categories: categories[0] "yes": a bool column's categories are true and false`},
		{"columns:\n  - name: a\n    type: string\n    categories: [x, x]\n", `categories[1] "x" appears twice`},
		{"columns:\n  - name: a\n    type: float\n    profile:\n      edges: [2, 1]\n      proportions: [0.3, 0.3, 0.4]\n", "c.yaml:5: columns[0].profile: profile: edges[1] 1: want edges strictly ascending"},
		{"columns:\n  - name: a\n    type: float\n    profile:\n      edges: [1]\n      proportions: [1]\n", "c.yaml:5: columns[0].profile: profile: proportions: 1 of them for 1 edges, want 2"},
		{"columns:\n  - name: a\n    type: float\n    profile:\n      edges: [1]\n      proportions: [0.3, 0.3]\n", "proportions (with other) sum to 0.6, want 1"},
		{"columns:\n  - name: a\n    type: float\n    profile:\n      proportions: [1]\n", "c.yaml:5: columns[0].profile: missing edges"},
		{"columns:\n  - name: a\n    type: float\n    profile:\n      edges: [1, x]\n", `c.yaml:5: columns[0].profile.edges[1]: want a number, got scalar "x"`},
		{"columns:\n  - name: a\n    type: string\n    profile:\n      edges: [1]\n      proportions: [0.5, 0.5]\n", "edges: only int and float columns have a numeric profile"},
		{"columns:\n  - name: a\n    type: float\n    profile:\n      edges: [1]\n      proportions: [0.5, 0.5]\n    l_infinity_max: 0.1\n", "c.yaml:7: columns[0].l_infinity_max: the profile is numeric (edges): its threshold is jensen_shannon_max"},
		{"columns:\n  - name: a\n    type: float\n    jensen_shannon_max: 0.1\n", "c.yaml:4: columns[0].jensen_shannon_max: a skew threshold needs a profile"},
		{"columns:\n  - name: a\n    type: float\n    jensen_shannon_max: 0\n", "c.yaml:4: columns[0].jensen_shannon_max: 0: want a distance above 0"},
		{"columns: []\n---\ncolumns: []\n", "c.yaml:2: document: more than one YAML document"},
		{"columns:\n  - name: [a]\n    type: int\n", "c.yaml:2: columns[0].name: want a scalar, got a list"},
	} {
		_, err := Parse([]byte(tc.doc), "c.yaml")
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Parse(%q) error = %v, want one containing %q", tc.doc, err, tc.want)
		}
	}
}

func TestChecker(t *testing.T) {
	c, err := Parse([]byte(sample), "c.yaml")
	if err != nil {
		t.Fatal(err)
	}
	features := []string{"amount", "code", "flag", "unlisted"}
	k, err := NewChecker(c, features)
	if err != nil {
		t.Fatal(err)
	}
	if !k.Checks(0) || k.Checks(3) {
		t.Fatalf("Checks: amount %v, unlisted %v", k.Checks(0), k.Checks(3))
	}
	nan := math.NaN()
	for _, tc := range []struct {
		row  []float64
		want []Violation
		msg  string
	}{
		{[]float64{5, 7, 1, 1e300}, nil, ""},
		{[]float64{nan, 0, 0, nan}, nil, ""}, // amount allows 1% missing
		{[]float64{0, 0, 0, 0}, nil, ""},     // bounds are inclusive
		{[]float64{5000, 1, 1, 0}, nil, ""},
		{[]float64{5000.5, 1, 1, 0}, []Violation{{0, OutOfRange, 5000.5}}, `field "amount": 5000.5 is outside the range [0, 5000]`},
		{[]float64{-1, 1, 1, 0}, []Violation{{0, OutOfRange, -1}}, `field "amount": -1 is outside the range [0, 5000]`},
		{[]float64{math.Inf(1), 1, 1, 0}, []Violation{{0, UnexpectedType, math.Inf(1)}}, `field "amount": +Inf is not a finite number (want float)`},
		{[]float64{1, 2, 1, 0}, []Violation{{1, NewCategory, 2}}, `field "code": 2 is not one of the contract's 3 categories`},
		{[]float64{1, 1.5, 1, 0}, []Violation{{1, UnexpectedType, 1.5}}, `field "code": 1.5 is not an integer (want int)`},
		{[]float64{1, nan, 1, 0}, []Violation{{1, MissingRate, nan}}, `field "code": a missing value, and the contract allows none (max_missing 0)`},
		{[]float64{1, 1, 2, 0}, []Violation{{2, UnexpectedType, 2}}, `field "flag": 2 is not a bool (want 0 or 1)`},
		{[]float64{-1, 9, nan, 0}, []Violation{{0, OutOfRange, -1}, {1, NewCategory, 9}, {2, MissingRate, nan}}, `field "amount"`},
	} {
		got := k.Check(nil, tc.row)
		if len(got) != len(tc.want) {
			t.Errorf("Check(%v) = %v, want %v", tc.row, got, tc.want)
			continue
		}
		for i := range got {
			g, w := got[i], tc.want[i]
			if g.Feature != w.Feature || g.Kind != w.Kind || !(g.Value == w.Value || g.Value != g.Value && w.Value != w.Value) {
				t.Errorf("Check(%v)[%d] = %+v, want %+v", tc.row, i, g, w)
			}
		}
		if len(got) > 0 {
			if d := k.Describe(got[0]); !strings.Contains(d, tc.msg) {
				t.Errorf("Describe(%+v) = %q, want %q", got[0], d, tc.msg)
			}
		}
	}
	if _, err := NewChecker(c, []string{"country"}); err == nil || !strings.Contains(err.Error(), `column "country" is string in the contract, but the model's input "country" is a number`) {
		t.Errorf("NewChecker with a string column: %v", err)
	}
}

func TestCheckDoesNotAllocate(t *testing.T) {
	c, _ := Parse([]byte(sample), "c.yaml")
	k, err := NewChecker(c, []string{"amount", "code", "flag"})
	if err != nil {
		t.Fatal(err)
	}
	dst := make([]Violation, 0, 3)
	rows := [][]float64{{5, 7, 1}, {-1, 9, math.NaN()}}
	allocs := testing.AllocsPerRun(100, func() {
		for _, r := range rows {
			dst = k.Check(dst[:0], r)
		}
	})
	if allocs != 0 || len(dst) != 3 {
		t.Fatalf("Check: %v allocations per run (want 0), %d violations in the last row (want 3)", allocs, len(dst))
	}
}

func TestKindNames(t *testing.T) {
	seen := map[string]bool{}
	for k := range Kind(NumKinds) {
		s := k.String()
		if s == "" || strings.HasPrefix(s, "Kind(") || seen[s] {
			t.Errorf("Kind(%d).String() = %q", k, s)
		}
		seen[s] = true
	}
}

func zeroLines(c *Contract) {
	for i := range c.Columns {
		c.Columns[i].Line = 0
	}
}

// TestBounds holds the documented bounds: a profile's shares may sum to
// 1 ± 0.01; Load refuses a file over MaxFileBytes.
func TestBounds(t *testing.T) {
	prof := func(a, b string) string {
		return "columns:\n  - name: a\n    type: float\n    profile:\n      edges: [1]\n      proportions: [" + a + ", " + b + "]\n"
	}
	for _, tc := range []struct {
		a, b string
		ok   bool
	}{{"0.5", "0.49", true}, {"0.5", "0.51", true}, {"0.5", "0.4899", false}, {"0.5", "0.5101", false}} {
		_, err := Parse([]byte(prof(tc.a, tc.b)), "c.yaml")
		if (err == nil) != tc.ok {
			t.Errorf("proportions [%s, %s]: %v, want ok %v", tc.a, tc.b, err, tc.ok)
		}
	}
	dir := t.TempDir()
	path := filepath.Join(dir, "big.yaml")
	doc := "columns: []\n" + strings.Repeat("#", MaxFileBytes-len("columns: []\n"))
	if err := os.WriteFile(path, []byte(doc), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(path); err != nil {
		t.Errorf("Load of exactly MaxFileBytes: %v", err)
	}
	if err := os.WriteFile(path, []byte(doc+"#"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(path); err == nil || !strings.Contains(err.Error(), "larger than") {
		t.Errorf("Load of MaxFileBytes+1: %v", err)
	}
}
