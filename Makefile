# The two commands of the README: `make demo` and `make test`.
# Each one sets up everything it needs first (scripts/setup.sh is idempotent).

.PHONY: setup demo test bench

setup:
	@bash scripts/setup.sh

demo: setup
	.venv/bin/fangfan demo

test: setup
	@bash scripts/test.sh

bench: setup
	.venv/bin/python bench/identification.py --quick
