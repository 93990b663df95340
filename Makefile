# predictd. The two commands a new user needs: `make demo` and `make test`.
GO      ?= go
BIN     := bin/predictd
VERSION := $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -X main.version=$(VERSION)
FUZZTIME ?= 20s
DEMO_DIR ?= $(CURDIR)/.demo

.PHONY: all build test vet fmt-check unit bench compare-trees fuzz demo clean

all: build

build:
	$(GO) build -ldflags "$(LDFLAGS)" -o $(BIN) ./cmd/predictd

## test: go vet, a gofmt check, and the whole suite under the race detector.
test: vet fmt-check unit

vet:
	$(GO) vet ./...

fmt-check:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi

unit:
	$(GO) test -race -count=1 ./...

## bench: every benchmark once, with allocations. BENCH=regexp narrows it.
BENCH ?= .
bench:
	$(GO) test -run '^$$' -bench '$(BENCH)' -benchmem ./...

## compare-trees: predictd against leaves and XGBoost's native predictor on
## the same 300-tree model and rows, side by side (needs python3-xgboost).
compare-trees:
	bash bench/compare-trees.sh

## fuzz: each fuzz target for FUZZTIME (short and bounded).
FUZZ_TARGETS := \
	./model/xgboost:FuzzParse \
	./model/lightgbm:FuzzParse \
	./model/native:FuzzParse \
	./model/onnx:FuzzParse \
	./model:FuzzDecodePayload \
	./model:FuzzManifest \
	./tools/score:FuzzCSVReader \
	./kernels:FuzzFastForest
fuzz:
	@set -e; for t in $(FUZZ_TARGETS); do \
		pkg=$${t%%:*}; fn=$${t##*:}; \
		echo "fuzz $$pkg $$fn ($(FUZZTIME))"; \
		$(GO) test -run '^$$' -fuzz "^$$fn$$" -fuzztime $(FUZZTIME) $$pkg; \
	done

## demo: import an XGBoost model and a scikit-learn MLP (made by the real
## libraries, committed under testdata/) into a fresh repository, inspect it,
## batch-score rows and check the output against the libraries' own.
demo: build
	@rm -rf $(DEMO_DIR) && mkdir -p $(DEMO_DIR)
	@echo "== import an XGBoost model (trained by xgboost 1.7.4)"
	$(BIN) import --from xgboost --in testdata/xgboost/gbtree_multi_softprob.json --repo $(DEMO_DIR)/repo --name wine
	$(BIN) inspect --repo $(DEMO_DIR)/repo --model wine
	@echo "== score its test rows: CSV in, CSV out, on every core"
	$(BIN) score --repo $(DEMO_DIR)/repo --model wine --in testdata/xgboost/gbtree_multi_softprob.csv --out $(DEMO_DIR)/wine.csv
	@head -4 $(DEMO_DIR)/wine.csv
	@echo "== parity with XGBoost's own predictions"
	$(BIN) compare --got $(DEMO_DIR)/wine.csv --want testdata/xgboost/gbtree_multi_softprob.pred.csv --rel 1e-6
	@echo "== a scikit-learn MLP through the same path"
	$(BIN) import --from native --in testdata/native/mlp_multiclass_tanh.model.json --repo $(DEMO_DIR)/repo --name mlp
	$(BIN) score --repo $(DEMO_DIR)/repo --model mlp --in testdata/native/mlp_multiclass_tanh.csv --out $(DEMO_DIR)/mlp.csv
	$(BIN) compare --got $(DEMO_DIR)/mlp.csv --want testdata/native/mlp_multiclass_tanh.pred.csv --rel 1e-9
	@echo "demo done: repository in $(DEMO_DIR)/repo"

clean:
	rm -rf bin $(DEMO_DIR)
