# Hotline — the two commands a newcomer needs:
#   make run    install what is missing, build in release mode, fetch the speech model, start the server
#   make test   install what the tests need, then run the whole suite (SQLite and PostgreSQL)
# and `make bench` for the load (IVR calls, then bridged calls) and transcription benchmarks
# (not part of `make test`),
# `make fuzz FUZZ_SECONDS=N` to run every cargo-fuzz target for N seconds (nightly toolchain).

SHELL := /bin/bash
CARGO ?= cargo
HOTLINE_MODEL_CACHE ?= $(HOME)/.cache/hotline/models
export HOTLINE_MODEL_CACHE

.PHONY: run test bench deps test-deps lint build-release fuzz

deps:
	@scripts/install-deps.sh

test-deps:
	@scripts/install-deps.sh --test

build-release: deps
	$(CARGO) build --release --locked

run: build-release
	./target/release/hotline model fetch base
	./target/release/hotline serve

lint:
	$(CARGO) fmt --check
	$(CARGO) clippy --all-targets --locked -- -D warnings

test: test-deps
	@set -e; \
	pg_url=$$(scripts/ensure-postgres.sh); \
	if [ -n "$$pg_url" ]; then export HOTLINE_TEST_POSTGRES_URL="$${HOTLINE_TEST_POSTGRES_URL:-$$pg_url}"; \
	else echo "PostgreSQL not available: storage tests run on SQLite only"; fi; \
	$(MAKE) --no-print-directory lint; \
	$(CARGO) run --locked --quiet --bin hotline -- model fetch base; \
	$(CARGO) run --locked --quiet --bin hotline -- model fetch tiny.en; \
	$(CARGO) test --locked --lib --bins --tests

bench: test-deps build-release
	./target/release/hotline model fetch base
	./target/release/hotline model fetch tiny.en
	scripts/bench.sh
	scripts/bench-bridge.sh
	$(CARGO) bench --locked --bench transcribe

# Every cargo-fuzz target (fuzz/) for FUZZ_SECONDS seconds each, one at a time.
FUZZ_SECONDS ?= 60
fuzz:
	FUZZ_SECONDS=$(FUZZ_SECONDS) scripts/fuzz.sh
