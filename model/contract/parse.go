package contract

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// MaxFileBytes bounds a contract file: Load refuses a larger one before
// parsing it (a contract of thousands of columns with profiles stays far
// under it).
const MaxFileBytes = 16 << 20

// Load reads and parses the contract file at path.
func Load(path string) (*Contract, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("contract: %w", err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, MaxFileBytes+1))
	if err != nil {
		return nil, fmt.Errorf("contract: %s: %w", path, err)
	}
	if len(data) > MaxFileBytes {
		return nil, fmt.Errorf("contract: %s: larger than %d bytes", path, MaxFileBytes)
	}
	return Parse(data, path)
}

// Parse parses a contract document; file names it in errors. The format
// (Write's output, comments aside):
//
//	unexpected_columns: error      # or ignore; default error
//	columns:
//	  - name: amount
//	    type: float                # bool, int, float, string or time
//	    required: true             # default true
//	    max_missing: 0.01          # 0..1, default 0 (not nullable)
//	    min: 0                     # int and float columns; optional
//	    max: 5000
//	    profile:                   # optional
//	      edges: [10, 50, 200]     # numeric: len(edges)+1 bins
//	      proportions: [0.2, 0.3, 0.3, 0.2]
//	    jensen_shannon_max: 0.1    # numeric profile; default 0.1
//	  - name: country
//	    type: string
//	    categories: [DE, FR, US]   # string, bool (true/false), int (codes)
//	    profile:
//	      values: [US, DE, FR]     # categorical: most frequent first
//	      proportions: [0.5, 0.3, 0.2]
//	      other: 0                 # every other value
//	    l_infinity_max: 0.1        # categorical profile; default 0.1
//
// Parsing is strict: an unknown or repeated key, a value of the wrong kind,
// a column named twice or a field inconsistent with the column's type is an
// error naming file, line and field (columns[2].profile.edges[1]).
func Parse(data []byte, file string) (*Contract, error) {
	p := &parser{file: file}
	var doc yaml.Node
	dec := yaml.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("%s: empty contract file", file)
		}
		return nil, fmt.Errorf("%s: %v", file, err)
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); !errors.Is(err, io.EOF) {
		if err != nil {
			return nil, fmt.Errorf("%s: %v", file, err)
		}
		return nil, p.errAt(&extra, "document", "more than one YAML document")
	}
	if doc.Kind != yaml.DocumentNode || len(doc.Content) != 1 {
		return nil, fmt.Errorf("%s: not a YAML document", file)
	}
	c := &Contract{}
	var colsNode *yaml.Node
	err := p.mapping(doc.Content[0], "contract", func(key string, k, v *yaml.Node) error {
		switch key {
		case "unexpected_columns":
			s, err := p.scalar(v, key)
			if err != nil {
				return err
			}
			if Policy(s) != UnexpectedError && Policy(s) != UnexpectedIgnore {
				return p.errAt(v, key, "%q: want error or ignore", s)
			}
			c.UnexpectedColumns = Policy(s)
		case "columns":
			colsNode = v
		default:
			return p.errAt(k, key, "unknown key (want unexpected_columns, columns)")
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if colsNode == nil {
		return nil, p.errAt(doc.Content[0], "columns", "missing (a contract lists its columns)")
	}
	seen := map[string]int{}
	err = p.sequence(colsNode, "columns", func(path string, n *yaml.Node) error {
		col, err := p.column(n, path)
		if err != nil {
			return err
		}
		if line, dup := seen[col.Name]; dup {
			return p.errAt(n, path+".name", "column %q appears twice (first on line %d)", col.Name, line)
		}
		seen[col.Name] = n.Line
		c.Columns = append(c.Columns, col)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return c, nil
}

type parser struct{ file string }

// errAt is an error at node n's line in field path.
func (p *parser) errAt(n *yaml.Node, path, format string, args ...any) error {
	return fmt.Errorf("%s:%d: %s: %s", p.file, n.Line, path, fmt.Sprintf(format, args...))
}

func (p *parser) column(n *yaml.Node, path string) (Column, error) {
	col := Column{Required: true, Line: n.Line}
	set := map[string]*yaml.Node{}
	var profNode *yaml.Node
	err := p.mapping(n, path, func(key string, k, v *yaml.Node) error {
		fp := path + "." + key
		set[key] = v
		var err error
		switch key {
		case "name":
			col.Name, err = p.scalar(v, fp)
			if err == nil && col.Name == "" {
				err = p.errAt(v, fp, "empty")
			}
		case "type":
			var s string
			if s, err = p.scalar(v, fp); err == nil {
				switch Type(s) {
				case Bool, Int, Float, String, Time:
					col.Type = Type(s)
				default:
					err = p.errAt(v, fp, "%q: want bool, int, float, string or time", s)
				}
			}
		case "required":
			col.Required, err = p.bool(v, fp)
		case "max_missing":
			if col.MaxMissing, err = p.number(v, fp); err == nil && !(col.MaxMissing >= 0 && col.MaxMissing <= 1) {
				err = p.errAt(v, fp, "%v: want a rate from 0 to 1", col.MaxMissing)
			}
		case "min", "max":
			var x float64
			if x, err = p.number(v, fp); err == nil {
				if key == "min" {
					col.Min = &x
				} else {
					col.Max = &x
				}
			}
		case "categories":
			col.Categories = []string{}
			err = p.sequence(v, fp, func(ip string, e *yaml.Node) error {
				s, err := p.scalar(e, ip)
				col.Categories = append(col.Categories, s)
				return err
			})
		case "profile":
			profNode = v
		case "jensen_shannon_max", "l_infinity_max":
			col.Skew, err = p.number(v, fp)
			if err == nil && !(col.Skew > 0 && col.Skew <= 1) {
				err = p.errAt(v, fp, "%v: want a distance above 0, at most 1", col.Skew)
			}
		default:
			err = p.errAt(k, fp, "unknown key (want name, type, required, max_missing, min, max, categories, profile, jensen_shannon_max, l_infinity_max)")
		}
		return err
	})
	if err != nil {
		return Column{}, err
	}
	for _, f := range []string{"name", "type"} {
		if set[f] == nil {
			return Column{}, p.errAt(n, path, "missing %s", f)
		}
	}
	if profNode != nil {
		prof, err := p.profile(profNode, path+".profile")
		if err != nil {
			return Column{}, err
		}
		col.Profile = prof
	}
	// Consistency across fields (a range on a string column, edges out of
	// order): the error starts with the field's name, whose line it gets.
	if err := col.check(); err != nil {
		field := strings.TrimRight(strings.SplitN(err.Error(), " ", 2)[0], ":")
		if i := strings.IndexByte(field, '['); i >= 0 {
			field = field[:i]
		}
		if at := set[field]; at != nil {
			return Column{}, p.errAt(at, path+"."+field, "%v", err)
		}
		return Column{}, p.errAt(n, path, "%v", err)
	}
	if col.Profile != nil {
		js, li := set["jensen_shannon_max"], set["l_infinity_max"]
		switch {
		case js != nil && li != nil:
			return Column{}, p.errAt(li, path+".l_infinity_max", "a column has one skew threshold: jensen_shannon_max for a numeric profile, l_infinity_max for a categorical one")
		case js != nil && col.Profile.Categorical():
			return Column{}, p.errAt(js, path+".jensen_shannon_max", "the profile is categorical (values): its threshold is l_infinity_max")
		case li != nil && !col.Profile.Categorical():
			return Column{}, p.errAt(li, path+".l_infinity_max", "the profile is numeric (edges): its threshold is jensen_shannon_max")
		}
	} else if t := set["jensen_shannon_max"]; t != nil {
		return Column{}, p.errAt(t, path+".jensen_shannon_max", "a skew threshold needs a profile")
	} else if t := set["l_infinity_max"]; t != nil {
		return Column{}, p.errAt(t, path+".l_infinity_max", "a skew threshold needs a profile")
	}
	return col, nil
}

func (p *parser) profile(n *yaml.Node, path string) (*Profile, error) {
	prof := &Profile{}
	set := map[string]*yaml.Node{}
	err := p.mapping(n, path, func(key string, k, v *yaml.Node) error {
		fp := path + "." + key
		set[key] = v
		var err error
		switch key {
		case "edges":
			prof.Edges, err = p.numbers(v, fp)
		case "proportions":
			prof.Proportions, err = p.numbers(v, fp)
		case "values":
			prof.Values = []string{}
			err = p.sequence(v, fp, func(ip string, e *yaml.Node) error {
				s, err := p.scalar(e, ip)
				prof.Values = append(prof.Values, s)
				return err
			})
		case "other":
			prof.Other, err = p.number(v, fp)
		default:
			err = p.errAt(k, fp, "unknown key (want edges and proportions, or values, proportions and other)")
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	if set["proportions"] == nil {
		return nil, p.errAt(n, path, "missing proportions")
	}
	if set["edges"] == nil && set["values"] == nil {
		return nil, p.errAt(n, path, "missing edges (a numeric profile) or values (a categorical one)")
	}
	return prof, nil
}

// mapping calls f for each key of mapping n, in order, refusing duplicate
// and non-scalar keys.
func (p *parser) mapping(n *yaml.Node, path string, f func(key string, k, v *yaml.Node) error) error {
	if n.Kind != yaml.MappingNode {
		return p.errAt(n, path, "want a mapping, got %s", kindName(n))
	}
	seen := map[string]bool{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if k.Kind != yaml.ScalarNode {
			return p.errAt(k, path, "want a scalar key, got %s", kindName(k))
		}
		if seen[k.Value] {
			return p.errAt(k, path+"."+k.Value, "duplicate key")
		}
		seen[k.Value] = true
		if err := f(k.Value, k, v); err != nil {
			return err
		}
	}
	return nil
}

func (p *parser) sequence(n *yaml.Node, path string, f func(path string, n *yaml.Node) error) error {
	if n.Kind != yaml.SequenceNode {
		return p.errAt(n, path, "want a list, got %s", kindName(n))
	}
	for i, c := range n.Content {
		if err := f(path+"["+strconv.Itoa(i)+"]", c); err != nil {
			return err
		}
	}
	return nil
}

func (p *parser) scalar(n *yaml.Node, path string) (string, error) {
	if n.Kind != yaml.ScalarNode {
		return "", p.errAt(n, path, "want a scalar, got %s", kindName(n))
	}
	return n.Value, nil
}

func (p *parser) bool(n *yaml.Node, path string) (bool, error) {
	if n.Kind != yaml.ScalarNode || n.Tag != "!!bool" {
		return false, p.errAt(n, path, "want true or false, got %s", kindName(n))
	}
	var b bool
	if err := n.Decode(&b); err != nil {
		return false, p.errAt(n, path, "want true or false, got %s", kindName(n))
	}
	return b, nil
}

// number reads a finite number (a YAML int or float).
func (p *parser) number(n *yaml.Node, path string) (float64, error) {
	if n.Kind != yaml.ScalarNode || (n.Tag != "!!int" && n.Tag != "!!float") {
		return 0, p.errAt(n, path, "want a number, got %s", kindName(n))
	}
	var x float64
	if err := n.Decode(&x); err != nil || math.IsNaN(x) || math.IsInf(x, 0) {
		return 0, p.errAt(n, path, "want a finite number, got %s", kindName(n))
	}
	return x, nil
}

func (p *parser) numbers(n *yaml.Node, path string) ([]float64, error) {
	xs := []float64{}
	err := p.sequence(n, path, func(ip string, e *yaml.Node) error {
		x, err := p.number(e, ip)
		xs = append(xs, x)
		return err
	})
	return xs, err
}

func kindName(n *yaml.Node) string {
	switch n.Kind {
	case yaml.ScalarNode:
		s := n.Value
		if len(s) > 64 {
			s = s[:64] + "..."
		}
		return fmt.Sprintf("%q", s)
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.AliasNode:
		return "an alias"
	case yaml.DocumentNode:
		return "a document"
	}
	return "nothing"
}
