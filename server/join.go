package server

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
	"unsafe"

	"github.com/valyala/fasthttp"

	"github.com/predictd/predictd/featcache"
	"github.com/predictd/predictd/model"
)

// StoreDownPolicy says what a model's predictions do when the online
// feature store fails during a request.
type StoreDownPolicy uint8

const (
	// FailClosed answers 503 with Retry-After: no prediction is made from
	// features the daemon could not read. The default.
	FailClosed StoreDownPolicy = iota
	// FailOpen predicts from the cache's answers and the features'
	// defaults for the rest (status "unavailable"), and counts it.
	FailOpen
)

// ParseStoreDownPolicy reads "fail_closed" or "fail_open".
func ParseStoreDownPolicy(s string) (StoreDownPolicy, error) {
	switch s {
	case "fail_closed", "":
		return FailClosed, nil
	case "fail_open":
		return FailOpen, nil
	}
	return 0, fmt.Errorf("%q: want fail_closed or fail_open", s)
}

func (p StoreDownPolicy) String() string {
	if p == FailOpen {
		return "fail_open"
	}
	return "fail_closed"
}

// joinInputs is what the join plan needs to know of m, whose schema is s.
func joinInputs(m *model.Manifest, s *Schema) featcache.ModelInputs {
	in := featcache.ModelInputs{
		Kind:         string(m.Kind),
		Features:     make([]string, len(m.Features)),
		Categorical:  s.categorical,
		AllowMissing: s.allowMissing,
		FeatureViews: m.FeatureViews,
	}
	for i, f := range m.Features {
		in.Features[i] = f.Name
	}
	return in
}

// joinStats counts a model version's feature reads for /metrics.
type joinStats struct {
	fetch histogram
	// values by status: present, default (missing), expired, unavailable,
	// overridden by the request.
	present, missing, expired, unavailable, overridden atomic.Uint64
	storeErrors                                        atomic.Uint64
}

// entityKey reads the value of entity key k at the scanner: a string or
// an integer, canonical for its entity's key type, appended to r.ents.
// It records its place in r.entOff/entLen for instance i.
func (r *Request) entityKey(p *featcache.JoinPlan, i, k int) error {
	sc := &r.sc
	e := p.Key(k)
	slot := i*p.NumKeys() + k
	if r.entOff[slot] >= 0 {
		return Errorf(400, "instance %d: entity key %q appears twice", i, e.JoinKey)
	}
	var text []byte
	switch c := sc.peek(); {
	case c == '"':
		var err error
		if text, err = sc.str(&r.key); err != nil {
			return err
		}
	case c == '-' || isDigit(c):
		if _, err := sc.number(); err != nil {
			return err
		}
		text = sc.buf[sc.numStart:sc.pos]
	default:
		return sc.wrongType(fmt.Sprintf("instance %d: entity key %q: ", i, e.JoinKey), "expected a string or an integer")
	}
	off := len(r.ents)
	if e.KeyType == featcache.KeyInt {
		n, ok := parseInt64(text)
		if !ok {
			return Errorf(400, "instance %d: entity key %q: %q is not an integer (entity %s has int keys)", i, e.JoinKey, text, e.Name)
		}
		r.ents = strconv.AppendInt(r.ents, n, 10)
	} else {
		if len(text) == 0 {
			return Errorf(400, "instance %d: entity key %q is empty", i, e.JoinKey)
		}
		if strings.IndexByte(unsafe.String(&text[0], len(text)), 0) >= 0 {
			return Errorf(400, "instance %d: entity key %q contains a NUL byte", i, e.JoinKey)
		}
		r.ents = append(r.ents, text...)
	}
	r.entOff[slot], r.entLen[slot] = int32(off), int32(len(r.ents)-off)
	return nil
}

// parseInt64 parses an optionally signed decimal integer, as
// strconv.ParseInt does, without allocating.
func parseInt64(b []byte) (int64, bool) {
	neg := false
	if len(b) > 0 && (b[0] == '-' || b[0] == '+') {
		neg, b = b[0] == '-', b[1:]
	}
	if len(b) == 0 {
		return 0, false
	}
	var n uint64
	for _, c := range b {
		if !isDigit(c) || n > (1<<63)/10 {
			return 0, false
		}
		n = n*10 + uint64(c-'0')
	}
	switch {
	case neg && n <= 1<<63:
		return -int64(n), true
	case !neg && n < 1<<63:
		return int64(n), true
	}
	return 0, false
}

