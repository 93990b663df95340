package contract

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strconv"

	"go.yaml.in/yaml/v3"
)

// Write returns c as YAML that Parse reads back to an equal Contract:
// fields in a fixed order (unexpected_columns, then each column's name,
// type, required, max_missing, min, max, categories, profile, threshold),
// lists of numbers on one line, numbers in the shortest form that reads
// back exactly, and comments saying what each field means, for the person
// who edits and reviews the file. header, if not empty, is a comment put at
// the top (one "# " line per line of it).
func Write(c *Contract, header string) ([]byte, error) {
	if err := c.Check(); err != nil {
		return nil, fmt.Errorf("contract: %v", err)
	}
	pol := c.UnexpectedColumns
	if pol == "" {
		pol = UnexpectedError
	}
	root := &yaml.Node{Kind: yaml.MappingNode}
	if header != "" {
		root.HeadComment = header
	}
	add(root, "unexpected_columns", str(string(pol)), "error: a column not listed here is an anomaly; ignore: it is not checked")
	cols := &yaml.Node{Kind: yaml.SequenceNode}
	add(root, "columns", cols, "")
	for i := range c.Columns {
		cols.Content = append(cols.Content, columnNode(&c.Columns[i]))
	}
	var b bytes.Buffer
	enc := yaml.NewEncoder(&b)
	enc.SetIndent(2)
	if err := enc.Encode(&yaml.Node{Kind: yaml.DocumentNode, Content: []*yaml.Node{root}}); err != nil {
		return nil, fmt.Errorf("contract: %v", err)
	}
	if err := enc.Close(); err != nil {
		return nil, fmt.Errorf("contract: %v", err)
	}
	return b.Bytes(), nil
}

// WriteFile writes c to path through a temporary file in the same folder,
// renamed over path once complete, so a reader never sees half a contract.
func WriteFile(path string, c *Contract, header string) error {
	data, err := Write(c, header)
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return fmt.Errorf("contract: %w", err)
	}
	_, err = tmp.Write(data)
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Chmod(tmp.Name(), 0o644)
	}
	if err == nil {
		err = os.Rename(tmp.Name(), path)
	}
	if err != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("contract: write %s: %w", path, err)
	}
	return nil
}

func columnNode(col *Column) *yaml.Node {
	n := &yaml.Node{Kind: yaml.MappingNode}
	add(n, "name", str(col.Name), "")
	add(n, "type", str(string(col.Type)), "")
	add(n, "required", &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!bool", Value: strconv.FormatBool(col.Required)}, "")
	mm := "no missing value allowed"
	if col.MaxMissing > 0 {
		mm = "highest share of missing values allowed"
	}
	add(n, "max_missing", num(col.MaxMissing), mm)
	if col.Min != nil {
		add(n, "min", num(*col.Min), "")
	}
	if col.Max != nil {
		add(n, "max", num(*col.Max), "")
	}
	if col.Categories != nil {
		add(n, "categories", strs(col.Categories), "every allowed value")
	}
	if p := col.Profile; p != nil {
		pn := &yaml.Node{Kind: yaml.MappingNode}
		if p.Categorical() {
			add(pn, "values", strs(p.Values), "the most frequent values")
			add(pn, "proportions", nums(p.Proportions), "share of the non-missing values, per value")
			add(pn, "other", num(p.Other), "share of every other value")
		} else {
			add(pn, "edges", nums(p.Edges), "bins: below the first edge, between edges (left-closed), from the last")
			add(pn, "proportions", nums(p.Proportions), "share of the non-missing values, per bin")
		}
		add(n, "profile", pn, "")
		if p.Categorical() {
			add(n, "l_infinity_max", num(col.SkewThreshold()), "largest L-infinity distance from the profile (or a baseline file)")
		} else {
			add(n, "jensen_shannon_max", num(col.SkewThreshold()), "largest Jensen-Shannon distance (base 2) from the profile (or a baseline file)")
		}
	}
	return n
}

func add(m *yaml.Node, key string, v *yaml.Node, comment string) {
	k := str(key)
	if comment != "" {
		if v.Kind == yaml.ScalarNode || v.Style == yaml.FlowStyle {
			v.LineComment = comment
		} else {
			k.LineComment = comment
		}
	}
	m.Content = append(m.Content, k, v)
}

func str(s string) *yaml.Node { return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: s} }

// num is x in the shortest form that reads back exactly, plain: an int
// when it looks like one.
func num(x float64) *yaml.Node {
	v := strconv.FormatFloat(x, 'g', -1, 64)
	tag := "!!float"
	if _, err := strconv.ParseInt(v, 10, 64); err == nil {
		tag = "!!int"
	}
	return &yaml.Node{Kind: yaml.ScalarNode, Tag: tag, Value: v}
}

func nums(xs []float64) *yaml.Node {
	n := &yaml.Node{Kind: yaml.SequenceNode, Style: yaml.FlowStyle, Content: []*yaml.Node{}}
	for _, x := range xs {
		n.Content = append(n.Content, num(x))
	}
	return n
}

func strs(ss []string) *yaml.Node {
	n := &yaml.Node{Kind: yaml.SequenceNode, Style: yaml.FlowStyle, Content: []*yaml.Node{}}
	for _, s := range ss {
		n.Content = append(n.Content, str(s))
	}
	return n
}
