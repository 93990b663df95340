package server

import (
	"context"
	"fmt"
	"math"
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

// joinPlan says how a model version's inputs are filled from online
// features: which entity keys its requests carry, which views are read by
// each, and which model feature comes from which view's feature. Built
// once per version from its manifest's feature_views; immutable.
type joinPlan struct {
	keys  []joinKey
	views []joinView
	// Per model feature: the index in views of the view it comes from,
	// or -1 when the request must send it; and its index in that view.
	fromView, viewFeat []int
	// defaults per model feature: served when the row is missing,
	// expired or unavailable (NaN: the view gives none).
	defaults []float64
}

// joinKey is an entity key requests carry, named by the entity's join key.
type joinKey struct {
	name   string
	entity *featcache.Entity
}

// joinView is one view the model reads, selected by keys[key].
type joinView struct {
	view  *featcache.View
	key   int
	feats []int // the model features it fills
}

// newJoinPlan resolves m's feature_views against defs. Every error names
// the manifest entry or feature that is wrong.
func newJoinPlan(m *model.Manifest, defs *featcache.Defs, s *Schema) (*joinPlan, error) {
	nf := len(m.Features)
	p := &joinPlan{
		fromView: make([]int, nf),
		viewFeat: make([]int, nf),
		defaults: make([]float64, nf),
	}
	for f := range p.fromView {
		p.fromView[f], p.defaults[f] = -1, math.NaN()
	}
	viewIdx := map[string]int{}
	assign := func(ref string, v *featcache.View, vf int, f int) error {
		if prev := p.fromView[f]; prev >= 0 && p.views[prev].view != v {
			return fmt.Errorf("feature_views %q: model feature %q is also a feature of view %s; name one as \"view:feature\"", ref, m.Features[f].Name, p.views[prev].view.Name)
		}
		vfeat := v.Features[vf]
		if m.Features[f].Type == model.FeatureCategorical && vfeat.Type == featcache.Float {
			return fmt.Errorf("feature_views %q: model feature %q is categorical, view %s defines it as float", ref, vfeat.Name, v.Name)
		}
		if !s.allowMissing && math.IsNaN(vfeat.Default) {
			return fmt.Errorf("feature_views %q: feature %q of view %s has no default, and a %s model needs every value: give it a default in the feature definitions", ref, vfeat.Name, v.Name, m.Kind)
		}
		vi, ok := viewIdx[v.Name]
		if !ok {
			vi = len(p.views)
			viewIdx[v.Name] = vi
			k := -1
			for i, jk := range p.keys {
				if jk.entity == v.Entity {
					k = i
				}
			}
			if k < 0 {
				if s.lookup([]byte(v.Entity.JoinKey)) >= 0 {
					return fmt.Errorf("feature_views %q: the join key %q of entity %s is also a model feature", ref, v.Entity.JoinKey, v.Entity.Name)
				}
				for _, jk := range p.keys {
					if jk.name == v.Entity.JoinKey {
						return fmt.Errorf("feature_views %q: entities %s and %s share the join key %q", ref, jk.entity.Name, v.Entity.Name, jk.name)
					}
				}
				k = len(p.keys)
				p.keys = append(p.keys, joinKey{name: v.Entity.JoinKey, entity: v.Entity})
			}
			p.views = append(p.views, joinView{view: v, key: k})
		}
		if p.fromView[f] < 0 {
			p.views[vi].feats = append(p.views[vi].feats, f)
		}
		p.fromView[f], p.viewFeat[f], p.defaults[f] = vi, vf, vfeat.Default
		return nil
	}
	for _, ref := range m.FeatureViews {
		name, feat, single := strings.Cut(ref, ":")
		v, ok := defs.View(name)
		if !ok {
			return nil, fmt.Errorf("feature_views %q: no feature view %s in the feature definitions", ref, name)
		}
		if single {
			vf := v.Index(feat)
			if vf < 0 {
				return nil, fmt.Errorf("feature_views %q: view %s has no feature %q", ref, name, feat)
			}
			f := s.lookup([]byte(feat))
			if f < 0 {
				return nil, fmt.Errorf("feature_views %q: the model has no feature %q", ref, feat)
			}
			if err := assign(ref, v, vf, f); err != nil {
				return nil, err
			}
			continue
		}
		n := 0
		for vf, ft := range v.Features {
			if f := s.lookup([]byte(ft.Name)); f >= 0 {
				if err := assign(ref, v, vf, f); err != nil {
					return nil, err
				}
				n++
			}
		}
		if n == 0 {
			return nil, fmt.Errorf("feature_views %q: view %s has no feature the model takes", ref, name)
		}
	}
	return p, nil
}

// lookupKey returns the index of the entity key named b, or -1.
func (p *joinPlan) lookupKey(b []byte) int {
	for i := range p.keys {
		if p.keys[i].name == string(b) {
			return i
		}
	}
	return -1
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
func (r *Request) entityKey(p *joinPlan, i, k int) error {
	sc := &r.sc
	e := p.keys[k].entity
	slot := i*len(p.keys) + k
	if r.entOff[slot] >= 0 {
		return Errorf(400, "instance %d: entity key %q appears twice", i, p.keys[k].name)
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
		return sc.wrongType(fmt.Sprintf("instance %d: entity key %q: ", i, p.keys[k].name), "expected a string or an integer")
	}
	off := len(r.ents)
	if e.KeyType == featcache.KeyInt {
		n, ok := parseInt64(text)
		if !ok {
			return Errorf(400, "instance %d: entity key %q: %q is not an integer (entity %s has int keys)", i, p.keys[k].name, text, e.Name)
		}
		r.ents = strconv.AppendInt(r.ents, n, 10)
	} else {
		if len(text) == 0 {
			return Errorf(400, "instance %d: entity key %q is empty", i, p.keys[k].name)
		}
		if strings.IndexByte(unsafe.String(&text[0], len(text)), 0) >= 0 {
			return Errorf(400, "instance %d: entity key %q contains a NUL byte", i, p.keys[k].name)
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
func (r *Request) inlineJoin(p *joinPlan, nf, n int) {
	for range n {
		r.startJoinInstance(p)
		for range nf {
			r.given = append(r.given, true)
		}
	}
}

// startJoinInstance r's per-instance join scratch for one more instance.
func (r *Request) startJoinInstance(p *joinPlan) {
	for range p.keys {
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
		vi := p.fromView[f]
		if vi < 0 {
			return Errorf(400, "instance %d: missing feature %q", i, s.names[f])
		}
		jv := &p.views[vi]
		if r.entOff[i*len(p.keys)+jv.key] < 0 {
			return Errorf(400, "instance %d: missing feature %q: send it, or entity key %q to fetch it from feature view %s", i, s.names[f], p.keys[jv.key].name, jv.view.Name)
		}
		r.fetch = true
	}
	return nil
}

// joinKeyText returns the entity key text of instance i for view vi, or "" when
// the instance does not carry it. The string aliases r.ents: it is valid
// until r is reused, and Cache.Get keeps no reference to it.
func (r *Request) joinKeyText(p *joinPlan, i, vi int) string {
	slot := i*len(p.keys) + p.views[vi].key
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
// store: one Fetch for every view and instance that needs one, then each
// missing value from its row, or its default when the row is missing,
// expired or unavailable. Values the request sent are kept (overridden).
func (s *Server) join(ctx *fasthttp.RequestCtx, vs *versionState, r *Request, deadline time.Time, timeout time.Duration) error {
	p := vs.schema.join
	nf, nv := len(vs.schema.names), len(p.views)
	r.jidx = r.jidx[:0]
	r.jkeys = r.jkeys[:0]
	for i := range r.N {
		given := r.given[i*nf : (i+1)*nf]
		for vi := range p.views {
			idx := int32(-1)
			if key := r.joinKeyText(p, i, vi); key != "" {
				if err := featcache.CheckKey(key); err != nil {
					return Errorf(fasthttp.StatusBadRequest, "instance %d: %s: %v", i, p.keys[p.views[vi].key].name, err)
				}
				for _, f := range p.views[vi].feats {
					if !given[f] || r.ReturnFeatures {
						idx = int32(len(r.jkeys))
						r.jkeys = append(r.jkeys, featcache.Key{View: p.views[vi].view.Name, Entity: key})
						break
					}
				}
			}
			r.jidx = append(r.jidx, idx)
		}
	}
	start := time.Now()
	var err error
	// Not ctx: a fasthttp.RequestCtx's Done is the server's, not the
	// request's. The cache bounds the store read by the request's deadline
	// and its StoreTimeout.
	r.jrecs, r.jsts, err = s.opts.Features.Fetch(context.Background(), deadline, r.jkeys, r.jrecs[:0], r.jsts[:0])
	vs.join.fetch.observe(time.Since(start))
	r.now = s.opts.Features.Now()
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
	var present, missing, expired, unavailable, overridden uint64
	for i := range r.N {
		row := r.Rows[i*nf : (i+1)*nf]
		given := r.given[i*nf : (i+1)*nf]
		for vi := range p.views {
			idx := r.jidx[i*nv+vi]
			for _, f := range p.views[vi].feats {
				if given[f] {
					overridden++
					continue
				}
				x := p.defaults[f]
				switch r.jsts[idx] {
				case featcache.StatusPresent:
					present++
					if v := r.jrecs[idx].Values[p.viewFeat[f]]; !math.IsNaN(v) || vs.schema.allowMissing {
						x = v
					}
				case featcache.StatusMissing:
					missing++
				case featcache.StatusExpired:
					expired++
				default:
					unavailable++
				}
				row[f] = x
			}
		}
	}
	vs.join.present.Add(present)
	vs.join.missing.Add(missing)
	vs.join.expired.Add(expired)
	vs.join.unavailable.Add(unavailable)
	vs.join.overridden.Add(overridden)
	return nil
}

// appendFeatures appends `,"features":[...]` to a predict response: per
// instance, an object of each feature the model may read from a view,
// with the value used, its status (present, default, expired,
// unavailable, overridden) and, for a row the store has, its age in
// seconds.
func appendFeatures(dst []byte, s *Schema, r *Request) []byte {
	p := s.join
	nf, nv := len(s.names), len(p.views)
	dst = append(dst, `,"features":[`...)
	for i := range r.N {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = append(dst, '{')
		n := 0
		for vi := range p.views {
			idx := r.jidx[i*nv+vi]
			for _, f := range p.views[vi].feats {
				if n > 0 {
					dst = append(dst, ',')
				}
				n++
				dst = appendString(dst, s.names[f])
				dst = append(dst, `:{"value":`...)
				dst = appendNumber(dst, r.Rows[i*nf+f])
				status := "overridden"
				var st featcache.Status
				if idx >= 0 {
					st = r.jsts[idx]
				}
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
				if idx >= 0 && (st == featcache.StatusPresent || st == featcache.StatusExpired) {
					dst = append(dst, `,"age_seconds":`...)
					dst = appendNumber(dst, r.now.Sub(r.jrecs[idx].EventTime).Seconds())
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
