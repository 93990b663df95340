// Package featcache serves online features: definitions shared with the
// offline tools, a store (Pebble embedded, Redis shared) behind one
// interface, a ristretto cache in front that never serves a value past its
// TTL. Not built yet: the online-features issue adds it.
package featcache
