# One entry point for users and CI.  `make help` lists the targets.
# The first target that needs Python creates .venv and installs the project with
# its pinned dependencies (constraints.txt); afterwards that step is a no-op.

# The folder of this Makefile: every recipe runs there, so `make -f path/to/Makefile parity`
# works from any folder (relative MNIST_ROOT/DLFS_WEIGHTS are taken from where make started).
ROOT       := $(patsubst %/,%,$(dir $(abspath $(lastword $(MAKEFILE_LIST)))))
PYTHON     ?= python3
VENV       ?= $(ROOT)/.venv
PY         := $(abspath $(VENV))/bin/python
STAMP      := $(abspath $(VENV))/.installed
# Folder that contains MNIST/raw/ (see README).  Empty: the code's default (ROOT/data).
MNIST_ROOT ?=
# Folder with the book's published weights (*.pkl).  Empty: book-weight checks are skipped.
DLFS_WEIGHTS ?=
override MNIST_ROOT := $(if $(MNIST_ROOT),$(abspath $(MNIST_ROOT)))
override DLFS_WEIGHTS := $(if $(DLFS_WEIGHTS),$(abspath $(DLFS_WEIGHTS)))
# FULL=1: `make report` trains on full MNIST epochs instead of the quick subset.
FULL       ?=
# `make mutate MODULE=scratch/layers.py`: mutate one file only (a quick look);
# `make mutate SURVIVORS=1`: rerun only what the last run did not kill (after adding a check).
MODULE     ?=
SURVIVORS  ?=
# Extra pytest arguments, e.g. `make test ARGS="-k softmax"`.
ARGS       ?=
# `make check IMPL=DIR`: a learner's implementation (folder, .py file, or a glob such as
# 'submissions/*' for many); CHECK_ARGS passes options, e.g. CHECK_ARGS="-k Affine".
IMPL       ?=
CHECK_ARGS ?=

export MNIST_ROOT DLFS_WEIGHTS

.DEFAULT_GOAL := help
.PHONY: help setup parity check report study docs-screenshot test test-slow lint mutate clean

help: ## Show this help
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'

$(STAMP): $(ROOT)/pyproject.toml $(ROOT)/constraints.txt
	@test -x $(PY) || $(PYTHON) -m venv $(abspath $(VENV))
	cd $(ROOT) && $(PY) -m pip install --quiet --disable-pip-version-check -c constraints.txt -e '.[dev]'
	@touch $@

setup: $(STAMP) ## Create .venv and install the project with pinned dependencies

parity: $(STAMP) ## Run every twin pair: per-component verdicts, reports/out/parity.csv
	cd $(ROOT) && $(PY) -m parity

check: $(STAMP) ## Check your own implementation of the book: make check IMPL=DIR (or IMPL='subs/*')
	@test -n "$(IMPL)" || { echo "usage: make check IMPL=DIR  (your book-style implementation)"; exit 2; }
	$(PY) -m parity check $(IMPL) $(CHECK_ARGS)

report: $(STAMP) ## Write reports/out/ (index.html, parity, accuracy, speed); FULL=1 for full MNIST
	cd $(ROOT) && $(PY) -m reports $(if $(FULL),--full)

study: $(STAMP) ## Write reports/out/study/: each component's NumPy and torch code side by side
	cd $(ROOT) && $(PY) -m reports --sections study

docs-screenshot: $(STAMP) ## Regenerate docs/study-page.png, the README's picture (needs chromium)
	cd $(ROOT) && $(PY) -m reports --sections study
	cd $(ROOT) && $(PY) -m reports.study.screenshot affine docs/study-page.png

test: $(STAMP) ## Run the test suite on 2 workers (slow training runs excluded)
	cd $(ROOT) && $(PY) -m pytest -n 2 -m "not slow" $(ARGS)

test-slow: $(STAMP) ## Run only the slow, marked tests (long training runs)
	cd $(ROOT) && $(PY) -m pytest -m slow $(ARGS)

lint: $(STAMP) ## Lint with ruff
	cd $(ROOT) && $(PY) -m ruff check .

# OMP_NUM_THREADS=1: mutmut forks its workers; a forked torch with a live OpenMP pool deadlocks.
mutate: $(STAMP) ## Mutation testing of scratch/ + harness (mutmut, not in CI; MODULE=scratch/layers.py, SURVIVORS=1)
	OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 \
	$(PY) -m parity.mutation $(if $(MODULE),--module $(MODULE)) $(if $(SURVIVORS),--survivors)

clean: ## Remove generated reports and caches (keeps .venv)
	cd $(ROOT) && rm -rf reports/out mutants .pytest_cache .ruff_cache .hypothesis
	cd $(ROOT) && find . -name __pycache__ -type d -not -path './.venv/*' -exec rm -rf {} +
