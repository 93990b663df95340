package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"sync"
	"sync/atomic"
	"time"
)

// feature is a model feature as GET /v2/models/NAME lists it.
type feature struct {
	Name string `json:"name"`
	Type string `json:"type"`
}

// modelInfo is what the traffic needs of a served model.
type modelInfo struct {
	name     string
	features []feature
}

// Good request kinds.
var (
	kTFSInline   = kind{name: "tfs_inline"}
	kOIPInline   = kind{name: "oip_inline"}
	kTFSKeys     = kind{name: "tfs_keys", store: true}
	kOIPKeys     = kind{name: "oip_keys", store: true}
	kPush        = kind{name: "push", store: true}
	kFeatureGet  = kind{name: "feature_get", store: true}
	kStatus      = kind{name: "status"}
	kAdminReload = kind{name: "admin_reload"}
)

// goodShare is each good kind's share of --rate.
var goodShare = []struct {
	k     kind
	share float64
}{
	{kTFSInline, 0.30}, {kOIPInline, 0.20}, {kTFSKeys, 0.20}, {kOIPKeys, 0.10},
	{kPush, 0.10}, {kFeatureGet, 0.05}, {kStatus, 0.05},
}

// Entities of testdata/features/users.csv and merchants.csv; keys past
// them are entities the store never had (their features are defaults).
const (
	nUsers     = 40
	nMerchants = 12
)

// maxInFlightPerKind bounds each kind's requests in flight: a daemon that
// stalls makes soak skip sends (counted), never pile up goroutines.
const maxInFlightPerKind = 64

// traffic runs the request generators; pause stops their sends without
// stopping them.
type traffic struct {
	s      *soak
	paused atomic.Bool
	wg     sync.WaitGroup // generators and their requests
	flight sync.WaitGroup // requests in flight
}

// every calls f rate times a second (f runs in its own goroutine, at most
// maxInFlightPerKind at once for k) until ctx is done.
func (t *traffic) every(ctx context.Context, k kind, rate float64, f func(ctx context.Context)) {
	if rate <= 0 {
		return
	}
	t.wg.Add(1)
	go func() {
		defer t.wg.Done()
		sem := make(chan struct{}, maxInFlightPerKind)
		tick := time.NewTicker(time.Duration(float64(time.Second) / rate))
		defer tick.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
			if t.paused.Load() {
				continue
			}
			select {
			case sem <- struct{}{}:
			default:
				t.s.stats.skipped(k)
				continue
			}
			t.flight.Add(1)
			go func() {
				defer func() { <-sem; t.flight.Done() }()
				f(ctx)
			}()
		}
	}()
}

// do sends one request of kind k with client c and records its outcome.
func (s *soak) do(ctx context.Context, c *http.Client, k kind, method, path string, body []byte, hdr ...string) {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, "http://"+s.daemon.addr+path, rd)
	if err != nil {
		panic("BUG: soak: " + err.Error())
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	desc := method + " " + path
	if len(body) > 0 {
		desc += " " + string(body[:min(len(body), 200)])
	}
	sent := time.Now()
	resp, err := c.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return // the run is over: not the daemon's doing
		}
		s.stats.record(k, sent, 0, err, desc, err.Error())
		return
	}
	ans, _ := io.ReadAll(io.LimitReader(resp.Body, 4<<10))
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	s.stats.record(k, sent, resp.StatusCode, nil, desc, string(ans))
}

// value is a random value for a feature of type typ.
func value(r *rand.Rand, typ string) any {
	switch typ {
	case "categorical":
		return r.IntN(4)
	case "int":
		return r.IntN(60)
	default:
		return float64(int(r.NormFloat64()*2000)) / 1000
	}
}

// inlineBody is a request for n rows of m with every feature inline: TF
// Serving (rows as arrays, or as objects when objects is set) or OIP (one
// 2-D FP64 input, or one input per feature when objects is set).
func inlineBody(r *rand.Rand, m modelInfo, n int, oip, objects bool) []byte {
	var v any
	switch {
	case !oip && !objects:
		rows := make([][]any, n)
		for i := range rows {
			for _, f := range m.features {
				rows[i] = append(rows[i], value(r, f.Type))
			}
		}
		v = map[string]any{"instances": rows}
	case !oip:
		rows := make([]map[string]any, n)
		for i := range rows {
			rows[i] = map[string]any{}
			for _, f := range m.features {
				rows[i][f.Name] = value(r, f.Type)
			}
		}
		v = map[string]any{"instances": rows}
	case !objects:
		var data []any
		for range n {
			for _, f := range m.features {
				data = append(data, value(r, f.Type))
			}
		}
		v = map[string]any{"id": "soak", "inputs": []any{map[string]any{"name": "input", "datatype": "FP64", "shape": []int{n, len(m.features)}, "data": data}}}
	default:
		var inputs []any
		for _, f := range m.features {
			data := make([]any, n)
			for i := range data {
				data[i] = value(r, f.Type)
			}
			inputs = append(inputs, map[string]any{"name": f.Name, "datatype": "FP64", "shape": []int{n}, "data": data})
		}
		v = map[string]any{"inputs": inputs}
	}
	b, _ := json.Marshal(v)
	return b
}

// user and merchant are entity keys: mostly ones the store holds, a few
// it never had.
func user(r *rand.Rand) string     { return fmt.Sprintf("u%d", r.IntN(nUsers+4)) }
func merchant(r *rand.Rand) string { return fmt.Sprintf("m%d", r.IntN(nMerchants+2)) }

