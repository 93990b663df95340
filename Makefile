# predictd. The two commands a new user needs: `make demo` and `make test`.
GO      ?= go
BIN     := bin/predictd
VERSION := $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -X main.version=$(VERSION)
FUZZTIME ?= 20s
# The fast build: on amd64, Go's GOEXPERIMENT=simd (simd/archsimd) lets the
# float32 kernels pick AVX2 or AVX-512 at run time; elsewhere, portable Go.
ifeq ($(shell $(GO) env GOARCH),amd64)
SIMD_ENV := GOEXPERIMENT=simd
endif
DEMO_DIR ?= $(CURDIR)/.demo
DEMO_PORT ?= 18181

.PHONY: all build test vet fmt-check fuzz-check unit unit-norace unit-invariants unit-simd bench bench-serve bench-batching bench-features bench-loadtest bench-monitor bench-cost soak compare-trees bench-report fuzz demo clean

all: build

build:
	$(SIMD_ENV) $(GO) build -ldflags "$(LDFLAGS)" -o $(BIN) ./cmd/predictd
	@$(BIN) version

## test: go vet, a gofmt check, a check that make fuzz lists every fuzz
## target, the whole suite under the race detector, the
## tests the race detector defeats again without it, the invariants build of
## model/manager, and the packages with SIMD code again in the
## GOEXPERIMENT=simd build.
test: vet fmt-check fuzz-check unit unit-norace unit-invariants unit-simd

vet:
	$(GO) vet ./...

fmt-check:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi

unit:
	$(GO) test -race -count=1 ./...

## unit-norace: allocation and bounded-memory tests, which skip or check less
## under -race (its sync.Pool drops items on purpose and its shadow memory
## swamps a heap measure), run again without it, in every package and on
## every GOARCH. The convention: a test that reads raceEnabled is named to
## match NORACE_TESTS: it ends in Alloc or Allocs (an allocation count:
## testing.AllocsPerRun), DoesNotAllocate, or is one of the bounded-memory
## tests listed by name. The first step fails if a test reads raceEnabled and
## its name does not match, so no such test can fall out of this pass. The
## gbdt trainer's oracle tests at scale (TestGrowthAgainstXGBoost,
## TestQualityAtScale, TestCutsAtScale) are built only without -race (41 s
## and more under it) and run here, as are the canary rollouts on the real
## binary under loadtest (TestRollout*E2E, about 10 s each).
NORACE_TESTS := Allocs?$$|DoesNotAllocate$$|^TestScoreStreaming$$|^TestOpenZstdBomb$$|^TestOpenOversizedPayload$$|^TestGrowthAgainstXGBoost$$|^TestQualityAtScale$$|^TestCutsAtScale$$|^TestRollout[A-Za-z]*E2E$$
unit-norace:
	@bad=$$(awk -v re='$(NORACE_TESTS)' 'FNR == 1 { name = "" } /^func Test/ { name = $$2; sub(/\(.*/, "", name) } \
		/raceEnabled/ && name != "" && name !~ re { print FILENAME ": " name }' $$(git ls-files '*_test.go') | sort -u); \
	if [ -n "$$bad" ]; then echo "tests that read raceEnabled but do not match NORACE_TESTS (rename them or extend it):"; echo "$$bad"; exit 1; fi
	$(GO) test -count=1 -run '$(NORACE_TESTS)' ./...

## unit-invariants: model/manager with -tags invariants, the build whose extra
## checks catch a double Release of a pooled handle.
unit-invariants:
	$(GO) vet -tags invariants ./model/manager/
	$(GO) test -count=1 -tags invariants ./model/manager/

unit-simd:
ifneq ($(SIMD_ENV),)
	$(SIMD_ENV) $(GO) vet ./kernels/ ./model/... ./batcher/ ./server/ ./cmd/...
	$(SIMD_ENV) $(GO) test -count=1 ./kernels/ ./model/... ./batcher/ ./server/ ./cmd/...
endif

## bench: every benchmark once, with allocations. BENCH=regexp narrows it.
BENCH ?= .
bench:
	$(GO) test -run '^$$' -bench '$(BENCH)' -benchmem ./...

## compare-trees: predictd against leaves and XGBoost's native predictor on
## the same 300-tree model and rows, side by side (needs python3-xgboost).
compare-trees:
	bash bench/compare-trees.sh

## bench-features: what the serving join adds to a prediction's latency (3
## views x 20 features from a local redis-server, cache warm and cold) over
## the same request with its features inline; needs redis-server.
bench-features:
	bash bench/features.sh

## bench-loadtest: predictd loadtest against wrk on a do-nothing fasthttp
## server, same connections, closed loop, plus an open loop at 90% of wrk's
## rate (needs wrk and jq).
bench-loadtest:
	bash bench/loadtest-wrk.sh

## bench-serve: predictd serve under wrk beside a do-nothing fasthttp
## handler, same connections, one run (needs wrk).
bench-serve:
	bash bench/serve-wrk.sh

