package featcache

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
)

// ErrClosed is returned by a Store's methods after Close. Implementations
// should wrap it so callers can test with errors.Is.
var ErrClosed = errors.New("featcache: store closed")

// Row is one entity's values of one view at an event time.
type Row struct {
	Entity    string    // the entity's join key value, canonical text (an int key as its decimal form)
	EventTime time.Time // when the values were true (not when written)
	Values    []float64 // in the view's feature order; NaN = missing
}

// Key names one entity's row of one view.
type Key struct{ View, Entity string }

// Record is a stored row.
type Record struct {
	Found     bool
	EventTime time.Time
	Values    []float64
}

// Store is the online store. Implementations are safe for concurrent use.
type Store interface {
	// Put writes rows of view. Durable when it returns nil. A row whose
	// EventTime is not newer than the stored row's for the same entity is
	// skipped (idempotent, out-of-order safe); written counts the rows
	// stored. Rows are applied in order, so of two rows of one entity in
	// one call the later one is compared with the earlier one.
	Put(ctx context.Context, view string, rows []Row) (written int, err error)
	// Get reads keys in one round trip and returns dst with len(keys)
	// records appended, in keys' order; Found=false for an absent key.
	// The returned Values slices are owned by the caller (copied out of
	// the store); the implementation keeps no reference to them.
	Get(ctx context.Context, keys []Key, dst []Record) ([]Record, error)
	// Close releases the store; later calls return an error wrapping
	// ErrClosed.
	Close() error
}

// CheckPut validates a Put's arguments before anything is written: the
// view must be non-empty and free of 0x00 (the StoreKey separator), every
// row's entity must pass CheckKey (so also free of 0x00), and every row's
// event time must be storable (CheckEventTime; a time outside the years
// 1678..2262 would wrap around in EncodeRecord). The error names the
// offending row's index. It is the stores' last line: the paths in front of
// them (Service, the stream, materialize) refuse such rows with messages
// naming where they came from.
func CheckPut(view string, rows []Row) error {
	if view == "" {
		return errors.New("featcache: put: empty view name")
	}
	if strings.IndexByte(view, 0) >= 0 {
		return fmt.Errorf("featcache: put: view name %q contains 0x00", view)
	}
	for i := range rows {
		e := rows[i].Entity
		if e == "" {
			return fmt.Errorf("featcache: put %s: row %d: empty entity", view, i)
		}
		if strings.IndexByte(e, 0) >= 0 {
			return fmt.Errorf("featcache: put %s: row %d: entity %s contains 0x00", view, i, quoteShort(e))
		}
		if err := CheckKey(e); err != nil {
			return fmt.Errorf("featcache: put %s: row %d: entity %v", view, i, err)
		}
		if err := CheckEventTime(rows[i].EventTime); err != nil {
			return fmt.Errorf("featcache: put %s: row %d: event time %v", view, i, err)
		}
	}
	return nil
}
