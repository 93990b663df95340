package contract

import (
	"reflect"
	"regexp"
	"testing"
)

// errLine is what every Parse error starts with: the file, and a line when
// the document is well-formed YAML.
var errLine = regexp.MustCompile(`^f\.yaml(:\d+: |: )`)

// FuzzParse feeds arbitrary documents to Parse: it must not panic, every
// error must name the file, and a contract it accepts must pass Check,
// write, and parse back from Write's output unchanged.
func FuzzParse(f *testing.F) {
	f.Add([]byte(sample))
	f.Add([]byte("columns: []\n"))
	f.Add([]byte("columns:\n  - name: a\n    type: float\n    profile:\n      edges: []\n      proportions: [1]\n"))
	f.Add([]byte("columns:\n  - {name: a, type: int, categories: [1, 2], min: 0, max: 3}\n"))
	f.Add([]byte("columns: &x [*x]\n"))
	f.Fuzz(func(t *testing.T, doc []byte) {
		c, err := Parse(doc, "f.yaml")
		if err != nil {
			if !errLine.MatchString(err.Error()) {
				t.Fatalf("error %q does not start with the file (and line)", err)
			}
			return
		}
		if err := c.Check(); err != nil {
			t.Fatalf("Parse accepted a contract Check refuses: %v\n%s", err, doc)
		}
		out, err := Write(c, "")
		if err != nil {
			t.Fatalf("Write: %v", err)
		}
		back, err := Parse(out, "f.yaml")
		if err != nil {
			t.Fatalf("Parse(Write) = %v\n%s", err, out)
		}
		for i := range c.Columns {
			if c.Columns[i].Profile != nil && c.Columns[i].Skew == 0 {
				c.Columns[i].Skew = DefaultSkew // Write spells the default out
			}
		}
		if c.UnexpectedColumns == "" {
			c.UnexpectedColumns = UnexpectedError
		}
		zeroLines(c)
		zeroLines(back)
		if !reflect.DeepEqual(back, c) {
			t.Fatalf("Parse(Write(c)) = %+v, want %+v\n%s", back, c, out)
		}
	})
}
