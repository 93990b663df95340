// Package redisstream is the stream-ingestion path for online features: a
// Redis Streams consumer-group reader that applies feature updates a
// feature pipeline publishes (XADD) to the online store, through
// featcache.Service.Write, so that every replica applies them.
//
// # Message format
//
// One stream entry is one row of one view, as flat fields:
//
//	view        the feature view's name
//	entity      the entity's join key value as text ("u1"; "42" or "+042"
//	            for an int key, stored as its canonical form "42")
//	event_time  when the values were true, in a form of
//	            featcache.EventTimeForms (RFC 3339 "2026-11-25T12:00:00Z",
//	            or "2026-11-25 12:00:00" as pandas writes it; no offset
//	            means UTC), within the years 1678..2262
//	<feature>   one field per feature of the view: a finite decimal number
//	            (an integer for int and categorical features), or "",
//	            "null" or "NaN" for a missing value
//
// Every feature of the view must be present (as in the HTTP push), no
// field may repeat, and any other field is refused. For example:
//
//	XADD features * view user_stats entity 42 event_time 2026-11-25T12:00:00Z clicks_7d 17 spend_30d ""
//
// Decode is the decoder; its errors name the field.
//
// # Delivery
//
// At least once, idempotent by event time. An entry is acknowledged
// (XACK) only after Write returned nil, that is after the store made it
// durable; a row not newer than the stored one is skipped by the store, so
// re-applying an entry (after a crash, a claim, a retry) changes nothing.
// Entries are not applied in stream order across views, and need not be:
// the store keeps the newest event time per entity.
//
// An entry that cannot apply, because Decode refuses it or Write refuses
// it with a *featcache.InputError, must not block the stream: it is copied
// to Options.DeadLetter (default Stream + ":dead") with fields id (the
// original entry's ID), error (why) and the original fields (an original
// field named "id", "error" or starting "orig:" gets the prefix "orig:"),
// then acknowledged. When Write refuses a batch, that view's entries are
// written one at a time so only the bad ones are dead-lettered.
//
// A store error (any other Write error) leaves the batch's entries
// unacknowledged in this consumer's pending list; Run logs it, waits
// RetryBackoff and re-reads its pending entries (XREADGROUP from ID 0)
// until they apply. Redis errors are handled the same way: logged, backed
// off, retried; Run keeps going until its context is cancelled. A
// restarted consumer (same Options.Consumer) first re-reads the pending
// entries its previous run left; entries left by a consumer that does not
// come back are taken over by a live one with XAUTOCLAIM once they have
// been idle for Options.ClaimMinIdle.
//
// # Replicas and groups
//
// A consumer group delivers each entry to one consumer of the group. So:
//   - with the embedded store (featcache/pebblestore), each replica has its
//     own store and must use its own Group (say, the replica's name), so
//     that every replica applies every entry;
//   - with the shared store (featcache/redisstore), all replicas share one
//     Group, each with its own Consumer name: one write per entry reaches
//     the shared store, and the other replicas' caches expire by TTL
//     (Write invalidates only the writing process's cache).
//
// # Usage
//
// The daemon creates the Service, then:
//
//	opts := redisstream.DefaultOptions()
//	opts.Addr, opts.Stream = "redis:6379", "predictd:features"
//	opts.Group, opts.Consumer = hostname, hostname // pebblestore: one group per replica
//	c, err := redisstream.New(svc.Defs, svc, opts)
//	if err != nil {
//		return err // names the bad Options field
//	}
//	go c.Run(ctx) // returns nil once ctx is cancelled
//
// and registers c.Collector() on its metrics registry (c.Stats() as
// Prometheus counters). Cancel ctx and wait for Run to return
// before closing the Service.
//
// # Concurrency
//
// Run is called once at a time per Consumer (a second concurrent call
// returns an error) and does all its work on its own goroutine, one batch
// at a time. Stats may be called from any goroutine. The Writer must be
// safe for use concurrently with the daemon's other callers.
package redisstream
