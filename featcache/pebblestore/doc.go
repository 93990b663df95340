// Package pebblestore is the embedded featcache.Store: one Pebble database
// in a local directory, for a single predictd process (Pebble locks the
// directory; a second process cannot open it, and Open's error then wraps
// ErrLocked and says what to do instead).
//
// Keys are featcache.StoreKey (view 0x00 entity), values
// featcache.EncodeRecord, so the bytes match the Redis store's.
//
// Invariants:
//   - A stored record's event time never decreases: Put skips a row whose
//     event time is not after the stored one's (or an earlier row's of the
//     same entity in the same call).
//   - Put returns nil only after its batch is committed with pebble.Sync.
//   - A Put is applied whole or not at all (one batch), and a rejected row
//     (0x00 in its entity) fails the whole call before anything is written.
//
// Concurrency: all methods are safe for concurrent use. Puts run one at a
// time (see Store.Put for why); Gets run concurrently with each other and
// with a Put; a Get sees one point-in-time view of the database, so each
// Put's batch whole or not at all. Close waits for running calls.
package pebblestore
