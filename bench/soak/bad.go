package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Bad input kinds: each is expected to be answered 4xx or to have its
// connection closed.
var (
	kBadJSON      = kind{name: "bad_json", bad: true}
	kBadShape     = kind{name: "bad_shape", bad: true}
	kUnknownModel = kind{name: "unknown_model", bad: true}
	kBadKey       = kind{name: "bad_key_or_row", bad: true}
	kOversized    = kind{name: "oversized_body", bad: true}
	kBadHeader    = kind{name: "bad_header", bad: true}
	kGarbage      = kind{name: "garbage_tcp", bad: true}
	kBadToken     = kind{name: "bad_admin_token", bad: true}
	kIdle         = kind{name: "idle_conns", bad: true}
)

// badShare is each bad kind's share of --bad-rate (the idle connections
// come in batches of their own; oversized bodies at most 2/s).
var badShare = []struct {
	k     kind
	share float64
}{
	{kBadJSON, 0.15}, {kBadShape, 0.15}, {kUnknownModel, 0.15}, {kBadKey, 0.15},
	{kOversized, 0.05}, {kBadHeader, 0.15}, {kGarbage, 0.15}, {kBadToken, 0.05},
}

// Idle connections: every idleEvery, idleBatch connections opened and held
// for idleHold (a third of them after sending half a request line), then
// closed.
const (
	idleEvery = 15 * time.Second
	idleBatch = 50
	idleHold  = 5 * time.Second
)

// maxBodyBytes is the daemon's --max-body-bytes in the soak: small, so
// that a body over it costs little to send.
const maxBodyBytes = 1 << 20

