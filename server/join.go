package server

import (
	"context"
	"fmt"
	"time"
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

// errStoreDown is the 503 of a fail-closed model whose store failed.
func errStoreDown(err error) error {
	return retryErrorf(503, "online feature store unavailable: %v (this model fails closed; set its features_on_store_error to fail_open to serve defaults instead)", err)
}

// join fills the features r's instances did not send from the online
// store (featcache.Join): one read for every view and instance that needs
// one, then each missing value from its row, or its default when the row
// is missing, expired or unavailable. Values the request sent are kept
// (overridden). What is left here is what the server adds: a bad key is 400, a
// store that failed is 503 with Retry-After (fail closed) or defaults
// (fail open), a deadline that passed is 504.
func (s *Server) join(vs *versionState, c *exchange, deadline time.Time, timeout time.Duration) error {
	p, j, r := vs.schema.Join(), &c.join, &c.Request
	if err := j.Select(p, r.N, r, r.Given, r.ReturnFeatures); err != nil {
		return err // a key the store cannot hold: 400
	}
	start := time.Now()
	// Not the request's context: a fasthttp.RequestCtx's Done is the
	// server's, not the request's. The cache bounds the store read by the request's deadline
	// and its StoreTimeout.
	err := j.Read(context.Background(), s.opts.Features, deadline)
	vs.join.Fetch.Observe(time.Since(start))
	if err != nil && !deadline.IsZero() && !time.Now().Before(deadline) {
		vs.join.StoreErrors.Add(1)
		return errTimedOut(vs, c, timeout, "its online features were read")
	}
	if err != nil {
		vs.join.StoreErrors.Add(1)
		if vs.storeDown == FailClosed {
			return errStoreDown(err)
		}
		s.logStoreDown("model %s version %d: online feature store failed, serving defaults (fail_open): %v", vs.name, vs.version, err)
	}
	vs.join.Add(j.Fill(p, r.Rows, r.N, r.Given))
	return nil
}
