// Command gen writes the Parquet fixture of tools/materialize and the same
// rows as CSV, so that the tests can check the Parquet reader against the
// CSV one (the oracle). Run it from tools/materialize:
//
//	go run ./testdata/gen
//
// It writes testdata/user_stats.parquet and testdata/user_stats.csv. The
// output depends only on the rows below; rerun it after changing them and
// commit both files.
package main

import (
	"encoding/csv"
	"flag"
	"fmt"
	"log"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/parquet-go/parquet-go"
)

// userStats is one row as a warehouse export writes it: a string key, a
// microsecond timestamp, a double, a nullable int64, an int32 category and
// a column the view does not use.
type userStats struct {
	UserID    string    `parquet:"user_id"`
	EventTime time.Time `parquet:"event_time,timestamp(microsecond)"`
	Spend7d   float64   `parquet:"spend_7d"`
	Orders30d *int64    `parquet:"orders_30d,optional"`
	Segment   int32     `parquet:"segment"`
	Country   string    `parquet:"country"` // not a feature: ignored
}

func main() {
	dir := flag.String("dir", "testdata", "where to write user_stats.parquet and user_stats.csv")
	flag.Parse()
	rows := fixtureRows()
	if err := writeParquet(filepath.Join(*dir, "user_stats.parquet"), rows); err != nil {
		log.Fatal(err)
	}
	if err := writeCSV(filepath.Join(*dir, "user_stats.csv"), rows); err != nil {
		log.Fatal(err)
	}
}

// fixtureRows are 40 rows of 9 users between 2026-11-18 and 2026-11-28,
// out of time order, with several rows per user, rows after the tests'
// cut-off (2026-11-25T00:00:00Z), two rows of one user at the same time,
// null orders, a NaN spend and sub-second times.
func fixtureRows() []userStats {
	base := time.Date(2026, 11, 18, 0, 0, 0, 0, time.UTC)
	countries := []string{"DE", "FR", "US", "BR"}
	var rows []userStats
	for i := range 40 {
		u := (i * 7) % 9 // users interleave through the file
		// Hours from base jump around so that each user's rows are out of
		// order; some land after the 25th.
		h := (i*37)%240 + u
		r := userStats{
			UserID:    fmt.Sprintf("u%d", u),
			EventTime: base.Add(time.Duration(h)*time.Hour + time.Duration(i*1234567)*time.Microsecond),
			Spend7d:   float64(i*13%50) + 0.25*float64(i%4),
			Segment:   int32(u % 3),
			Country:   countries[i%len(countries)],
		}
		if i%5 != 2 {
			n := int64(i % 11)
			r.Orders30d = &n
		}
		if i == 17 {
			r.Spend7d = math.NaN()
		}
		rows = append(rows, r)
	}
	// A tie: a second row of u3 at the time of its latest row before the
	// cut-off (row 30); the first one wins.
	tie := rows[30]
	tie.Spend7d, tie.Segment = 999, 2
	rows = append(rows, tie)
	return rows
}

func writeParquet(path string, rows []userStats) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	// Small row groups and pages, so that the reader crosses both.
	w := parquet.NewGenericWriter[userStats](f, parquet.MaxRowsPerRowGroup(16), parquet.PageBufferSize(256))
	if _, err := w.Write(rows); err != nil {
		f.Close()
		return err
	}
	if err := w.Close(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

func writeCSV(path string, rows []userStats) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	w := csv.NewWriter(f)
	w.Write([]string{"user_id", "event_time", "spend_7d", "orders_30d", "segment", "country"})
	for _, r := range rows {
		orders := ""
		if r.Orders30d != nil {
			orders = strconv.FormatInt(*r.Orders30d, 10)
		}
		w.Write([]string{
			r.UserID,
			r.EventTime.Format(time.RFC3339Nano),
			strconv.FormatFloat(r.Spend7d, 'g', -1, 64),
			orders,
			strconv.Itoa(int(r.Segment)),
			r.Country,
		})
	}
	w.Flush()
	if err := w.Error(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
