package contract

import (
	"fmt"
	"io"
	"math"
	"os"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/predictd/predictd/internal/yamlx"
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
	p := &parser{yamlx.Parser{File: file}}
	root, err := p.Root(data, "contract file")
	if err != nil {
		return nil, err
	}
	c := &Contract{}
	var colsNode *yaml.Node
	err = p.Mapping(root, "contract", func(key string, k, v *yaml.Node) error {
		switch key {
		case "unexpected_columns":
			s, err := p.Scalar(v, key)
			if err != nil {
				return err
			}
			if Policy(s) != UnexpectedError && Policy(s) != UnexpectedIgnore {
				return p.ErrAt(v, key, "%q: want error or ignore", s)
			}
			c.UnexpectedColumns = Policy(s)
		case "columns":
			colsNode = v
		default:
			return p.ErrAt(k, key, "unknown key (want unexpected_columns, columns)")
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if colsNode == nil {
		return nil, p.ErrAt(root, "columns", "missing (a contract lists its columns)")
	}
	seen := map[string]int{}
	err = p.Sequence(colsNode, "columns", func(path string, n *yaml.Node) error {
		col, err := p.column(n, path)
		if err != nil {
			return err
		}
		if line, dup := seen[col.Name]; dup {
			return p.ErrAt(n, path+".name", "column %q appears twice (first on line %d)", col.Name, line)
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

type parser struct{ yamlx.Parser }

func (p *parser) column(n *yaml.Node, path string) (Column, error) {
	col := Column{Required: true, Line: n.Line}
	set := map[string]*yaml.Node{}
	var profNode *yaml.Node
	err := p.Mapping(n, path, func(key string, k, v *yaml.Node) error {
		fp := path + "." + key
		set[key] = v
		var err error
		switch key {
		case "name":
			col.Name, err = p.Scalar(v, fp)
			if err == nil && col.Name == "" {
				err = p.ErrAt(v, fp, "empty")
			}
		case "type":
			var s string
			if s, err = p.Scalar(v, fp); err == nil {
				switch Type(s) {
				case Bool, Int, Float, String, Time:
					col.Type = Type(s)
				default:
					err = p.ErrAt(v, fp, "%q: want bool, int, float, string or time", s)
				}
			}
		case "required":
			col.Required, err = p.bool(v, fp)
		case "max_missing":
			if col.MaxMissing, err = p.number(v, fp); err == nil && !(col.MaxMissing >= 0 && col.MaxMissing <= 1) {
				err = p.ErrAt(v, fp, "%v: want a rate from 0 to 1", col.MaxMissing)
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
			err = p.Sequence(v, fp, func(ip string, e *yaml.Node) error {
				s, err := p.Scalar(e, ip)
				col.Categories = append(col.Categories, s)
				return err
			})
		case "profile":
			profNode = v
		case "jensen_shannon_max", "l_infinity_max":
			col.Skew, err = p.number(v, fp)
			if err == nil && !(col.Skew > 0 && col.Skew <= 1) {
				err = p.ErrAt(v, fp, "%v: want a distance above 0, at most 1", col.Skew)
			}
		default:
			err = p.ErrAt(k, fp, "unknown key (want name, type, required, max_missing, min, max, categories, profile, jensen_shannon_max, l_infinity_max)")
		}
		return err
	})
	if err != nil {
		return Column{}, err
	}
	for _, f := range []string{"name", "type"} {
		if set[f] == nil {
			return Column{}, p.ErrAt(n, path, "missing %s", f)
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
			return Column{}, p.ErrAt(at, path+"."+field, "%v", err)
		}
		return Column{}, p.ErrAt(n, path, "%v", err)
	}
	if col.Profile != nil {
		js, li := set["jensen_shannon_max"], set["l_infinity_max"]
		switch {
		case js != nil && li != nil:
			return Column{}, p.ErrAt(li, path+".l_infinity_max", "a column has one skew threshold: jensen_shannon_max for a numeric profile, l_infinity_max for a categorical one")
		case js != nil && col.Profile.Categorical():
			return Column{}, p.ErrAt(js, path+".jensen_shannon_max", "the profile is categorical (values): its threshold is l_infinity_max")
		case li != nil && !col.Profile.Categorical():
			return Column{}, p.ErrAt(li, path+".l_infinity_max", "the profile is numeric (edges): its threshold is jensen_shannon_max")
		}
	} else if t := set["jensen_shannon_max"]; t != nil {
		return Column{}, p.ErrAt(t, path+".jensen_shannon_max", "a skew threshold needs a profile")
	} else if t := set["l_infinity_max"]; t != nil {
		return Column{}, p.ErrAt(t, path+".l_infinity_max", "a skew threshold needs a profile")
	}
	return col, nil
}

func (p *parser) profile(n *yaml.Node, path string) (*Profile, error) {
	prof := &Profile{}
	set := map[string]*yaml.Node{}
	err := p.Mapping(n, path, func(key string, k, v *yaml.Node) error {
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
			err = p.Sequence(v, fp, func(ip string, e *yaml.Node) error {
				s, err := p.Scalar(e, ip)
				prof.Values = append(prof.Values, s)
				return err
			})
		case "other":
			prof.Other, err = p.number(v, fp)
		default:
			err = p.ErrAt(k, fp, "unknown key (want edges and proportions, or values, proportions and other)")
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	if set["proportions"] == nil {
		return nil, p.ErrAt(n, path, "missing proportions")
	}
	if set["edges"] == nil && set["values"] == nil {
		return nil, p.ErrAt(n, path, "missing edges (a numeric profile) or values (a categorical one)")
	}
	return prof, nil
}

func (p *parser) bool(n *yaml.Node, path string) (bool, error) {
	if n.Kind != yaml.ScalarNode || n.Tag != "!!bool" {
		return false, p.ErrAt(n, path, "want true or false, got %s", yamlx.KindName(n))
	}
	var b bool
	if err := n.Decode(&b); err != nil {
		return false, p.ErrAt(n, path, "want true or false, got %s", yamlx.KindName(n))
	}
	return b, nil
}

// number reads a finite number (a YAML int or float).
func (p *parser) number(n *yaml.Node, path string) (float64, error) {
	if n.Kind != yaml.ScalarNode || (n.Tag != "!!int" && n.Tag != "!!float") {
		return 0, p.ErrAt(n, path, "want a number, got %s", yamlx.KindName(n))
	}
	var x float64
	if err := n.Decode(&x); err != nil || math.IsNaN(x) || math.IsInf(x, 0) {
		return 0, p.ErrAt(n, path, "want a finite number, got %s", yamlx.KindName(n))
	}
	return x, nil
}

func (p *parser) numbers(n *yaml.Node, path string) ([]float64, error) {
	xs := []float64{}
	err := p.Sequence(n, path, func(ip string, e *yaml.Node) error {
		x, err := p.number(e, ip)
		xs = append(xs, x)
		return err
	})
	return xs, err
}
