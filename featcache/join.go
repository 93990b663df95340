package featcache

import (
	"context"
	"fmt"
	"math"
	"strings"
	"time"
)

// The serving join: a model version's JoinPlan, built once when the version
// loads, says which of its inputs may come from which feature view and by
// which entity key; a request's Join runs it: Select the rows its
// instances need, Read them through the cache, Fill the instances' rows.

// ModelInputs is what NewJoinPlan needs to know of a model: its input
// features and the feature_views entries of its manifest.
type ModelInputs struct {
	// Kind names the model's kind ("linear", "trees"), for messages.
	Kind string
	// Features are the model's input feature names, in its order; unique
	// and non-empty.
	Features []string
	// Categorical marks the features that take integer category codes;
	// nil: none.
	Categorical []bool
	// AllowMissing: the model takes missing values (NaN), as tree models
	// do. Without it every fetched feature needs a default, and a stored
	// NaN is served as the default.
	AllowMissing bool
	// FeatureViews are the manifest's feature_views entries: "view" (each
	// of the view's features the model takes) or "view:feature".
	FeatureViews []string
}

// JoinPlan says how a model version's inputs are filled from online
// features: which entity keys its requests carry (named by the entity's
// join key), which views each key selects, and which model feature comes
// from which view's feature, with its default. Built by NewJoinPlan;
// immutable and safe for concurrent use.
type JoinPlan struct {
	keys  []*Entity
	views []joinView
	// Per model feature: the index in views of the view it comes from,
	// or -1 when the request must send it; and its index in that view.
	fromView, viewFeat []int
	// defaults per model feature: served when the row is missing,
	// expired or unavailable (NaN: the view gives none).
	defaults     []float64
	allowMissing bool
}

// joinView is one view the model reads, selected by keys[key].
type joinView struct {
	view  *View
	key   int
	feats []int // the model features it fills
}

