package featcache

import (
	"context"
	"errors"
	"fmt"
	"hash/maphash"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/dgraph-io/ristretto/v2"
)

// Status says where a fetched value came from.
type Status uint8

const (
	// StatusPresent: the store has a row within its view's TTL.
	StatusPresent Status = iota
	// StatusMissing: the store has no row for the entity.
	StatusMissing
	// StatusExpired: the store's row is older than its view's TTL
	// (Feast's OUTSIDE_MAX_AGE); it is not served as present.
	StatusExpired
	// StatusUnavailable: the cache had no answer and the store failed.
	StatusUnavailable
)

func (s Status) String() string {
	switch s {
	case StatusPresent:
		return "present"
	case StatusMissing:
		return "missing"
	case StatusExpired:
		return "expired"
	}
	return "unavailable"
}

// CacheOptions configure a Cache.
type CacheOptions struct {
	// MaxBytes bounds the cache's memory (values and keys, estimated);
	// default 64 MiB.
	MaxBytes int64
	// MaxStaleness is how long a cached answer, a row or the store's "no
	// such row", is served before the store is asked again; default 1s.
	// A row is never served past its view's TTL, however recently cached.
	MaxStaleness time.Duration
	// StoreTimeout bounds each store read the cache makes for its misses,
	// so a hung store fails requests (or lets them fail open) instead of
	// holding them; default 1s.
	StoreTimeout time.Duration
	// Now is the clock; default time.Now.
	Now func() time.Time
	// MaxFutureSkew is read by NewService, not by the Cache: how far after
	// Now an event time may lie for Service.Push and Service.Write (and so
	// the stream) to accept its row; a later one is refused as an
	// *InputError naming the row, because newer-wins would let that row hide
	// every update of its entity until its time. 0 means the default,
	// DefaultMaxFutureSkew (24h); negative is an error. There is no
	// "unbounded": to accept any storable time, set a long duration
	// (876000h is 100 years).
	MaxFutureSkew time.Duration
}

// DefaultCacheOptions returns the defaults.
func DefaultCacheOptions() CacheOptions {
	return CacheOptions{MaxBytes: 64 << 20, MaxStaleness: time.Second, StoreTimeout: time.Second, Now: time.Now, MaxFutureSkew: DefaultMaxFutureSkew}
}

// Cache is a read-through, in-process cache in front of a Store: a
// ristretto cache bounded in bytes, entries living at most MaxStaleness and
// never past their row's TTL, with negative entries for entities the store
// does not have. Safe for concurrent use.
type Cache struct {
	store Store
	ttl   map[string]time.Duration
	opts  CacheOptions
	c     *ristretto.Cache[uint64, *entry]
	seed  maphash.Seed

	hits, misses, dropped atomic.Uint64
}

// entry is one cached answer; immutable once set. Its key is kept to tell
// two keys with one hash apart.
type entry struct {
	view, entity string
	rec          Record // Found false: a negative entry
}

// NewCache returns a cache over store. ttl gives each view's TTL; a view
// missing from it is an error when read.
func NewCache(store Store, ttl map[string]time.Duration, opts CacheOptions) (*Cache, error) {
	d := DefaultCacheOptions()
	switch {
	case store == nil:
		return nil, errors.New("featcache: NewCache: nil Store")
	case opts.MaxBytes < 0:
		return nil, fmt.Errorf("featcache: CacheOptions.MaxBytes is %d, want a positive size or 0 for the default", opts.MaxBytes)
	case opts.MaxStaleness < 0:
		return nil, fmt.Errorf("featcache: CacheOptions.MaxStaleness is %s, want a positive duration or 0 for the default", opts.MaxStaleness)
	case opts.StoreTimeout < 0:
		return nil, fmt.Errorf("featcache: CacheOptions.StoreTimeout is %s, want a positive duration or 0 for the default", opts.StoreTimeout)
	case opts.MaxFutureSkew < 0:
		return nil, fmt.Errorf("featcache: CacheOptions.MaxFutureSkew is %s, want a positive duration or 0 for the default (%s)", opts.MaxFutureSkew, DefaultMaxFutureSkew)
	}
	if opts.StoreTimeout == 0 {
		opts.StoreTimeout = d.StoreTimeout
	}
	if opts.MaxBytes == 0 {
		opts.MaxBytes = d.MaxBytes
	}
	if opts.MaxStaleness == 0 {
		opts.MaxStaleness = d.MaxStaleness
	}
	if opts.Now == nil {
		opts.Now = d.Now
	}
	c, err := ristretto.NewCache(&ristretto.Config[uint64, *entry]{
		// Ten counters per entry expected, entries of about 256 bytes.
		NumCounters: max(opts.MaxBytes/256*10, 1000),
		MaxCost:     opts.MaxBytes,
		BufferItems: 64,
		KeyToHash:   func(k uint64) (uint64, uint64) { return k, 0 },
	})
	if err != nil {
		return nil, fmt.Errorf("featcache: ristretto: %w", err)
	}
	return &Cache{store: store, ttl: ttl, opts: opts, c: c, seed: maphash.MakeSeed()}, nil
}

