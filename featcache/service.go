package featcache

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"time"
)

// Service is the online feature service the daemon runs: the definitions,
// the store, and the cache in front of it. Safe for concurrent use.
type Service struct {
	Defs      *Defs
	store     Store
	cache     *Cache
	now       func() time.Time
	maxFuture time.Duration // CacheOptions.MaxFutureSkew, defaulted
}

// NewService returns a service over store, with a cache configured by
// opts; opts.MaxFutureSkew bounds the event times Push and Write accept.
// The service owns neither: Close closes the cache only.
func NewService(defs *Defs, store Store, opts CacheOptions) (*Service, error) {
	ttl := make(map[string]time.Duration, len(defs.Views))
	for _, v := range defs.Views {
		ttl[v.Name] = v.TTL
	}
	c, err := NewCache(store, ttl, opts)
	if err != nil {
		return nil, err
	}
	now := opts.Now
	if now == nil {
		now = time.Now
	}
	maxFuture := opts.MaxFutureSkew
	if maxFuture == 0 {
		maxFuture = DefaultMaxFutureSkew
	}
	return &Service{Defs: defs, store: store, cache: c, now: now, maxFuture: maxFuture}, nil
}

// Close releases the cache.
func (s *Service) Close() { s.cache.Close() }

// InputError is a refused push: what is wrong and where (row and field).
// Nothing of the batch was written.
type InputError struct{ Msg string }

func (e *InputError) Error() string { return e.Msg }

func inputErr(format string, args ...any) error {
	return &InputError{Msg: fmt.Sprintf(format, args...)}
}

// pushRow is one row of a push body.
type pushRow struct {
	Entity    json.RawMessage            `json:"entity"`
	EventTime string                     `json:"event_time"`
	Values    map[string]json.RawMessage `json:"values"`
}

// PushResult says what a push did.
type PushResult struct {
	Written int `json:"written"`
	// Skipped rows had an event time not newer than the stored row's.
	Skipped int `json:"skipped"`
}

// Push validates body, {"rows": [{"entity": "u1" or 42, "event_time":
// a time in a form of EventTimeForms, "values": {"feature": number or null,
// ...}}, ...]}, against
// view's definition and writes it in one store call. Every feature of the
// view must be given (null for a missing value); an unknown feature, a
// value of the wrong type, a bad key (see CheckKey) or a bad time (see
// ParseEventTime; more than MaxFutureSkew ahead of now) is an *InputError
// naming the row and field, and then nothing is written.
func (s *Service) Push(ctx context.Context, view string, body []byte) (PushResult, error) {
	v, ok := s.Defs.View(view)
	if !ok {
		return PushResult{}, inputErr("no feature view %q (views: %s)", view, s.viewNames())
	}
	var req struct {
		Rows []pushRow `json:"rows"`
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		var se *json.SyntaxError
		if errors.As(err, &se) {
			return PushResult{}, inputErr("malformed JSON at byte %d: %v", se.Offset, err)
		}
		return PushResult{}, inputErr("push body: %v (want {\"rows\": [{\"entity\": ..., \"event_time\": ..., \"values\": {...}}]})", err)
	}
	if len(req.Rows) == 0 {
		return PushResult{}, inputErr("push body has no rows")
	}
	rows := make([]Row, len(req.Rows))
	now := s.now()
	for i, r := range req.Rows {
		key, err := entityKey(v.Entity, r.Entity)
		if err != nil {
			return PushResult{}, inputErr("row %d: field \"entity\": %v", i, err)
		}
		at, err := ParseEventTime(r.EventTime)
		if err == nil {
			err = CheckFuture(at, now, s.maxFuture)
		}
		if err != nil {
			return PushResult{}, inputErr("row %d: field \"event_time\": %v", i, err)
		}
		vals := make([]float64, len(v.Features))
		for name := range r.Values {
			if v.Index(name) < 0 {
				return PushResult{}, inputErr("row %d: unknown feature %q of view %s", i, name, v.Name)
			}
		}
		for j, f := range v.Features {
			raw, ok := r.Values[f.Name]
			if !ok {
				return PushResult{}, inputErr("row %d: feature %q missing (send null for a missing value)", i, f.Name)
			}
			x, err := featureValue(f, raw)
			if err != nil {
				return PushResult{}, inputErr("row %d: feature %q: %v", i, f.Name, err)
			}
			vals[j] = x
		}
		rows[i] = Row{Entity: key, EventTime: at, Values: vals}
	}
	return s.write(ctx, v, rows)
}

