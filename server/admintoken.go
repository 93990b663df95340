package server

import (
	"bytes"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/valyala/fasthttp"

	"github.com/predictd/predictd/rollout/audit"
)

// Admin authentication: named bearer tokens (Options.AdminTokens, and
// Options.AdminToken named "admin"), each request's token checked against
// every one in constant time; the name becomes the call's actor in the
// audit log (actorOf). A failed authentication is audited as auth_failure,
// at most one entry per remote address per authFailWindow and at most
// authFailBurst entries per window in all, each saying how many failures
// were not recorded since the last one: a flood of bad tokens can neither
// fill the disk nor queue requests behind the log's fsync.

// AdminTokenName is the name Options.AdminToken gets: the actor of the
// calls it authenticates.
const AdminTokenName = "admin"

// tokenName is what an admin token's name may be: it is the actor in the
// audit log, so no spaces, and not one of the actors the daemon writes.
var tokenName = regexp.MustCompile(`^[A-Za-z0-9_.-]{1,64}$`)

// Rate limits of the auth_failure entries.
const (
	authFailWindow   = 10 * time.Second // one entry per remote address per window
	authFailBurst    = 10               // entries per window over all addresses
	authFailMaxAddrs = 1024             // addresses remembered; more share the global count
)

// adminKey is one admin token: its holder's name and the token's SHA-256
// (compared instead of the token, so every comparison takes the same time
// whatever the lengths).
type adminKey struct {
	name string
	sum  [sha256.Size]byte
}

// initAdmin checks and hashes the admin tokens and registers the audit
// metrics. Called by New.
func (s *Server) initAdmin() error {
	toks := maps.Clone(s.opts.AdminTokens)
	if toks == nil {
		toks = map[string]string{}
	}
	if s.opts.AdminToken != "" {
		if _, dup := toks[AdminTokenName]; dup {
			return fmt.Errorf("server: AdminToken is named %q, and AdminTokens has that name too", AdminTokenName)
		}
		toks[AdminTokenName] = s.opts.AdminToken
	}
	seen := make(map[[sha256.Size]byte]string, len(toks))
	for _, name := range slices.Sorted(maps.Keys(toks)) {
		if err := CheckTokenName(name); err != nil {
			return fmt.Errorf("server: AdminTokens: %w", err)
		}
		if toks[name] == "" {
			return fmt.Errorf("server: AdminTokens[%q] is empty", name)
		}
		k := adminKey{name: name, sum: sha256.Sum256([]byte(toks[name]))}
		if other, dup := seen[k.sum]; dup {
			return fmt.Errorf("server: AdminTokens %q and %q have the same token: each holder needs their own", other, name)
		}
		seen[k.sum] = name
		s.admins = append(s.admins, k)
	}
	s.authFail = authFailures{now: time.Now, addrs: map[string]*authFailAddr{}}
	cs := []prometheus.Collector{prometheus.NewCounterFunc(prometheus.CounterOpts{
		Name: "predictd_admin_auth_failures_total",
		Help: "Admin API requests refused 401 (no or unknown bearer token); at most one audit entry per address per 10s records them.",
	}, func() float64 { return float64(s.authFail.total.Load()) })}
	if l := s.opts.Audit; l != nil {
		cs = append(cs, prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "predictd_audit_entries",
			Help: "The audit log's head seq (entries in the log). Its hash is at GET /v1/admin/audit/head; keep both as an anchor for predictd audit verify.",
		}, func() float64 { seq, _ := l.Head(); return float64(seq) }))
	}
	for _, c := range cs {
		if err := s.metrics.Register(c); err != nil {
			return fmt.Errorf("server: Options.Metrics: %w", err)
		}
	}
	return nil
}