func (c *Cache) hash(k Key) uint64 {
	var h maphash.Hash
	h.SetSeed(c.seed)
	h.WriteString(k.View)
	h.WriteByte(0)
	h.WriteString(k.Entity)
	return h.Sum64()
}

// minLife is the shortest time an answer is worth caching: below it the
// entry would cost an allocation and a ristretto write and expire before
// any request could read it (bench/features.sh's cold run, MaxStaleness
// 1ns, made one per row read).
const minLife = time.Millisecond

// scratch is Get's per-call buffers for the keys the cache did not have.
type scratch struct {
	idx  []int
	keys []Key
	recs []Record
}

var scratchPool = sync.Pool{New: func() any { return new(scratch) }}

// Get answers keys: from the cache where it holds a fresh answer, the rest
// from the store in one Get call. It appends len(keys) records to dst and
// their statuses to st, in keys' order; a record's Values are copied into
// the caller's dst (reused when dst's records have capacity), so a warm
// call with reused buffers does not allocate. An expired or missing row
// has Found false. Get keeps no reference to keys' strings after it
// returns (they may point into a request's buffer).
//
// When the store fails, Get still returns len(keys) records and statuses
// (the cache's answers, StatusUnavailable for the rest) with the store's
// error, so a caller may serve what the cache had (fail open) or refuse
// (fail closed).
func (c *Cache) Get(ctx context.Context, keys []Key, dst []Record, st []Status) ([]Record, []Status, error) {
	return c.GetBefore(ctx, time.Time{}, keys, dst, st)
}

// GetBefore is Get for a caller with a deadline: the store read for the
// misses is bounded by whichever comes first, the deadline or
// StoreTimeout; when the deadline has passed already the store is not
// asked and the misses are unavailable with context.DeadlineExceeded. A
// zero deadline is none.
func (c *Cache) GetBefore(ctx context.Context, deadline time.Time, keys []Key, dst []Record, st []Status) ([]Record, []Status, error) {
	now := c.opts.Now()
	base := len(dst)
	dst = growRecords(dst, len(keys))
	st = growStatus(st, len(keys))
	sc := scratchPool.Get().(*scratch)
	defer func() {
		sc.idx, sc.keys, sc.recs = sc.idx[:0], sc.keys[:0], sc.recs[:0]
		scratchPool.Put(sc)
	}()
	for i, k := range keys {
		ttl, ok := c.ttl[k.View]
		if !ok {
			return dst[:base], st[:base], fmt.Errorf("featcache: key %d: unknown view %q", i, k.View)
		}
		if e, ok := c.c.Get(c.hash(k)); ok && e.view == k.View && e.entity == k.Entity {
			c.hits.Add(1)
			st[base+i] = fill(&dst[base+i], e.rec, ttl, now)
			continue
		}
		c.misses.Add(1)
		sc.idx = append(sc.idx, i)
		sc.keys = append(sc.keys, k)
	}
	if len(sc.keys) == 0 {
		return dst, st, nil
	}
	timeout := c.opts.StoreTimeout
	if !deadline.IsZero() {
		timeout = min(timeout, time.Until(deadline))
	}
	var err error
	if timeout <= 0 {
		err = context.DeadlineExceeded
	} else {
		// The timeout's context allocates, but only here, beside a store
		// round trip that costs far more.
		sctx, cancel := context.WithTimeout(ctx, timeout)
		sc.recs, err = c.store.Get(sctx, sc.keys, sc.recs[:0])
		cancel()
	}
	if err != nil {
		for _, i := range sc.idx {
			out := &dst[base+i]
			out.Found, out.EventTime, out.Values = false, time.Time{}, out.Values[:0]
			st[base+i] = StatusUnavailable
		}
		return dst, st, err
	}
	for j, i := range sc.idx {
		k, rec := keys[i], sc.recs[j]
		ttl := c.ttl[k.View]
		st[base+i] = fill(&dst[base+i], rec, ttl, now)
		life := c.opts.MaxStaleness
		if rec.Found {
			life = min(life, rec.EventTime.Add(ttl).Sub(now))
		}
		if life < minLife {
			continue // expired, or as good as: the store is asked again next time
		}
		// The key's strings may alias the caller's buffer: keep copies.
		e := &entry{view: strings.Clone(k.View), entity: strings.Clone(k.Entity), rec: rec}
		cost := int64(64 + len(k.View) + len(k.Entity) + 8*len(rec.Values))
		if !c.c.SetWithTTL(c.hash(k), e, cost, life) {
			c.dropped.Add(1)
		}
	}
	return dst, st, nil
}