// inlineJoin records n instances that sent every feature and no entity
// key (the array and column forms).
func (r *Request) inlineJoin(p *featcache.JoinPlan, nf, n int) {
	for range n {
		r.startJoinInstance(p)
		for range nf {
			r.given = append(r.given, true)
		}
	}
}

// startJoinInstance r's per-instance join scratch for one more instance.
func (r *Request) startJoinInstance(p *featcache.JoinPlan) {
	for range p.NumKeys() {
		r.entOff = append(r.entOff, -1)
		r.entLen = append(r.entLen, 0)
	}
}

// checkJoinInstance is called when instance i lacks some features (seen
// false): each must come from a view whose entity key the instance
// carries. It records which features the instance sent.
func (r *Request) checkJoinInstance(s *Schema, i int, seen []bool) error {
	p := s.join
	for f, ok := range seen {
		if ok {
			continue
		}
		k, v := p.Source(f)
		if k < 0 {
			return Errorf(400, "instance %d: missing feature %q", i, s.names[f])
		}
		if r.entOff[i*p.NumKeys()+k] < 0 {
			return Errorf(400, "instance %d: missing feature %q: send it, or entity key %q to fetch it from feature view %s", i, s.names[f], p.Key(k).JoinKey, v.Name)
		}
		r.fetch = true
	}
	return nil
}

// EntityKey returns instance i's value of the join plan's entity key k, in
// canonical form, or "" when the instance does not carry it: the
// featcache.EntityKeys of a decoded request. The string aliases r's
// buffers: it is valid until r is reused, and the cache keeps no reference
// to it.
func (r *Request) EntityKey(i, k int) string {
	slot := i*r.nkeys + k
	off := r.entOff[slot]
	if off < 0 {
		return ""
	}
	return unsafe.String(&r.ents[off], int(r.entLen[slot]))
}

// errStoreDown is the 503 of a fail-closed model whose store failed.
func errStoreDown(err error) error {
	return Errorf(503, "online feature store unavailable: %v (this model fails closed; set its features_on_store_error to fail_open to serve defaults instead)", err)
}

// join fills the features r's instances did not send from the online
// store (featcache.Join): one read for every view and instance that needs
// one, then each missing value from its row, or its default when the row
// is missing, expired or unavailable. Values the request sent are kept
// (overridden). What is left here is what HTTP adds: a bad key is 400, a
// store that failed is 503 (fail closed) or defaults (fail open), a
// deadline that passed is 504.
func (s *Server) join(ctx *fasthttp.RequestCtx, vs *versionState, r *Request, deadline time.Time, timeout time.Duration) error {
	p, j := vs.schema.join, &r.join
	if err := j.Select(p, r.N, r, r.given, r.ReturnFeatures); err != nil {
		return Errorf(fasthttp.StatusBadRequest, "%s", err.Error())
	}
	start := time.Now()
	// Not ctx: a fasthttp.RequestCtx's Done is the server's, not the
	// request's. The cache bounds the store read by the request's deadline
	// and its StoreTimeout.
	err := j.Read(context.Background(), s.opts.Features, deadline)
	vs.join.fetch.observe(time.Since(start))
	if err != nil && !deadline.IsZero() && !time.Now().Before(deadline) {
		vs.join.storeErrors.Add(1)
		return errTimedOut(vs, timeout, "its online features were read")
	}
	if err != nil {
		vs.join.storeErrors.Add(1)
		if vs.storeDown == FailClosed {
			ctx.Response.Header.Set("Retry-After", "1")
			return errStoreDown(err)
		}
		s.logStoreDown("model %s version %d: online feature store failed, serving defaults (fail_open): %v", vs.name, vs.version, err)
	}
	c := j.Fill(p, r.Rows, r.N, r.given)
	vs.join.present.Add(c.Present)
	vs.join.missing.Add(c.Default)
	vs.join.expired.Add(c.Expired)
	vs.join.unavailable.Add(c.Unavailable)
	vs.join.overridden.Add(c.Overridden)
	return nil
}

