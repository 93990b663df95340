package featcache

import (
	"fmt"
	"math"
	"os"
	"regexp"
	"strconv"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/predictd/predictd/internal/yamlx"
)

// KeyType is the type of an entity's join key.
type KeyType string

// Join key types. An int key is stored as its canonical decimal text.
const (
	KeyString KeyType = "string"
	KeyInt    KeyType = "int"
)

// FeatureType is a feature's value type. Every value is served as a
// float64; the type says how the offline tools produce it.
type FeatureType string

// Feature types.
const (
	Float       FeatureType = "float"
	Int         FeatureType = "int"
	Categorical FeatureType = "categorical" // a category's integer code
)

// Defs are the parsed feature definitions of one file. They are immutable
// after parsing and safe for concurrent reads.
type Defs struct {
	Entities []*Entity // in file order
	Views    []*View   // in file order

	entities map[string]*Entity
	views    map[string]*View
}

// Entity is what features describe (a user, an item), named by a join key.
type Entity struct {
	Name    string
	JoinKey string  // the request field holding the key's value
	KeyType KeyType // how the key's value is written
}

// View is a group of features of one entity, written together from one
// source and valid for TTL after their event time.
type View struct {
	Name   string
	Entity *Entity
	TTL    time.Duration // > 0
	// Source is the view's offline history, read by the offline tools
	// only (the daemon ignores it). The point-in-time join (predictd
	// dataset) reads it as the path of a CSV or Parquet file, relative to
	// the definitions file's folder when not absolute, holding the
	// entity's join key, an event_time column and the view's features,
	// many rows per entity; its --source view=path flag overrides it.
	Source   string
	Features []Feature // in stored order

	index map[string]int
}

// Feature is one value of a view.
type Feature struct {
	Name string
	Type FeatureType
	// Default is served when the row is missing or expired; NaN (missing)
	// when the definition gives none.
	Default float64
}

// CheckValue reports whether x may be a value of f: any number (or NaN,
// missing) for a float feature, an integer for int and categorical ones.
// Push and materialize both check with it, so the two paths agree.
func (f Feature) CheckValue(x float64) error {
	if f.Type != Float && !math.IsNaN(x) && x != math.Trunc(x) {
		return fmt.Errorf("want an integer (%s feature), got %v", f.Type, x)
	}
	return nil
}

// Entity returns the entity named name.
func (d *Defs) Entity(name string) (*Entity, bool) {
	e, ok := d.entities[name]
	return e, ok
}

// CanonicalKey returns key value s in the canonical text stores use: an
// int key in decimal without sign or leading zeros ("+007" is "7"), a
// string key unchanged. An int key that is not an int64 is an error, and
// so is a string key CheckKey refuses (empty, longer than MaxKeyBytes, a
// control byte, not UTF-8). Every path that takes a key from outside
// (push, the stream, materialize, Service.Get) goes through it.
func (e *Entity) CanonicalKey(s string) (string, error) {
	if e.KeyType != KeyInt {
		if err := CheckKey(s); err != nil {
			return "", fmt.Errorf("entity %s: %s %v", e.Name, e.JoinKey, err)
		}
		return s, nil
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return "", fmt.Errorf("entity %s: %s %s is not an int64", e.Name, e.JoinKey, quoteShort(s))
	}
	return strconv.FormatInt(n, 10), nil
}

// View returns the view named name.
func (d *Defs) View(name string) (*View, bool) {
	v, ok := d.views[name]
	return v, ok
}

// Index returns the position of feature name in v.Features, or -1.
func (v *View) Index(name string) int {
	if i, ok := v.index[name]; ok {
		return i
	}
	return -1
}

// LoadDefs reads and parses the definitions file at path.
func LoadDefs(path string) (*Defs, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("load feature definitions: %w", err)
	}
	return ParseDefs(data, path)
}

