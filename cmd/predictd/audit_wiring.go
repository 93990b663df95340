package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os"
	"strings"

	"github.com/predictd/predictd/model/manager"
	"github.com/predictd/predictd/rollout/audit"
	"github.com/predictd/predictd/server"
)

// The audit trail in the daemon (docs/audit.md, "In the daemon"): serve
// --audit-log FILE opens the log as a component before the model manager
// and the server's first Prepare, so that the first loads are recorded,
// and closes it last; the server appends every admin change, the
// manager's own loads, failures and retirements come through
// manager.Options.Event (auditEvent), and a SIGHUP reload is appended
// before it runs (auditReload).

// adminTokens reads the admin tokens from path, or else from
// PREDICTD_ADMIN_TOKEN (nil, nil when neither is given): the names of
// server.Options.AdminTokens. The format (docs/api.md):
//
//	# comment
//	alice  9f3b1c0e7d2a4b6f8e1d3c5a
//	ci-bot 0c1d2e3f4a5b6c7d8e9f0a1b
//
// one token a line, its holder's name (server.CheckTokenName) and the
// token separated by spaces or tabs; blank lines and lines starting with
// "#" are skipped. A file whose only line is a bare token (the format
// before named tokens) names it "admin". Tokens are at least 16 bytes and
// distinct, names distinct. Errors name the file and line, never a token.
func adminTokens(path string) (map[string]string, error) {
	data, where := []byte(nil), "PREDICTD_ADMIN_TOKEN"
	if path != "" {
		b, err := os.ReadFile(path)
		if err != nil {
			return nil, fmt.Errorf("--admin-token-file: %w", err)
		}
		data, where = b, "--admin-token-file "+path
	} else if env, ok := os.LookupEnv("PREDICTD_ADMIN_TOKEN"); ok {
		data = []byte(env)
	} else {
		return nil, nil
	}
	return parseAdminTokens(data, where)
}

// parseAdminTokens is adminTokens' parser; where names the source in
// errors.
func parseAdminTokens(data []byte, where string) (map[string]string, error) {
	type line struct {
		n      int
		fields []string
	}
	var lines []line
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(nil, 1<<20)
	for n := 1; sc.Scan(); n++ {
		text := strings.TrimSpace(sc.Text())
		if text == "" || strings.HasPrefix(text, "#") {
			continue
		}
		lines = append(lines, line{n, strings.Fields(text)})
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", where, err)
	}
	if len(lines) == 0 {
		return nil, fmt.Errorf("%s: no token: want lines NAME TOKEN, or one bare token", where)
	}
	if len(lines) == 1 && len(lines[0].fields) == 1 {
		tok := lines[0].fields[0]
		if name, _, ok := strings.Cut(tok, ":"); ok && server.CheckTokenName(name) == nil {
			// Taken as a bare token, it would authenticate nobody.
			return nil, fmt.Errorf("%s: line %d: looks like NAME:TOKEN; write NAME TOKEN (a space between), or a bare token without ':'", where, lines[0].n)
		}
		lines[0].fields = []string{server.AdminTokenName, tok}
	}
	toks := make(map[string]string, len(lines))
	owner := make(map[string]string, len(lines))
	for _, l := range lines {
		if len(l.fields) != 2 {
			return nil, fmt.Errorf("%s: line %d: %d fields, want NAME TOKEN (a bare token only as the file's one line)", where, l.n, len(l.fields))
		}
		name, tok := l.fields[0], l.fields[1]
		if err := server.CheckTokenName(name); err != nil {
			return nil, fmt.Errorf("%s: line %d: %v", where, l.n, err)
		}
		if len(tok) < 16 {
			return nil, fmt.Errorf("%s: line %d: the admin token of %q is %d bytes; use at least 16 (for example: head -c 24 /dev/urandom | base64)", where, l.n, name, len(tok))
		}
		if _, dup := toks[name]; dup {
			return nil, fmt.Errorf("%s: line %d: name %q is given twice", where, l.n, name)
		}
		if other, dup := owner[tok]; dup {
			return nil, fmt.Errorf("%s: line %d: %q has the same token as %q: each holder needs their own", where, l.n, name, other)
		}
		toks[name], owner[tok] = tok, name
	}
	return toks, nil
}

// openAudit opens --audit-log: a damaged log refuses the start (exit 2)
// with audit.Open's error, naming the file, line, seq and kind.
func (d *wiring) openAudit(context.Context) error {
	opts := audit.DefaultOptions()
	opts.Logf = d.logf
	opts.OpenReason = fmt.Sprintf("predictd %s pid %d", version, os.Getpid())
	l, err := audit.Open(d.cfg.auditLog, opts)
	if err != nil {
		return usageErr("--audit-log %s: %v", d.cfg.auditLog, err)
	}
	d.audit = l
	seq, hash := l.Head()
	d.logf("audit log %s: head seq %d hash %s", l.Path(), seq, hash)
	return nil
}

func (d *wiring) closeAudit(context.Context) error {
	if err := d.audit.Close(); err != nil {
		return fmt.Errorf("audit log: %w", err)
	}
	return nil
}

// maxAuditReason bounds the reason of a load_failed entry (the load's
// error), well under audit.MaxLineBytes.
const maxAuditReason = 4 << 10

// auditEvent is manager.Options.Event: the manager's own changes,
// appended by the daemon before they take effect.
func (d *wiring) auditEvent(e manager.Event) error {
	var action audit.Action
	reason := e.Reason
	switch e.Kind {
	case manager.EventLoad:
		action, reason = audit.ActionLoad, "loaded and warmed, about to serve"
	case manager.EventLoadFailed:
		action = audit.ActionLoadFailed
		if e.Err != nil {
			reason = e.Err.Error()
		}
		if len(reason) > maxAuditReason {
			reason = reason[:maxAuditReason] + "..."
		}
	case manager.EventUnload:
		action = audit.ActionUnload
	default:
		return fmt.Errorf("BUG: audit: manager event %v", e.Kind)
	}
	_, err := d.audit.Append(audit.Entry{Actor: audit.ActorDaemon, Action: action, Model: e.Model, Versions: []int64{int64(e.Version)}, Reason: reason})
	return err
}

// auditReload appends the config_reload of a SIGHUP before the reload
// runs; nil without an audit log.
func (d *wiring) auditReload() error {
	if d.audit == nil {
		return nil
	}
	_, err := d.audit.Append(audit.Entry{Actor: audit.ActorDaemon, Action: audit.ActionConfigReload, Reason: "SIGHUP"})
	return err
}