## bench-monitor: what the model monitor costs: predictd serve --monitor on
## vs off (and sampled: EVERY="4 16"), alternating rounds on fresh servers,
## the 300-tree model widened to 40 features under wrk, throughput and p50
## ratios; then monitor/live's Observe and monitor/cost's Span (ns per
## row, allocations). ROUNDS, DURATION, PIN=1 (needs wrk).
bench-monitor:
	bash bench/monitor.sh

## bench-cost: the daemon's cost per prediction (CPU attributed per version)
## beside predictd capacity's process CPU per request, same model and
## open-loop rate; then two models at once (the split). RATE, DURATION.
bench-cost:
	bash bench/cost.sh

## soak: predictd serve for SOAK_DURATION (default 10m) under mixed traffic,
## reloads, store outages and bad inputs; RSS, fds, goroutines and errors
## over time, and a PASS/FAIL verdict. Run before a release (needs
## redis-server; SOAK_DURATION=90s make soak for a short one).
soak: build
	bash bench/soak.sh

## bench-batching: predictd serve with the batcher forced on vs off, closed
## and open loop, for the 3x512 MLP, the 300-tree model and a wide MLP
## (64→2048x3→1, made at run time by bench/widemlp); RESULT lines at the end.
bench-batching:
	bash bench/batching.sh

## bench-report: every comparison against its peer in one run (trees vs
## XGBoost at its best and leaves, sgemm vs OpenBLAS, serve vs a do-nothing
## server, batching on/off, loadtest vs wrk), one table of ratios with the
## CPU and its flags written to docs/benchmarks.md (about 15 minutes; QUICK=1
## for a ~3-minute smoke run written under $TMPDIR). Exits non-zero if a
## comparison failed, after writing the file.
bench-report:
	bash bench/report.sh

## fuzz: each fuzz target for FUZZTIME (short and bounded). FUZZ_TARGETS
## lists every func Fuzz in the repository; fuzz-check (part of make test)
## fails when one is missing or an entry names none.
FUZZ_TARGETS := \
	./model/xgboost:FuzzParse \
	./model/xgboost:FuzzUBJSON \
	./model/lightgbm:FuzzParse \
	./model/native:FuzzParse \
	./model/onnx:FuzzParse \
	./monitor/labels:FuzzRowValue \
	./rollout/audit:FuzzVerify \
	./rollout/canary:FuzzParsePlan \
	./server:FuzzParseFeedback \
	./model/onnx:FuzzTreeEnsemble \
	./model:FuzzDecodePayload \
	./model:FuzzManifest \
	./model:FuzzDecodeReference \
	./tools/score:FuzzCSVReader \
	./tools/score:FuzzParquetReader \
	./tools/score:FuzzOpenModelInput \
	./tools/score:FuzzRowRulesMatchServer \
	./tools/materialize:FuzzParquet \
	./internal/parquetio:FuzzDecimal \
	./monitor/slo:FuzzConfig \
	./wire:FuzzDecodePredict \
	./wire:FuzzDecodeInfer \
	./wire:FuzzDecodePredictJoin \
	./wire:FuzzDecodeInferJoin \
	./wire:FuzzDecodeStrings \
	./wire:FuzzIntegralNumber \
	./wire:FuzzDecodeInferBinary \
	./wire:FuzzDecodeInferProto \
	./wire:FuzzScan \
	./wire:FuzzAppendString \
	./internal/config:FuzzApplyFile \
	./featcache:FuzzParseDefs \
	./featcache:FuzzDecodeRecord \
	./featcache:FuzzParseEventTime \
	./featcache/redisstream:FuzzDecode \
	./loadtest:FuzzBodiesFromInstances \
	./loadtest:FuzzBodiesFromLines \
	./loadtest/capacity:FuzzParseCPU \
	./kernels:FuzzFastForest \
	./internal/logx:FuzzSanitize \
	./internal/table:FuzzCSV \
	./internal/table:FuzzLimitRecords \
	./internal/table:FuzzParquet \
	./model/contract:FuzzParse \
	./tools/candidates:FuzzMetricJSON \
	./tools/candidates:FuzzParseCandidates \
	./tools/dataset:FuzzRunRecord \
	./tools/eval:FuzzMetricsJSON \
	./model/transform:FuzzDecode \
	./tools/train/linear:FuzzFit \
	./tools/train/gbdt:FuzzCutsFor \
	./tools/train/spec:FuzzParse
fuzz-check:
	@found=$$(grep -rEo --include='*_test.go' '^func Fuzz[A-Za-z0-9_]*' . | \
		sed -E 's|^(.*)/[^/]*_test\.go:func |\1:|' | sort -u); \
	listed=$$(for t in $(FUZZ_TARGETS); do echo $$t; done | sort -u); \
	missing=$$(echo "$$found" | grep -vxF "$$listed"); stale=$$(echo "$$listed" | grep -vxF "$$found"); \
	if [ -n "$$missing" ]; then echo "fuzz targets not in FUZZ_TARGETS:"; echo "$$missing"; fi; \
	if [ -n "$$stale" ]; then echo "FUZZ_TARGETS entries with no such func:"; echo "$$stale"; fi; \
	[ -z "$$missing$$stale" ]
