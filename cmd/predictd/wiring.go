package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/signal"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/predictd/predictd/featcache"
	"github.com/predictd/predictd/featcache/redisstream"
	"github.com/predictd/predictd/internal/logx"
	"github.com/predictd/predictd/internal/redisconn"
	daemonrun "github.com/predictd/predictd/internal/run"
	"github.com/predictd/predictd/model/manager"
	"github.com/predictd/predictd/monitor"
	"github.com/predictd/predictd/monitor/cost"
	"github.com/predictd/predictd/monitor/drift"
	"github.com/predictd/predictd/monitor/labels"
	"github.com/predictd/predictd/monitor/predlog"
	"github.com/predictd/predictd/monitor/slo"
	"github.com/predictd/predictd/monitor/watch"
	"github.com/predictd/predictd/rollout/audit"
	"github.com/predictd/predictd/rollout/state"
	"github.com/predictd/predictd/server"
)

// serveConfig is what serve's flags and config file say, checked.
type serveConfig struct {
	listen, unix string
	// grpcListen and grpcUnix: where the KServe v2 gRPC API listens; ""
	// for none.
	grpcListen, grpcUnix string
	unixMode             os.FileMode
	drainDelay           time.Duration // readiness false, still serving, before the drain
	drain                time.Duration // how long in-flight requests may take after the listeners close
	server               server.Options
	manager              manager.Options
	features             string // definitions file; "" for none
	store                string // --store
	cache                featcache.CacheOptions
	stream               streamConfig
	monitor              monitorConfig
	// predlog: the prediction log's options; nil: off.
	predlog *predlog.Options
	// labels: the labels store's directory and options; nil: off.
	labels *labelsOptions
	// stateDir or stateRedis: the rollout state store (labels and their
	// history, rollouts); both "": none, labels live in memory.
	stateDir, stateRedis string
	// auditLog: the audit log's path (audit_wiring.go); "": none.
	auditLog string
}

// monitorConfig is the model monitor's settings: prices, per-model SLOs,
// sampling and drift thresholds, and the drift gauges' window.
type monitorConfig struct {
	prices     cost.Prices
	slos       map[string]slo.Config
	every      map[string]int
	thresholds map[string]drift.Thresholds
	window     time.Duration
	// off: no model monitor (server.Options.Monitor nil): serve --monitor=false.
	off bool
	// maxSeries caps the drift gauges per version: --monitor-max-series.
	maxSeries int
}

type streamConfig struct {
	url, key, group, consumer string
}

// wiring is predictd serve: the components below, started in order and
// stopped in reverse (package internal/run), and the loop that answers signals
// while they run. A component may use every component started before it
// until its own Stop.
type wiring struct {
	cfg  *serveConfig
	logf func(string, ...any)

	lns       []net.Listener
	grpcLns   []net.Listener
	features  *featcache.Service
	closeFS   func()
	stream    *redisstream.Consumer
	stopRead  context.CancelFunc
	readDone  chan struct{}
	predlog   *predlog.Log
	labels    *labels.Store
	state     state.Store
	audit     *audit.Log // nil without --audit-log
	metrics   *monitor.Registry
	monitor   *watch.Monitor
	stopTicks context.CancelFunc
	ticksDone chan struct{}
	srv       *server.Server
	mgr       *manager.Manager
	serving   sync.WaitGroup
	serveErr  chan error
	started   chan error // the manager's first load
	loading   bool       // the first load has not reported yet
	failed    bool       // stopping because of an error: no drain delay
}