// fill copies rec into out, unless it is past ttl at now.
func fill(out *Record, rec Record, ttl time.Duration, now time.Time) Status {
	out.Values = out.Values[:0]
	out.Found = false
	out.EventTime = rec.EventTime
	switch {
	case !rec.Found:
		out.EventTime = time.Time{}
		return StatusMissing
	case ttl > 0 && !Fresh(rec.EventTime, now, ttl):
		return StatusExpired
	}
	out.Found = true
	out.Values = append(out.Values, rec.Values...)
	return StatusPresent
}

// Fresh reports whether a row with event time eventTime is still valid at
// time at for a view whose TTL is ttl: its age, at - eventTime, is below
// ttl. A row exactly ttl old is expired. This is the one TTL rule: the
// serving cache (what Get reports as StatusExpired) and the offline
// point-in-time join (tools/dataset) both call it, so a training set holds
// the values serving would have filled at that time. Feast's
// get_historical_features also takes a row exactly ttl old; predictd does
// not. A row timed after at (negative age) is fresh here; callers that
// must not see the future (the point-in-time join) exclude it first.
func Fresh(eventTime, at time.Time, ttl time.Duration) bool {
	return at.Before(eventTime.Add(ttl))
}

// growRecords extends dst by n records, reusing their Values' capacity.
func growRecords(dst []Record, n int) []Record {
	if cap(dst)-len(dst) >= n {
		return dst[:len(dst)+n]
	}
	return append(dst, make([]Record, n)...)
}

func growStatus(st []Status, n int) []Status {
	if cap(st)-len(st) >= n {
		return st[:len(st)+n]
	}
	return append(st, make([]Status, n)...)
}

// Invalidate drops the cached answers for keys, so that a read after a
// write through this process sees the write (other replicas see it after
// MaxStaleness at most, and so may a read that raced with the write here).
func (c *Cache) Invalidate(keys []Key) {
	for _, k := range keys {
		c.c.Del(c.hash(k))
	}
}

// Wait blocks until the cache's buffered writes are applied (for tests).
func (c *Cache) Wait() { c.c.Wait() }

// CacheStats counts what a Cache did.
type CacheStats struct {
	Hits, Misses uint64
	// DroppedSets counts answers the cache declined to keep (ristretto
	// drops writes under contention or admission pressure); they are
	// re-read from the store next time.
	DroppedSets uint64
}

// Stats returns the counters.
func (c *Cache) Stats() CacheStats {
	return CacheStats{Hits: c.hits.Load(), Misses: c.misses.Load(), DroppedSets: c.dropped.Load()}
}

// Close releases the cache (not the store).
func (c *Cache) Close() { c.c.Close() }
