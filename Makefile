# One entry point for users and CI.  `make help` lists the targets.
# The first target that needs Python creates .venv and installs the project with
# its pinned dependencies (constraints.txt); afterwards that step is a no-op.

PYTHON     ?= python3
VENV       ?= .venv
PY         := $(VENV)/bin/python
STAMP      := $(VENV)/.installed
# Folder that contains MNIST/raw/ (see README).  Empty: the code's default (./data).
MNIST_ROOT ?=
# Folder with the book's published weights (*.pkl).  Empty: book-weight checks are skipped.
DLFS_WEIGHTS ?=
# FULL=1: `make report` trains on full MNIST epochs instead of the quick subset.
FULL       ?=
# `make mutate MODULE=scratch/layers.py`: mutate one file only (a quick look).
MODULE     ?=
# Extra pytest arguments, e.g. `make test ARGS="-k softmax"`.
ARGS       ?=

export MNIST_ROOT DLFS_WEIGHTS

.DEFAULT_GOAL := help
.PHONY: help setup parity report test test-slow lint mutate clean

help: ## Show this help
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'

$(STAMP): pyproject.toml constraints.txt
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -c constraints.txt -e '.[dev]'
	@touch $@

setup: $(STAMP) ## Create .venv and install the project with pinned dependencies

parity: $(STAMP) ## Run every twin pair: per-component verdicts, reports/out/parity.csv
	$(PY) -m parity

report: $(STAMP) ## Write reports/out/ (index.html, parity, accuracy, speed); FULL=1 for full MNIST
	$(PY) -m reports $(if $(FULL),--full)

test: $(STAMP) ## Run the test suite (slow training runs excluded)
	$(PY) -m pytest -m "not slow" $(ARGS)

test-slow: $(STAMP) ## Run only the slow, marked tests (long training runs)
	$(PY) -m pytest -m slow $(ARGS)

lint: $(STAMP) ## Lint with ruff
	$(PY) -m ruff check .

# OMP_NUM_THREADS=1: mutmut forks its workers; a forked torch with a live OpenMP pool deadlocks.
mutate: $(STAMP) ## Mutation testing of scratch/ + harness (mutmut, not in CI; MODULE=scratch/layers.py)
	OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 \
	$(PY) -m parity.mutation $(if $(MODULE),--module $(MODULE))

clean: ## Remove generated reports and caches (keeps .venv)
	rm -rf reports/out mutants .pytest_cache .ruff_cache .hypothesis
	find . -name __pycache__ -type d -not -path './$(VENV)/*' -exec rm -rf {} +
