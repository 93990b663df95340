package parquetio

import (
	"fmt"
	"time"

	"github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/deprecated"
	"github.com/parquet-go/parquet-go/format"
)

// TimeUnit is how a column of binary times is encoded; see TimeColumn.
type TimeUnit int

const (
	Millis TimeUnit = iota + 1 // INT64 TIMESTAMP(MILLIS)
	Micros                     // INT64 TIMESTAMP(MICROS)
	Nanos                      // INT64 TIMESTAMP(NANOS)
	Int96                      // legacy Impala/Spark INT96: nanoseconds of the day and a Julian day
	Days                       // INT32 DATE: days since 1970-01-01
)

// TimeColumn says whether a column of type t holds binary times, and in
// which unit: an INT64 TIMESTAMP (millis, micros or nanos, UTC-adjusted or
// not: both are taken as UTC), an INT96, or an INT32 DATE. A bare INT64 is
// not a time: seconds, millis, micros and nanos since the epoch are all
// common, and a wrong guess files every row decades away.
func TimeColumn(t parquet.Type) (TimeUnit, bool) {
	var lt format.LogicalTypeValue
	if l := t.LogicalType(); l != nil {
		lt = l.Value
	}
	switch t.Kind() {
	case parquet.Int64:
		if ts, ok := lt.(*format.TimestampType); ok {
			switch ts.Unit.Value.(type) {
			case *format.MilliSeconds:
				return Millis, true
			case *format.MicroSeconds:
				return Micros, true
			case *format.NanoSeconds:
				return Nanos, true
			}
		}
	case parquet.Int32:
		if _, ok := lt.(*format.DateType); ok {
			return Days, true
		}
	case parquet.Int96:
		return Int96, true
	}
	return 0, false
}

// Time decodes v, a non-null value of a column TimeColumn accepted as u,
// as a UTC time. Callers check the result's range (featcache.CheckEventTime
// for event times): a millisecond count beyond int64 nanoseconds is
// returned as is, not wrapped. An INT96 whose nanoseconds of the day are
// not within a day is an error.
func Time(v parquet.Value, u TimeUnit) (time.Time, error) {
	switch u {
	case Millis:
		return time.UnixMilli(v.Int64()).UTC(), nil
	case Micros:
		return time.UnixMicro(v.Int64()).UTC(), nil
	case Nanos:
		return time.Unix(0, v.Int64()).UTC(), nil
	case Days:
		return time.Unix(int64(v.Int32())*86400, 0).UTC(), nil
	case Int96:
		return Int96Time(v.Int96())
	}
	panic(fmt.Sprintf("BUG: parquetio.Time with unit %d", u))
}

// Int96Time decodes a legacy INT96 timestamp: nanoseconds of the day in
// the first 8 bytes (little endian), then the Julian day number. A count
// of nanoseconds outside the day is an error.
func Int96Time(x deprecated.Int96) (time.Time, error) {
	const unixEpochJulianDay = 2440588
	const nanosPerDay = 86400 * 1e9
	nanos := uint64(x[0]) | uint64(x[1])<<32
	if nanos >= nanosPerDay {
		return time.Time{}, fmt.Errorf("INT96 timestamp with %d nanoseconds of the day, want fewer than %d", nanos, uint64(nanosPerDay))
	}
	day := int64(x[2]) - unixEpochJulianDay
	return time.Unix(day*86400, int64(nanos)).UTC(), nil
}
