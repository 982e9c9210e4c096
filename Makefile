# Common tasks. `make help` lists them.
.PHONY: help demo demo-svg fleet-demo test lint fmt bench fleet-bench replay-bench fuzz reliability load soak

help:
	@echo "make demo   - the demo natively: sum-service in the background, the driver against it"
	@echo "make demo-svg - the demo in shadow mode, traced and drawn: docs/demo.svg, and the replay of its trace"
	@echo "make fleet-demo - fleet mode natively: redis-server, sum-service, and two drivers sharing one circuit"
	@echo "make test   - run every test (cargo test --workspace; without redis-server the fleet tests say skipped)"
	@echo "make lint   - what CI lints: formatting, module circles, clippy and the docs with warnings denied,"
	@echo "              the docs as docs.rs builds them, the Dockerfiles (scripts/lint.sh)"
	@echo "make fmt    - format the code"
	@echo "make bench  - run the criterion benchmarks: breaker's own, then the side-by-side comparison"
	@echo "              with its peers, and regenerate the tables of BENCHMARKS.md (3 to 8 min)"
	@echo "make fleet-bench - fleet mode's figures (BENCHMARKS.md, Fleet mode; about 1 min once built)"
	@echo "make replay-bench - breaker-replay's figures (BENCHMARKS.md, Replay): records/s against parsing alone,"
	@echo "              a 100-setting sweep against one run, peak memory on 10 M records, Python's json.loads"
	@echo "make fuzz   - fuzz the body parsers, the breaker against its model and the replay's readers, FUZZ_SECONDS"
	@echo "              (default 120) per target, one worker; prints executions, corpus, coverage"
	@echo "make reliability - every check of RELIABILITY.md: fault tests, loom, fuzzing, load, soak"
	@echo "              (about 22 min; FUZZ_SECONDS, LOAD_SECONDS, SOAK_SECONDS shorten it)"
	@echo "make load   - the sum service under wrk on loopback: requests/s, p50, p99, errors, memory"
	@echo "make soak   - the driver's random scenario against the service for 10 min; counts must add up"

demo:
	bash scripts/demo.sh

demo-svg:
	bash scripts/demo-svg.sh

fleet-demo:
	bash scripts/fleet-demo.sh

test:
	bash scripts/test.sh

lint:
	bash scripts/lint.sh

fmt:
	cargo fmt --all

# The comparison's old results are removed first, so that the tables hold this run only.
bench:
	cargo bench -p breaker
	rm -rf $${CARGO_TARGET_DIR:-target}/criterion/vs_* $${CARGO_TARGET_DIR:-target}/criterion/e2e_* \
		$${CARGO_TARGET_DIR:-target}/breaker-bench
	cargo bench -p breaker-bench
	python3 scripts/bench-tables.py --write BENCHMARKS.md

fleet-bench:
	bash scripts/fleet-bench.sh

replay-bench:
	bash scripts/replay-bench.sh

FUZZ_SECONDS ?= 120

fuzz:
	bash scripts/fuzz.sh $(FUZZ_SECONDS)

reliability:
	bash scripts/reliability.sh

load:
	bash scripts/load.sh $${LOAD_SECONDS:-20}

soak:
	bash scripts/soak.sh $${SOAK_SECONDS:-600}