// Write validates rows of view (canonical entity keys that CheckKey
// accepts, storable event times at most MaxFutureSkew ahead of now, one
// value per feature, integers where the feature's type wants them) and
// writes them
// in one store call, dropping this process's cached answers for their
// entities. A refused batch is an *InputError naming the row and field,
// and nothing of it is written. The stream consumer and other in-process
// writers call it; the rows are not retained.
func (s *Service) Write(ctx context.Context, view string, rows []Row) (PushResult, error) {
	v, ok := s.Defs.View(view)
	if !ok {
		return PushResult{}, inputErr("no feature view %q (views: %s)", view, s.viewNames())
	}
	now := s.now()
	for i := range rows {
		r := &rows[i]
		key, err := v.Entity.CanonicalKey(r.Entity)
		switch {
		case r.Entity == "":
			return PushResult{}, inputErr("row %d: field \"entity\": empty", i)
		case err != nil:
			return PushResult{}, inputErr("row %d: field \"entity\": %v", i, err)
		case key != r.Entity:
			return PushResult{}, inputErr("row %d: field \"entity\": %q is not canonical (want %q)", i, r.Entity, key)
		case r.EventTime.IsZero():
			return PushResult{}, inputErr("row %d: field \"event_time\": missing", i)
		case len(r.Values) != len(v.Features):
			return PushResult{}, inputErr("row %d: %d values, view %s has %d features", i, len(r.Values), v.Name, len(v.Features))
		}
		terr := CheckEventTime(r.EventTime)
		if terr == nil {
			terr = CheckFuture(r.EventTime, now, s.maxFuture)
		}
		if terr != nil {
			return PushResult{}, inputErr("row %d: field \"event_time\": %v", i, terr)
		}
		for j, f := range v.Features {
			if err := f.CheckValue(r.Values[j]); err != nil {
				return PushResult{}, inputErr("row %d: feature %q: %v", i, f.Name, err)
			}
		}
	}
	return s.write(ctx, v, rows)
}

// write puts rows, already checked, and drops their cached answers.
func (s *Service) write(ctx context.Context, v *View, rows []Row) (PushResult, error) {
	n, err := s.store.Put(ctx, v.Name, rows)
	keys := make([]Key, len(rows))
	for i, r := range rows {
		keys[i] = Key{View: v.Name, Entity: r.Entity}
	}
	s.cache.Invalidate(keys) // also after an error: some rows may be written
	if err != nil {
		return PushResult{}, err
	}
	return PushResult{Written: n, Skipped: len(rows) - n}, nil
}

// entityKey reads a JSON string or integer as e's canonical key.
func entityKey(e *Entity, raw json.RawMessage) (string, error) {
	var s string
	switch {
	case len(raw) == 0:
		return "", errors.New("missing")
	case raw[0] == '"':
		if err := json.Unmarshal(raw, &s); err != nil {
			return "", err
		}
	default:
		var n json.Number
		if err := json.Unmarshal(raw, &n); err != nil {
			return "", fmt.Errorf("want a string or an integer, got %s", raw)
		}
		s = n.String()
	}
	if s == "" {
		return "", errors.New("empty")
	}
	return e.CanonicalKey(s)
}

