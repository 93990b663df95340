// Package state is a small store of named records with a generation, for
// the rollout state and the model labels that every predictd replica must
// read alike. A record is opaque bytes (its owner's JSON) and a generation
// that grows by one on every write; writes are compare-and-swap on the
// generation, so two writers that read the same generation cannot both
// win: the loser gets ErrConflict, reads again and decides again.
//
// Two backends implement Store, and one conformance test holds both to
// the same contract:
//
//   - OpenDir: one JSON file per key in a folder, written to a temporary
//     file, synced, renamed over the old one, and the folder synced, so a
//     crash leaves either the old record or the new one. One process owns
//     the folder: OpenDir takes an exclusive flock on DIR/.lock and a
//     second OpenDir of the same folder (by another daemon, or the same
//     process) fails naming the folder until the first store is closed.
//     Inside the process a mutex orders the compare-and-swap.
//   - OpenRedis: one Redis hash per key (fields gen and data) under the
//     key prefix "predictd:state:"; the compare-and-swap is one Lua
//     script, atomic on the server, so any number of replicas may share a
//     server.
//
// Keys are 1-200 of [A-Za-z0-9_.-] and ':' or '/', not starting with '.'
// (a file name once '/' and ':' are replaced). Errors name the key and the
// backend (the folder or the server's address), and a record that does
// not decode names its file. A Store is safe for concurrent use.
package state
