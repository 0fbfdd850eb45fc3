# futurecalls build. The two commands of the README's quick start:
#   make run    build the host and the example plugins, run them on the embedded Postgres
#   make test   build everything and run every test (what CI runs)
# Every target installs what it needs when it is missing (Debian packages as root).

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
GO ?= go
BIN := bin
HOST := $(BIN)/host
# Built example plugins go where the host looks for them by default.
PLUGINS_DIR := plugins
# Plugins the tests use (hostile modules, fixtures) are built here.
TESTPLUGINS_DIR := host/internal/testplugins/build
GO_WASM := GOOS=wasip1 GOARCH=wasm $(GO) build -buildmode=c-shared -trimpath

.PHONY: all build run test test-short soak bench plugins testplugins openapi-tools check-format vet lint clean deps-postgres deps-wabt deps-croner deps-graphile deps-chromium deps-pgbouncer

all: build plugins

build:
	$(GO) build -trimpath -o $(HOST) ./cmd/host

run: build plugins deps-postgres
	$(HOST) run

# apt_install installs Debian packages when the named command is missing.
# $(1): command to look for, $(2): packages.
define apt_install
	@if ! command -v $(1) >/dev/null 2>&1 && ! ls /usr/lib/postgresql/*/bin/$(1) >/dev/null 2>&1 && [ ! -x /usr/sbin/$(1) ]; then \
		echo "installing $(2) (for $(1))"; \
		if [ "$$(id -u)" != 0 ]; then echo "$(1) is missing: install the Debian packages $(2)"; exit 1; fi; \
		apt-get update -qq && apt-get install -y -qq --no-install-recommends $(2); \
	fi
endef

deps-postgres:
	$(call apt_install,initdb,postgresql)

deps-wabt:
	$(call apt_install,wat2wasm,wabt)

# deps-pgbouncer installs Debian's PgBouncer, which host/internal/e2e's tests start in
# transaction pooling mode in front of PostgreSQL, with host processes behind it.
deps-pgbouncer:
	$(call apt_install,pgbouncer,pgbouncer)

# deps-chromium installs Debian's Chromium, which host/dashboard's tests drive headless
# (through chromedp) to check the dashboard in a real browser.
deps-chromium:
	$(call apt_install,chromium,chromium)

# deps-croner installs croner, the independent cron implementation host/series's tests
# compare run times with, at the version pinned in its package-lock.json.
CRONER_DIR := host/series/testdata/croner
deps-croner: $(CRONER_DIR)/node_modules/.package-lock.json

$(CRONER_DIR)/node_modules/.package-lock.json: $(CRONER_DIR)/package-lock.json | deps-node
	cd $(CRONER_DIR) && npm ci --no-audit --no-fund
	touch $@

# deps-graphile installs Graphile Worker, which make bench drains beside River and
# futurecalls (bench/graphile), at the version pinned in its package-lock.json. Its
# package asks for Node 22.18; the machine's Node 20 runs it (npm warns, nothing fails).
GRAPHILE_DIR := bench/graphile
deps-graphile: $(GRAPHILE_DIR)/node_modules/.package-lock.json

$(GRAPHILE_DIR)/node_modules/.package-lock.json: $(GRAPHILE_DIR)/package-lock.json | deps-node
	cd $(GRAPHILE_DIR) && npm ci --no-audit --no-fund
	touch $@

# Each language's examples add their targets to PLUGIN_TARGETS and TESTPLUGIN_TARGETS.
PLUGIN_TARGETS :=
TESTPLUGIN_TARGETS :=
include $(wildcard examples/*/build.mk host/internal/testplugins/build.mk)

plugins: $(PLUGIN_TARGETS)

testplugins: $(TESTPLUGIN_TARGETS)

# The third-party tools host/api's tests read /openapi.json with, as a user's generator
# would (Redocly CLI, swagger-parser, openapi-typescript, openapi-fetch, tsc), at the
# versions pinned in their package-lock.json. npm ci runs when node_modules is missing
# or older than the lock.
OPENAPI_TOOLS := host/api/testdata/openapi-tools

openapi-tools: $(OPENAPI_TOOLS)/node_modules/.package-lock.json

