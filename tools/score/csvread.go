package score

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/predictd/predictd/model"
)

// maxRecordBytes bounds one CSV record (a line, or the lines of a record with
// quoted newlines), so that a file without newlines or with an unclosed quote
// fails instead of being read whole into memory.
const maxRecordBytes = 16 << 20

// maxBatchText ends a batch early once its cells hold this many bytes, which
// bounds a chunk's text for very wide rows and keeps cell offsets in int32.
const maxBatchText = 32 << 20

// CSVReader reads feature rows from CSV text whose first line is a header
// naming the columns. Columns are matched to the model's features by name, in
// any order; columns the model does not use are ignored. The text follows
// encoding/csv: comma-separated, double quotes around fields that hold commas,
// quotes or newlines, LF or CRLF line ends, blank lines skipped. A leading
// UTF-8 byte order mark is skipped, and spaces around header names and cells
// are ignored.
//
// A cell that is empty, NA, NaN, nan, N/A or null is a missing value (NaN);
// any other cell must be a number as strconv.ParseFloat reads it (inf and -inf
// included; a number too large for float64 reads as ±Inf).
//
// A CSVReader is not safe for concurrent use.
type CSVReader struct {
	name     string
	features []model.Feature

	br      *bufio.Reader
	line    int   // physical lines consumed; the last line read is number line
	ncols   int   // fields per record, from the header
	cols    []int // header column -> feature index, or -1 if unused
	featCol []int // feature index -> header column
	cells   []span
	long    []byte // a line longer than br's buffer, assembled

	// Records that hold a double quote go to encoding/csv, fed one line at a
	// time so that it never reads past the record; see readQuoted.
	feed   lineFeeder
	quoted *csv.Reader

	err   error // sticky: io.EOF or the first error
	batch textBatch
	// rules, when set, are the server's rules a value must pass
	// (OpenModelInput); nil: any number, NaN for a missing cell.
	rules    *rowRules
	forceCSV bool // tests and benchmarks: parse every record with encoding/csv
}

// span is a cell's byte range in the current line.
type span struct{ start, end int }

// textBatch holds up to a chunk of rows as text: the cells the model uses,
// row-major in feature order, so that a worker can parse them in parallel
// with the reader splitting the next batch.
type textBatch struct {
	rows  int
	text  []byte
	ends  []int32 // ends[i] is the end offset in text of cell i
	lines []int   // physical line of each row
	// multi records cells that start on a later line than their row (after
	// a quoted newline), for error messages.
	multi []cellLine
	// err is what stopped the batch before it was full: io.EOF or an error
	// that comes after the batch's rows.
	err error
}

type cellLine struct{ cell, line int }

func (b *textBatch) reset() {
	b.rows = 0
	b.text = b.text[:0]
	b.ends = b.ends[:0]
	b.lines = b.lines[:0]
	b.multi = b.multi[:0]
	b.err = nil
}

var utf8BOM = []byte{0xEF, 0xBB, 0xBF}

// NewCSVReader reads the header from in and maps its columns to features.
// name is the file name used in error messages. It reports a header that
// repeats a name, and lists every feature the header lacks:
//
//	input.csv: missing columns the model needs: income, age
func NewCSVReader(in io.Reader, name string, features []model.Feature) (*CSVReader, error) {
	return newCSVReader(in, name, features, false)
}

// newCSVReader is NewCSVReader with the choice, for tests and benchmarks, to
// parse every record with encoding/csv instead of the fast path.
func newCSVReader(in io.Reader, name string, features []model.Feature, forceCSV bool) (*CSVReader, error) {
	if err := checkFeatures(name, features); err != nil {
		return nil, err
	}
	r := &CSVReader{
		name:     name,
		features: features,
		br:       bufio.NewReaderSize(in, 64<<10),
		cells:    make([]span, len(features)),
		forceCSV: forceCSV,
	}
	r.feed.r = r
	r.quoted = csv.NewReader(&r.feed)
	r.quoted.FieldsPerRecord = -1 // counted here, for both paths alike
	r.quoted.ReuseRecord = true
	if b, err := r.br.Peek(len(utf8BOM)); err == nil && bytes.Equal(b, utf8BOM) {
		r.br.Discard(len(utf8BOM))
	}
	if err := r.readHeader(); err != nil {
		return nil, err
	}
	return r, nil
}

