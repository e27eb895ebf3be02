# edge — see README.md. `make demo` runs the main job, `make test` the tests.
GO ?= go
DEBS_TEST := dataset-fashion-mnist libonnx-testdata qemu-user-static

.PHONY: all build test deps-test vet demo

all: build

build:
	$(GO) build -o edge ./cmd/edge

# deps-test installs the Debian packages the tests read (when missing).
deps-test:
	@missing=""; for p in $(DEBS_TEST); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
		echo "installing:$$missing"; \
		SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
		$$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $$missing; \
	fi

vet:
	gofmt -l . | tee /dev/stderr | (! read)
	$(GO) vet ./...

test: deps-test vet
	$(GO) test ./...