// CheckTokenName returns an error unless name may name an admin token:
// 1 to 64 of [A-Za-z0-9_.-], and not an actor the daemon writes itself
// ("daemon", "unauthenticated").
func CheckTokenName(name string) error {
	switch {
	case !tokenName.MatchString(name):
		return fmt.Errorf("token name %q: want 1 to 64 of A-Z a-z 0-9 _ . -", name)
	case name == audit.ActorDaemon || name == audit.ActorUnauthenticated:
		return fmt.Errorf("token name %q is reserved: the audit log uses it for the daemon's own entries", name)
	}
	return nil
}

// authAdmin authenticates an admin call: it answers 404 when the admin API
// is off and 401 (audited, rate-limited) for a missing or unknown token,
// and returns false then; else it records the token's name as the call's
// actor (actorOf) and returns true. Every known token is compared, in
// constant time, whatever matched.
func (s *Server) authAdmin(ctx *fasthttp.RequestCtx) bool {
	if len(s.admins) == 0 {
		s.writeError(ctx, Errorf(fasthttp.StatusNotFound, "the admin API is off: start predictd serve with --admin-token-file or PREDICTD_ADMIN_TOKEN"))
		return false
	}
	tok, hasBearer := bytes.CutPrefix(ctx.Request.Header.Peek(fasthttp.HeaderAuthorization), []byte("Bearer "))
	match := -1
	if hasBearer {
		sum := sha256.Sum256(tok)
		for i := range s.admins {
			if subtle.ConstantTimeCompare(sum[:], s.admins[i].sum[:]) == 1 {
				match = i
			}
		}
	}
	if match < 0 {
		s.authFailed(ctx)
		ctx.Response.Header.Set(fasthttp.HeaderWWWAuthenticate, `Bearer realm="predictd admin"`)
		s.writeError(ctx, Errorf(fasthttp.StatusUnauthorized, "admin calls need the header Authorization: Bearer <token>, with a token predictd serve was given"))
		return false
	}
	ctx.SetUserValue(actorKey, s.admins[match].name)
	return true
}

// authFailures rate-limits the auth_failure entries.
type authFailures struct {
	now   func() time.Time
	total atomic.Uint64 // every failure, recorded or not

	mu    sync.Mutex
	addrs map[string]*authFailAddr // by remote IP
	// window and inWindow: the current global window's start and the
	// entries written in it.
	window   time.Time
	inWindow int
	// others: failures not recorded with an address of their own (the
	// global limit, a full table, an address forgotten with a count).
	others int
}

type authFailAddr struct {
	last       time.Time // its last entry
	suppressed int       // failures since, not recorded
}

// admit says whether the failure from ip gets an entry now, and if so how
// many failures from ip, and from other addresses, went unrecorded since
// the last entries.
func (a *authFailures) admit(ip string) (ok bool, mine, others int) {
	a.total.Add(1)
	now := a.now()
	a.mu.Lock()
	defer a.mu.Unlock()
	if now.Sub(a.window) >= authFailWindow || now.Before(a.window) {
		a.window, a.inWindow = now, 0
	}
	st := a.addrs[ip]
	if st != nil && now.Sub(st.last) < authFailWindow && !now.Before(st.last) {
		st.suppressed++
		return false, 0, 0
	}
	if st == nil && len(a.addrs) >= authFailMaxAddrs {
		a.forget(now)
	}
	if a.inWindow >= authFailBurst || st == nil && len(a.addrs) >= authFailMaxAddrs {
		a.others++
		return false, 0, 0
	}
	if st == nil {
		st = &authFailAddr{}
		a.addrs[ip] = st
	}
	a.inWindow++
	mine, others = st.suppressed, a.others
	st.last, st.suppressed, a.others = now, 0, 0
	return true, mine, others
}

// forget drops the addresses whose last entry is a window old, moving
// their unrecorded counts to others. The caller holds mu.
func (a *authFailures) forget(now time.Time) {
	for ip, st := range a.addrs {
		if now.Sub(st.last) >= authFailWindow {
			a.others += st.suppressed
			delete(a.addrs, ip)
		}
	}
}

