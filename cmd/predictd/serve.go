package main

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/predictd/predictd/batcher"
	"github.com/predictd/predictd/featcache"
	"github.com/predictd/predictd/featcache/pebblestore"
	"github.com/predictd/predictd/featcache/redisstore"
	"github.com/predictd/predictd/featcache/redisstream"
	"github.com/predictd/predictd/internal/config"
	"github.com/predictd/predictd/internal/logx"
	"github.com/predictd/predictd/internal/redisconn"
	"github.com/predictd/predictd/model/manager"
	"github.com/predictd/predictd/monitor/cost"
	"github.com/predictd/predictd/monitor/drift"
	"github.com/predictd/predictd/monitor/labels"
	"github.com/predictd/predictd/monitor/predlog"
	"github.com/predictd/predictd/monitor/slo"
	"github.com/predictd/predictd/server"
	"github.com/predictd/predictd/tools/alerts"
)

// cmdServe runs the daemon (see runDaemon): the server on TCP and/or a
// Unix socket, the feature store and stream, the model manager; SIGHUP
// reloads the repository; SIGTERM or SIGINT (ctx) drains and exits 0.
func cmdServe(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	cfg, err := parseServe(args, stderr)
	if err != nil {
		return err
	}
	// Every line is sanitized: control bytes escaped, credentials
	// redacted, cut at logx.MaxLineBytes.
	logger := logx.New(stderr, "predictd: ")
	cfg.server.Logf = logger.Printf
	return runDaemon(ctx, cfg, logger)
}

