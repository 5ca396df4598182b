# The two commands of the README: `make test` and `make run`.
SHELL := /bin/bash
N ?= 10000

.PHONY: test run setup lint bench-sepa bench-batch pot clean

test:
	@tools/dev.sh test

run:
	@tools/dev.sh run

setup:
	@tools/dev.sh setup

lint: setup
	@.venv/bin/ruff check .

bench-sepa: setup
	@.venv/bin/python bench/pain008.py
	@.venv/bin/python bench/returns.py

bench-batch:
	@tools/dev.sh bench-batch $(N) $(DUMP)

pot:
	@tools/dev.sh pot

clean:
	rm -rf .build