$(OPENAPI_TOOLS)/node_modules/.package-lock.json: $(OPENAPI_TOOLS)/package-lock.json | deps-node
	cd $(OPENAPI_TOOLS) && npm ci --no-audit --no-fund
	touch $@

# golangci-lint, pinned, installed into a directory named after its version (so that a new
# pin installs anew) under bin/, which git ignores. .golangci.yml says which linters run.
GOLANGCI_LINT_VERSION := v2.15.0
GOLANGCI_LINT := $(BIN)/tools/golangci-lint-$(GOLANGCI_LINT_VERSION)/golangci-lint

$(GOLANGCI_LINT):
	GOBIN=$(abspath $(@D)) $(GO) install github.com/golangci/golangci-lint/v2/cmd/golangci-lint@$(GOLANGCI_LINT_VERSION)

# lint runs the linters on both modules, and on the Go code that only builds for wasip1
# (the SDK's exports and the Go plugins) as that target.
lint: $(GOLANGCI_LINT)
	$(GOLANGCI_LINT) run ./...
	GOOS=wasip1 GOARCH=wasm $(GOLANGCI_LINT) run ./sdk/go/... ./examples/go/... ./host/internal/testplugins/...
	cd bench && $(abspath $(GOLANGCI_LINT)) run -c ../.golangci.yml ./...

vet: lint
	@unformatted=$$(gofmt -l $$(git ls-files '*.go')); \
	if [ -n "$$unformatted" ]; then echo "gofmt needed:"; echo "$$unformatted"; exit 1; fi
	$(GO) vet ./...
	cd bench && $(GO) vet ./...  # the benchmark harness is its own module: keep it building

test: plugins testplugins openapi-tools deps-postgres deps-pgbouncer deps-croner deps-chromium vet
	$(GO) test -race -count=1 -timeout 30m ./...

# soak runs the end-to-end suite (host/internal/e2e) with its workloads scaled up: 100,000
# calls over three host processes, and ten times the CI calls around a killed host, a
# restarted database and hostile plugins, and twelve rounds of memory attacks against the
# host's memory budget; and a burst of 10,000 messages to a subscriber limited to 2 calls
# at once. Each test logs its figures (calls, duplicates, lost, faults, peak memory,
# lateness); -v shows them.
soak: plugins testplugins deps-postgres deps-pgbouncer
	E2E_SOAK=1 $(GO) test -count=1 -timeout 2h -v -run 'TestManyHosts|TestScaleCurve|TestPgBouncer|TestFailover|TestCrash|TestDatabaseRestart|TestHostile' ./host/internal/e2e
	E2E_SOAK=1 $(GO) test -count=1 -timeout 10m -v -run 'TestAThrottledPluginDrainsAtItsLimit' ./host/executor

# bench runs every benchmark scenario (bench/main.go: throughput against River, Graphile
# Worker and bare SQL, lateness, the broken-call check, scheduling, footprint) in one
# run, on a private PostgreSQL (or DATABASE_URL), and writes BENCHMARKS.md. bench/ is a module of its own,
# so River never becomes a dependency of the product. BENCH_ARGS passes flags
# (-rounds 1, -only p1,p4, -profile DIR). P7 (10M stored calls and history rows: about
# 40 minutes on two cores, 7 of them loading) runs only when named: -only p7.
BENCH_PLUGINS := bench/build/benchc.wasm bench/build/benchgo.wasm

bench: build plugins testplugins deps-postgres deps-graphile $(BENCH_PLUGINS)
	cd bench && $(GO) run . -repo .. $(BENCH_ARGS)

bench/build/benchc.wasm: bench/plugins/benchc/benchc.c $(C_SDK) | deps-c
	@mkdir -p $(@D)
	$(WASI_CC) --target=wasm32-wasi -mexec-model=reactor $(WASI_CFLAGS) -Isdk/c -Wl,--strip-all -o $@ $< sdk/c/futurecalls.c

bench/build/benchgo.wasm: $(wildcard bench/plugins/benchgo/*.go) $(GO_PLUGIN_DEPS) bench/go.mod bench/go.sum
	@mkdir -p $(@D)
	cd bench && $(GO_WASM) -o build/benchgo.wasm ./plugins/benchgo

clean:
	rm -rf $(BIN) $(TESTPLUGINS_DIR) bench/build
	rm -f $(PLUGINS_DIR)/*.wasm