// parseServe reads serve's flags, environment and config file, and checks
// them all before anything is opened: every error here is a usage error
// (exit 2) naming the flag or the file.
func parseServe(args []string, stderr io.Writer) (*serveConfig, error) {
	sd, md := server.DefaultOptions(), manager.DefaultOptions()
	fs := newFlags("serve", stderr)
	repo := fs.String("repo", "", "model repository folder (required)")
	listen := fs.String("listen", "127.0.0.1:8080", "TCP address to serve on; empty turns TCP off")
	unix := fs.String("unix", "", "Unix socket path to serve on as well (sidecar mode)")
	grpcListen := fs.String("grpc-listen", "", "TCP address (or unix:PATH) to serve the KServe v2 gRPC API on, beside HTTP; empty: no gRPC (docs/grpc.md)")
	grpcUnix := fs.String("grpc-unix", "", "Unix socket path to serve the KServe v2 gRPC API on as well (permissions: --unix-mode)")
	cfgPath := fs.String("config", "", "JSON config file (keys: the flag names with _ for -, plus \"models\"; see README)")
	unixMode := fs.String("unix-mode", "0660", "permissions of the --unix socket file (octal); who may connect")
	poll := fs.Duration("poll-interval", md.PollInterval, "how often the repository is rescanned for new versions; 0: only on SIGHUP or admin reload")
	warmup := fs.Int("warmup-rows", md.WarmupRows, "rows each new version predicts before it takes traffic; 0: none")
	drainDelay := fs.Duration("drain-delay", 0, "on SIGTERM, how long to keep serving with readiness false before closing the listeners (let load balancers notice)")
	drain := fs.Duration("drain-timeout", 30*time.Second, "on SIGTERM, how long in-flight requests may take to finish after the listeners close")
	tokenFile := fs.String("admin-token-file", "", "file of the bearer tokens for /v1/admin, one \"NAME TOKEN\" a line (NAME is the audit log's actor), or one bare token named admin (or set PREDICTD_ADMIN_TOKEN); none: admin API off")
	auditLog := fs.String("audit-log", "", "append-only, hash-chained audit log of every change to what serves and who asked (docs/audit.md); opened and verified at start (a damaged one refuses it); empty: none")
	maxBody := fs.Int("max-body-bytes", sd.MaxBodyBytes, "largest request body; larger is answered 413")
	maxInst := fs.Int("max-instances", sd.MaxInstances, "most instances in one request; more is answered 413")
	maxConc := fs.Int("max-concurrent", sd.MaxConcurrent, "most prediction requests served at once; more is answered 503 with Retry-After")
	maxConns := fs.Int("max-connections", 0, "most open client connections; at the limit a new one evicts the longest-idle one, or is answered 503; 0: half the open-file limit, at most 10000")
	maxHeader := fs.Int("max-header-bytes", sd.MaxHeaderBytes, "largest request line and headers; larger is answered 431")
	readTO := fs.Duration("read-timeout", sd.ReadTimeout, "time to read a whole request")
	writeTO := fs.Duration("write-timeout", sd.WriteTimeout, "time to write a whole response")
	idleTO := fs.Duration("idle-timeout", sd.IdleTimeout, "how long an idle keep-alive connection stays open")
	featDefs := fs.String("features", "", "feature definitions (YAML); serves /v1/features from --store")
	featStore := fs.String("store", "pebble:predictd-features", "online feature store: pebble:DIR (embedded, persistent) or redis://[[user]:password@]HOST:PORT[/DB] (rediss:// for TLS)")
	featCache := fs.Int64("feature-cache-bytes", featcache.DefaultCacheOptions().MaxBytes, "bytes of the in-process feature cache")
	featStale := fs.Duration("feature-staleness", featcache.DefaultCacheOptions().MaxStaleness, "how long a cached feature answer is served before the store is asked again (never past a view's TTL)")
	featTimeout := fs.Duration("feature-store-timeout", featcache.DefaultCacheOptions().StoreTimeout, "how long a prediction waits for the feature store before its model's store-down policy applies")
	featFuture := fs.Duration("feature-max-future", featcache.DefaultMaxFutureSkew, "refuse a pushed or streamed feature row whose event time is more than this after now (a future row would hide its entity's updates until then)")
	corePrice := fs.Float64("cost-per-core-hour", 0, "price of a CPU core-hour; with it /metrics and /v1/models/NAME/monitor give each version's cost per million predictions")
	memPrice := fs.Float64("cost-per-gib-hour", 0, "price of a GiB of memory held for an hour, added to the cost per million predictions")
	monSeries := fs.Int("monitor-max-series", 200, "most features and outputs per model version exported as drift gauges in /metrics (bounds label cardinality; the rest are counted in predictd_drift_series_omitted, and /v1/models/NAME/monitor has them all); 0: 200")
	monWindow := fs.String("monitor-window", "1h", "the window the drift gauges in /metrics judge: 5m, 1h or since_load (/v1/models/NAME/monitor reports all three)")
	monOn := fs.Bool("monitor", true, "monitor each model version: live distributions and drift against its reference, cost per prediction, SLOs (/v1/models/NAME/monitor and their /metrics); false: none of it, for comparison")
	batching := fs.Bool("batching", true, "batch concurrent requests to a model version adaptively; false: each request is its own Predict call")
	timeout := fs.Duration("timeout", 0, "deadline of a request that sets none (X-Request-Timeout, OIP parameters.timeout); 0: none")
	stream := fs.String("stream", "", "apply feature updates from a Redis stream: redis://[[user]:password@]HOST:PORT[/DB] or rediss://... (needs --features)")
	streamKey := fs.String("stream-key", "predictd:features", "the Redis stream's key")
	streamGroup := fs.String("stream-group", "", "consumer group; default \"predictd\" with a redis:// store (replicas share the writes), the host name with a pebble store (every replica applies every entry)")
	streamConsumer := fs.String("stream-consumer", "", "this replica's consumer name in the group, stable across restarts so it re-reads what it left pending; default the host name")
	storeDown := fs.String("features-on-store-error", "fail_closed", "when the feature store fails during a prediction: fail_closed (503) or fail_open (serve cached values and defaults); per model: features_on_store_error in the config file")
	plDir := fs.String("prediction-log", "", "directory of the prediction log (Parquet segments per model and version, docs/prediction-log.md); empty: off. Config file: the prediction_log block")
	plKey := fs.String("prediction-log-key", "", "file holding the prediction log's HMAC key (hex); required when the prediction_log config hashes a field or the id")
	lbDir := fs.String("labels-dir", "", "directory of the labels store (joins labels POSTed to /v1/models/{name}/feedback to every prediction, docs/labels.md); empty: off. Config file: the labels block")
	stateDir := fs.String("state-dir", "", "folder of the rollout state: labels and their history persist there across restarts (one daemon per folder); empty: labels live in memory")
	stateRedis := fs.String("state-redis", "", "Redis server of the rollout state, shared by replicas: redis://[[user]:password@]HOST:PORT[/DB] or rediss://...; instead of --state-dir")
	rolloutEvery := fs.Duration("rollout-interval", time.Second, "how often each canary rollout is decided and the shared state polled (docs/rollout.md)")
	rollbackHold := fs.Duration("rollback-hold", manager.DefaultRollbackHold, "how long the version the \"stable\" label left stays loaded, so that predictd rollback switches back at once; 0: not kept")
	plRate := fs.Float64("prediction-log-sample-rate", 1, "share of prediction ids logged, 0 to 1, for models whose config sets no log.sample_rate (config file: prediction_log.sample_rate)")
	if err := parseFlags(fs, args); err != nil {
		return nil, err
	}
	set := config.Explicit(fs)
	if err := config.ApplyEnv(fs, set, os.LookupEnv); err != nil {
		return nil, usageErr("serve: %v", err)
	}
	var models []modelConfig
	var plc predlogConfig
	var lbc labelsConfig
	if *cfgPath != "" {
		sections, err := config.ApplyFile(fs, set, *cfgPath, "models", "prediction_log", "labels")
		if err != nil {
			return nil, usageErr("serve: %v", err)
		}
		if raw, ok := sections["labels"]; ok {
			file, _ := os.ReadFile(*cfgPath)
			if err := config.DecodeStrict(*cfgPath, "labels", file, raw, &lbc); err != nil {
				return nil, usageErr("serve: %v", err)
			}
		}
		if raw, ok := sections["prediction_log"]; ok {
			file, _ := os.ReadFile(*cfgPath)
			if err := config.DecodeStrict(*cfgPath, "prediction_log", file, raw, &plc); err != nil {
				return nil, usageErr("serve: %v", err)
			}
		}
		if raw, ok := sections["models"]; ok {
			file, _ := os.ReadFile(*cfgPath)
			if err := config.DecodeStrict(*cfgPath, "models", file, raw, &models); err != nil {
				return nil, usageErr("serve: %v", err)
			}
			for _, mc := range models {
				switch mc.Batching.Mode {
				case "", "auto", "always", "never":
				default:
					return nil, usageErr("serve: config file %s: model %q: batching mode %q: want auto, always or never", *cfgPath, mc.Name, mc.Batching.Mode)
				}
				if _, err := server.ParseStoreDownPolicy(mc.StoreDown); err != nil {
					return nil, usageErr("serve: config file %s: model %q: features_on_store_error %v", *cfgPath, mc.Name, err)
				}
				if _, err := server.ParseContractMode(mc.Contract); err != nil {
					return nil, usageErr("serve: config file %s: model %q: %v", *cfgPath, mc.Name, err)
				}
				if err := mc.checkSLO(*cfgPath); err != nil {
					return nil, usageErr("serve: %v", err)
				}
				if err := mc.checkMonitor(*cfgPath); err != nil {
					return nil, usageErr("serve: %v", err)
				}
				if err := mc.checkQuality(*cfgPath); err != nil {
					return nil, usageErr("serve: %v", err)
				}
				if err := mc.checkShadow(*cfgPath); err != nil {
					return nil, usageErr("serve: %v", err)
				}
				if _, err := mc.Rollout.config(*cfgPath, mc.Name); err != nil {
					return nil, usageErr("serve: %v", err)
				}
			}
		}
	}
	if err := required(fs, "repo"); err != nil {
		return nil, err
	}
	if err := nonNegative(fs); err != nil {
		return nil, err
	}
	if *listen == "" && *unix == "" {
		return nil, usageErr("serve: nothing to serve on: give --listen, --unix or both")
	}
	if *featFuture == 0 {
		return nil, usageErr("serve: --feature-max-future 0: want a positive duration such as 24h (876000h accepts any storable time)")
	}
	if path, ok := strings.CutPrefix(*grpcListen, "unix:"); ok {
		if *grpcUnix != "" {
			return nil, usageErr("serve: --grpc-listen %s and --grpc-unix %s: give one Unix socket for gRPC", *grpcListen, *grpcUnix)
		}
		*grpcListen, *grpcUnix = "", path
		if path == "" {
			return nil, usageErr("serve: --grpc-listen unix: needs a socket path, as in unix:/run/predictd-grpc.sock")
		}
	}
	if *grpcUnix != "" && *grpcUnix == *unix {
		return nil, usageErr("serve: --grpc-unix %s is --unix too: HTTP and gRPC need sockets of their own", *grpcUnix)
	}
	sockMode, err := strconv.ParseUint(*unixMode, 8, 32)
	if err != nil || sockMode > 0o777 {
		return nil, usageErr("serve: --unix-mode %q: want octal permissions such as 0660", *unixMode)
	}
	defStoreDown, err := server.ParseStoreDownPolicy(*storeDown)
	if err != nil {
		return nil, usageErr("serve: --features-on-store-error %v", err)
	}
	tokens, err := adminTokens(*tokenFile) // audit_wiring.go
	if err != nil {
		return nil, usageErr("serve: %v", err)
	}

	cfg := &serveConfig{
		listen:     *listen,
		unix:       *unix,
		grpcListen: *grpcListen,
		grpcUnix:   *grpcUnix,
		unixMode:   os.FileMode(sockMode),
		drainDelay: *drainDelay,
		drain:      *drain,
		server: server.Options{
			MaxBodyBytes:    *maxBody,
			MaxInstances:    *maxInst,
			MaxConcurrent:   *maxConc,
			MaxConnections:  *maxConns,
			MaxHeaderBytes:  *maxHeader,
			ReadTimeout:     *readTO,
			WriteTimeout:    *writeTO,
			IdleTimeout:     *idleTO,
			AdminTokens:     tokens,
			DisableBatching: !*batching,
			DefaultModel:    server.ModelOptions{Timeout: *timeout, StoreDown: defStoreDown},
			Models:          make(map[string]server.ModelOptions),
			Version:         version,
		},
		manager: manager.Options{
			Repo:         *repo,
			PollInterval: *poll,
			WarmupRows:   cmp.Or(*warmup, -1), // the flag's 0 is "none", the manager's "default"
		},
		features: *featDefs,
		store:    *featStore,
		cache:    featcache.CacheOptions{MaxBytes: *featCache, MaxStaleness: *featStale, StoreTimeout: *featTimeout, MaxFutureSkew: *featFuture},
		stream:   streamConfig{url: *stream, key: *streamKey, group: *streamGroup, consumer: *streamConsumer},
	}
	if cfg.manager.PollInterval == 0 {
		cfg.manager.PollInterval = -1 // the manager's "never"; 0 would mean its default
	}
	cfg.manager.RollbackHold = cmp.Or(*rollbackHold, -1) // the flag's 0 is "none", the manager's "default"
	if *stateDir != "" && *stateRedis != "" {
		return nil, usageErr("serve: --state-dir and --state-redis: give one of them")
	}
	cfg.stateDir, cfg.stateRedis = *stateDir, *stateRedis
	cfg.auditLog = *auditLog
	if *rolloutEvery <= 0 {
		return nil, usageErr("serve: --rollout-interval %s: want a positive duration", *rolloutEvery)
	}
	cfg.server.Rollout.Interval = *rolloutEvery
	cfg.monitor = monitorConfig{
		off:    !*monOn,
		prices: cost.Prices{PerCoreHour: *corePrice, PerGiBHour: *memPrice}, maxSeries: *monSeries,
		slos: make(map[string]slo.Config), every: make(map[string]int), thresholds: make(map[string]drift.Thresholds),
	}
	switch *monWindow {
	case "5m":
		cfg.monitor.window = 5 * time.Minute
	case "1h":
		cfg.monitor.window = time.Hour
	case "since_load":
		cfg.monitor.window = 0
	default:
		return nil, usageErr("serve: --monitor-window %q: want 5m, 1h or since_load", *monWindow)
	}
	for _, mc := range models {
		cfg.manager.Models = append(cfg.manager.Models, mc.ModelConfig)
		cfg.server.Models[mc.Name] = mc.serving(cfg.server.DefaultModel)
		if mc.SLO != nil {
			cfg.monitor.slos[mc.Name] = *mc.SLO
		}
		if mc.Monitor.Every > 0 {
			cfg.monitor.every[mc.Name] = mc.Monitor.Every
		}
		if th, _ := mc.thresholds(); th != nil {
			cfg.monitor.thresholds[mc.Name] = *th
		}
	}
	if cfg.stream.url != "" && cfg.features == "" {
		return nil, usageErr("serve: --stream needs --features")
	}
	if set["prediction-log"] {
		plc.Dir = *plDir
	}
	if set["prediction-log-key"] {
		plc.KeyFile = *plKey
	}
	if set["prediction-log-sample-rate"] || plc.SampleRate == nil {
		plc.SampleRate = plRate
	}
	if cfg.predlog, err = plc.options(*cfgPath, models); err != nil {
		return nil, usageErr("serve: %v", err)
	}
	if set["labels-dir"] {
		lbc.Dir = *lbDir
	}
	if cfg.labels, err = lbc.options(*cfgPath, *featStore, cfg.features != "", models); err != nil {
		return nil, usageErr("serve: %v", err)
	}
	return cfg, nil
}

