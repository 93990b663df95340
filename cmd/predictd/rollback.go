package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"time"

	"github.com/predictd/predictd/model/manager"
	"github.com/predictd/predictd/rollout/state"
)

// cmdRollback asks a running server to return a model's "stable" label to
// its previous version (POST /v1/admin/models/{name}/rollback) and prints
// "model M: stable vN -> vM".
func cmdRollback(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("rollback", stderr)
	base := fs.String("url", "", "the server's base URL, as http://127.0.0.1:8080 (required)")
	name := fs.String("model", "", "the model to roll back (required)")
	tokenFile := fs.String("token-file", "", "file holding the admin bearer token the server was given (or set PREDICTD_ADMIN_TOKEN)")
	timeout := fs.Duration("timeout", 5*time.Minute, "timeout of the request (a rollback to an unloaded version loads it first)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if err := required(fs, "url", "model"); err != nil {
		return err
	}
	root, err := daemonRoot("rollback", *base)
	if err != nil {
		return err
	}
	token, err := clientToken("rollback", *tokenFile)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	body, err := callDaemon(ctx, "rollback model "+*name, http.MethodPost, root+"/v1/admin/models/"+url.PathEscape(*name)+"/rollback", token, nil)
	if err != nil {
		return err
	}
	var out struct {
		From int `json:"from"`
		To   int `json:"to"`
	}
	if err := json.Unmarshal(body, &out); err != nil {
		return fmt.Errorf("rollback model %s: the answer is not JSON: %w", *name, err)
	}
	fmt.Fprintf(stdout, "model %s: stable v%d -> v%d\n", *name, out.From, out.To)
	return nil
}

// openStateStore opens the shared state store serve --state-dir or
// --state-redis names; (nil, nil) when neither is set.
func openStateStore(dir, redisURL string) (state.Store, error) {
	switch {
	case dir != "" && redisURL != "":
		return nil, errors.New("--state-dir and --state-redis: give one of them")
	case dir != "":
		st, err := state.OpenDir(dir)
		if err != nil {
			return nil, fmt.Errorf("--state-dir: %w", err)
		}
		return st, nil
	case redisURL != "":
		o, err := state.RedisOptionsFromURL(redisURL)
		if err != nil {
			return nil, fmt.Errorf("--state-redis: %w", err)
		}
		st, err := state.OpenRedis(o)
		if err != nil {
			return nil, fmt.Errorf("--state-redis: %w", err)
		}
		return st, nil
	}
	return nil, nil
}

// labelStore keeps the model manager's labels in the state store, one
// record a model under "labels/NAME" (JSON of manager.LabelState).
type labelStore struct{ st state.Store }

// stateTimeout bounds one label read or write.
const stateTimeout = 10 * time.Second

func labelKey(model string) string { return "labels/" + model }

func (s labelStore) Load(model string) (manager.LabelState, error) {
	ctx, cancel := context.WithTimeout(context.Background(), stateTimeout)
	defer cancel()
	r, err := s.st.Get(ctx, labelKey(model))
	if err != nil || r.Gen == 0 {
		return manager.LabelState{}, err
	}
	var ls manager.LabelState
	if err := json.Unmarshal(r.Data, &ls); err != nil {
		return manager.LabelState{}, fmt.Errorf("state key %q: %w", labelKey(model), err)
	}
	if ls.Labels == nil {
		ls.Labels = map[string]int{}
	}
	return ls, nil
}

// Save writes ls over the stored record with a compare-and-swap on the
// generation it reads first: a write by another replica that lands between
// the two fails this one with state.ErrConflict (the label then does not
// change); otherwise the last writer wins. Each replica reads the stored
// labels when it starts and catches up with other replicas' changes at
// its polls (see the model manager's package doc).
func (s labelStore) Save(model string, ls manager.LabelState) error {
	ctx, cancel := context.WithTimeout(context.Background(), stateTimeout)
	defer cancel()
	b, err := json.Marshal(ls)
	if err != nil {
		return err
	}
	r, err := s.st.Get(ctx, labelKey(model))
	if err != nil {
		return err
	}
	_, err = s.st.CAS(ctx, labelKey(model), r.Gen, b)
	return err
}
