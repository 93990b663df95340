package dataset

import (
	"bytes"
	"io"
	"time"

	"github.com/predictd/predictd/featcache"
)

// joinSorted is the point-in-time join of one view. reqs are the entity
// rows' requests (key, timestamp, row index) and rows the view's source
// rows (key, event time, file position, values), both sorted by (key,
// time, n). For each request, in reqs' order, it calls emit with the
// request's row index and its values: those of the latest source row of
// the same key at or before the request's time (the first in file order
// of several at that time) if that row is still fresh at the request's
// time (featcache.Fresh: age < ttl), its values as they are, NaN
// included (StatusPresent); otherwise defaults (StatusExpired when there
// is a row at or before the time but it is too old, StatusMissing when
// there is none). vals is valid only during the call.
func joinSorted(reqs, rows stream, ttl time.Duration, defaults []float64, emit func(row uint64, st featcache.Status, vals []float64) error) error {
	src, err := rows.next()
	if err == io.EOF {
		src, err = nil, nil
	}
	if err != nil {
		return err
	}
	var (
		have     bool   // best holds a row of curKey at or before the request
		curKey   []byte // the key of the last request
		bestT    int64
		bestVals = make([]float64, len(defaults))
		vals     = make([]float64, len(defaults))
	)
	for {
		q, err := reqs.next()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		if !bytes.Equal(q.key, curKey) {
			curKey = append(curKey[:0], q.key...)
			have = false
		}
		// Skip source rows of smaller keys; take rows of this key up to
		// the request's time. Requests of one key come in time order, so
		// the best row only moves forward.
		for src != nil {
			c := bytes.Compare(src.key, q.key)
			if c > 0 || (c == 0 && src.t > q.t) {
				break
			}
			if c == 0 && (!have || src.t > bestT) {
				// A row at the same time as best came later in the
				// file: the first is kept.
				have, bestT = true, src.t
				copy(bestVals, src.vals)
			}
			if src, err = rows.next(); err == io.EOF {
				src = nil
			} else if err != nil {
				return err
			}
		}
		st := featcache.StatusMissing
		if have {
			st = featcache.StatusExpired
			if featcache.Fresh(time.Unix(0, bestT), time.Unix(0, q.t), ttl) {
				st = featcache.StatusPresent
			}
		}
		// The serving join's rule, for a model that takes missing values:
		// the training set is for any model.
		for i, def := range defaults {
			vals[i] = featcache.FillValue(st, bestVals[i], def, true)
		}
		if err := emit(q.n, st, vals); err != nil {
			return err
		}
	}
}
