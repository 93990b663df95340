package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
)

// The clients of a running daemon's API (predictd rollback, rollout)
// share these: checking --url, reading the admin token and one call.

// daemonRoot checks base (--url) for command cmd and returns it without a
// trailing slash.
func daemonRoot(cmd, base string) (string, error) {
	u, err := url.Parse(base)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return "", usageErr("%s: --url %q: want http://HOST:PORT or https://HOST:PORT", cmd, base)
	}
	return strings.TrimSuffix(base, "/"), nil
}

// clientToken reads the admin token for command cmd from file (--token-file)
// or PREDICTD_ADMIN_TOKEN; none is a usage error.
func clientToken(cmd, file string) (string, error) {
	token, err := adminToken(file)
	switch {
	case err != nil:
		return "", usageErr("%s: %v", cmd, strings.Replace(err.Error(), "--admin-token-file", "--token-file", 1))
	case token == "":
		return "", usageErr("%s: no admin token: give --token-file or set PREDICTD_ADMIN_TOKEN", cmd)
	}
	return token, nil
}

// callDaemon sends method endpoint with body (JSON; nil for none) and,
// when token is set, the bearer token, and returns the answer's body (at
// most 4 MiB). An answer other than 200 is an error "what: STATUS:
// MESSAGE", the message being the server's "error" member when it has one.
func callDaemon(ctx context.Context, what, method, endpoint, token string, body io.Reader) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, method, endpoint, body)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	defer resp.Body.Close()
	out, err := io.ReadAll(io.LimitReader(resp.Body, 4<<20))
	if err != nil {
		return nil, fmt.Errorf("%s: read the answer: %w", what, err)
	}
	if resp.StatusCode != http.StatusOK {
		var e struct {
			Error string `json:"error"`
		}
		msg := strings.TrimSpace(string(out))
		if json.Unmarshal(out, &e) == nil && e.Error != "" {
			msg = e.Error
		}
		return nil, fmt.Errorf("%s: %s: %s", what, resp.Status, msg)
	}
	return out, nil
}
