package dataset_test

import (
	"context"
	"encoding/csv"
	"io"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/predictd/predictd/featcache"
	"github.com/predictd/predictd/internal/table"
	"github.com/predictd/predictd/tools/dataset"
)

const oracleDir = "../../testdata/dataset"

func loadDefs(t *testing.T) *featcache.Defs {
	t.Helper()
	d, err := featcache.LoadDefs(filepath.Join(oracleDir, "defs.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// build runs Build with the oracle's definitions into a temporary file and
// returns its path.
func build(t *testing.T, opts dataset.Options) (string, dataset.Stats) {
	t.Helper()
	if opts.Defs == nil {
		opts.Defs = loadDefs(t)
	}
	if opts.DefsDir == "" {
		opts.DefsDir = oracleDir
	}
	if opts.Out == "" {
		opts.Out = filepath.Join(t.TempDir(), "train.parquet")
	}
	st, err := dataset.Build(context.Background(), opts)
	if err != nil {
		t.Fatal(err)
	}
	return opts.Out, st
}

// readCSV reads a whole CSV file: its header and rows.
func readCSV(t *testing.T, path string) ([]string, [][]string) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	recs, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	return recs[0], recs[1:]
}

// readOut reads a training set back with internal/table: its columns and
// every cell as a chunk answers it.
type outCell struct {
	null bool
	text string
	num  float64
	tm   time.Time
}

func readOut(t *testing.T, path string) ([]table.Column, [][]outCell) {
	t.Helper()
	r, err := table.Open(path, table.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	cols := r.Columns()
	var rows [][]outCell
	var c table.Chunk
	for {
		n, err := r.Next(&c, 100)
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		for i := range n {
			row := make([]outCell, len(cols))
			for j, col := range cols {
				cell := &row[j]
				if c.Null(j, i) {
					cell.null = true
					continue
				}
				cell.text = c.Text(j, i)
				switch col.Type {
				case table.Int, table.Float:
					if cell.num, err = c.Float(j, i); err != nil {
						t.Fatal(err)
					}
				case table.Time:
					if cell.tm, err = c.Time(j, i); err != nil {
						t.Fatal(err)
					}
				}
			}
			rows = append(rows, row)
		}
	}
	return cols, rows
}

// wantTypes are the oracle output's column types: entity columns as their
// values are, the timestamp a time, every feature a float.
var wantTypes = map[string]table.Type{
	"txn_id": table.Int, "user_id": table.String, "merchant_id": table.Int, "event_timestamp": table.Time,
	"label": table.Int, "amount": table.Float, "country": table.String,
}

// compareOut holds the training set at got to the expected CSV want, value
// for value: numbers exactly (an expected cell is a float64's shortest
// form, so its parse is the value), an empty expected cell a null, times
// as instants, strings as they are.
func compareOut(t *testing.T, got, want string, types map[string]table.Type) {
	t.Helper()
	header, exp := readCSV(t, want)
	cols, rows := readOut(t, got)
	if len(cols) != len(header) {
		t.Fatalf("%s has %d columns, want %d (%v)", got, len(cols), len(header), header)
	}
	for j, c := range cols {
		if c.Name != header[j] {
			t.Fatalf("column %d is %q, want %q", j, c.Name, header[j])
		}
		wt, ok := types[c.Name]
		if !ok {
			wt = table.Float
		}
		if c.Type != wt {
			t.Errorf("column %q has type %s, want %s", c.Name, c.Type, wt)
		}
	}
	if len(rows) != len(exp) {
		t.Fatalf("%s has %d rows, want %d", got, len(rows), len(exp))
	}
	bad := 0
	for i, e := range exp {
		for j, w := range e {
			g := rows[i][j]
			ok := true
			switch {
			case w == "":
				ok = g.null
			case g.null:
				ok = false
			case cols[j].Type == table.Time:
				wt, err := time.Parse(time.RFC3339Nano, w)
				ok = err == nil && wt.Equal(g.tm)
			case cols[j].Type == table.Int || cols[j].Type == table.Float:
				x, err := strconv.ParseFloat(w, 64)
				ok = err == nil && math.Float64bits(x) == math.Float64bits(g.num)
			default:
				ok = g.text == w
			}
			if !ok {
				if bad++; bad <= 20 {
					t.Errorf("row %d (txn %s) column %q = %+v, want %q", i, e[0], header[j], g, w)
				}
			}
		}
	}
	if bad > 20 {
		t.Errorf("... %d cells differ in all", bad)
	}
}

// TestOraclePandas: the training set of the oracle's CSV inputs equals
// pandas merge_asof's (testdata/gen/dataset_oracle.py), at the default
// memory and at the least, where every sort spills runs and merges them.
func TestOraclePandas(t *testing.T) {
	for _, mem := range []int64{0, dataset.MinMemoryBytes} {
		out, st := build(t, dataset.Options{
			Entities:    filepath.Join(oracleDir, "entities.csv"),
			MemoryBytes: mem,
			ChunkRows:   7,
		})
		compareOut(t, out, filepath.Join(oracleDir, "expected.pandas.csv"), wantTypes)
		if st.Rows != 635 || len(st.Views) != 3 {
			t.Errorf("stats %+v, want 635 rows of 3 views", st)
		}
		for _, v := range st.Views {
			if v.Present+v.Expired+v.Missing != st.Rows || v.Present == 0 || v.Expired == 0 || v.Missing == 0 {
				t.Errorf("view %s: present %d + expired %d + missing %d, want %d, each > 0", v.View, v.Present, v.Expired, v.Missing, st.Rows)
			}
		}
	}
}

// TestOracleParquet: the same join over the Parquet copies of the inputs
// (written by DuckDB, testdata/gen/dataset_duckdb.mjs) equals pandas' and
// DuckDB's ASOF JOIN's answers.
func TestOracleParquet(t *testing.T) {
	src := map[string]string{}
	for _, v := range []string{"user_stats", "user_profile", "merchant_stats"} {
		src[v] = filepath.Join(oracleDir, v+".parquet")
	}
	out, _ := build(t, dataset.Options{
		Entities: filepath.Join(oracleDir, "entities.parquet"),
		Sources:  src,
	})
	compareOut(t, out, filepath.Join(oracleDir, "expected.pandas.csv"), wantTypes)
	compareOut(t, out, filepath.Join(oracleDir, "expected.duckdb.csv"), wantTypes)
}

// TestFullFeatureNames names features view__feature, and a subset of views
// keeps their order.
func TestFullFeatureNames(t *testing.T) {
	out, st := build(t, dataset.Options{
		Entities:         filepath.Join(oracleDir, "entities.csv"),
		Views:            []string{"merchant_stats", "user_stats"},
		FullFeatureNames: true,
	})
	want := "txn_id,user_id,merchant_id,event_timestamp,label,amount,country,merchant_stats__fraud_rate,merchant_stats__txn_count,user_stats__spend_7d,user_stats__orders_30d,user_stats__segment"
	if got := strings.Join(st.Columns, ","); got != want {
		t.Errorf("columns %s, want %s", got, want)
	}
	cols, _ := readOut(t, out)
	if len(cols) != len(st.Columns) {
		t.Errorf("%d columns in the file, %d in the stats", len(cols), len(st.Columns))
	}
}

// TestDemoFixture: the demo's training set (testdata/features/demo.yaml's
// sources, testdata/offline/labels.csv) equals the one
// testdata/gen/make_offline_fixtures.py joined with pandas to draw its
// labels.
func TestDemoFixture(t *testing.T) {
	defs, err := featcache.LoadDefs("../../testdata/features/demo.yaml")
	if err != nil {
		t.Fatal(err)
	}
	out, st := build(t, dataset.Options{Defs: defs, DefsDir: "../../testdata/features", Entities: "../../testdata/offline/labels.csv"})
	compareOut(t, out, "../../testdata/offline/train.expected.csv", map[string]table.Type{
		"transaction_id": table.Int, "user_id": table.String, "merchant_id": table.String, "event_timestamp": table.Time,
		"amount": table.Float, "hour": table.Int, "country": table.String, "device": table.String, "is_fraud": table.Int,
	})
	for _, v := range st.Views {
		if v.Present == 0 || v.Expired == 0 || v.Missing == 0 {
			t.Errorf("view %s: %d present, %d expired, %d missing: the demo should show each", v.View, v.Present, v.Expired, v.Missing)
		}
	}
}