// components are the daemon's parts in the order they start: each may use
// those before it until its own Stop. The feature store and stream are
// there only when configured.
func (d *wiring) components() []daemonrun.Component {
	cs := []daemonrun.Component{{Name: "listeners", Start: d.bind, Stop: d.unbind}}
	if d.cfg.auditLog != "" {
		// Before anything that changes what serves (the first loads are
		// recorded); closed after all of them stopped.
		cs = append(cs, daemonrun.Component{Name: "audit log", Start: d.openAudit, Stop: d.closeAudit})
	}
	if d.cfg.features != "" {
		cs = append(cs, daemonrun.Component{Name: "feature store", Start: d.openFeatures, Stop: d.closeFeatures})
	}
	if d.cfg.stream.url != "" {
		cs = append(cs, daemonrun.Component{Name: "feature stream", Start: d.startStream, Stop: d.stopStream})
	}
	if d.cfg.predlog != nil {
		// Before the models (each version gets its logger in Prepare);
		// closed after the server drained and the manager retired them.
		cs = append(cs, daemonrun.Component{Name: "prediction log", Start: d.openPredLog, Stop: d.closePredLog})
	}
	if d.cfg.labels != nil {
		// As the prediction log: before the models (Prepare configures
		// each), closed after the server drained.
		cs = append(cs, daemonrun.Component{Name: "labels store", Start: d.openLabels, Stop: d.closeLabels})
	}
	if d.cfg.stateDir != "" || d.cfg.stateRedis != "" {
		// Before the manager, which reads the persisted labels when it
		// starts; closed after it stopped.
		cs = append(cs, daemonrun.Component{Name: "state store", Start: d.openState, Stop: d.closeState})
	}
	return append(cs,
		daemonrun.Component{Name: "model monitor", Start: d.newMonitor, Stop: d.stopMonitor},
		daemonrun.Component{Name: "server", Start: d.newServer},
		daemonrun.Component{Name: "model manager", Start: d.startManager, Stop: d.stopManager},
		daemonrun.Component{Name: "serving", Start: d.serve, Stop: d.drainRequests},
		daemonrun.Component{Name: "readiness", Stop: d.unready},
	)
}

// runDaemon starts the components, answers SIGHUP (reload) until ctx is
// cancelled (SIGTERM, SIGINT) or a component fails, then stops them.
// Cancelling ctx cancels any model load at once, before the drain.
func runDaemon(ctx context.Context, cfg *serveConfig, logger *logx.Logger) error {
	d := &wiring{cfg: cfg, logf: logger.Printf, serveErr: make(chan error, 4), started: make(chan error, 1)}
	g := daemonrun.Group{Logf: logger.Printf}
	var err error
	for _, c := range d.components() {
		if err = g.Start(ctx, c); err != nil {
			break
		}
	}
	if err == nil {
		err = d.wait(ctx)
	}
	d.failed = err != nil
	if err != nil && d.mgr != nil {
		d.mgr.StopLoading()
	}
	// Each component's Stop bounds its own wait (the drain by --drain-timeout).
	if serr := g.Stop(context.Background()); serr != nil {
		err = errors.Join(err, serr)
	}
	if err != nil {
		// A component's usage error (a bad definitions file, a store URL
		// that does not parse) keeps its exit status 2.
		code := 1
		if ee := (*exitError)(nil); errors.As(err, &ee) {
			code = ee.code
		}
		return &exitError{code, fmt.Errorf("serve: %w", err)}
	}
	logger.Printf("drained; exiting")
	return nil
}

// bind listens first, before anything slow, so that clients connecting
// early wait in the backlog rather than being refused.
func (d *wiring) bind(context.Context) error {
	if d.cfg.listen != "" {
		ln, err := net.Listen("tcp", d.cfg.listen)
		if err != nil {
			return fmt.Errorf("--listen %s: %w", d.cfg.listen, err)
		}
		d.lns = append(d.lns, ln)
	}
	if d.cfg.unix != "" {
		ln, err := listenUnix(d.cfg.unix, d.cfg.unixMode)
		if err != nil {
			d.unbind(context.Background())
			return fmt.Errorf("--unix %s: %w", d.cfg.unix, err)
		}
		d.lns = append(d.lns, ln)
	}
	if d.cfg.grpcListen != "" {
		ln, err := net.Listen("tcp", d.cfg.grpcListen)
		if err != nil {
			d.unbind(context.Background())
			return fmt.Errorf("--grpc-listen %s: %w", d.cfg.grpcListen, err)
		}
		d.grpcLns = append(d.grpcLns, ln)
	}
	if d.cfg.grpcUnix != "" {
		ln, err := listenUnix(d.cfg.grpcUnix, d.cfg.unixMode)
		if err != nil {
			d.unbind(context.Background())
			return fmt.Errorf("--grpc-unix %s: %w", d.cfg.grpcUnix, err)
		}
		d.grpcLns = append(d.grpcLns, ln)
	}
	return nil
}