// labelsConfig is the config file's "labels" block; --labels-dir
// overrides its dir.
type labelsConfig struct {
	Dir        string            `json:"dir"`
	JoinWindow config.Duration   `json:"join_window"`
	MaxBytes   int64             `json:"max_bytes"`
	Windows    []config.Duration `json:"windows"`
	// RecomputeEvery bounds how often a version's quality report is
	// recomputed for /monitor and /metrics; default 10s.
	RecomputeEvery config.Duration `json:"recompute_every"`
}

// labelsOptions are the labels store's directory and options.
type labelsOptions struct {
	dir  string
	opts labels.Options
	// recompute is server.Options.QualityRecomputeEvery; 0: its default.
	recompute time.Duration
}

// options returns the labels store's settings, nil when labels are off.
// The store must not share the feature store's pebble directory (store
// is --store, features whether a feature store is opened).
func (c labelsConfig) options(path, store string, features bool, models []modelConfig) (*labelsOptions, error) {
	if c.Dir == "" {
		for _, mc := range models {
			if mc.Quality != nil {
				return nil, fmt.Errorf("config file %s: model %q sets \"quality\" but labels are off: give --labels-dir DIR or labels.dir", path, mc.Name)
			}
		}
		return nil, nil
	}
	if dir, ok := strings.CutPrefix(store, "pebble:"); ok && features && sameDir(dir, c.Dir) {
		return nil, fmt.Errorf("--labels-dir %s is the feature store's pebble directory (--store %s): give the labels store a directory of its own", c.Dir, store)
	}
	o := labels.Options{JoinWindow: time.Duration(c.JoinWindow), MaxBytes: c.MaxBytes}
	for i, w := range c.Windows {
		if w <= 0 {
			return nil, fmt.Errorf("labels.windows[%d] %v: want a positive duration such as 1h", i, time.Duration(w))
		}
		o.Windows = append(o.Windows, time.Duration(w))
	}
	switch {
	case o.JoinWindow < 0:
		return nil, fmt.Errorf("labels.join_window %v is negative", o.JoinWindow)
	case o.MaxBytes < 0:
		return nil, fmt.Errorf("labels.max_bytes %d is negative", o.MaxBytes)
	case c.RecomputeEvery < 0:
		return nil, fmt.Errorf("labels.recompute_every %v is negative", time.Duration(c.RecomputeEvery))
	}
	return &labelsOptions{dir: c.Dir, opts: o, recompute: time.Duration(c.RecomputeEvery)}, nil
}

