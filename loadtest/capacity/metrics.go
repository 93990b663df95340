package capacity

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// cpuMetric is the Prometheus counter of a process's CPU seconds.
const cpuMetric = "process_cpu_seconds_total"

// scrapeCPU fetches url, a Prometheus text exposition, and returns the
// value of process_cpu_seconds_total in it.
func scrapeCPU(ctx context.Context, c *http.Client, url string) (float64, error) {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return 0, fmt.Errorf("scrape %s: %w", url, err)
	}
	resp, err := c.Do(req)
	if err != nil {
		return 0, fmt.Errorf("scrape %s: %w", url, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return 0, fmt.Errorf("scrape %s: status %s", url, resp.Status)
	}
	v, err := parseCPU(io.LimitReader(resp.Body, 16<<20))
	if err != nil {
		return 0, fmt.Errorf("scrape %s: %w", url, err)
	}
	return v, nil
}

// parseCPU returns the value of the first process_cpu_seconds_total
// sample in r, a Prometheus text exposition.
func parseCPU(r io.Reader) (float64, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		line := sc.Text()
		rest, ok := strings.CutPrefix(line, cpuMetric)
		if !ok || (rest != "" && rest[0] != ' ' && rest[0] != '{') {
			continue
		}
		if rest != "" && rest[0] == '{' {
			i := strings.IndexByte(rest, '}')
			if i < 0 {
				return 0, fmt.Errorf("%s: unterminated labels in %q", cpuMetric, line)
			}
			rest = rest[i+1:]
		}
		f := strings.Fields(rest) // value [timestamp]
		if len(f) == 0 {
			return 0, fmt.Errorf("%s: no value in %q", cpuMetric, line)
		}
		v, err := strconv.ParseFloat(f[0], 64)
		if err != nil {
			return 0, fmt.Errorf("%s: value in %q: %v", cpuMetric, line, err)
		}
		return v, nil
	}
	if err := sc.Err(); err != nil {
		return 0, err
	}
	return 0, fmt.Errorf("no %s sample", cpuMetric)
}
