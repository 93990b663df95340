package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/predictd/predictd/monitor/slo"
	"github.com/predictd/predictd/rollout/canary"
	"github.com/predictd/predictd/server"
)

// rolloutBlock is a model's "rollout" config block: a canary plan
// (docs/rollout.md) whose "candidate" is a version, or 0 or "auto" for
// every new version.
type rolloutBlock struct{ raw json.RawMessage }

func (b *rolloutBlock) UnmarshalJSON(p []byte) error {
	b.raw = append(json.RawMessage(nil), p...)
	return nil
}

// config parses the block; nil when the model has none. The error names
// the config file, the model and the field.
func (b rolloutBlock) config(path, model string) (*server.RolloutConfig, error) {
	raw := bytes.TrimSpace(b.raw)
	if len(raw) == 0 || string(raw) == "null" {
		return nil, nil
	}
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(raw, &fields); err != nil {
		return nil, fmt.Errorf("config file %s: model %q: rollout: want an object: %v", path, model, err)
	}
	auto := false
	switch c := string(bytes.TrimSpace(fields["candidate"])); c {
	case "", "0", `"auto"`:
		auto = true
		fields["candidate"] = json.RawMessage("1") // validated with a stand-in
	}
	raw, _ = json.Marshal(fields)
	plan, err := canary.ParsePlan(raw)
	if err != nil {
		return nil, fmt.Errorf("config file %s: model %q: %v", path, model, err)
	}
	if auto {
		plan.Candidate = 0
	}
	return &server.RolloutConfig{Plan: plan}, nil
}

// cmdRollout drives a model's canary rollout on a running server:
// status (GET /v1/models/{name}), start (POST /v1/admin/models/{name}/rollout
// with a plan), promote, rollback, abort, pause, resume.
func cmdRollout(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || strings.HasPrefix(args[0], "-") {
		return usageErr("rollout: want a subcommand: status, start, promote, rollback, abort, pause or resume")
	}
	sub, args := args[0], args[1:]
	switch sub {
	case "status", "start", "promote", "rollback", "abort", "pause", "resume":
	default:
		return usageErr("rollout %s: unknown subcommand; want status, start, promote, rollback, abort, pause or resume", sub)
	}
	fs := newFlags("rollout "+sub, stderr)
	base := fs.String("url", "", "the server's base URL, as http://127.0.0.1:8080 (required)")
	name := fs.String("model", "", "the model (required)")
	tokenFile := fs.String("token-file", "", "file holding the admin bearer token (or set PREDICTD_ADMIN_TOKEN); not needed for status")
	asJSON := fs.Bool("json", false, "print the server's JSON answer as it is")
	planFile := fs.String("plan", "", "start: the plan as a JSON file (docs/rollout.md); the flags below override its fields")
	candidate := fs.Int("candidate", 0, "start: the candidate version (required without --plan)")
	stable := fs.Int("stable", 0, "start: the stable version; 0: the model's \"stable\" label")
	steps := fs.String("steps", "", "start: the candidate's shares in percent, as 1,5,25,50,100")
	minDur := fs.Duration("min-duration", 0, "start: how long each step lasts at least (default 5m)")
	minReq := fs.Int64("min-requests", 0, "start: requests each side answers at a step before a check may fail (default 1000)")
	key := fs.String("key", "", "start: the request header whose value keeps a caller on one side, as X-User-Id")
	timeout := fs.Duration("timeout", 30*time.Second, "timeout of the request")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if err := required(fs, "url", "model"); err != nil {
		return err
	}
	root, err := daemonRoot("rollout", *base)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	what := fmt.Sprintf("rollout %s model %s", sub, *name)
	var out []byte
	if sub == "status" {
		out, err = callDaemon(ctx, what, http.MethodGet, root+"/v1/models/"+url.PathEscape(*name), "", nil)
	} else {
		token, terr := clientToken("rollout", *tokenFile)
		if terr != nil {
			return terr
		}
		endpoint := root + "/v1/admin/models/" + url.PathEscape(*name) + "/rollout"
		var body []byte
		if sub == "start" {
			if body, err = startPlan(fs, *planFile, *candidate, *stable, *steps, *minDur, *minReq, *key); err != nil {
				return err
			}
		} else {
			endpoint += "/" + sub
		}
		out, err = callDaemon(ctx, what, http.MethodPost, endpoint, token, bytes.NewReader(body))
	}
	if err != nil {
		return err
	}
	var st server.RolloutStatus
	if sub == "status" {
		var ms struct {
			Rollout *json.RawMessage `json:"rollout"`
		}
		if err := json.Unmarshal(out, &ms); err != nil {
			return fmt.Errorf("rollout status model %s: the answer is not JSON: %w", *name, err)
		}
		if ms.Rollout == nil {
			fmt.Fprintf(stdout, "model %s: no rollout\n", *name)
			return nil
		}
		out = *ms.Rollout
	}
	if *asJSON {
		fmt.Fprintf(stdout, "%s\n", out)
		return nil
	}
	if err := json.Unmarshal(out, &st); err != nil {
		return fmt.Errorf("rollout %s model %s: the answer is not a rollout: %w", sub, *name, err)
	}
	printRollout(stdout, *name, st)
	return nil
}

