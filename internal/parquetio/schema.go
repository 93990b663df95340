package parquetio

import (
	"fmt"
	"reflect"
	"strings"

	"github.com/parquet-go/parquet-go"
)

// OrderedSchema is the schema of a file written as parquet.Row values:
// column i is named names[i] and has type nodes[i], in that order.
// parquet.Group, the schema parquet-go builds from a map of columns, sorts
// them by name, which would put prob_10 before prob_2 and a training set's
// label among its features. names and nodes have the same length.
func OrderedSchema(name string, names []string, nodes []parquet.Node) *parquet.Schema {
	g := &orderedGroup{name: name}
	sf := make([]reflect.StructField, len(names))
	for i, n := range names {
		g.fields = append(g.fields, &orderedField{Node: nodes[i], name: n, index: i})
		sf[i] = reflect.StructField{Name: fmt.Sprintf("F%d", i), Type: nodes[i].GoType()}
	}
	g.goType = reflect.StructOf(sf)
	return parquet.NewSchema(name, g)
}

// orderedGroup is a group whose fields keep their order.
type orderedGroup struct {
	parquet.Group // the methods every group shares; the rest are below
	name          string
	fields        []parquet.Field
	goType        reflect.Type
}

type orderedField struct {
	parquet.Node
	name  string
	index int
}

func (f *orderedField) Name() string { return f.name }

// Value returns the field of a struct of the group's GoType.
func (f *orderedField) Value(base reflect.Value) reflect.Value { return base.Field(f.index) }

func (g *orderedGroup) Fields() []parquet.Field { return g.fields }
func (g *orderedGroup) GoType() reflect.Type    { return g.goType }
func (g *orderedGroup) String() string {
	var b strings.Builder
	b.WriteString("group " + g.name + " {")
	for _, f := range g.fields {
		b.WriteString(" " + f.Name() + ";")
	}
	return b.String() + " }"
}