// unbind closes the listeners (the server's Shutdown has closed those it
// served) and removes the Unix sockets, HTTP's and gRPC's.
func (d *wiring) unbind(context.Context) error {
	for _, lns := range [][]net.Listener{d.lns, d.grpcLns} {
		for _, ln := range lns {
			ln.Close()
			if ln.Addr().Network() == "unix" {
				os.Remove(ln.Addr().String())
			}
		}
	}
	return nil
}

func (d *wiring) openFeatures(context.Context) error {
	if d.cfg.features == "" {
		return nil
	}
	svc, closeFS, err := openFeatures(d.cfg.features, d.cfg.store, d.cfg.cache)
	if err != nil {
		return usageErr("%v", err)
	}
	d.features, d.closeFS = svc, closeFS
	d.logf("features: %d views from %s, store %s", len(svc.Defs.Views), d.cfg.features, redisconn.Redact(d.cfg.store))
	return nil
}

func (d *wiring) closeFeatures(context.Context) error {
	if d.closeFS != nil {
		d.closeFS()
	}
	return nil
}

// startStream applies the feature stream until stopStream: its own
// context, not the run's, so that features stay fresh while requests
// drain.
func (d *wiring) startStream(context.Context) error {
	sc := d.cfg.stream
	if sc.url == "" {
		return nil
	}
	if d.features == nil {
		return usageErr("--stream needs --features")
	}
	c, err := newStreamConsumer(d.features, sc.url, sc.key, sc.group, sc.consumer, isRedis(d.cfg.store), d.logf)
	if err != nil {
		return usageErr("%v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	d.stream, d.stopRead, d.readDone = c, cancel, make(chan struct{})
	go func() { c.Run(ctx); close(d.readDone) }()
	return nil
}

func (d *wiring) stopStream(context.Context) error {
	if d.stream != nil {
		d.stopRead()
		<-d.readDone
	}
	return nil
}

// newMonitor makes the metrics registry and the model monitor (SLO
// tracker, cost ledger, drift) the server feeds, and registers their
// collectors.
func (d *wiring) newMonitor(context.Context) error {
	mc := d.cfg.monitor
	d.metrics = monitor.NewRegistry()
	if mc.off {
		// serve --monitor=false: the registry alone (request metrics, no
		// model monitor); the server gets a nil Monitor.
		d.stopTicks, d.ticksDone = func() {}, make(chan struct{})
		close(d.ticksDone)
		return nil
	}
	tracker, err := slo.New(slo.Options{Models: mc.slos})
	if err != nil {
		return usageErr("%v", err)
	}
	ledger, err := cost.NewLedger(mc.prices, 0, 0)
	if err != nil {
		return usageErr("%v", err)
	}
	mon, err := watch.New(watch.Options{
		Every: mc.every, Thresholds: mc.thresholds, GaugeWindow: mc.window, MaxGaugeSeries: mc.maxSeries,
		SLO: tracker, Costs: ledger, Logf: d.logf,
	})
	if err != nil {
		return usageErr("%v", err)
	}
	for _, c := range []prometheus.Collector{tracker, mon} {
		if err := d.metrics.Register(c); err != nil {
			return fmt.Errorf("monitor metrics: %w", err)
		}
	}
	d.monitor = mon
	// The cost ledger splits the process's CPU among versions at each
	// tick (and at each scrape and /monitor call); the first is the
	// baseline.
	ledger.Tick(time.Now())
	ctx, cancel := context.WithCancel(context.Background())
	d.stopTicks, d.ticksDone = cancel, make(chan struct{})
	go func() {
		defer close(d.ticksDone)
		t := time.NewTicker(10 * time.Second)
		defer t.Stop()
		for {
			select {
			case now := <-t.C:
				ledger.Tick(now)
			case <-ctx.Done():
				return
			}
		}
	}()
	return nil
}

func (d *wiring) stopMonitor(context.Context) error {
	d.stopTicks()
	<-d.ticksDone
	return nil
}

// openPredLog opens the prediction log: checks its options and key,
// removes the temporary segments a crash left, starts its writer.
func (d *wiring) openPredLog(context.Context) error {
	o := *d.cfg.predlog
	o.Logf = d.logf
	l, err := predlog.New(o)
	if err != nil {
		return usageErr("--prediction-log %s: %v", o.Dir, err)
	}
	if st := l.Stats(); st.Leftovers > 0 {
		d.logf("prediction log %s: removed %d unfinished segments of an earlier crash", o.Dir, st.Leftovers)
	}
	d.predlog = l
	return nil
}

// closePredLog writes what is queued and completes every open segment,
// bounded by --drain-timeout.
func (d *wiring) closePredLog(context.Context) error {
	ctx, cancel := context.WithTimeout(context.Background(), d.cfg.drain)
	defer cancel()
	if err := d.predlog.Close(ctx); err != nil {
		return fmt.Errorf("prediction log: %w", err)
	}
	return nil
}

// openLabels opens the labels store.
func (d *wiring) openLabels(context.Context) error {
	o := d.cfg.labels.opts
	o.Logf = d.logf
	st, err := labels.Open(d.cfg.labels.dir, o)
	if err != nil {
		return usageErr("--labels-dir %s: %v", d.cfg.labels.dir, err)
	}
	d.labels = st
	return nil
}

// closeLabels writes the recorded predictions still queued and closes
// the store.
func (d *wiring) closeLabels(context.Context) error {
	if err := d.labels.Close(); err != nil {
		return fmt.Errorf("labels store: %w", err)
	}
	return nil
}

// openState opens the rollout state store (--state-dir or --state-redis).
func (d *wiring) openState(context.Context) error {
	st, err := openStateStore(d.cfg.stateDir, d.cfg.stateRedis)
	if err != nil {
		return usageErr("%v", err)
	}
	d.state = st
	return nil
}

func (d *wiring) closeState(context.Context) error {
	if err := d.state.Close(); err != nil {
		return fmt.Errorf("state store: %w", err)
	}
	return nil
}

func (d *wiring) newServer(context.Context) error {
	opts := d.cfg.server
	opts.Features = d.features
	opts.Metrics, opts.Monitor = d.metrics, d.monitor
	opts.PredictionLog = d.predlog
	opts.Labels = d.labels
	opts.Audit = d.audit
	opts.Rollout.Store = d.state // nil: rollouts in memory
	if d.cfg.labels != nil {
		opts.QualityRecomputeEvery = d.cfg.labels.recompute
	}
	if d.stream != nil {
		if err := opts.Metrics.Register(d.stream.Collector()); err != nil {
			return fmt.Errorf("feature stream metrics: %w", err)
		}
	}
	srv, err := server.New(opts)
	if err != nil {
		return usageErr("%v", err)
	}
	d.srv = srv
	return nil
}

// startManager starts the first load of the repository in the background;
// wait reports its end. ctx's cancellation (SIGTERM) cancels it, and any
// later load, at once.
func (d *wiring) startManager(ctx context.Context) error {
	opts := d.cfg.manager
	opts.Prepare, opts.Retired, opts.Logf = d.srv.Prepare, d.srv.Retired, d.logf
	if d.state != nil {
		opts.Labels = labelStore{d.state}
	}
	if d.audit != nil {
		opts.Event = d.auditEvent
	}
	mgr, err := manager.New(opts)
	if err != nil {
		return usageErr("%v", err)
	}
	d.mgr = mgr
	d.srv.SetModels(serverModels{mgr})
	d.loading = true
	go func() { d.started <- mgr.Start() }()
	context.AfterFunc(ctx, mgr.StopLoading)
	return nil
}

// stopManager cancels what is loading, waits for the first load to give
// up if it has not ended, and unloads every model. It runs after the
// drain, so no request holds a model.
func (d *wiring) stopManager(context.Context) error {
	d.mgr.StopLoading()
	if d.loading {
		d.logf("stopping during the first load: cancelled it")
		<-d.started
		d.loading = false
	}
	d.mgr.Close()
	return nil
}

func (d *wiring) serve(context.Context) error {
	for _, ln := range d.lns {
		d.serving.Add(1)
		go func() {
			defer d.serving.Done()
			if err := d.srv.Serve(ln); err != nil {
				d.serveErr <- err
			}
		}()
		if ln.Addr().Network() == "unix" {
			d.logf("serving HTTP on unix:%s", ln.Addr())
		} else {
			d.logf("serving HTTP on %s", ln.Addr())
		}
	}
	for _, ln := range d.grpcLns {
		d.serving.Add(1)
		go func() {
			defer d.serving.Done()
			if err := d.srv.ServeGRPC(ln); err != nil {
				d.serveErr <- err
			}
		}()
		if ln.Addr().Network() == "unix" {
			d.logf("serving gRPC (KServe v2) on unix:%s", ln.Addr())
		} else {
			d.logf("serving gRPC (KServe v2) on %s", ln.Addr())
		}
	}
	return nil
}

// drainRequests closes the listeners and waits up to --drain-timeout for
// the requests in flight.
func (d *wiring) drainRequests(context.Context) error {
	d.logf("draining: listeners closed, waiting up to %s for in-flight requests", d.cfg.drain)
	ctx, cancel := context.WithTimeout(context.Background(), d.cfg.drain)
	defer cancel()
	if err := d.srv.Shutdown(ctx); err != nil {
		return fmt.Errorf("requests still in flight after --drain-timeout %s: %w", d.cfg.drain, err)
	}
	d.serving.Wait()
	return nil
}

// unready turns readiness false and, unless stopping on an error, keeps
// serving for --drain-delay so that load balancers notice first.
func (d *wiring) unready(context.Context) error {
	d.srv.StopReady()
	if d.cfg.drainDelay > 0 && !d.failed {
		d.logf("draining: readiness is false; serving on for --drain-delay %s", d.cfg.drainDelay)
		time.Sleep(d.cfg.drainDelay)
	}
	return nil
}

// wait answers SIGHUP with a reload until ctx is done or something fails:
// the first load (which logs each model's state when it ends), or a
// listener. The first load and every reload run beside this loop, so a
// SIGTERM is answered at once.
func (d *wiring) wait(ctx context.Context) error {
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	reloading := make(chan struct{}, 1) // one SIGHUP reload at a time
	for {
		select {
		case <-hup:
			if d.loading {
				d.logf("SIGHUP: ignored, the first load of the repository is still in progress")
				continue
			}
			select {
			case reloading <- struct{}{}:
			default:
				d.logf("SIGHUP: ignored, a reload is still in progress")
				continue
			}
			go func() {
				defer func() { <-reloading }()
				if err := d.auditReload(); err != nil {
					d.logf("SIGHUP: not reloaded: %v", err)
					return
				}
				if err := d.mgr.Reload(); err != nil {
					d.logf("SIGHUP reload: %v", err)
				} else {
					d.logf("SIGHUP: repository reloaded")
				}
			}()
		case err := <-d.started:
			d.loading = false
			if err != nil {
				return err
			}
			for _, name := range d.mgr.Names() {
				if st, err := d.mgr.Status(name); err == nil {
					d.logf("model %s: %s", name, describeStatus(st))
				}
			}
			if !d.mgr.Ready() {
				d.logf("not ready: %s", d.mgr.NotReady())
			}
		case err := <-d.serveErr:
			return err
		case <-ctx.Done():
			return nil
		}
	}
}

func isRedis(spec string) bool {
	return strings.HasPrefix(spec, "redis://") || strings.HasPrefix(spec, "rediss://")
}