func (r *CSVReader) readHeader() error {
	line, err := r.nextLine()
	if err == io.EOF {
		return fmt.Errorf("%s: empty file: want a header line naming the columns", r.name)
	}
	if err != nil {
		return err
	}
	headerLine := r.line
	var names []string
	if bytes.IndexByte(line, '"') >= 0 || r.forceCSV {
		rec, err := r.readQuoted(line)
		if err != nil {
			return err
		}
		names = slices.Clone(rec)
	} else {
		for f := range bytes.SplitSeq(trimNewline(line), []byte{','}) {
			names = append(names, string(f))
		}
	}
	for i := range names {
		names[i] = strings.Trim(names[i], " \t")
	}
	if dups := duplicateColumns(names); dups != "" {
		return fmt.Errorf("%s:%d: the header names these columns more than once: %s", r.name, headerLine, dups)
	}
	index := make(map[string]int, len(names))
	for i, n := range names {
		index[n] = i
	}
	r.ncols = len(names)
	r.cols = make([]int, len(names))
	for i := range r.cols {
		r.cols[i] = -1
	}
	r.featCol = make([]int, len(r.features))
	var missing []string
	for f, feat := range r.features {
		i, ok := index[feat.Name]
		if !ok {
			missing = append(missing, feat.Name)
			continue
		}
		r.cols[i] = f
		r.featCol[f] = i
	}
	if len(missing) > 0 {
		return missingColumns(r.name, missing)
	}
	return nil
}

// checkFeatures reports a feature list a reader cannot map columns to.
func checkFeatures(name string, features []model.Feature) error {
	if len(features) == 0 {
		return fmt.Errorf("%s: the model has no features to read", name)
	}
	seen := make(map[string]bool, len(features))
	for _, f := range features {
		if seen[f.Name] {
			return fmt.Errorf("%s: the model lists feature %q twice", name, f.Name)
		}
		seen[f.Name] = true
	}
	return nil
}

// missingColumns is the error for features the input lacks, shared by the
// CSV and Parquet readers.
func missingColumns(name string, missing []string) error {
	return fmt.Errorf("%s: missing columns the model needs: %s", name, strings.Join(missing, ", "))
}

// duplicateColumns lists the names given more than once, each quoted with
// its positions counted from 1, in order of first appearance:
// "a" (columns 1, 4 and 6), "b" (columns 3 and 5); "" when there are none.
func duplicateColumns(names []string) string {
	pos := make(map[string][]int, len(names))
	var order []string
	for i, n := range names {
		if len(pos[n]) == 1 {
			order = append(order, n)
		}
		pos[n] = append(pos[n], i+1)
	}
	q := make([]string, len(order))
	for i, n := range order {
		p := pos[n]
		var b strings.Builder
		for j, c := range p {
			switch {
			case j == 0:
			case j == len(p)-1:
				b.WriteString(" and ")
			default:
				b.WriteString(", ")
			}
			b.WriteString(strconv.Itoa(c))
		}
		q[i] = fmt.Sprintf("%s (columns %s)", strconv.Quote(n), b.String())
	}
	return strings.Join(q, ", ")
}

func quoteList(names []string) string {
	q := make([]string, len(names))
	for i, n := range names {
		q[i] = strconv.Quote(n)
	}
	return strings.Join(q, ", ")
}

// Read stores up to len(dst)/len(features) rows in dst, row-major in the
// model's feature order, and returns how many it stored. Like io.Reader, it
// may return rows together with an error; err is io.EOF after the last row,
// and the rows before an error are valid.
func (r *CSVReader) Read(dst []float64) (int, error) {
	maxRows := len(dst) / len(r.features)
	if maxRows == 0 {
		return 0, io.ErrShortBuffer
	}
	r.readBatch(&r.batch, maxRows)
	n, err := r.decode(dst, &r.batch)
	if err != nil {
		r.err = err
		return n, err
	}
	return n, r.batch.err
}

// readBatch splits up to maxRows records into b. It does not parse numbers;
// decode does, and may run on another goroutine.
func (r *CSVReader) readBatch(b *textBatch, maxRows int) {
	b.reset()
	for b.rows < maxRows && len(b.text) < maxBatchText {
		if r.err == nil {
			r.err = r.appendRow(b)
		}
		if r.err != nil {
			b.err = r.err
			return
		}
	}
}

