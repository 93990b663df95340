// Package yamlx reads hand-edited YAML files strictly, for the parsers of
// files people keep in git (feature definitions, data contracts): exactly
// one document, mappings without duplicate or non-scalar keys, and every
// error naming the file, the line and the field path
// ("defs.yaml:12: feature_views[0].ttl: ..."). It holds no state beyond the
// file name and is safe for concurrent use.
package yamlx

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strconv"

	"go.yaml.in/yaml/v3"
)

// Parser reads one file's nodes; File names it in errors.
type Parser struct{ File string }

// Root decodes data, which must hold exactly one YAML document, and returns
// its top node. what names the kind of file in the error for an empty one
// ("empty contract file").
func (p Parser) Root(data []byte, what string) (*yaml.Node, error) {
	var doc yaml.Node
	dec := yaml.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("%s: empty %s", p.File, what)
		}
		return nil, fmt.Errorf("%s: %v", p.File, err)
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); !errors.Is(err, io.EOF) {
		if err != nil {
			return nil, fmt.Errorf("%s: %v", p.File, err)
		}
		return nil, p.ErrAt(&extra, "document", "more than one YAML document")
	}
	if doc.Kind != yaml.DocumentNode || len(doc.Content) != 1 {
		return nil, fmt.Errorf("%s: not a YAML document", p.File)
	}
	return doc.Content[0], nil
}

// ErrAt is an error at node n's line in field path.
func (p Parser) ErrAt(n *yaml.Node, path, format string, args ...any) error {
	return fmt.Errorf("%s:%d: %s: %s", p.File, n.Line, path, fmt.Sprintf(format, args...))
}

// Mapping calls f for each key of mapping n, in order, refusing duplicate
// and non-scalar keys; f's first error stops it.
func (p Parser) Mapping(n *yaml.Node, path string, f func(key string, k, v *yaml.Node) error) error {
	if n.Kind != yaml.MappingNode {
		return p.ErrAt(n, path, "want a mapping, got %s", KindName(n))
	}
	seen := map[string]bool{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if k.Kind != yaml.ScalarNode {
			return p.ErrAt(k, path, "want a scalar key, got %s", KindName(k))
		}
		if seen[k.Value] {
			return p.ErrAt(k, path+"."+k.Value, "duplicate key")
		}
		seen[k.Value] = true
		if err := f(k.Value, k, v); err != nil {
			return err
		}
	}
	return nil
}

// Sequence calls f for each element of list n with its path
// ("columns[3]"); f's first error stops it.
func (p Parser) Sequence(n *yaml.Node, path string, f func(path string, n *yaml.Node) error) error {
	if n.Kind != yaml.SequenceNode {
		return p.ErrAt(n, path, "want a list, got %s", KindName(n))
	}
	for i, c := range n.Content {
		if err := f(path+"["+strconv.Itoa(i)+"]", c); err != nil {
			return err
		}
	}
	return nil
}

// Scalar returns the text of scalar node n.
func (p Parser) Scalar(n *yaml.Node, path string) (string, error) {
	if n.Kind != yaml.ScalarNode {
		return "", p.ErrAt(n, path, "want a scalar, got %s", KindName(n))
	}
	return n.Value, nil
}

// KindName describes n for an error: a scalar quoted (cut at 64 bytes),
// else its kind ("a mapping", "a list").
func KindName(n *yaml.Node) string {
	switch n.Kind {
	case yaml.ScalarNode:
		s := n.Value
		if len(s) > 64 {
			s = s[:64] + "..."
		}
		return fmt.Sprintf("scalar %q", s)
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
