package server

import (
	"context"
	"fmt"
	"net"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/predictd/predictd/internal/fixture"
	"github.com/predictd/predictd/model"
	"github.com/predictd/predictd/model/importer"
	"github.com/predictd/predictd/model/manager"
)

// shadowTreesRow is one instance of the XGBoost fixture "trees"
// (gbtree_multi_softprob: 10 inputs, 3 classes).
const shadowTreesRow = `{"age": 1.2, "income": 1.9, "tenure_months": 4.2, "num_purchases": -0.1, "avg_basket": 3.9, "days_since_last": 2.0, "support_calls": null, "discount_rate": 1.6, "pages_viewed": 0.8, "credit_score": -2.4}`

// BenchmarkShadowLoad measures what a shadow at sample rate 1 costs the
// live requests of the XGBoost model "trees" over loopback HTTP, client
// and servers in this process. Two servers serve the same repository
// ("trees" versions 1 and 2, the same file; version 2 live): "on"
// shadows version 2 with version 1 at each sample rate (a sub-benchmark
// each), "off" has no shadow. First the
// capacity: the rate 16 closed-loop clients get from "off" in 3s
// (cap_req/s). Then rounds of an open-loop sender at half that rate,
// alternating the servers (on, off, off, on, ...) for the same time each,
// latency measured from each request's scheduled send time (so a stall
// counts for every request it delays). It reports each side's p50 and
// p99 (on_p50_us, off_p50_us, ...) and the ratios on/off (p50_ratio,
// p99_ratio), and the share of the offered rows the shadow compared
// (shadow_compared). The pooled p99 of a 2-core machine shared with the
// client swings with a single stall, so it also reports the median over
// the rounds of each round's ratio (p50_ratio_median_round,
// p99_ratio_median_round). Run it with -benchtime=1x: b.N does not scale
// it. It cannot resolve a 5% difference (its rounds' p99 ratios swing from
// 0.05 to 6); BenchmarkShadowServe (cmd/predictd) measures the real binary
// with an A/A control, and docs/shadow.md has both.
func BenchmarkShadowLoad(b *testing.B) {
	repo := b.TempDir()
	for range 2 {
		imp, err := importer.ImportFile("xgboost", fixture.Path("xgboost", "gbtree_multi_softprob.json"))
		if err != nil {
			b.Fatal(err)
		}
		if _, _, err := model.Write(repo, "trees", imp, model.WriteOptions{}); err != nil {
			b.Fatal(err)
		}
	}
	serve := func(sh *ShadowOptions) (*Server, *fasthttp.HostClient) {
		s, err := New(Options{Models: map[string]ModelOptions{"trees": {Shadow: sh}}})
		if err != nil {
			b.Fatal(err)
		}
		mopts := manager.DefaultOptions()
		mopts.Repo, mopts.PollInterval, mopts.Prepare, mopts.Retired = repo, -1, s.Prepare, s.Retired
		mopts.Models = []manager.ModelConfig{{Name: "trees", Policy: manager.Policy{All: true}}}
		mgr, err := manager.New(mopts)
		if err != nil {
			b.Fatal(err)
		}
		if err := mgr.Start(); err != nil {
			b.Fatal(err)
		}
		b.Cleanup(mgr.Close)
		s.SetModels(managed{mgr})
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			b.Fatal(err)
		}
		go s.Serve(ln)
		b.Cleanup(func() { s.Shutdown(context.Background()) })
		return s, &fasthttp.HostClient{Addr: ln.Addr().String(), MaxConns: 256, ReadTimeout: 10 * time.Second, WriteTimeout: 10 * time.Second}
	}
	_, off := serve(nil)
	body := []byte(`{"instances": [` + shadowTreesRow + `]}`)

	capRate, err := closedLoop(off, body, 16, 3*time.Second)
	if err != nil {
		b.Fatal(err)
	}
	for _, sr := range []float64{1, 0.1} {
		onSrv, on := serve(&ShadowOptions{Version: 1, SampleRate: sr})
		b.Run(fmt.Sprintf("sample_rate=%v", sr), func(b *testing.B) {
			rate := capRate / 2
			const rounds, round = 8, 2 * time.Second
			var onLat, offLat []time.Duration
			var p50s, p99s []float64 // per round, on over off
			b.ResetTimer()
			for i := range rounds {
				order := []bool{true, false}
				if i%2 == 1 {
					order = []bool{false, true}
				}
				var roundOn, roundOff []time.Duration
				for _, shadowOn := range order {
					hc := off
					if shadowOn {
						hc = on
					}
					lats, err := openLoop(hc, body, rate, round)
					if err != nil {
						b.Fatal(err)
					}
					if shadowOn {
						roundOn = lats
					} else {
						roundOff = lats
					}
				}
				onLat, offLat = append(onLat, roundOn...), append(offLat, roundOff...)
				p50s = append(p50s, quantileUs(roundOn, 50)/quantileUs(roundOff, 50))
				p99s = append(p99s, quantileUs(roundOn, 99)/quantileUs(roundOff, 99))
			}
			b.StopTimer()
			onP50, onP99, offP50, offP99 := quantileUs(onLat, 50), quantileUs(onLat, 99), quantileUs(offLat, 50), quantileUs(offLat, 99)
			b.ReportMetric(capRate, "cap_req/s")
			b.ReportMetric(rate, "load_req/s")
			b.ReportMetric(onP50, "on_p50_us")
			b.ReportMetric(offP50, "off_p50_us")
			b.ReportMetric(onP99, "on_p99_us")
			b.ReportMetric(offP99, "off_p99_us")
			b.ReportMetric(onP50/offP50, "p50_ratio")
			b.ReportMetric(onP99/offP99, "p99_ratio")
			slices.Sort(p50s)
			slices.Sort(p99s)
			b.ReportMetric((p50s[rounds/2-1]+p50s[rounds/2])/2, "p50_ratio_median_round")
			b.ReportMetric((p99s[rounds/2-1]+p99s[rounds/2])/2, "p99_ratio_median_round")
			var rep string
			onSrv.versions.Range(func(k, _ any) bool {
				if vs := k.(*versionState); vs.shadow != nil {
					r := vs.shadow.sh.Snapshot()
					b.ReportMetric(float64(r.ComparedRows)/float64(max(r.OfferedRows, 1)), "shadow_compared")
					rep = fmt.Sprintf("offered %d, compared %d, dropped %d, errors %d, agreement %v", r.OfferedRows, r.ComparedRows, r.DroppedRows, r.ErrorRows, r.AgreementRate)
				}
				return true
			})
			load, _ := os.ReadFile("/proc/loadavg")
			b.Logf("capacity %.0f req/s, load %.0f req/s, %d rounds of %s a side; p99 ratios by round %.2f; shadow: %s; loadavg %s", capRate, rate, rounds, round, p99s, rep, strings.TrimSpace(string(load)))
		})
	}
}

