# edge — see README.md. `make demo` runs the main job, `make test` the tests.
#
# Paths outside the repository are variables: SHARED holds the fixture
# models (SHARED/models) and tools (SHARED/tools).
GO      ?= go
SHARED  ?= ../shared
MODELS  ?= $(SHARED)/models
TOOLS   ?= $(SHARED)/tools
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -s -w -X main.version=$(VERSION)
# TESTFLAGS apply to every go test run (a loaded machine needs the long timeout).
TESTFLAGS ?= -timeout 30m
export SHARED MODELS TOOLS

DEBS_TEST  := dataset-fashion-mnist libonnx-testdata qemu-user-static chromium
DEBS_BENCH := dataset-fashion-mnist libopenblas-dev libopenblas0-pthread python3-torchvision gcc time
# Node.js and npm (for the ONNX Runtime side) come from Debian only when
# no node/npm is on PATH: a NodeSource nodejs bundles npm and conflicts
# with Debian's npm package.
DEBS_NODE  := nodejs npm
DEBS_REPORT := chromium

.PHONY: all build test deps-test deps-bench deps-node vet test-go test-race test-purego test-arm64 test-armv7 test-ort \
	demo bench compare-ort compression cross report-check assets clean

all: build

build:
	$(GO) build -ldflags '$(LDFLAGS)' -o edge ./cmd/edge

# apt installs Debian packages given in $(1) when they are missing.
define apt
	@missing=""; for p in $(1); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
		echo "installing:$$missing"; \
		SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
		$$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $$missing; \
	fi
endef

# deps-test installs the Debian packages the tests read (when missing).
deps-test:
	$(call apt,$(DEBS_TEST))

deps-bench:
	$(call apt,$(DEBS_BENCH))
	@command -v node >/dev/null && command -v npm >/dev/null || $(MAKE) --no-print-directory deps-node

deps-node:
	$(call apt,$(DEBS_NODE))

vet:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...

test-go:
	$(GO) test $(TESTFLAGS) ./...

test-race:
	$(GO) test $(TESTFLAGS) -race ./runtime/...

# The purego and emulated runs use -short: the full-test-set accuracy
# checks run once, natively, in test-go.
test-purego:
	$(GO) test $(TESTFLAGS) -short -tags purego ./kernels/... ./runtime/...

# arm64 and armv7 run under qemu-user-static (binfmt not required: -exec).
test-arm64:
	GOARCH=arm64 $(GO) test $(TESTFLAGS) -short -exec qemu-aarch64-static ./kernels/... ./runtime/...

test-armv7:
	GOARCH=arm GOARM=7 $(GO) build ./...
	GOARCH=arm GOARM=7 $(GO) test $(TESTFLAGS) -short -exec qemu-arm-static ./kernels/... ./runtime/...

# test-ort: ONNX Runtime runs a model written by edge compress with
# edge's outputs (Node.js and onnxruntime-node from the npm registry).
test-ort: build
	@command -v node >/dev/null && command -v npm >/dev/null || $(MAKE) --no-print-directory deps-node
	bench/compressed-ort.sh

test: deps-test vet test-go test-race test-purego test-arm64 test-armv7 test-ort

# demo: probe, budget, compress, compare — on the model and images
# embedded in the binary. Writes edge-demo/.
demo: build
	./edge demo

# bench writes BENCHMARKS.md: GEMM vs OpenBLAS (bench/gemm.sh), end-to-end
# latency vs ONNX Runtime, ONNX Runtime agreement, latency prediction.
bench: deps-bench build
	bench/run.sh

compare-ort: deps-bench build
	bench/compare-ort.sh

# compression writes COMPRESSION.md: edge compress --sweep on the fixture
# models (long: up to TIME_LIMIT per compression).
compression: deps-bench build
	bench/compression.sh

# report-check renders edge-demo/report.html in headless Chromium.
report-check: build
	$(call apt,$(DEBS_REPORT))
	bench/report-check.sh

cross:
	mkdir -p dist
	CGO_ENABLED=0 GOOS=linux GOARCH=amd64 $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o dist/edge-linux-amd64 ./cmd/edge
	CGO_ENABLED=0 GOOS=linux GOARCH=arm64 $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o dist/edge-linux-arm64 ./cmd/edge
	CGO_ENABLED=0 GOOS=linux GOARCH=arm GOARM=7 $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o dist/edge-linux-armv7 ./cmd/edge
	@ls -l dist

# assets regenerates the demo's embedded Fashion-MNIST subset and model.
assets:
	cp $(MODELS)/fmnist-small.onnx cmd/edge/assets/fmnist-small.onnx
	cd cmd/edge/assets && $(GO) run gen.go

clean:
	rm -rf edge dist edge-demo