// authFailed audits a failed authentication, if the rate limits let it.
// The answer is 401 either way: a failed append refuses nothing.
func (s *Server) authFailed(ctx *fasthttp.RequestCtx) {
	if s.opts.Audit == nil {
		s.authFail.total.Add(1)
		return
	}
	ok, mine, others := s.authFail.admit(ctx.RemoteIP().String())
	if !ok {
		return
	}
	reason := "remote " + ctx.RemoteAddr().String() + " " + string(ctx.Method()) + " " + strconv.Quote(string(ctx.Path()))
	if mine > 0 {
		reason += fmt.Sprintf("; %d more failures from %s since its last entry, not recorded (rate limit)", mine, ctx.RemoteIP())
	}
	if others > 0 {
		reason += fmt.Sprintf("; %d failures from other addresses not recorded (rate limit)", others)
	}
	if err := s.audit(audit.ActorUnauthenticated, audit.ActionAuthFailure, "", nil, reason); err != nil {
		s.logServerErr("admin: auth failure from %s not audited: %v", ctx.RemoteAddr(), err)
	}
}

// auditHead answers GET /v1/admin/audit/head: the audit log's head,
// {"seq": N, "hash": "..."}, an anchor for predictd audit verify.
func (s *Server) auditHead(ctx *fasthttp.RequestCtx) {
	if !s.allow(ctx, fasthttp.MethodGet) {
		return
	}
	if s.opts.Audit == nil {
		s.writeError(ctx, Errorf(fasthttp.StatusNotFound, "the audit log is off: start predictd serve with --audit-log FILE"))
		return
	}
	seq, hash := s.opts.Audit.Head()
	b, _ := json.Marshal(struct {
		Seq  int64  `json:"seq"`
		Hash string `json:"hash"`
		Log  string `json:"log"`
	}{seq, hash, s.opts.Audit.Path()})
	s.writeJSON(ctx, fasthttp.StatusOK, b)
}

// auditAdmin appends the entry of the admin call t on model name, by the
// call's actor, before the call is made: load [v], unload [v], label
// [from, to] (from the label's version now, 0 when unset). It returns the
// audit error (503) when the entry cannot be written: the call is then
// refused.
func (s *Server) auditAdmin(ctx *fasthttp.RequestCtx, t target, name string, to int) error {
	switch t.verb {
	case verbLoad:
		return s.audit(actorOf(ctx), audit.ActionLoad, name, []int64{int64(t.version)}, "admin API: load")
	case verbUnload:
		// An unknown model changes nothing: no entry.
		if _, err := s.models.Status(name); err != nil {
			return err
		}
		return s.audit(actorOf(ctx), audit.ActionUnload, name, []int64{int64(t.version)}, "admin API: unload")
	case verbLabel:
		st, err := s.models.Status(name)
		if err != nil {
			return err
		}
		from := st.Labels[string(t.label)]
		return s.audit(actorOf(ctx), audit.ActionLabel, name, []int64{int64(from), int64(to)}, "label "+string(t.label))
	}
	return nil
}

// auditRollback appends the entry of an admin rollback of model name,
// [from, to] as the models say Rollback would switch "stable" now, before
// Rollback is called. A rollback that cannot happen (no such model, no
// earlier stable version) is answered with that error and no entry.
// Models without RollbackTarget get an entry with no versions.
func (s *Server) auditRollback(ctx *fasthttp.RequestCtx, name string) error {
	rt, ok := s.models.(interface {
		RollbackTarget(name string) (from, to int, err error)
	})
	if !ok {
		return s.audit(actorOf(ctx), audit.ActionRollback, name, nil, `admin API: rollback of label "stable" (versions not known beforehand)`)
	}
	from, to, err := rt.RollbackTarget(name)
	if err != nil {
		return err
	}
	return s.audit(actorOf(ctx), audit.ActionRollback, name, []int64{int64(from), int64(to)}, `admin API: rollback of label "stable"`)
}