// appendRow reads the next record and appends the cells the model uses to b.
// It appends nothing when it fails.
func (r *CSVReader) appendRow(b *textBatch) error {
	line, err := r.nextLine()
	if err != nil {
		return err
	}
	if r.forceCSV || bytes.IndexByte(line, '"') >= 0 {
		return r.appendQuoted(b, line)
	}
	// The fast path: a line without quotes is split on commas exactly as
	// encoding/csv would split it, without making a string of it. The split
	// is Score's one serial stage; BenchmarkCSVSplit measured it at 7.7M
	// rows/s against 2.5M for encoding/csv, with no allocation per row
	// against one (numbers beside BenchmarkCSVReader). FuzzCSVReader checks
	// that both paths agree with encoding/csv.
	content := trimNewline(line)
	k, start := 0, 0
	for {
		end := len(content)
		i := bytes.IndexByte(content[start:], ',')
		if i >= 0 {
			end = start + i
		}
		if k < r.ncols {
			if f := r.cols[k]; f >= 0 {
				r.cells[f] = span{start, end}
			}
		}
		k++
		if i < 0 {
			break
		}
		start = end + 1
	}
	if k != r.ncols {
		return r.fieldCountError(r.line, k)
	}
	for _, c := range r.cells {
		b.text = append(b.text, content[c.start:c.end]...)
		b.ends = append(b.ends, int32(len(b.text)))
	}
	b.lines = append(b.lines, r.line)
	b.rows++
	return nil
}

func (r *CSVReader) appendQuoted(b *textBatch, first []byte) error {
	start := r.line
	rec, err := r.readQuoted(first)
	if err != nil {
		return err
	}
	if len(rec) != r.ncols {
		return r.fieldCountError(start, len(rec))
	}
	line0, _ := r.quoted.FieldPos(0)
	base := b.rows * len(r.features)
	for f, col := range r.featCol {
		if l, _ := r.quoted.FieldPos(col); l != line0 {
			b.multi = append(b.multi, cellLine{cell: base + f, line: start + l - line0})
		}
		b.text = append(b.text, rec[col]...)
		b.ends = append(b.ends, int32(len(b.text)))
	}
	b.lines = append(b.lines, start)
	b.rows++
	return nil
}

func (r *CSVReader) fieldCountError(line, got int) error {
	return fmt.Errorf("%s:%d: row has %d fields, the header has %d", r.name, line, got, r.ncols)
}

// nextLine returns the next line that is not blank, its newline included,
// counting every line it passes. The slice is valid until the next read.
func (r *CSVReader) nextLine() ([]byte, error) {
	for {
		line, err := r.readLine()
		if err != nil {
			return nil, err
		}
		if len(trimNewline(line)) > 0 {
			return line, nil
		}
	}
}

func (r *CSVReader) readLine() ([]byte, error) {
	line, err := r.br.ReadSlice('\n')
	if err == bufio.ErrBufferFull {
		r.long = append(r.long[:0], line...)
		for err == bufio.ErrBufferFull && len(r.long) <= maxRecordBytes {
			line, err = r.br.ReadSlice('\n')
			r.long = append(r.long, line...)
		}
		if len(r.long) > maxRecordBytes {
			return nil, fmt.Errorf("%s:%d: line is longer than %d bytes", r.name, r.line+1, maxRecordBytes)
		}
		line = r.long
	}
	if err != nil && err != io.EOF {
		return nil, fmt.Errorf("read %s: %w", r.name, err)
	}
	if len(line) == 0 {
		return nil, io.EOF
	}
	r.line++
	return line, nil
}

// trimNewline drops a line's end as encoding/csv does: "\n" or "\r\n", or a
// lone "\r" before the end of the file.
func trimNewline(line []byte) []byte {
	if n := len(line); n > 0 && line[n-1] == '\n' {
		line = line[:n-1]
	}
	if n := len(line); n > 0 && line[n-1] == '\r' {
		line = line[:n-1]
	}
	return line
}

// readQuoted parses the record that starts with line using encoding/csv,
// which reads any further lines of the record through r.feed. The fields are
// valid until the next call; r.quoted.FieldPos gives their positions, in
// lines counted from the start of the record.
func (r *CSVReader) readQuoted(first []byte) ([]string, error) {
	start := r.line
	r.feed.begin(first)
	rec, err := r.quoted.Read()
	if err != nil {
		var pe *csv.ParseError
		switch {
		case errors.As(err, &pe):
			return nil, fmt.Errorf("%s:%d:%d: %v", r.name, start+pe.Line-pe.StartLine, pe.Column, pe.Err)
		case errors.Is(err, errRecordTooLong):
			return nil, fmt.Errorf("%s:%d: record is longer than %d bytes (is a quote left open?)", r.name, start, maxRecordBytes)
		case err == io.EOF:
			return nil, fmt.Errorf("BUG: encoding/csv read nothing from line %d", start)
		}
		return nil, fmt.Errorf("read %s: %w", r.name, err)
	}
	return rec, nil
}

