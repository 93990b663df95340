package table

import (
	"bufio"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strings"
)

type csvReader struct {
	path     string
	maxBytes int
	cr       *csv.Reader
}

// openCSV reads the header: every column is a String.
func openCSV(r io.Reader, path string, maxBytes int) (*csvReader, []colMeta, error) {
	// 64 KiB reads from the file: encoding/csv's own buffer is 4 KiB, and
	// the limiter sits below it.
	cr := csv.NewReader(LimitRecords(bufio.NewReaderSize(r, 64<<10), maxBytes))
	cr.ReuseRecord = true
	c := &csvReader{path: path, maxBytes: maxBytes, cr: cr}
	header, err := cr.Read()
	if err == io.EOF {
		return nil, nil, fmt.Errorf("%s: empty file, want a header row naming the columns", path)
	}
	if err != nil {
		return nil, nil, c.wrap(err, 0)
	}
	meta := make([]colMeta, len(header))
	for i, h := range header {
		if i == 0 {
			h = strings.TrimPrefix(h, "\ufeff") // a UTF-8 byte order mark
		}
		meta[i] = colMeta{name: strings.TrimSpace(h), typ: String}
	}
	return c, meta, nil
}

// wrap names the file and line in err; fields is the length of the
// record read with it.
func (c *csvReader) wrap(err error, fields int) error {
	var tl *RecordTooLongError
	if errors.As(err, &tl) {
		return fmt.Errorf("%s:%d: record longer than %d bytes (Options.MaxRecordBytes): refused before reading it whole", c.path, tl.Line, c.maxBytes)
	}
	var pe *csv.ParseError
	if errors.As(err, &pe) {
		if errors.Is(pe.Err, csv.ErrFieldCount) {
			return fmt.Errorf("%s:%d: a record of %d fields, want %d (one per column of the header)", c.path, pe.StartLine, fields, c.cr.FieldsPerRecord)
		}
		return fmt.Errorf("%s:%d: byte %d of the line: %v", c.path, pe.Line, pe.Column, pe.Err)
	}
	return fmt.Errorf("%s: %w", c.path, err)
}

func (c *csvReader) next(ch *Chunk, maxRows int) error {
	for ch.n < maxRows {
		rec, err := c.cr.Read()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return c.wrap(err, len(rec))
		}
		ch.lines[ch.n], _ = c.cr.FieldPos(0)
		for j, s := range rec {
			ch.text[j][ch.n] = s
		}
		ch.n++
	}
	return nil
}
