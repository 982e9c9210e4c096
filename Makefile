# Common tasks. `make help` lists them.
.PHONY: help demo test lint fmt bench

help:
	@echo "make demo   - the demo natively: sum-service in the background, the driver against it"
	@echo "make test   - run every test (cargo test --workspace)"
	@echo "make lint   - cargo fmt --check and clippy with warnings denied"
	@echo "make fmt    - format the code"
	@echo "make bench  - run the criterion benchmarks"

demo:
	bash scripts/demo.sh

test:
	cargo test --workspace

lint:
	cargo fmt --all -- --check
	cargo clippy --workspace --all-targets -- -D warnings

fmt:
	cargo fmt --all

bench:
	cargo bench -p breaker