// appendFeatures appends `,"features":[...]` to a predict response: per
// instance, an object of each feature the model may read from a view,
// with the value used, its status (present, default, expired,
// unavailable, overridden) and, for a row the store has, its age in
// seconds.
func appendFeatures(dst []byte, s *Schema, r *Request) []byte {
	p, j := s.join, &r.join
	nf := len(s.names)
	dst = append(dst, `,"features":[`...)
	for i := range r.N {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = append(dst, '{')
		n := 0
		for vi := range p.NumViews() {
			st, at, read := j.Row(i, vi)
			for _, f := range p.ViewFeatures(vi) {
				if n > 0 {
					dst = append(dst, ',')
				}
				n++
				dst = appendString(dst, s.names[f])
				dst = append(dst, `:{"value":`...)
				dst = appendNumber(dst, r.Rows[i*nf+f])
				status := "overridden"
				if !r.given[i*nf+f] {
					switch st {
					case featcache.StatusPresent:
						status = "present"
					case featcache.StatusMissing:
						status = "default"
					default:
						status = st.String()
					}
				}
				dst = append(dst, `,"status":"`...)
				dst = append(dst, status...)
				dst = append(dst, '"')
				if read && (st == featcache.StatusPresent || st == featcache.StatusExpired) {
					dst = append(dst, `,"age_seconds":`...)
					dst = appendNumber(dst, j.Now().Sub(at).Seconds())
				}
				dst = append(dst, '}')
			}
		}
		dst = append(dst, '}')
	}
	return append(dst, ']')
}

// appendJoins appends each live model version's online feature series:
// the fetch latency histogram, values served by status and store
// failures; and the feature cache's counters.
func (s *Server) appendJoins(b []byte) []byte {
	fs := s.opts.Features
	if fs == nil {
		return b
	}
	type entry struct {
		k  seriesKey
		vs *versionState
	}
	var es []entry
	s.versions.Range(func(key, _ any) bool {
		if vs := key.(*versionState); vs.join != nil {
			es = append(es, entry{seriesKey{model: vs.name, version: vs.version}, vs})
		}
		return true
	})
	slices.SortFunc(es, func(x, y entry) int {
		if c := strings.Compare(x.k.model, y.k.model); c != 0 {
			return c
		}
		return x.k.version - y.k.version
	})
	if len(es) > 0 {
		const fetch = "predictd_feature_fetch_seconds"
		b = fmt.Appendf(b, "# HELP %s Time to read a request's online features (cache, then one store round trip for the rest).\n# TYPE %s histogram\n", fetch, fetch)
		for _, e := range es {
			h := &e.vs.join.fetch
			var cum uint64
			for j := range h.counts {
				cum += h.counts[j].Load()
				le := "+Inf"
				if j < len(latencyBuckets) {
					le = strconv.FormatFloat(latencyBuckets[j], 'g', -1, 64)
				}
				b = appendVersionSample(b, fetch+"_bucket", e.k, "le", le, float64(cum))
			}
			b = appendVersionSample(b, fetch+"_sum", e.k, "", "", float64(h.sumNs.Load())/1e9)
			b = appendVersionSample(b, fetch+"_count", e.k, "", "", float64(cum))
		}
		const vals = "predictd_feature_values_total"
		b = fmt.Appendf(b, "# HELP %s Feature values served to predictions, by where they came from: present (the store's row), default (no row), expired (row past its TTL: default served), unavailable (store failed: default served), overridden (sent in the request).\n# TYPE %s counter\n", vals, vals)
		for _, e := range es {
			j := e.vs.join
			for _, c := range []struct {
				status string
				n      *atomic.Uint64
			}{{"present", &j.present}, {"default", &j.missing}, {"expired", &j.expired}, {"unavailable", &j.unavailable}, {"overridden", &j.overridden}} {
				b = appendVersionSample(b, vals, e.k, "status", c.status, float64(c.n.Load()))
			}
		}
		const errs = "predictd_feature_store_errors_total"
		b = fmt.Appendf(b, "# HELP %s Requests whose online feature read failed in the store; the label says what the model did (fail_closed: 503, fail_open: defaults).\n# TYPE %s counter\n", errs, errs)
		for _, e := range es {
			b = appendVersionSample(b, errs, e.k, "policy", e.vs.storeDown.String(), float64(e.vs.join.storeErrors.Load()))
		}
	}
	cs := fs.CacheStats()
	for _, c := range []struct {
		name, help string
		v          uint64
	}{
		{"predictd_feature_cache_hits_total", "Feature rows answered by the in-process cache.", cs.Hits},
		{"predictd_feature_cache_misses_total", "Feature rows read from the store.", cs.Misses},
		{"predictd_feature_cache_dropped_sets_total", "Rows read from the store that the cache declined to keep.", cs.DroppedSets},
	} {
		b = fmt.Appendf(b, "# HELP %s %s\n# TYPE %s counter\n%s %d\n", c.name, c.help, c.name, c.name, c.v)
	}
	return b
}