var errRecordTooLong = errors.New("record too long")

// lineFeeder hands encoding/csv the lines of one record: first the line the
// CSVReader already read, then further lines from its bufio.Reader on
// demand, never more than one line per Read. encoding/csv's own buffer is
// therefore empty whenever it returns a record, and the fast path can go on
// reading from the shared bufio.Reader.
type lineFeeder struct {
	r       *CSVReader
	pending []byte
	off     int
	atStart bool // the bytes handed over so far end a line
	bytes   int  // bytes handed over for the current record
	err     error
}

func (f *lineFeeder) begin(first []byte) {
	f.pending = append(f.pending[:0], first...)
	f.off = 0
	f.atStart = first[len(first)-1] == '\n'
	f.bytes = 0
	f.err = nil
}

func (f *lineFeeder) Read(p []byte) (int, error) {
	if f.off == len(f.pending) {
		if f.err != nil {
			return 0, f.err
		}
		if f.bytes > maxRecordBytes {
			return 0, errRecordTooLong
		}
		line, err := f.r.br.ReadSlice('\n')
		if err != nil && err != bufio.ErrBufferFull {
			f.err = err
		}
		if len(line) == 0 {
			return 0, f.err
		}
		if f.atStart {
			f.r.line++
		}
		f.atStart = line[len(line)-1] == '\n'
		f.pending = append(f.pending[:0], line...)
		f.off = 0
	}
	n := copy(p, f.pending[f.off:])
	f.off += n
	f.bytes += n
	return n, nil
}

// decode parses the cells of b into dst and returns the number of rows it
// stored; on a cell that is not a number it returns the rows before it and
// an error naming the line and column. It is safe to call concurrently for
// different batches.
func (r *CSVReader) decode(dst []float64, b *textBatch) (int, error) {
	start := int32(0)
	for i, end := range b.ends {
		v, ok := parseCell(b.text[start:end])
		if !ok {
			return i / len(r.features), r.cellError(b, i, b.text[start:end])
		}
		if r.rules != nil && !r.rules.ok(v, i%len(r.features)) {
			return i / len(r.features), r.rules.check(v, i%len(r.features), r.cellWhere(b, i), strings.Trim(string(b.text[start:end]), " \t"))
		}
		dst[i] = v
		start = end
	}
	return b.rows, nil
}

// cellWhere is "file:line" of cell i of b.
func (r *CSVReader) cellWhere(b *textBatch, i int) string {
	line := b.lines[i/len(r.features)]
	for _, m := range b.multi {
		if m.cell == i {
			line = m.line
		}
	}
	return r.name + ":" + strconv.Itoa(line)
}

func (r *CSVReader) cellError(b *textBatch, i int, cell []byte) error {
	nf := len(r.features)
	const maxShown = 40
	s := string(cell)
	if len(s) > maxShown {
		s = s[:maxShown] + "..."
	}
	return fmt.Errorf("%s: column %q: %q is not a number", r.cellWhere(b, i), r.features[i%nf].Name, s)
}

// parseCell reads one cell: a missing marker is NaN, anything else must be a
// number. Surrounding spaces and tabs are ignored.
func parseCell(s []byte) (float64, bool) {
	for len(s) > 0 && (s[0] == ' ' || s[0] == '\t') {
		s = s[1:]
	}
	for len(s) > 0 && (s[len(s)-1] == ' ' || s[len(s)-1] == '\t') {
		s = s[:len(s)-1]
	}
	if len(s) == 0 {
		return math.NaN(), true
	}
	if c := s[0]; c == 'N' || c == 'n' {
		switch string(s) {
		case "NA", "NaN", "nan", "N/A", "null":
			return math.NaN(), true
		}
	}
	// The conversion does not allocate for short cells: ParseFloat does not
	// keep its argument, so the string lives on the stack.
	v, err := strconv.ParseFloat(string(s), 64)
	if err != nil {
		// Out of range: keep ParseFloat's ±Inf (or 0 for underflow).
		ne, ok := err.(*strconv.NumError)
		return v, ok && ne.Err == strconv.ErrRange
	}
	return v, true
}

func (r *CSVReader) numFeatures() int { return len(r.features) }
