package score

import (
	"fmt"
	"io"
	"strings"

	"github.com/predictd/predictd/internal/table"
)

// keepBatch holds the kept cells (Options.Keep) of a chunk's rows as text,
// row-major, len(Keep) cells a row.
type keepBatch struct {
	cells []string
}

// keepReader reads the Options.Keep columns of the input file with
// internal/table, in step with the RowReader that reads the features: a
// second pass over the same file, row for row, so that every reader
// (CSV, Parquet, a transformed version's raw rows) carries ids through
// without knowing of them. It costs a second read of the file, paid only
// when Keep is set. A cell is kept as table.Chunk.Text gives it: a CSV
// cell as it is in the file, a Parquet value formatted ("" for null).
type keepReader struct {
	t   *table.Reader
	idx []int // Keep[i] is column idx[i] of the file
	c   table.Chunk
	pos int // next row of c
}

// openKeep opens inPath for the columns keep. An unknown column is an
// error naming it and listing the file's columns.
func openKeep(inPath string, keep []string) (*keepReader, error) {
	if inPath == "-" {
		return nil, fmt.Errorf("input -: keep columns (%s) need an input file, read twice; standard input is read once: save the rows to a file and pass its path", quoteList(keep))
	}
	t, err := table.Open(inPath, transformTableOptions)
	if err != nil {
		return nil, err
	}
	k := &keepReader{t: t, idx: make([]int, len(keep))}
	var unknown []string
	for i, name := range keep {
		if k.idx[i] = t.Index(name); k.idx[i] < 0 {
			unknown = append(unknown, name)
		}
	}
	if len(unknown) > 0 {
		t.Close()
		cols := make([]string, len(t.Columns()))
		for i, c := range t.Columns() {
			cols[i] = c.Name
		}
		return nil, fmt.Errorf("%s: no column %s to keep: the file's columns are %s", inPath, quoteList(unknown), quoteList(cols))
	}
	return k, nil
}

// read stores the kept cells of the next rows rows in b.
func (k *keepReader) read(b *keepBatch, rows int) error {
	b.cells = b.cells[:0]
	for got := 0; got < rows; got++ {
		if k.pos == k.c.Len() {
			n, err := k.t.Next(&k.c, max(rows-got, transformChunkRows))
			if err == io.EOF || (err == nil && n == 0) {
				return fmt.Errorf("%s: the file ends after %d rows when reading the kept columns again, the features had more: was it changed while being scored?", k.t.Path(), got)
			}
			if err != nil {
				return err
			}
			k.pos = 0
		}
		for _, col := range k.idx {
			b.cells = append(b.cells, k.c.Text(col, k.pos))
		}
		k.pos++
	}
	return nil
}

func (k *keepReader) Close() error { return k.t.Close() }

// checkKeep reports an empty or repeated Keep name, or one that is also
// an output's name.
func checkKeep(keep, outputs []string) error {
	if err := checkNames("Keep", keep); err != nil {
		return err
	}
	for _, name := range keep {
		for _, o := range outputs {
			if name == o {
				return fmt.Errorf("score options: Keep names %q, an output column too: rename the input column", name)
			}
		}
	}
	return nil
}

// appendCSVField appends s as one CSV field, quoted as encoding/csv quotes
// it: when it holds a comma, a quote, CR or LF, or starts with a space or
// tab.
func appendCSVField(dst []byte, s string) []byte {
	if s == "" || (!strings.ContainsAny(s, ",\"\r\n") && s[0] != ' ' && s[0] != '\t') {
		return append(dst, s...)
	}
	dst = append(dst, '"')
	for i := 0; i < len(s); i++ {
		if s[i] == '"' {
			dst = append(dst, '"')
		}
		dst = append(dst, s[i])
	}
	return append(dst, '"')
}