// quantileUs is the p-th percentile of l in microseconds; it sorts l.
func quantileUs(l []time.Duration, p int) float64 {
	slices.Sort(l)
	return float64(l[min(len(l)-1, len(l)*p/100)].Microseconds())
}

// closedLoop sends body to "trees" from conc clients for d and returns
// the rate they got.
func closedLoop(hc *fasthttp.HostClient, body []byte, conc int, d time.Duration) (float64, error) {
	var (
		n     atomic.Int64
		wg    sync.WaitGroup
		mu    sync.Mutex
		first error
	)
	stop := time.Now().Add(d)
	start := time.Now()
	for range conc {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for time.Now().Before(stop) {
				if err := doTrees(hc, body); err != nil {
					mu.Lock()
					first = cmpErr(first, err)
					mu.Unlock()
					return
				}
				n.Add(1)
			}
		}()
	}
	wg.Wait()
	return float64(n.Load()) / time.Since(start).Seconds(), first
}

// openLoop sends body to "trees" at rate requests a second for d, each
// at its scheduled time whatever the answers before it, and returns each
// request's latency from its scheduled time.
func openLoop(hc *fasthttp.HostClient, body []byte, rate float64, d time.Duration) ([]time.Duration, error) {
	n := int(rate * d.Seconds())
	due := make(chan time.Time, n)
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		lats  = make([]time.Duration, 0, n)
		first error
	)
	for range 128 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var mine []time.Duration
			for at := range due {
				err := doTrees(hc, body)
				mine = append(mine, time.Since(at))
				if err != nil {
					mu.Lock()
					first = cmpErr(first, err)
					mu.Unlock()
				}
			}
			mu.Lock()
			lats = append(lats, mine...)
			mu.Unlock()
		}()
	}
	start := time.Now()
	every := time.Duration(float64(time.Second) / rate)
	for i := range n {
		at := start.Add(time.Duration(i) * every)
		if w := time.Until(at); w > 0 {
			time.Sleep(w)
		}
		due <- at
	}
	close(due)
	wg.Wait()
	return lats, first
}

func doTrees(hc *fasthttp.HostClient, body []byte) error {
	req, resp := fasthttp.AcquireRequest(), fasthttp.AcquireResponse()
	defer fasthttp.ReleaseRequest(req)
	defer fasthttp.ReleaseResponse(resp)
	req.SetRequestURI("http://" + hc.Addr + "/v1/models/trees:predict")
	req.Header.SetMethod("POST")
	req.SetBodyRaw(body)
	if err := hc.Do(req, resp); err != nil {
		return err
	}
	if resp.StatusCode() != 200 {
		return fmt.Errorf("HTTP %d %s", resp.StatusCode(), resp.Body())
	}
	return nil
}
