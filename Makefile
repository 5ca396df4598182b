# The two commands of the README: `make test` and `make run`.
SHELL := /bin/bash
N ?= 10000
R ?= 1000 5000

.PHONY: test test-oca run setup lint bench-sepa bench-batch bench-stornos bench-storno-report bench-import bench-queue-job pot clean

test:
	@tools/dev.sh test

# Only the OCA integration step of `make test` (fresh database ${TEST_DB}_oca).
test-oca:
	@tools/dev.sh test-oca

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
	@$(if $(PROFILE),BENCH_PROFILE=$(PROFILE)) tools/dev.sh bench-batch $(N) $(DUMP)

# R returns of a settled batch, each size in a fresh database: make bench-stornos R="1000 5000"
bench-stornos:
	@tools/dev.sh bench-stornos $(R)

# the storno analysis on N debits (default 100000), in a fresh database
bench-storno-report:
	@tools/dev.sh bench-storno-report $(N)

# N existing mandates imported through the import (default 10000), in a fresh database
bench-import:
	@tools/dev.sh bench-import $(N)

# a batch of N debits generated and posted by queue_job's runner (default 10000)
bench-queue-job:
	@tools/dev.sh bench-queue-job $(N)

pot:
	@tools/dev.sh pot

clean:
	rm -rf .build