// sameDir reports whether paths a and b name the same directory, as
// absolute cleaned paths (or, when that fails, cleaned as given).
func sameDir(a, b string) bool {
	if x, err := filepath.Abs(a); err == nil {
		a = x
	}
	if y, err := filepath.Abs(b); err == nil {
		b = y
	}
	return filepath.Clean(a) == filepath.Clean(b)
}

// qualityConfig is a model's "quality" block: how its labels are read
// and its live quality sliced (server.Quality).
type qualityConfig struct {
	// Task is binary or regression; empty: the model's task.
	Task        string   `json:"task"`
	ScoreOutput int      `json:"score_output"`
	Slices      []string `json:"slices"`
	Protected   string   `json:"protected"`
	Threshold   float64  `json:"threshold"`
	// Alert is what `predictd alerts` writes the quality rules from;
	// serve flags in /monitor what they alert on (server.Quality.Alert).
	Alert *alerts.QualityAlert `json:"alert"`
}

// checkQuality validates the model's quality block, if any; the error
// names the config file and the model.
func (mc modelConfig) checkQuality(path string) error {
	q := mc.Quality
	if q == nil {
		return nil
	}
	switch {
	case q.Task != "" && q.Task != "binary" && q.Task != "regression":
		return fmt.Errorf("config file %s: model %q: quality.task %q: want binary or regression (empty: the model's task)", path, mc.Name, q.Task)
	case q.ScoreOutput < 0:
		return fmt.Errorf("config file %s: model %q: quality.score_output %d is negative", path, mc.Name, q.ScoreOutput)
	case q.Protected != "" && !slices.Contains(q.Slices, q.Protected):
		return fmt.Errorf("config file %s: model %q: quality.protected %q is not one of quality.slices %q", path, mc.Name, q.Protected, q.Slices)
	case !(q.Threshold >= 0 && q.Threshold <= 1):
		return fmt.Errorf("config file %s: model %q: quality.threshold %v: want a probability in [0, 1] (0: 0.5)", path, mc.Name, q.Threshold)
	}
	if q.Alert != nil {
		if err := q.Alert.Validate(); err != nil {
			return fmt.Errorf("config file %s: model %q: quality.alert: %w", path, mc.Name, err)
		}
	}
	return nil
}

