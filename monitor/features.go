package monitor

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"

	"github.com/predictd/predictd/featcache"
)

// JoinStats counts a model version's online feature reads. Safe for
// concurrent use; its updates do not allocate.
type JoinStats struct {
	// Fetch is the time to read a request's features.
	Fetch Histogram
	// StoreErrors counts requests whose read failed in the store.
	StoreErrors atomic.Uint64
	// values served, by where they came from (featcache.JoinCounts).
	present, missing, expired, unavailable, overridden atomic.Uint64
}

// Add counts the values one request's join served.
func (j *JoinStats) Add(c featcache.JoinCounts) {
	j.present.Add(c.Present)
	j.missing.Add(c.Default)
	j.expired.Add(c.Expired)
	j.unavailable.Add(c.Unavailable)
	j.overridden.Add(c.Overridden)
}

// VersionJoin is one live model version's join statistics and its store
// down policy (the "policy" label: fail_closed or fail_open).
type VersionJoin struct {
	Model   string
	Version int
	Policy  string
	Stats   *JoinStats
}

// AppendJoins appends the online feature series of each live model version
// in es (it sorts es): the fetch latency histogram, values served by
// status and store failures; then the feature cache's counters, cs.
func AppendJoins(b []byte, es []VersionJoin, cs featcache.CacheStats) []byte {
	slices.SortFunc(es, func(x, y VersionJoin) int {
		if c := strings.Compare(x.Model, y.Model); c != 0 {
			return c
		}
		return x.Version - y.Version
	})
	if len(es) > 0 {
		const fetch = "predictd_feature_fetch_seconds"
		b = fmt.Appendf(b, "# HELP %s Time to read a request's online features (cache, then one store round trip for the rest).\n# TYPE %s histogram\n", fetch, fetch)
		for _, e := range es {
			k := seriesKey{model: e.Model, version: e.Version}
			h := &e.Stats.Fetch
			var cum uint64
			for j := range h.counts {
				cum += h.counts[j].Load()
				le := "+Inf"
				if j < len(LatencyBuckets) {
					le = strconv.FormatFloat(LatencyBuckets[j], 'g', -1, 64)
				}
				b = appendVersionSample(b, fetch+"_bucket", k, "le", le, float64(cum))
			}
			b = appendVersionSample(b, fetch+"_sum", k, "", "", float64(h.sumNs.Load())/1e9)
			b = appendVersionSample(b, fetch+"_count", k, "", "", float64(cum))
		}
		const vals = "predictd_feature_values_total"
		b = fmt.Appendf(b, "# HELP %s Feature values served to predictions, by where they came from: present (the store's row), default (no row), expired (row past its TTL: default served), unavailable (store failed: default served), overridden (sent in the request).\n# TYPE %s counter\n", vals, vals)
		for _, e := range es {
			k, j := seriesKey{model: e.Model, version: e.Version}, e.Stats
			for _, c := range []struct {
				status string
				n      *atomic.Uint64
			}{{"present", &j.present}, {"default", &j.missing}, {"expired", &j.expired}, {"unavailable", &j.unavailable}, {"overridden", &j.overridden}} {
				b = appendVersionSample(b, vals, k, "status", c.status, float64(c.n.Load()))
			}
		}
		const errs = "predictd_feature_store_errors_total"
		b = fmt.Appendf(b, "# HELP %s Requests whose online feature read failed in the store; the label says what the model did (fail_closed: 503, fail_open: defaults).\n# TYPE %s counter\n", errs, errs)
		for _, e := range es {
			b = appendVersionSample(b, errs, seriesKey{model: e.Model, version: e.Version}, "policy", e.Policy, float64(e.Stats.StoreErrors.Load()))
		}
	}
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