// NewJoinPlan resolves m's feature_views against defs. Every error names
// the manifest entry or feature that is wrong.
func NewJoinPlan(defs *Defs, m ModelInputs) (*JoinPlan, error) {
	nf := len(m.Features)
	index := make(map[string]int, nf)
	for f, name := range m.Features {
		index[name] = f
	}
	lookup := func(name string) int {
		if f, ok := index[name]; ok {
			return f
		}
		return -1
	}
	p := &JoinPlan{
		fromView:     make([]int, nf),
		viewFeat:     make([]int, nf),
		defaults:     make([]float64, nf),
		allowMissing: m.AllowMissing,
	}
	for f := range p.fromView {
		p.fromView[f], p.defaults[f] = -1, math.NaN()
	}
	viewIdx := map[string]int{}
	assign := func(ref string, v *View, vf int, f int) error {
		if prev := p.fromView[f]; prev >= 0 && p.views[prev].view != v {
			return fmt.Errorf("feature_views %q: model feature %q is also a feature of view %s; name one as \"view:feature\"", ref, m.Features[f], p.views[prev].view.Name)
		}
		vfeat := v.Features[vf]
		if f < len(m.Categorical) && m.Categorical[f] && vfeat.Type == Float {
			return fmt.Errorf("feature_views %q: model feature %q is categorical, view %s defines it as float", ref, vfeat.Name, v.Name)
		}
		if !m.AllowMissing && math.IsNaN(vfeat.Default) {
			return fmt.Errorf("feature_views %q: feature %q of view %s has no default, and a %s model needs every value: give it a default in the feature definitions", ref, vfeat.Name, v.Name, m.Kind)
		}
		vi, ok := viewIdx[v.Name]
		if !ok {
			vi = len(p.views)
			viewIdx[v.Name] = vi
			k := -1
			for i, e := range p.keys {
				if e == v.Entity {
					k = i
				}
			}
			if k < 0 {
				if lookup(v.Entity.JoinKey) >= 0 {
					return fmt.Errorf("feature_views %q: the join key %q of entity %s is also a model feature", ref, v.Entity.JoinKey, v.Entity.Name)
				}
				for _, e := range p.keys {
					if e.JoinKey == v.Entity.JoinKey {
						return fmt.Errorf("feature_views %q: entities %s and %s share the join key %q", ref, e.Name, v.Entity.Name, e.JoinKey)
					}
				}
				k = len(p.keys)
				p.keys = append(p.keys, v.Entity)
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
			f := lookup(feat)
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
			if f := lookup(ft.Name); f >= 0 {
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

// NumKeys is the number of entity keys p's requests may carry.
func (p *JoinPlan) NumKeys() int { return len(p.keys) }

// Key returns the entity of key k, 0 <= k < NumKeys. Its JoinKey names the
// key in requests; its KeyType says how the key's value is written.
func (p *JoinPlan) Key(k int) *Entity { return p.keys[k] }

// KeyIndex returns the index of the entity key named name, or -1. It does
// not allocate.
func (p *JoinPlan) KeyIndex(name []byte) int {
	for i, e := range p.keys {
		if e.JoinKey == string(name) {
			return i
		}
	}
	return -1
}

// Source says where model feature f may come from when a request does not
// send it: the view that holds it, and the index of the entity key that
// selects that view. key is -1 and view nil for a feature the request must
// send.
func (p *JoinPlan) Source(f int) (key int, view *View) {
	vi := p.fromView[f]
	if vi < 0 {
		return -1, nil
	}
	return p.views[vi].key, p.views[vi].view
}

// NumViews is the number of views p reads.
func (p *JoinPlan) NumViews() int { return len(p.views) }

// ViewFeatures returns the model features view vi fills, in the order the
// manifest's feature_views name them. The caller must not modify it.
func (p *JoinPlan) ViewFeatures(vi int) []int { return p.views[vi].feats }

// EntityKeys are a request's entity key values, as its decoder read them.
type EntityKeys interface {
	// EntityKey returns instance i's value of entity key k (see
	// JoinPlan.Key) in canonical form (Entity.CanonicalKey's), or "" when
	// the instance does not carry it. The string may alias the request's
	// buffers: a Join keeps it only until Reset.
	EntityKey(i, k int) string
}

// Join is one request's run of a JoinPlan: Select lists the rows its
// instances need, Read reads them through the cache, Fill writes their
// values into the instances' rows. Its buffers are kept from request to
// request (Reset), so that the warm path does not allocate. A Join is used
// by one goroutine at a time; the zero value is ready.
type Join struct {
	keys []Key
	// idx, per instance and view, is the index in keys, recs and sts of
	// the row read, or -1.
	idx  []int32
	nv   int
	recs []Record
	sts  []Status
	now  time.Time
}

// Select lists the rows n instances need: for each instance and view of
// p, the view's row of the instance's entity key, if the instance carries
// that key and lacks one of the view's features, or always with all (the
// response reports every feature). given holds, for n instances of p's
// model features row-major, whether the request sent the value. A key
// CheckKey refuses is an *InputError naming the instance and the key.
func (j *Join) Select(p *JoinPlan, n int, keys EntityKeys, given []bool, all bool) error {
	nf := len(p.fromView)
	j.nv = len(p.views)
	j.idx = j.idx[:0]
	j.keys = j.keys[:0]
	for i := range n {
		given := given[i*nf : (i+1)*nf]
		for vi := range p.views {
			idx := int32(-1)
			jv := &p.views[vi]
			if key := keys.EntityKey(i, jv.key); key != "" {
				if err := CheckKey(key); err != nil {
					return inputErr("instance %d: %s: %v", i, p.keys[jv.key].JoinKey, err)
				}
				for _, f := range jv.feats {
					if !given[f] || all {
						idx = int32(len(j.keys))
						j.keys = append(j.keys, Key{View: jv.view.Name, Entity: key})
						break
					}
				}
			}
			j.idx = append(j.idx, idx)
		}
	}
	return nil
}

// Read reads the selected rows through svc in at most one store round
// trip, bounded by deadline (zero: none) and the cache's StoreTimeout, and
// notes svc's clock for ages. Its error is Service.Fetch's: the store
// failed or timed out. The statuses are set even then (StatusUnavailable
// where neither the cache nor the store answered), so Fill serves defaults.
func (j *Join) Read(ctx context.Context, svc *Service, deadline time.Time) error {
	var err error
	j.recs, j.sts, err = svc.Fetch(ctx, deadline, j.keys, j.recs[:0], j.sts[:0])
	j.now = svc.Now()
	return err
}

// JoinCounts counts the feature values a Fill served, by where they came
// from.
type JoinCounts struct {
	Present     uint64 // the store's row
	Default     uint64 // no row: the default
	Expired     uint64 // a row past its view's TTL: the default
	Unavailable uint64 // the store failed: the default
	Overridden  uint64 // sent in the request, kept
}

// Fill writes into rows, n instances of p's model features row-major, each
// feature an instance did not send (given false): the value of its row, or
// the feature's default when the row is missing, expired or unavailable,
// or holds NaN for a model that takes no missing values. Values the
// request sent are kept (overridden). Call it after Select and Read, with
// the same n and given.
func (j *Join) Fill(p *JoinPlan, rows []float64, n int, given []bool) JoinCounts {
	var c JoinCounts
	nf, nv := len(p.fromView), len(p.views)
	for i := range n {
		row := rows[i*nf : (i+1)*nf]
		given := given[i*nf : (i+1)*nf]
		for vi := range p.views {
			idx := j.idx[i*nv+vi]
			for _, f := range p.views[vi].feats {
				if given[f] {
					c.Overridden++
					continue
				}
				st, v := j.sts[idx], math.NaN()
				switch st {
				case StatusPresent:
					c.Present++
					v = j.recs[idx].Values[p.viewFeat[f]]
				case StatusMissing:
					c.Default++
				case StatusExpired:
					c.Expired++
				default:
					c.Unavailable++
				}
				row[f] = FillValue(st, v, p.defaults[f], p.allowMissing)
			}
		}
	}
	return c
}

// FillValue is the one rule for the value a feature gets from its view's
// row, shared by the serving join (Join.Fill) and the offline training
// sets (tools/dataset): v, the row's stored value, when the row is present
// (StatusPresent: found and fresh by Fresh), unless v is missing (NaN) and
// the model takes no missing values (allowMissing false), which gets def;
// def for a row that is missing, expired or unavailable. def is the
// feature's default, NaN (missing) when it has none.
func FillValue(st Status, v, def float64, allowMissing bool) float64 {
	if st == StatusPresent && (!math.IsNaN(v) || allowMissing) {
		return v
	}
	return def
}

// Row returns what Read found for instance i's row of view vi: its status
// and event time. ok is false when that row was not read.
func (j *Join) Row(i, vi int) (st Status, eventTime time.Time, ok bool) {
	idx := j.idx[i*j.nv+vi]
	if idx < 0 {
		return 0, time.Time{}, false
	}
	return j.sts[idx], j.recs[idx].EventTime, true
}

// Now is the clock reading of the last Read, which ages are measured from.
func (j *Join) Now() time.Time { return j.now }

// maxKeptBytes is the largest buffer Reset keeps: a rare huge request
// should not pin its memory in a pool.
const maxKeptBytes = 1 << 20

// Reset empties j for the next request. Its buffers are kept unless they
// grew past 1 MiB.
func (j *Join) Reset() {
	clear(j.keys) // they may point into the request's buffers
	j.keys = keepBuf(j.keys, 32)
	j.idx = keepBuf(j.idx, 4)
	j.recs = keepBuf(j.recs, 64)
	j.sts = keepBuf(j.sts, 1)
	j.nv, j.now = 0, time.Time{}
}

// keepBuf returns b emptied, or nil if its capacity, at size bytes an
// element, is past maxKeptBytes.
func keepBuf[T any](b []T, size int) []T {
	if cap(b)*size > maxKeptBytes {
		return nil
	}
	return b[:0]
}
