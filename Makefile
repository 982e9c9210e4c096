# Common tasks. `make help` lists them.
.PHONY: help demo test lint fmt bench fuzz

help:
	@echo "make demo   - the demo natively: sum-service in the background, the driver against it"
	@echo "make test   - run every test (cargo test --workspace)"
	@echo "make lint   - cargo fmt --check and clippy with warnings denied"
	@echo "make fmt    - format the code"
	@echo "make bench  - run the criterion benchmarks: breaker's own, then the side-by-side comparison"
	@echo "              with its peers, and regenerate the tables of BENCHMARKS.md (3 to 8 min)"
	@echo "make fuzz   - fuzz the body parsers and the breaker against its model, FUZZ_SECONDS"
	@echo "              (default 120) per target, one worker; prints executions, corpus, coverage"

demo:
	bash scripts/demo.sh

test:
	cargo test --workspace

lint:
	cargo fmt --all -- --check
	cargo clippy --workspace --all-targets -- -D warnings

fmt:
	cargo fmt --all

# The comparison's old results are removed first, so that the tables hold this run only.
bench:
	cargo bench -p breaker
	rm -rf $${CARGO_TARGET_DIR:-target}/criterion/vs_* $${CARGO_TARGET_DIR:-target}/criterion/e2e_* \
		$${CARGO_TARGET_DIR:-target}/breaker-bench
	cargo bench -p breaker-bench
	python3 scripts/bench-tables.py --write BENCHMARKS.md

FUZZ_SECONDS ?= 120

fuzz:
	bash scripts/fuzz.sh $(FUZZ_SECONDS)