// featureValue reads a feature's JSON value: a number (an integer for int
// and categorical features) or null.
func featureValue(f Feature, raw json.RawMessage) (float64, error) {
	if string(raw) == "null" {
		return math.NaN(), nil
	}
	var x float64
	if err := json.Unmarshal(raw, &x); err != nil {
		return 0, fmt.Errorf("want a number or null, got %s", raw)
	}
	return x, f.CheckValue(x)
}

func (s *Service) viewNames() string {
	var b bytes.Buffer
	for i, v := range s.Defs.Views {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(v.Name)
	}
	return b.String()
}

// Lookup is one entity's values of one view as served.
type Lookup struct {
	View   string `json:"view"`
	Entity string `json:"entity"`
	Status string `json:"status"` // present, missing, expired
	// EventTime and AgeSeconds are set when the store has a row (also an
	// expired one).
	EventTime  *time.Time `json:"event_time,omitempty"`
	AgeSeconds *float64   `json:"age_seconds,omitempty"`
	// Values are the row's, or the defaults when missing or expired (null
	// for a missing value).
	Values map[string]*float64 `json:"values"`
}

// Get reads one entity's values of view through the cache. A key
// CanonicalKey refuses is an *InputError.
func (s *Service) Get(ctx context.Context, view, entity string) (Lookup, error) {
	v, ok := s.Defs.View(view)
	if !ok {
		return Lookup{}, inputErr("no feature view %q (views: %s)", view, s.viewNames())
	}
	key, err := v.Entity.CanonicalKey(entity)
	if err != nil {
		return Lookup{}, inputErr("view %s: %v", v.Name, err)
	}
	recs, sts, err := s.cache.Get(ctx, []Key{{View: v.Name, Entity: key}}, nil, nil)
	if err != nil {
		return Lookup{}, err
	}
	out := Lookup{View: v.Name, Entity: key, Status: sts[0].String(), Values: make(map[string]*float64, len(v.Features))}
	if sts[0] != StatusMissing {
		t := recs[0].EventTime.UTC()
		age := s.now().Sub(t).Seconds()
		out.EventTime, out.AgeSeconds = &t, &age
	}
	for j, f := range v.Features {
		x := f.Default
		if sts[0] == StatusPresent {
			x = recs[0].Values[j]
		}
		if !math.IsNaN(x) && !math.IsInf(x, 0) {
			out.Values[f.Name] = &x
		} else {
			out.Values[f.Name] = nil
		}
	}
	return out, nil
}

// Fetch reads keys through the cache in at most one store round trip,
// bounded by deadline (zero: none) and the cache's StoreTimeout: see
// Cache.GetBefore for the contract, including what it returns when the
// store fails. It is the serving join's read path.
//
// Keys' entities must pass CheckKey (the join checks each key as it parses
// the request, and answers 400): a key that does not is an *InputError
// naming its index, returned before the cache or the store is asked, with
// len(keys) records of StatusUnavailable so that a caller treating any
// error as a store failure still indexes safely.
func (s *Service) Fetch(ctx context.Context, deadline time.Time, keys []Key, dst []Record, st []Status) ([]Record, []Status, error) {
	for i := range keys {
		if err := CheckKey(keys[i].Entity); err != nil {
			base := len(dst)
			dst, st = growRecords(dst, len(keys)), growStatus(st, len(keys))
			for j := base; j < len(dst); j++ {
				dst[j].Found, dst[j].EventTime, dst[j].Values = false, time.Time{}, dst[j].Values[:0]
				st[j] = StatusUnavailable
			}
			return dst, st, inputErr("key %d: view %s: entity %v", i, keys[i].View, err)
		}
	}
	return s.cache.GetBefore(ctx, deadline, keys, dst, st)
}

// Now is the service's clock, the one ages are measured against.
func (s *Service) Now() time.Time { return s.now() }

// CacheStats returns the cache's counters.
func (s *Service) CacheStats() CacheStats { return s.cache.Stats() }
