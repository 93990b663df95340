package server

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/valyala/fasthttp"
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

// joinStats counts a model version's feature reads for /metrics.
type joinStats struct {
	fetch histogram
	// values by status: present, default (missing), expired, unavailable,
	// overridden by the request.
	present, missing, expired, unavailable, overridden atomic.Uint64
	storeErrors                                        atomic.Uint64
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
func (s *Server) join(ctx *fasthttp.RequestCtx, vs *versionState, c *exchange, deadline time.Time, timeout time.Duration) error {
	p, j, r := vs.schema.Join(), &c.join, &c.Request
	if err := j.Select(p, r.N, r, r.Given, r.ReturnFeatures); err != nil {
		return err // a key the store cannot hold: 400
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
	n := j.Fill(p, r.Rows, r.N, r.Given)
	vs.join.present.Add(n.Present)
	vs.join.missing.Add(n.Default)
	vs.join.expired.Add(n.Expired)
	vs.join.unavailable.Add(n.Unavailable)
	vs.join.overridden.Add(n.Overridden)
	return nil
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
