package materialize

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/predictd/predictd/featcache"
)

// Putter is what File writes rows through: a featcache.Store, or a
// Daemon (a running predictd serve's push API).
type Putter interface {
	// Put writes rows of view and returns how many were stored (rows
	// not newer than the stored row of their entity are skipped).
	Put(ctx context.Context, view string, rows []featcache.Row) (written int, err error)
}

var _ Putter = featcache.Store(nil)

// DaemonOptions configure NewDaemon.
type DaemonOptions struct {
	// URL is the daemon's base URL, http://HOST:PORT (or https://).
	// Required.
	URL string
	// View is the feature view rows are pushed to; its features name the
	// values. Required.
	View *featcache.View
	// MaxBodyBytes bounds one request body: a Put whose rows encode
	// larger is sent as several requests (a single row larger than this
	// goes alone). Default 4 MiB, half the daemon's default limit
	// (server.Options.MaxBodyBytes, 8 MiB).
	MaxBodyBytes int
	// Client sends the requests; nil is a client with a 60 s timeout.
	Client *http.Client
}

// Daemon writes rows through a running `predictd serve`'s push API, POST
// /v1/features/{view}: the way to bulk-load a Pebble store the daemon holds
// open (a second process cannot open it) without stopping the daemon. The
// daemon validates every row again and keeps the newer of two rows, as a
// Store does; it also refuses a row more than its --feature-max-future
// ahead of its clock. A Daemon is safe for concurrent use.
type Daemon struct {
	url     string // base URL + /v1/features/ + escaped view
	view    *featcache.View
	maxBody int
	client  *http.Client
}

// NewDaemon checks opts and returns a Daemon. It does not contact the
// daemon.
func NewDaemon(opts DaemonOptions) (*Daemon, error) {
	if opts.View == nil {
		return nil, errors.New("materialize: DaemonOptions.View is required")
	}
	u, err := url.Parse(opts.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || (u.Path != "" && u.Path != "/") || u.RawQuery != "" {
		return nil, fmt.Errorf("materialize: daemon URL %q: want http://HOST:PORT, the address predictd serve listens on", opts.URL)
	}
	if opts.MaxBodyBytes < 0 {
		return nil, fmt.Errorf("materialize: DaemonOptions.MaxBodyBytes is %d, want a positive size or 0 for the default", opts.MaxBodyBytes)
	}
	if opts.MaxBodyBytes == 0 {
		opts.MaxBodyBytes = 4 << 20
	}
	if opts.Client == nil {
		opts.Client = &http.Client{Timeout: 60 * time.Second}
	}
	return &Daemon{
		url:     strings.TrimSuffix(opts.URL, "/") + "/v1/features/" + url.PathEscape(opts.View.Name),
		view:    opts.View,
		maxBody: opts.MaxBodyBytes,
		client:  opts.Client,
	}, nil
}

// Put pushes rows of view (which must be the Daemon's View) in requests of
// at most MaxBodyBytes (see DaemonOptions), in order, and returns the rows the daemon wrote.
// Rows of earlier requests stay written when a later one fails; pushing
// them again is safe (an equal or older row changes nothing). A refusal
// (HTTP 400) or another failure is an error quoting the daemon's message.
func (d *Daemon) Put(ctx context.Context, view string, rows []featcache.Row) (int, error) {
	if view != d.view.Name {
		return 0, fmt.Errorf("materialize: push to view %s through a Daemon for view %s", view, d.view.Name)
	}
	written := 0
	var body, row []byte
	start := 0 // first row in body
	send := func(end int) error {
		body = append(body, "]}"...)
		n, err := d.post(ctx, body)
		if err != nil {
			return fmt.Errorf("push rows %d..%d to %s: %w", start, end-1, d.url, err)
		}
		written += n
		body, start = body[:0], end
		return nil
	}
	for i := range rows {
		row = d.appendRow(row[:0], &rows[i])
		if len(body) > 0 && len(body)+1+len(row)+2 > d.maxBody {
			if err := send(i); err != nil {
				return written, err
			}
		}
		if len(body) == 0 {
			body = append(body, `{"rows":[`...)
		} else {
			body = append(body, ',')
		}
		body = append(body, row...)
	}
	if len(body) > 0 {
		if err := send(len(rows)); err != nil {
			return written, err
		}
	}
	return written, nil
}

// appendRow appends r as a push row: entity as a JSON string (the daemon
// canonicalizes an int key from text as from a number), the event time in
// RFC 3339 with nanoseconds, and every feature, null for a missing value.
func (d *Daemon) appendRow(b []byte, r *featcache.Row) []byte {
	b = append(b, `{"entity":`...)
	b = appendJSONString(b, r.Entity)
	b = append(b, `,"event_time":"`...)
	b = r.EventTime.UTC().AppendFormat(b, time.RFC3339Nano)
	b = append(b, `","values":{`...)
	for j, f := range d.view.Features {
		if j > 0 {
			b = append(b, ',')
		}
		b = appendJSONString(b, f.Name)
		b = append(b, ':')
		if x := r.Values[j]; math.IsNaN(x) {
			b = append(b, "null"...)
		} else {
			b = strconv.AppendFloat(b, x, 'g', -1, 64)
		}
	}
	return append(b, "}}"...)
}

func appendJSONString(b []byte, s string) []byte {
	q, _ := json.Marshal(s) // a string always marshals
	return append(b, q...)
}

// post sends one push body and returns the rows written.
func (d *Daemon) post(ctx context.Context, body []byte) (int, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, d.url, bytes.NewReader(body))
	if err != nil {
		return 0, err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := d.client.Do(req)
	if err != nil {
		return 0, fmt.Errorf("%w (is predictd serve running there, with --features?)", err)
	}
	defer resp.Body.Close()
	msg, err := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if err != nil {
		return 0, fmt.Errorf("reading the answer: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		return 0, fmt.Errorf("daemon answered %s: %s", resp.Status, bytes.TrimSpace(msg))
	}
	var res featcache.PushResult
	if err := json.Unmarshal(msg, &res); err != nil {
		return 0, fmt.Errorf("daemon answered 200 with %q, not a push result: %v", msg, err)
	}
	return res.Written, nil
}
