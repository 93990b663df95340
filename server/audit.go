package server

import (
	"github.com/valyala/fasthttp"

	"github.com/predictd/predictd/rollout/audit"
)

// The audit trail (Options.Audit, rollout/audit, docs/audit.md): every
// change to what serves (a version loaded, failed, unloaded; a label
// moved; a rollout's start, steps, promotion, rollback, abort; a reload)
// and every refused admin call is appended, hash-chained and fsynced,
// before the change takes effect. Admin calls name their actor: the admin
// token's name (actorOf).

// actorKey is the fasthttp user value under which handleAdmin stores the
// authenticated caller's name.
const actorKey = "predictd.actor"

// actorOf returns the name of the admin token that authenticated ctx's
// call, or audit.ActorDaemon when none did.
func actorOf(ctx *fasthttp.RequestCtx) string {
	if ctx != nil {
		if a, ok := ctx.UserValue(actorKey).(string); ok && a != "" {
			return a
		}
	}
	return audit.ActorDaemon
}

// audit appends an entry for a change by actor to model's versions, with
// reason, before the change is made: the caller makes it only when audit
// returns nil. The error is a 503 naming the log. Without Options.Audit
// it does nothing.
func (s *Server) audit(actor string, action audit.Action, model string, versions []int64, reason string) error {
	if s.opts.Audit == nil {
		return nil
	}
	if _, err := s.opts.Audit.Append(audit.Entry{Actor: actor, Action: action, Model: model, Versions: versions, Reason: reason}); err != nil {
		return Errorf(fasthttp.StatusServiceUnavailable, "audit log %s: %v: the change was not made", s.opts.Audit.Path(), err)
	}
	return nil
}