// quality returns the model's server.Quality (checked by checkQuality),
// flagging with the alert rules' settings: `predictd alerts` writes them,
// defaults and all, for every model when labels are on.
func (q *qualityConfig) quality() server.Quality {
	if q == nil {
		return server.Quality{Alert: alerts.QualityAlert{}.WithDefaults()}
	}
	out := server.Quality{ScoreOutput: q.ScoreOutput, Slices: q.Slices, Protected: q.Protected, Threshold: q.Threshold, Alert: alerts.QualityAlert{}.WithDefaults()}
	if q.Alert != nil {
		out.Alert = q.Alert.WithDefaults()
	}
	switch q.Task {
	case "binary":
		out.Task = labels.Binary
	case "regression":
		out.Task = labels.Regression
	}
	return out
}

// predlogConfig is the config file's "prediction_log" block; the
// --prediction-log flags override its dir, key_file and sample_rate.
type predlogConfig struct {
	Dir     string `json:"dir"`
	KeyFile string `json:"key_file"`
	// The Policy of models whose own "log" sets none of it.
	logPolicyConfig
	FlushEvery      config.Duration `json:"flush_every"`
	MaxSegmentBytes int64           `json:"max_segment_bytes"`
	RetainBytes     int64           `json:"retain_bytes"`
	RetainAge       config.Duration `json:"retain_age"`
	BufferRecords   int             `json:"buffer_records"`
}

