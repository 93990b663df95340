package state

import (
	"context"
	"errors"
	"fmt"
)

// Record is a stored value and its generation. A missing key reads as the
// zero Record (Gen 0, Data nil).
type Record struct {
	Data []byte
	Gen  int64
}

// Store holds named records; see the package doc. Implementations are safe
// for concurrent use.
type Store interface {
	// Get returns key's record; a missing key is Gen 0 and no error.
	Get(ctx context.Context, key string) (Record, error)
	// CAS stores data under key if the stored generation is gen (0: the
	// key must be missing) and returns the new generation, gen+1. If the
	// stored generation differs, nothing is written and the error wraps
	// ErrConflict.
	CAS(ctx context.Context, key string, gen int64, data []byte) (int64, error)
	// Close releases the store (the folder's lock, the connections).
	// Later calls fail with ErrClosed.
	Close() error
}

// ErrConflict reports a CAS whose generation is not the stored one:
// another writer got there first.
var ErrConflict = errors.New("the record changed since it was read")

// ErrClosed reports a call after Close.
var ErrClosed = errors.New("state store is closed")

// checkKey reports a key that is not 1-200 of [A-Za-z0-9_.:/-] or starts
// with '.'.
func checkKey(key string) error {
	if key == "" || len(key) > 200 || key[0] == '.' {
		return fmt.Errorf("state key %q: want 1-200 of [A-Za-z0-9_.:/-], not starting with '.'", key)
	}
	for i := 0; i < len(key); i++ {
		c := key[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9',
			c == '_', c == '.', c == '-', c == ':', c == '/':
		default:
			return fmt.Errorf("state key %q: byte %q at offset %d: want 1-200 of [A-Za-z0-9_.:/-]", key, c, i)
		}
	}
	return nil
}