func (t *traffic) startBad(ctx context.Context) {
	s := t.s
	wine := s.models["wine"]
	for _, b := range badShare {
		rate := s.cfg.badRate * b.share
		if b.k == kOversized {
			rate = min(rate, 2)
		}
		var f func(ctx context.Context)
		switch b.k {
		case kBadJSON:
			// Not JSON at all, whatever the endpoint.
			bodies := []string{`{"instances": [[1, 2, 3`, `{"instances": }`, `not json at all`, `{"inputs": [{"name": "input", "data": [1,2,]}]}`, "\x00\x01\x02", `{"rows": [1}}`, `{"a": 1}}`}
			paths := []string{"/v1/models/wine:predict", "/v2/models/wine/infer", "/v1/models/fraud:predict", "/v1/features/user_stats"}
			f = func(ctx context.Context) {
				s.do(ctx, s.badClient, b.k, "POST", paths[rand.IntN(len(paths))], []byte(bodies[rand.IntN(len(bodies))]))
			}
		case kBadShape:
			f = func(ctx context.Context) {
				r := rand.New(rand.NewPCG(rand.Uint64(), 7))
				short := modelInfo{name: wine.name, features: wine.features[:len(wine.features)-3]}
				switch r.IntN(8) {
				case 6: // JSON, but not a request
					s.do(ctx, s.badClient, b.k, "POST", "/v1/models/wine:predict", []byte(`{"instances": "x"}`))
				case 7: // a number past float64
					s.do(ctx, s.badClient, b.k, "POST", "/v1/models/wine:predict", []byte(`{"instances": [[1e999999, 1, 2, 3, 4, 5, 6, 7, 8, 9]]}`))
				case 0: // too few features
					s.do(ctx, s.badClient, b.k, "POST", "/v1/models/wine:predict", inlineBody(r, short, 2, false, false))
				case 1: // OIP shape says 10 features, data has 7 a row
					body := strings.Replace(string(inlineBody(r, short, 2, true, false)), `"shape":[2,7]`, `"shape":[2,10]`, 1)
					s.do(ctx, s.badClient, b.k, "POST", "/v2/models/wine/infer", []byte(body))
				case 2: // a string where a number goes
					s.do(ctx, s.badClient, b.k, "POST", "/v1/models/wine:predict", []byte(`{"instances": [["a", 1, 2, 3, 4, 5, 6, 7, 8, 9]]}`))
				case 3: // the fraud model with neither feature nor key
					s.do(ctx, s.badClient, b.k, "POST", "/v1/models/fraud:predict", []byte(`{"instances": [{"amount": 1, "hour": 2}]}`))
				case 4: // an unknown datatype
					s.do(ctx, s.badClient, b.k, "POST", "/v2/models/wine/infer", []byte(`{"inputs": [{"name": "input", "datatype": "FP128", "shape": [1, 10], "data": [1,2,3,4,5,6,7,8,9,10]}]}`))
				default: // more instances than --max-instances
					s.do(ctx, s.badClient, b.k, "POST", "/v1/models/wine:predict", []byte(`{"instances": [`+strings.Repeat(`[0,0,0,0,0,0,0,0,0,0],`, 1000)+`[0,0,0,0,0,0,0,0,0,0]]}`))
				}
			}
		case kUnknownModel:
			paths := []string{"/v1/models/nope:predict", "/v2/models/nope/infer", "/v1/models/wine/versions/99999:predict", "/v1/models/wine/labels/nope:predict", "/v1/models/nope", "/v2/models/nope", "/v1/nowhere", "/v1/models/wine:explain", "/v1/features/no_view/u1"}
			f = func(ctx context.Context) {
				p := paths[rand.IntN(len(paths))]
				method, body := "POST", []byte(`{"instances": [[1,2,3,4,5,6,7,8,9,10]]}`)
				if !strings.Contains(p, ":") && !strings.HasSuffix(p, "/infer") {
					method, body = "GET", nil
				}
				s.do(ctx, s.badClient, b.k, method, p, body)
			}
		case kBadKey:
			bodies := []struct{ path, body string }{
				{"/v1/models/fraud:predict", `{"instances": [{"user_id": "u\u0000x", "merchant_id": "m1", "amount": 1, "hour": 1}]}`},
				{"/v1/models/fraud:predict", `{"instances": [{"user_id": "` + strings.Repeat("k", 100_000) + `", "merchant_id": "m1", "amount": 1, "hour": 1}]}`},
				{"/v2/models/fraud/infer", `{"inputs": [{"name": "user_id", "datatype": "BYTES", "shape": [2], "data": ["u1"]}, {"name": "amount", "datatype": "FP64", "shape": [1], "data": [1]}]}`},
				{"/v1/features/user_stats", `{"rows": [{"entity": "u1", "event_time": "2100-01-01T00:00:00Z", "values": {"spend_7d": 1, "orders_30d": 1, "segment": 1}}]}`},
				{"/v1/features/user_stats", `{"rows": [{"entity": "u1", "event_time": "yesterday", "values": {"spend_7d": 1, "orders_30d": 1, "segment": 1}}]}`},
				{"/v1/features/user_stats", `{"rows": [{"entity": "u1", "event_time": "2020-01-01T00:00:00Z", "values": {"spend_7d": "lots", "orders_30d": 1, "segment": 1}}]}`},
				{"/v1/features/user_stats", `{"rows": [{"entity": "u\u0000", "event_time": "2020-01-01T00:00:00Z", "values": {"spend_7d": 1, "orders_30d": 1, "segment": 1}}]}`},
				{"/v1/features/user_stats", `{"rows": [{"entity": "` + strings.Repeat("k", 100_000) + `", "event_time": "2020-01-01T00:00:00Z", "values": {"spend_7d": 1, "orders_30d": 1, "segment": 1}}]}`},
				{"/v1/features/no_view", `{"rows": []}`},
			}
			f = func(ctx context.Context) {
				c := bodies[rand.IntN(len(bodies))]
				s.do(ctx, s.badClient, b.k, "POST", c.path, []byte(c.body))
			}
		case kOversized:
			big := []byte(`{"instances": [` + strings.Repeat(`[1,2,3,4,5,6,7,8,9,10],`, maxBodyBytes/23+100) + `[1,2,3,4,5,6,7,8,9,10]]}`)
			f = func(ctx context.Context) {
				s.do(ctx, s.badClient, b.k, "POST", "/v1/models/wine:predict", big)
			}
		case kBadHeader:
			reqs := badHeaderRequests()
			f = func(ctx context.Context) {
				r := reqs[rand.IntN(len(reqs))]
				s.raw(ctx, b.k, r, true)
			}
		case kGarbage:
			f = func(ctx context.Context) {
				g := make([]byte, 1+rand.IntN(2000))
				for i := range g {
					g[i] = byte(rand.Uint32())
				}
				if rand.IntN(2) == 0 {
					s.raw(ctx, b.k, string(g), false) // written, then closed by soak
				} else {
					s.raw(ctx, b.k, string(g)+"\r\n\r\n", true)
				}
			}
		case kBadToken:
			f = func(ctx context.Context) {
				switch rand.IntN(3) {
				case 0:
					s.do(ctx, s.badClient, b.k, "POST", "/v1/admin/reload", nil)
				case 1:
					s.do(ctx, s.badClient, b.k, "POST", "/v1/admin/reload", nil, "Authorization", "Bearer not-the-token-at-all-0123456789")
				default:
					s.do(ctx, s.badClient, b.k, "POST", "/v1/admin/models/wine/labels/canary", []byte(`{"version": 1}`), "Authorization", "Basic c29hazpzb2Fr")
				}
			}
		default:
			panic("BUG: soak: no generator for " + b.k.name)
		}
		t.every(ctx, b.k, rate, f)
	}
	if s.cfg.badRate > 0 {
		t.wg.Add(1)
		go func() {
			defer t.wg.Done()
			tick := time.NewTicker(idleEvery)
			defer tick.Stop()
			for {
				select {
				case <-ctx.Done():
					return
				case <-tick.C:
				}
				if !t.paused.Load() {
					s.idleBatch(ctx)
				}
			}
		}()
	}
}