// logPolicyConfig is a prediction log policy as the config file writes
// it, in the prediction_log block (every model's default) and in a
// model's "log"; a field a model leaves out is the block's.
type logPolicyConfig struct {
	SampleRate *float64 `json:"sample_rate"`
	// Fields is the allowlist of inputs logged; none: no inputs.
	Fields *[]string `json:"fields"`
	// Hash names the string inputs written as their keyed hash.
	Hash *[]string `json:"hash"`
	// HashID writes the prediction id as its keyed hash.
	HashID *bool `json:"hash_id"`
}

// policy is p with def's values where p sets none.
func (p logPolicyConfig) policy(def predlog.Policy) predlog.Policy {
	if p.SampleRate != nil {
		def.SampleRate = *p.SampleRate
	}
	if p.Fields != nil {
		def.Fields = *p.Fields
	}
	if p.Hash != nil {
		def.Hashed = *p.Hash
	}
	if p.HashID != nil {
		def.HashID = *p.HashID
	}
	return def
}

// options returns the prediction log's options, nil when it is off (no
// dir), checked: rates in [0, 1], a key file when anything is hashed.
// Errors name the flag or the config file's key.
func (c predlogConfig) options(path string, models []modelConfig) (*predlog.Options, error) {
	someLog := false
	for _, mc := range models {
		someLog = someLog || mc.Log != nil
	}
	if c.Dir == "" {
		if path != "" && someLog {
			return nil, fmt.Errorf("config file %s: a model sets \"log\" but the prediction log is off: give --prediction-log DIR or prediction_log.dir", path)
		}
		return nil, nil
	}
	o := predlog.DefaultOptions()
	o.Dir, o.KeyFile = c.Dir, c.KeyFile
	if c.FlushEvery != 0 {
		o.FlushEvery = time.Duration(c.FlushEvery)
	}
	if c.MaxSegmentBytes != 0 {
		o.MaxSegmentBytes = c.MaxSegmentBytes
	}
	if c.BufferRecords != 0 {
		o.BufferRecords = c.BufferRecords
	}
	o.RetainBytes, o.RetainAge = c.RetainBytes, time.Duration(c.RetainAge)
	o.Default = c.logPolicyConfig.policy(predlog.Policy{})
	check := func(where string, p predlog.Policy) error {
		if !(p.SampleRate >= 0 && p.SampleRate <= 1) {
			return fmt.Errorf("%s: sample_rate %v: want 0 to 1", where, p.SampleRate)
		}
		if (len(p.Hashed) > 0 || p.HashID) && o.KeyFile == "" {
			return fmt.Errorf("%s hashes (hash %q, hash_id %v): give the key with --prediction-log-key FILE or prediction_log.key_file", where, p.Hashed, p.HashID)
		}
		return nil
	}
	if err := check("prediction log (--prediction-log-sample-rate, prediction_log)", o.Default); err != nil {
		return nil, err
	}
	o.Models = make(map[string]predlog.Policy)
	for _, mc := range models {
		if mc.Log == nil {
			continue
		}
		p := mc.Log.policy(o.Default)
		if err := check(fmt.Sprintf("config file %s: model %q: log", path, mc.Name), p); err != nil {
			return nil, err
		}
		o.Models[mc.Name] = p
	}
	for _, n := range []struct {
		name string
		v    int64
	}{{"flush_every", int64(o.FlushEvery)}, {"max_segment_bytes", o.MaxSegmentBytes}, {"retain_bytes", o.RetainBytes}, {"retain_age", int64(o.RetainAge)}, {"buffer_records", int64(o.BufferRecords)}} {
		if n.v < 0 {
			return nil, fmt.Errorf("prediction_log.%s is negative", n.name)
		}
	}
	return &o, nil
}