// nameRE is what entity, view and feature names look like; it keeps 0x00
// (the store key separator) and whitespace out.
var nameRE = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_.\-]*$`)

// ParseDefs parses a definitions document; file names it in errors. The
// format:
//
//	entities:
//	  - name: user
//	    join_key: user_id
//	    key_type: string        # or int
//	feature_views:
//	  - name: user_stats
//	    entity: user
//	    ttl: 24h                # a Go duration, > 0
//	    source: user_stats.csv  # optional: the offline history file
//	    features:
//	      - name: clicks_7d
//	        type: float         # float, int or categorical
//	        default: 0          # optional; missing (NaN) if absent
//
// Parsing is strict: an unknown key, a duplicate name, a view naming an
// unknown entity, a bad TTL or type is an error naming file, line and field.
func ParseDefs(data []byte, file string) (*Defs, error) {
	p := &defsParser{yamlx.Parser{File: file}}
	d, err := p.parse(data)
	if err != nil {
		return nil, err
	}
	return d, nil
}

type defsParser struct{ yamlx.Parser }

func (p *defsParser) parse(data []byte) (*Defs, error) {
	root, err := p.Root(data, "definitions file")
	if err != nil {
		return nil, err
	}
	d := &Defs{entities: map[string]*Entity{}, views: map[string]*View{}}
	var entNode, viewNode *yaml.Node
	err = p.Mapping(root, "definitions", func(key string, k, v *yaml.Node) error {
		switch key {
		case "entities":
			entNode = v
		case "feature_views":
			viewNode = v
		default:
			return p.ErrAt(k, key, "unknown key (want entities or feature_views)")
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if entNode != nil {
		if err := p.Sequence(entNode, "entities", func(path string, n *yaml.Node) error {
			e, err := p.entity(n, path)
			if err != nil {
				return err
			}
			if _, dup := d.entities[e.Name]; dup {
				return p.ErrAt(n, path+".name", "duplicate entity %q", e.Name)
			}
			d.entities[e.Name] = e
			d.Entities = append(d.Entities, e)
			return nil
		}); err != nil {
			return nil, err
		}
	}
	if viewNode != nil {
		if err := p.Sequence(viewNode, "feature_views", func(path string, n *yaml.Node) error {
			v, err := p.view(n, path, d)
			if err != nil {
				return err
			}
			if _, dup := d.views[v.Name]; dup {
				return p.ErrAt(n, path+".name", "duplicate feature view %q", v.Name)
			}
			d.views[v.Name] = v
			d.Views = append(d.Views, v)
			return nil
		}); err != nil {
			return nil, err
		}
	}
	return d, nil
}

func (p *defsParser) name(n *yaml.Node, path string) (string, error) {
	s, err := p.Scalar(n, path)
	if err != nil {
		return "", err
	}
	if !nameRE.MatchString(s) {
		return "", p.ErrAt(n, path, "bad name %q (want a letter or _ then letters, digits, _ . -)", s)
	}
	return s, nil
}

// required reports the first of fields that was not set.
func (p *defsParser) required(n *yaml.Node, path string, set map[string]bool, fields ...string) error {
	for _, f := range fields {
		if !set[f] {
			return p.ErrAt(n, path, "missing %s", f)
		}
	}
	return nil
}

func (p *defsParser) entity(n *yaml.Node, path string) (*Entity, error) {
	e := &Entity{}
	set := map[string]bool{}
	err := p.Mapping(n, path, func(key string, k, v *yaml.Node) error {
		fp := path + "." + key
		var err error
		switch key {
		case "name":
			e.Name, err = p.name(v, fp)
		case "join_key":
			e.JoinKey, err = p.name(v, fp)
		case "key_type":
			var s string
			if s, err = p.Scalar(v, fp); err == nil {
				switch KeyType(s) {
				case KeyString, KeyInt:
					e.KeyType = KeyType(s)
				default:
					err = p.ErrAt(v, fp, "bad key type %q (want string or int)", s)
				}
			}
		default:
			err = p.ErrAt(k, fp, "unknown key (want name, join_key, key_type)")
		}
		set[key] = true
		return err
	})
	if err != nil {
		return nil, err
	}
	if err := p.required(n, path, set, "name", "join_key", "key_type"); err != nil {
		return nil, err
	}
	return e, nil
}

func (p *defsParser) view(n *yaml.Node, path string, d *Defs) (*View, error) {
	v := &View{index: map[string]int{}}
	set := map[string]bool{}
	err := p.Mapping(n, path, func(key string, k, c *yaml.Node) error {
		fp := path + "." + key
		var err error
		switch key {
		case "name":
			v.Name, err = p.name(c, fp)
		case "entity":
			var s string
			if s, err = p.Scalar(c, fp); err == nil {
				e, ok := d.entities[s]
				if !ok {
					return p.ErrAt(c, fp, "unknown entity %q", s)
				}
				v.Entity = e
			}
		case "ttl":
			var s string
			if s, err = p.Scalar(c, fp); err == nil {
				ttl, perr := time.ParseDuration(s)
				switch {
				case perr != nil:
					err = p.ErrAt(c, fp, "bad TTL %q (want a duration such as 24h or 90m)", s)
				case ttl <= 0:
					err = p.ErrAt(c, fp, "TTL %s is not positive", s)
				default:
					v.TTL = ttl
				}
			}
		case "source":
			v.Source, err = p.Scalar(c, fp)
		case "features":
			err = p.Sequence(c, fp, func(path string, fn *yaml.Node) error {
				f, err := p.feature(fn, path)
				if err != nil {
					return err
				}
				if _, dup := v.index[f.Name]; dup {
					return p.ErrAt(fn, path+".name", "duplicate feature %q", f.Name)
				}
				v.index[f.Name] = len(v.Features)
				v.Features = append(v.Features, f)
				return nil
			})
			if err == nil && len(v.Features) == 0 {
				err = p.ErrAt(c, fp, "no features")
			}
		default:
			err = p.ErrAt(k, fp, "unknown key (want name, entity, ttl, source, features)")
		}
		set[key] = true
		return err
	})
	if err != nil {
		return nil, err
	}
	if err := p.required(n, path, set, "name", "entity", "ttl", "features"); err != nil {
		return nil, err
	}
	return v, nil
}

func (p *defsParser) feature(n *yaml.Node, path string) (Feature, error) {
	f := Feature{Default: math.NaN()}
	set := map[string]bool{}
	err := p.Mapping(n, path, func(key string, k, c *yaml.Node) error {
		fp := path + "." + key
		var err error
		switch key {
		case "name":
			f.Name, err = p.name(c, fp)
		case "type":
			var s string
			if s, err = p.Scalar(c, fp); err == nil {
				switch FeatureType(s) {
				case Float, Int, Categorical:
					f.Type = FeatureType(s)
				default:
					err = p.ErrAt(c, fp, "bad type %q (want float, int or categorical)", s)
				}
			}
		case "default":
			if c.Kind != yaml.ScalarNode || (c.Tag != "!!int" && c.Tag != "!!float") {
				return p.ErrAt(c, fp, "default %q is not a number", c.Value)
			}
			if derr := c.Decode(&f.Default); derr != nil {
				err = p.ErrAt(c, fp, "default %q is not a number", c.Value)
			}
		default:
			err = p.ErrAt(k, fp, "unknown key (want name, type, default)")
		}
		set[key] = true
		return err
	})
	if err != nil {
		return Feature{}, err
	}
	if err := p.required(n, path, set, "name", "type"); err != nil {
		return Feature{}, err
	}
	return f, nil
}