// badHeaderRequests are requests whose request line or headers are
// broken, sent on raw TCP (an HTTP client will not send them). Some carry
// an Authorization header: it must never come back.
func badHeaderRequests() []string {
	body := `{"instances": [[1,2,3,4,5,6,7,8,9,10]]}`
	cl := strconv.Itoa(len(body))
	return []string{
		"POST /v1/models/wine:predict HTTP/1.1\r\nHost: x\r\nContent-Length: " + cl + "\r\nContent-Length: 3\r\nAuthorization: Bearer soak-secret-token-0000\r\n\r\n" + body,
		"POST /v1/models/wine:predict HTTP/1.1\r\nHost: x\r\nContent-Length: -5\r\n\r\n" + body,
		"POST /v1/models/wine:predict HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n" + body,
		"POST /v1/models/wine:predict HTTP/1.1\r\nHost: x\r\nX-Big: " + strings.Repeat("a", 20_000) + "\r\nContent-Length: " + cl + "\r\n\r\n" + body,
		"POST /v1/models/wine:predict HTTP/1.1\r\nHost: x\r\nThis is not a header\r\nContent-Length: " + cl + "\r\n\r\n" + body,
		"POST /v1/models/wine:predict HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n" + body + "\r\n0\r\n\r\n",
		"POST " + strings.Repeat("/x", 10_000) + " HTTP/1.1\r\nHost: x\r\n\r\n",
		"GET /v1/admin/../../etc/passwd HTTP/1.1\r\nHost: x\r\n\r\n",
		"POST /v1/admin/models/%00/labels/%00 HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer soak-secret-token-0000\r\nContent-Length: 2\r\n\r\n{}",
	}
}

// raw sends req on a new TCP connection. With answer set it reads the
// status line (5s at most) and records it, or "closed" when the server
// closed the connection first; without, it closes the connection after
// writing and records "written".
func (s *soak) raw(ctx context.Context, k kind, req string, answer bool) {
	sent := time.Now()
	desc := fmt.Sprintf("raw TCP %q", req[:min(len(req), 120)])
	c, err := dialLoopback(ctx, "tcp", s.daemon.addr)
	if err != nil {
		if ctx.Err() == nil {
			s.stats.record(k, sent, 0, err, desc, err.Error())
		}
		return
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	_, werr := io.WriteString(c, req)
	if !answer {
		s.stats.record(k, sent, 0, errWritten, desc, "")
		return
	}
	line, rerr := bufio.NewReader(c).ReadString('\n')
	if code, ok := statusCode(line); ok {
		s.stats.record(k, sent, code, nil, desc, line)
		return
	}
	err = rerr
	if err == nil {
		err = werr
	}
	if err == nil {
		err = fmt.Errorf("not an HTTP status line: %q", line)
	}
	if ctx.Err() == nil {
		s.stats.record(k, sent, 0, err, desc, err.Error())
	}
}

// errWritten is raw's outcome when it expected no answer.
var errWritten = writtenError{}

type writtenError struct{}

func (writtenError) Error() string { return "written" }

// statusCode parses "HTTP/1.1 400 Bad Request".
func statusCode(line string) (int, bool) {
	f := strings.Fields(line)
	if len(f) < 2 || !strings.HasPrefix(f[0], "HTTP/") {
		return 0, false
	}
	n, err := strconv.Atoi(f[1])
	return n, err == nil && n >= 100 && n < 600
}

// idleBatch opens idleBatch connections, sends half a request line on a
// third of them, holds them idleHold and closes them.
func (s *soak) idleBatch(ctx context.Context) {
	var wg sync.WaitGroup
	for i := range idleBatch {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sent := time.Now()
			c, err := dialLoopback(ctx, "tcp", s.daemon.addr)
			if err != nil {
				if ctx.Err() == nil {
					s.stats.record(kIdle, sent, 0, err, "idle connection", err.Error())
				}
				return
			}
			if i%3 == 0 {
				io.WriteString(c, "POST /v1/models/wine:predict HTTP/1.1\r\nHost: x\r\nContent-Le")
			}
			select {
			case <-ctx.Done():
			case <-time.After(idleHold):
			}
			c.Close()
			s.stats.record(kIdle, sent, 0, errOpened, "idle connection", "")
		}()
	}
	wg.Wait()
}

var errOpened = openedError{}

type openedError struct{}

func (openedError) Error() string { return "opened" }