// modelConfig is one entry of the config file's "models": the manager's
// version policy and labels, and the model's batching and timeout.
type modelConfig struct {
	manager.ModelConfig
	Batching struct {
		Mode         string          `json:"mode"` // auto (default), always, never
		MaxBatchSize int             `json:"max_batch_size"`
		MaxQueue     int             `json:"max_queue"`
		P99Target    config.Duration `json:"p99_target"`
		MaxWait      config.Duration `json:"max_wait"`
		Workers      int             `json:"workers"`
	} `json:"batching"`
	Timeout *config.Duration `json:"timeout"`
	// StoreDown is fail_closed or fail_open; empty: the
	// --features-on-store-error flag's.
	StoreDown string `json:"features_on_store_error"`
	// Contract is what serve does with the data contract a version carries
	// (predictd import --contract): enforce (refuse a request whose values
	// break it, 400), count (serve it, count in /metrics), off; empty:
	// count when the version has one.
	Contract string `json:"contract"`
	// SLO is the model's latency and availability objectives; nil: none.
	// `predictd alerts` writes the Prometheus rules for them.
	SLO *slo.Config `json:"slo"`
	// Monitor is the model's drift monitoring: Every records one row in
	// Every (default 1, all); DriftThresholds overrides some of
	// drift.DefaultThresholds' fields (JSON names as in /monitor's
	// "thresholds").
	Monitor struct {
		Every           int             `json:"every"`
		DriftThresholds json.RawMessage `json:"drift_thresholds"`
	} `json:"monitor"`
	// Log is the model's prediction log policy; a field left out is the
	// prediction_log block's; nil: the block's.
	Log *logPolicyConfig `json:"log"`
	// Quality is the model's live-quality settings for the labels store;
	// nil: its task, score output 0, no slices.
	Quality *qualityConfig `json:"quality"`
	// Shadow is the model's shadow (shadow_config.go); nil: none.
	Shadow *shadowConfig `json:"shadow"`
	// Rollout is the model's canary plan (rollout.go, docs/rollout.md);
	// none: a new version takes the traffic as soon as it loads.
	Rollout rolloutBlock `json:"rollout"`
}

// thresholds returns the model's drift thresholds, nil when it sets none:
// drift.DefaultThresholds with the fields the config file gives.
func (mc modelConfig) thresholds() (*drift.Thresholds, error) {
	if len(mc.Monitor.DriftThresholds) == 0 {
		return nil, nil
	}
	th := drift.DefaultThresholds()
	dec := json.NewDecoder(bytes.NewReader(mc.Monitor.DriftThresholds))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&th); err != nil {
		return nil, err
	}
	return &th, th.Check()
}

// checkMonitor validates the model's monitor settings; the error names the
// config file and the model.
func (mc modelConfig) checkMonitor(path string) error {
	if mc.Monitor.Every < 0 {
		return fmt.Errorf("config file %s: model %q: monitor.every %d: want 1 or more (1 records every row)", path, mc.Name, mc.Monitor.Every)
	}
	if _, err := mc.thresholds(); err != nil {
		return fmt.Errorf("config file %s: model %q: monitor.drift_thresholds: %v", path, mc.Name, err)
	}
	return nil
}

// checkSLO validates the model's objectives, if any; the error names the
// config file (path) and the model, as serve and alerts report it.
func (mc modelConfig) checkSLO(path string) error {
	if mc.SLO == nil {
		return nil
	}
	if err := mc.SLO.Validate(); err != nil {
		return fmt.Errorf("config file %s: model %q: slo: %v", path, mc.Name, err)
	}
	return nil
}

// serving returns the model's server settings; zero batching fields take
// the batcher's defaults, and unset timeout and store policy def's (the
// flags').
func (mc modelConfig) serving(def server.ModelOptions) server.ModelOptions {
	b := mc.Batching
	mo := server.ModelOptions{
		Batching: server.BatchingMode(strings.TrimPrefix(b.Mode, "auto")),
		Batch: batcher.Options{
			MaxBatchRows: b.MaxBatchSize,
			MaxQueueRows: b.MaxQueue,
			TargetP99:    time.Duration(b.P99Target),
			MaxWait:      time.Duration(b.MaxWait),
			Workers:      b.Workers,
		},
		Timeout:   def.Timeout,
		StoreDown: def.StoreDown,
	}
	if mc.Timeout != nil {
		mo.Timeout = time.Duration(*mc.Timeout)
	}
	if mc.StoreDown != "" {
		mo.StoreDown, _ = server.ParseStoreDownPolicy(mc.StoreDown) // checked when read
	}
	mo.Contract, _ = server.ParseContractMode(mc.Contract) // checked when read
	mo.Quality = mc.Quality.quality()
	mo.Shadow = mc.Shadow.options()
	mo.Rollout, _ = mc.Rollout.config("", mc.Name) // checked when read
	return mo
}

// openFeatures loads the definitions and opens the store named by spec
// (pebble:DIR or redis://HOST:PORT[/DB]) with a cache in front. The
// returned func closes the service and the store.
func openFeatures(defsPath, spec string, copts featcache.CacheOptions) (*featcache.Service, func(), error) {
	defs, err := featcache.LoadDefs(defsPath)
	if err != nil {
		return nil, nil, fmt.Errorf("--features: %w", err)
	}
	st, err := openStore(spec)
	if err != nil {
		return nil, nil, err
	}
	svc, err := featcache.NewService(defs, st, copts)
	if err != nil {
		st.Close()
		return nil, nil, err
	}
	return svc, func() { svc.Close(); st.Close() }, nil
}