// keyedBody is a request for the fraud model by entity keys: TF Serving
// row objects (with return_features now and then) or OIP BYTES inputs.
func keyedBody(r *rand.Rand, n int, oip bool) []byte {
	var v any
	if !oip {
		rows := make([]map[string]any, n)
		for i := range rows {
			rows[i] = map[string]any{"user_id": user(r), "merchant_id": merchant(r), "amount": value(r, "float"), "hour": r.IntN(24)}
		}
		v = map[string]any{"instances": rows, "return_features": r.IntN(4) == 0}
	} else {
		us, ms, am, hr := make([]string, n), make([]string, n), make([]float64, n), make([]int, n)
		for i := range n {
			us[i], ms[i], am[i], hr[i] = user(r), merchant(r), 100*r.Float64(), r.IntN(24)
		}
		v = map[string]any{"inputs": []any{
			map[string]any{"name": "user_id", "datatype": "BYTES", "shape": []int{n}, "data": us},
			map[string]any{"name": "merchant_id", "datatype": "BYTES", "shape": []int{n}, "data": ms},
			map[string]any{"name": "amount", "datatype": "FP64", "shape": []int{n}, "data": am},
			map[string]any{"name": "hour", "datatype": "INT64", "shape": []int{n}, "data": hr},
		}}
	}
	b, _ := json.Marshal(v)
	return b
}

// pushBody is a push of n rows to user_stats or merchant_stats, stamped a
// second ago.
func pushBody(r *rand.Rand, n int) (view string, body []byte) {
	at := time.Now().UTC().Add(-time.Second).Format(time.RFC3339)
	rows := make([]any, n)
	view = "user_stats"
	if r.IntN(2) == 0 {
		view = "merchant_stats"
	}
	for i := range rows {
		if view == "user_stats" {
			var seg any = r.IntN(4)
			if r.IntN(5) == 0 {
				seg = nil
			}
			rows[i] = map[string]any{"entity": user(r), "event_time": at, "values": map[string]any{"spend_7d": 100 * r.Float64(), "orders_30d": r.IntN(20), "segment": seg}}
		} else {
			rows[i] = map[string]any{"entity": merchant(r), "event_time": at, "values": map[string]any{"fraud_rate_30d": r.Float64() / 10, "txn_count_7d": r.IntN(100)}}
		}
	}
	body, _ = json.Marshal(map[string]any{"rows": rows})
	return view, body
}

// startGood starts the good traffic: --rate requests/s shared by kind as
// goodShare says.
func (t *traffic) startGood(ctx context.Context) {
	s := t.s
	dense := []modelInfo{s.models["wine"], s.models["mlp"], s.models["logreg"]}
	fraud := s.models["fraud"]
	for _, g := range goodShare {
		rate := s.cfg.rate * g.share
		var f func(ctx context.Context)
		switch g.k {
		case kTFSInline:
			f = func(ctx context.Context) {
				r := rand.New(rand.NewPCG(rand.Uint64(), 1))
				n := 1 + r.IntN(4)
				if r.IntN(4) == 0 {
					s.do(ctx, s.client, g.k, "POST", "/v1/models/fraud:predict", inlineBody(r, fraud, n, false, true))
					return
				}
				m := dense[r.IntN(len(dense))]
				s.do(ctx, s.client, g.k, "POST", "/v1/models/"+m.name+":predict", inlineBody(r, m, n, false, r.IntN(2) == 0))
			}
		case kOIPInline:
			f = func(ctx context.Context) {
				r := rand.New(rand.NewPCG(rand.Uint64(), 2))
				n := 1 + r.IntN(4)
				if r.IntN(4) == 0 {
					s.do(ctx, s.client, g.k, "POST", "/v2/models/fraud/infer", inlineBody(r, fraud, n, true, true))
					return
				}
				m := dense[r.IntN(len(dense))]
				s.do(ctx, s.client, g.k, "POST", "/v2/models/"+m.name+"/infer", inlineBody(r, m, n, true, false))
			}
		case kTFSKeys:
			f = func(ctx context.Context) {
				r := rand.New(rand.NewPCG(rand.Uint64(), 3))
				s.do(ctx, s.client, g.k, "POST", "/v1/models/fraud:predict", keyedBody(r, 1+r.IntN(4), false))
			}
		case kOIPKeys:
			f = func(ctx context.Context) {
				r := rand.New(rand.NewPCG(rand.Uint64(), 4))
				s.do(ctx, s.client, g.k, "POST", "/v2/models/fraud/infer", keyedBody(r, 1+r.IntN(4), true))
			}
		case kPush:
			f = func(ctx context.Context) {
				r := rand.New(rand.NewPCG(rand.Uint64(), 5))
				view, body := pushBody(r, 1+r.IntN(5))
				s.do(ctx, s.client, g.k, "POST", "/v1/features/"+view, body)
			}
		case kFeatureGet:
			f = func(ctx context.Context) {
				r := rand.New(rand.NewPCG(rand.Uint64(), 6))
				if r.IntN(2) == 0 {
					s.do(ctx, s.client, g.k, "GET", "/v1/features/user_stats/"+user(r), nil)
				} else {
					s.do(ctx, s.client, g.k, "GET", "/v1/features/merchant_stats/"+merchant(r), nil)
				}
			}
		case kStatus:
			paths := []string{"/v1/models/wine", "/v1/models/mlp/metadata", "/v2/models/fraud", "/v2/models/logreg/ready", "/readyz", "/healthz", "/v2/health/ready", "/v2"}
			f = func(ctx context.Context) {
				s.do(ctx, s.client, g.k, "GET", paths[rand.IntN(len(paths))], nil)
			}
		default:
			panic("BUG: soak: no generator for " + g.k.name)
		}
		t.every(ctx, g.k, rate, f)
	}
}