// startPlan is the body of a start: the --plan file, with the flags given
// on the command line over it.
func startPlan(fs *flag.FlagSet, planFile string, candidate, stable int, steps string, minDur time.Duration, minReq int64, key string) ([]byte, error) {
	plan := canary.DefaultPlan()
	if planFile != "" {
		b, err := os.ReadFile(planFile)
		if err != nil {
			return nil, usageErr("rollout start: --plan: %v", err)
		}
		if err := json.Unmarshal(b, &plan); err != nil {
			return nil, usageErr("rollout start: --plan %s: %v", planFile, err)
		}
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	if set["candidate"] {
		plan.Candidate = candidate
	}
	if set["stable"] {
		plan.Stable = stable
	}
	if set["steps"] {
		plan.Steps = nil
		for _, s := range strings.Split(steps, ",") {
			v, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
			if err != nil {
				return nil, usageErr("rollout start: --steps %q: %q is not a number", steps, s)
			}
			plan.Steps = append(plan.Steps, v)
		}
	}
	if set["min-duration"] {
		plan.MinDuration = slo.Duration(minDur)
	}
	if set["min-requests"] {
		plan.MinRequests = minReq
	}
	if set["key"] {
		plan.Key = key
	}
	if err := plan.Validate(); err != nil {
		return nil, usageErr("rollout start: %v", err)
	}
	return json.Marshal(plan)
}

// printRollout prints a rollout readably: the state, this replica's counts,
// the last decision, the checks and the history.
func printRollout(w io.Writer, name string, st server.RolloutStatus) {
	fmt.Fprintf(w, "model %s: candidate v%d against stable v%d: %s, step %d of %d (share %g%%) since %s, generation %d (%s state)\n",
		name, st.Plan.Candidate, st.Plan.Stable, st.Status, st.Step+1, len(st.Plan.Steps), st.Share,
		st.StepStarted.UTC().Format(time.RFC3339), st.Generation, st.Store)
	fmt.Fprintf(w, "this replica at this step: candidate %d requests (%d errors), stable %d (%d errors)\n",
		st.Requests["candidate"], st.Errors["candidate"], st.Requests["stable"], st.Errors["stable"])
	if st.Decision != "" {
		fmt.Fprintf(w, "last decision: %s: %s\n", st.Decision, st.Reason)
	}
	if len(st.Checks) > 0 {
		tw := tabwriter.NewWriter(w, 2, 8, 2, ' ', 0)
		fmt.Fprintln(tw, "CHECK\tVALUE\tTHRESHOLD\tVERDICT")
		for _, c := range st.Checks {
			fmt.Fprintf(tw, "%s\t%.4g\t%.4g\t%s\n", c.Name, c.Value, c.Threshold, c.Verdict)
		}
		tw.Flush()
	}
	if len(st.History) > 0 {
		fmt.Fprintln(w, "history:")
		tw := tabwriter.NewWriter(w, 2, 8, 2, ' ', 0)
		fmt.Fprintln(tw, "TIME\tGEN\tACTION\tSTEP\tREASON")
		for _, h := range st.History {
			fmt.Fprintf(tw, "%s\t%d\t%s\t%d -> %d\t%s\n", h.At.UTC().Format(time.RFC3339), h.Generation, h.Action, h.FromStep+1, h.ToStep+1, h.Reason)
		}
		tw.Flush()
	}
}