// openStore opens the online store spec names: pebble:DIR or a Redis URL,
// redis://[[user]:password@]HOST:PORT[/DB] or rediss://... for TLS. Errors
// show the URL with its password redacted.
func openStore(spec string) (featcache.Store, error) {
	var (
		st  featcache.Store
		err error
	)
	switch {
	case strings.HasPrefix(spec, "pebble:") && len(spec) > len("pebble:"):
		st, err = pebblestore.Open(strings.TrimPrefix(spec, "pebble:"), pebblestore.DefaultOptions())
	case strings.HasPrefix(spec, "redis://"), strings.HasPrefix(spec, "rediss://"):
		srv, perr := redisconn.ParseURL(spec)
		if perr != nil {
			return nil, fmt.Errorf("--store %w", perr)
		}
		ro := redisstore.DefaultOptions()
		ro.Addr, ro.Username, ro.Password, ro.DB, ro.TLS = srv.Addr, srv.Username, srv.Password, srv.DB, srv.TLS
		st, err = redisstore.Open(ro)
	default:
		return nil, fmt.Errorf("--store %q: want pebble:DIR, redis://[[user]:password@]HOST:PORT[/DB] or rediss://...", redisconn.Redact(spec))
	}
	if err != nil {
		return nil, fmt.Errorf("--store %s: %w", redisconn.Redact(spec), err)
	}
	return st, nil
}

// adminToken reads the one admin bearer token a client sends (predictd
// rollback, rollout) from path, or else from PREDICTD_ADMIN_TOKEN: a file
// in serve's token file format (adminTokens) holding exactly one token,
// bare or named; "" when neither is given. A token shorter than 16 bytes
// is refused as guessable.
func adminToken(path string) (string, error) {
	toks, err := adminTokens(path)
	if err != nil || len(toks) == 0 {
		return "", err
	}
	if len(toks) > 1 {
		return "", fmt.Errorf("the admin token file holds %d tokens; give the client a file with its own one", len(toks))
	}
	for _, tok := range toks {
		return tok, nil
	}
	return "", nil
}

// listenUnix listens on a Unix socket at path with permissions mode,
// removing a stale socket file left by a process that died (but never a
// regular file, nor a socket someone still listens on). The socket is
// created with mode already (umask), not chmod'ed after, so no client
// connects in between.
func listenUnix(path string, mode os.FileMode) (net.Listener, error) {
	if fi, err := os.Lstat(path); err == nil {
		if fi.Mode()&fs.ModeSocket == 0 {
			return nil, fmt.Errorf("%s exists and is not a socket; refusing to replace it", path)
		}
		if c, err := net.DialTimeout("unix", path, time.Second); err == nil {
			c.Close()
			return nil, errors.New("another process is serving on this socket")
		}
		if err := os.Remove(path); err != nil {
			return nil, err
		}
	}
	restore := setUmask(uint32(0o777 &^ mode))
	ln, err := net.Listen("unix", path)
	restore()
	if err != nil {
		return nil, err
	}
	if err := os.Chmod(path, mode); err != nil { // exact, whatever the umask was
		ln.Close()
		return nil, err
	}
	return ln, nil
}

func describeStatus(st manager.ModelStatus) string {
	var parts []string
	for _, v := range st.Versions {
		s := fmt.Sprintf("v%d %s", v.Version, v.State)
		if v.Error != "" {
			s += " (" + v.Error + ")"
		}
		parts = append(parts, s)
	}
	if len(parts) == 0 {
		return "no versions"
	}
	return strings.Join(parts, ", ")
}

// newStreamConsumer makes the feature stream consumer of --stream spec
// (redis://HOST:PORT[/DB]). The group defaults to one shared by every
// replica when the store is shared, else one per host, so that each
// replica's own store gets every entry.
func newStreamConsumer(svc *featcache.Service, spec, key, group, consumer string, sharedStore bool, logf func(string, ...any)) (*redisstream.Consumer, error) {
	o := redisstream.DefaultOptions()
	srv, err := redisconn.ParseURL(spec)
	if err != nil {
		return nil, fmt.Errorf("--stream %w", err)
	}
	o.Addr, o.Username, o.Password, o.DB, o.TLS = srv.Addr, srv.Username, srv.Password, srv.DB, srv.TLS
	host, err := os.Hostname()
	if err != nil || host == "" {
		host = "predictd"
	}
	if consumer == "" {
		consumer = host
	}
	if group == "" {
		group = host
		if sharedStore {
			group = "predictd"
		}
	}
	o.Stream, o.Group, o.Consumer, o.Logf = key, group, consumer, logf
	c, err := redisstream.New(svc.Defs, svc, o)
	if err != nil {
		return nil, fmt.Errorf("--stream: %w", err)
	}
	logf("features: applying stream %s at %s as consumer %s of group %s", key, srv.Addr, consumer, group)
	return c, nil
}
