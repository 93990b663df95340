package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/predictd/predictd/internal/config"
	"github.com/predictd/predictd/internal/table"
	"github.com/predictd/predictd/monitor/labels"
)

// cmdFeedback posts the labels of a file to a running server's POST
// /v1/models/{name}/feedback, in chunks, and prints the summed outcomes.
func cmdFeedback(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("feedback", stderr)
	base := fs.String("url", "", "the server's base URL, as http://127.0.0.1:8080 (required)")
	name := fs.String("model", "", "the model the labels are for (required)")
	in := fs.String("in", "", "the labels: a .csv or .parquet file with an id and a label column (required)")
	idCol := fs.String("id-column", "id", "the column holding each prediction's id, as its answer gave it (X-Request-Id, \"<id>/<i>\" for instance i)")
	labelCol := fs.String("label-column", "label", "the column holding the label: 0 or 1 for a binary model, the true value for a regression")
	timeCol := fs.String("time-column", "time", "the column holding when each label was known (RFC 3339); a file without it, or a missing cell, posts no time (the server's now)")
	chunk := fs.Int("chunk", 5000, "labels per request; at most the server's --max-instances")
	timeout := fs.Duration("timeout", time.Minute, "timeout of one request")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if err := required(fs, "url", "model", "in"); err != nil {
		return err
	}
	if *chunk <= 0 {
		return usageErr("feedback: --chunk %d: want 1 or more", *chunk)
	}
	root, err := daemonRoot("feedback", *base)
	if err != nil {
		return err
	}
	endpoint := root + "/v1/models/" + url.PathEscape(*name) + "/feedback"
	r, err := table.Open(*in, table.Options{})
	if err != nil {
		return usageErr("feedback: --in: %v", err)
	}
	defer r.Close()
	ic, lc, tc := r.Index(*idCol), r.Index(*labelCol), r.Index(*timeCol)
	switch {
	case ic < 0:
		return usageErr("feedback: %s has no column %q (--id-column)", *in, *idCol)
	case lc < 0:
		return usageErr("feedback: %s has no column %q (--label-column)", *in, *labelCol)
	case tc < 0 && config.Explicit(fs)["time-column"]:
		return usageErr("feedback: %s has no column %q (--time-column)", *in, *timeCol)
	}
	client := &http.Client{Timeout: *timeout}
	type item struct {
		ID    string  `json:"id"`
		Label float64 `json:"label"`
		Time  string  `json:"time,omitempty"`
	}
	var (
		c     table.Chunk
		items []item
		sum   labels.Result
		shown int
	)
	for {
		n, err := r.Next(&c, *chunk)
		if err == io.EOF {
			break
		}
		if err != nil {
			return fmt.Errorf("feedback: %w", err)
		}
		items = items[:0]
		for row := range n {
			it := item{ID: strings.TrimSpace(c.Text(ic, row))}
			if it.ID == "" || c.Null(ic, row) {
				return fmt.Errorf("feedback: %s: column %q: a missing id", c.Where(row), *idCol)
			}
			v, err := c.Float(lc, row)
			if err != nil {
				return fmt.Errorf("feedback: %w", err)
			}
			it.Label = v
			if tc >= 0 && !c.Null(tc, row) {
				tm, err := c.Time(tc, row)
				if err != nil {
					return fmt.Errorf("feedback: %w", err)
				}
				it.Time = tm.UTC().Format(time.RFC3339Nano)
			}
			items = append(items, it)
		}
		body, _ := json.Marshal(items)
		res, err := postFeedback(ctx, client, endpoint, body)
		if err != nil {
			return fmt.Errorf("feedback: %s to %s: %w", c.Where(0), c.Where(n-1), err)
		}
		sum.Joined += res.Joined
		sum.Unknown += res.Unknown
		sum.Duplicate += res.Duplicate
		sum.Late += res.Late
		sum.Invalid += res.Invalid
		for _, e := range res.Errors {
			if shown < 10 && e.Index >= 0 && e.Index < n {
				fmt.Fprintf(stderr, "predictd feedback: %s: id %q: %s\n", c.Where(e.Index), e.ID, e.Reason)
				shown++
			}
		}
	}
	fmt.Fprintf(stdout, "joined %d, unknown %d, duplicate %d, late %d, invalid %d\n", sum.Joined, sum.Unknown, sum.Duplicate, sum.Late, sum.Invalid)
	return nil
}

// postFeedback posts one chunk and decodes the server's counts.
func postFeedback(ctx context.Context, client *http.Client, endpoint string, body []byte) (labels.Result, error) {
	var res labels.Result
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, endpoint, bytes.NewReader(body))
	if err != nil {
		return res, err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := client.Do(req)
	if err != nil {
		return res, err
	}
	defer resp.Body.Close()
	out, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return res, err
	}
	if resp.StatusCode != http.StatusOK {
		var e struct {
			Error string `json:"error"`
		}
		if json.Unmarshal(out, &e) == nil && e.Error != "" {
			return res, fmt.Errorf("POST %s: %s: %s", endpoint, resp.Status, e.Error)
		}
		return res, fmt.Errorf("POST %s: %s", endpoint, resp.Status)
	}
	if err := json.Unmarshal(out, &res); err != nil {
		return res, fmt.Errorf("POST %s: the answer %.200q: %w", endpoint, out, err)
	}
	return res, nil
}
