// Package redisstore is the shared featcache.Store: feature rows live in a
// Redis server (or anything speaking its protocol) so that every predictd
// replica reads the same values.
//
// Keys are Options.KeyPrefix + featcache.StoreKey(view, entity); values are
// featcache.EncodeRecord bytes. Newer-wins is decided on the server by a Lua
// script that compares the 8-byte event-time prefix of the stored value with
// the new one, so concurrent writers from many replicas cannot regress a row.
//
// Durability: a nil error from Put means Redis acknowledged the writes. Whether
// they survive a Redis restart depends on the server's own persistence
// settings (appendonly, appendfsync, save), which this package does not set
// or check.
//
// A *Store is safe for concurrent use by any number of goroutines; the rueidis
// client pipelines concurrent calls over shared connections. Close may be
// called once, after all other calls have returned.
package redisstore
