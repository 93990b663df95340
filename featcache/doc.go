// Package featcache serves online features: the values a model reads by
// entity key at request time (a user's 7-day clicks), written by
// ingestion and read on the hot path.
//
// It holds what every part of that path shares:
//   - Definitions (defs.go): one YAML file of entities and feature views,
//     shared with the offline tools. ParseDefs is strict; every error
//     names the file, line and field. Parsed Defs are immutable and safe
//     for concurrent reads.
//   - The Store interface (store.go) and its byte formats (record.go):
//     StoreKey (view 0x00 entity) and EncodeRecord/DecodeRecord (event
//     time, then float64 values). Both backends, featcache/pebblestore
//     (embedded) and featcache/redisstore (shared), store these exact
//     bytes, and both pass featcache/storetest, the conformance suite.
//   - The cache in front of a Store (cache.go).
//   - The serving join (join.go): a model version's JoinPlan, built once
//     from its feature_views, says which of its inputs come from which
//     view and by which entity key; a request's Join selects the rows its
//     instances need, reads them through the cache in one store round
//     trip, and fills the values the request did not send: the row's
//     value, else the feature's default (missing, expired or unavailable
//     row, or a NaN the model cannot take); a value sent is kept. The
//     server decodes the entity keys and maps the errors to statuses; the
//     plan and the fill rules are here, for the offline tools to share.
//
// Invariants every Store keeps (checked by storetest):
//   - A stored row's event time never decreases: a Put row not newer than
//     the stored one is skipped, so ingestion may replay and reorder.
//   - Put returns nil only once its rows are durable.
//   - Values round-trip bit for bit; NaN means missing.
//   - Views and entities never contain 0x00 (CheckPut rejects them), so
//     StoreKey is unambiguous.
//   - Get's records are owned by the caller.
//
// Who calls what: ingestion calls Put; request handlers call Get (through
// the cache) and run Joins; both concurrently. Stores, the cache, Service
// and JoinPlan are safe for concurrent use; a Join belongs to one request
// at a time.
package featcache