fuzz: fuzz-check
	@set -e; for t in $(FUZZ_TARGETS); do \
		pkg=$${t%%:*}; fn=$${t##*:}; \
		echo "fuzz $$pkg $$fn ($(FUZZTIME))"; \
		$(GO) test -run '^$$' -fuzz "^$$fn$$" -fuzztime $(FUZZTIME) $$pkg; \
	done

## demo: import an XGBoost model and a scikit-learn MLP (made by the real
## libraries, committed under testdata/) into a fresh repository, inspect it,
## batch-score rows and check the output against the libraries' own; then
## bulk-load online features into the embedded store and serve: predictions
## through both APIs and from entity keys alone, a load test, and the model
## monitor: drift per feature against the reference, a shifted batch
## flagged online and offline, the cost per 1M predictions. In between, the
## offline half (scripts/demo-offline.sh): the fraud model's point-in-time
## training set and holdout from its feature sources, its data contract
## catching a deliberate anomaly, evaluation by slice, and two candidates
## compared on quality, latency and cost. Last (scripts/demo-rollout.sh): a
## canary of the retrained fraud model under steady load, its steps taken by
## the daemon, and the audit log of it, verified.
demo: build
	@rm -rf $(DEMO_DIR) && mkdir -p $(DEMO_DIR)
	@echo "== import an XGBoost model (trained by xgboost 1.7.4), with a reference profiled from its rows (what the monitor compares traffic with)"
	$(BIN) import --from xgboost --in testdata/xgboost/gbtree_multi_softprob.json --repo $(DEMO_DIR)/repo --name wine --reference testdata/xgboost/gbtree_multi_softprob.csv
	$(BIN) inspect --repo $(DEMO_DIR)/repo --model wine
	@echo "== score its test rows: CSV in, CSV out, on every core"
	$(BIN) score --repo $(DEMO_DIR)/repo --model wine --in testdata/xgboost/gbtree_multi_softprob.csv --out $(DEMO_DIR)/wine.csv
	@head -4 $(DEMO_DIR)/wine.csv
	@echo "== parity with XGBoost's own predictions"
	$(BIN) compare --got $(DEMO_DIR)/wine.csv --want testdata/xgboost/gbtree_multi_softprob.pred.csv --rel 1e-6
	@echo "== a scikit-learn MLP through the same path"
	$(BIN) import --from native --in testdata/native/mlp_multiclass_tanh.model.json --repo $(DEMO_DIR)/repo --name mlp
	$(BIN) score --repo $(DEMO_DIR)/repo --model mlp --in testdata/native/mlp_multiclass_tanh.csv --out $(DEMO_DIR)/mlp.csv
	$(BIN) compare --got $(DEMO_DIR)/mlp.csv --want testdata/native/mlp_multiclass_tanh.pred.csv --rel 1e-5
	@echo "== online features: a fraud model (xgboost) that reads the user_stats and merchant_stats views"
	$(BIN) import --from xgboost --in testdata/features/fraud.json --repo $(DEMO_DIR)/repo --name fraud --feature-views user_stats,merchant_stats
	@echo "== the wine model again as wine_b, monitored apart: the demo sends it a shifted batch"
	$(BIN) import --from xgboost --in testdata/xgboost/gbtree_multi_softprob.json --repo $(DEMO_DIR)/repo --name wine_b --reference testdata/xgboost/gbtree_multi_softprob.csv
	@echo "== bulk-load user_stats into the embedded store (pebble), stamped an hour ago"
	@awk -F, -v t=$$(date -u -d '1 hour ago' +%Y-%m-%dT%H:%M:%SZ) 'NR == 1 {print "user_id,event_time,spend_7d,orders_30d,segment"; next} {print $$1 "," t "," $$2 "," $$3 "," $$4}' \
		testdata/features/users.csv > $(DEMO_DIR)/users.csv
	$(BIN) materialize --features testdata/features/demo.yaml --view user_stats --in $(DEMO_DIR)/users.csv --store pebble:$(DEMO_DIR)/features
	@echo "== the offline half: training set, data contract, evaluation by slice, candidates"
	bash scripts/demo-offline.sh $(BIN) $(DEMO_DIR)/offline $(DEMO_DIR)/repo
	@echo "== serve the repository and the features: predictions through each API and from entity keys, then a graceful stop"
	bash scripts/demo-serve.sh $(BIN) $(DEMO_DIR)/repo $(DEMO_PORT) testdata/features/demo.yaml pebble:$(DEMO_DIR)/features
	@echo "== safe rollout: a canary of the retrained fraud model (fraud_trained v2) against v1 under steady load, advanced and promoted by the daemon, then the audit log"
	bash scripts/demo-rollout.sh $(BIN) $(DEMO_DIR)/repo $(DEMO_PORT) $(DEMO_DIR)/offline
	@echo "demo done: repository in $(DEMO_DIR)/repo"

clean:
	rm -rf bin $(DEMO_DIR)
