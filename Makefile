# agentnb — fresh machine: `make demo` or `make test`. Needs python3 (3.10+) and make; `make test`
# also needs Node 20.19+ with npm (it builds the JupyterLab extension), `make demo` does not.
#
# The venv is (re)installed only when pyproject.toml changed since the last install: each
# install leaves a stamp file in .venv/ that is newer than pyproject.toml.

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV := .venv
export PATH := $(CURDIR)/.venv/bin:$(PATH)

NOTEBOOKS := notebooks/01-quickstart.ipynb notebooks/02-guards-and-monitors.ipynb notebooks/03-telemetry.ipynb notebooks/04-meta-analysis.ipynb
OUT := out
PYTEST_ARGS ?=

STAMP_DEV := $(VENV)/.installed-test
STAMP_DEMO := $(VENV)/.installed-notebook
STAMP_BENCH := $(VENV)/.installed-bench

.PHONY: help venv install demo test lint format typecheck jstest pytest bench clean

help:
	@echo "make demo       create .venv, install, run the four notebooks in notebooks/ headlessly -> $(OUT)/"
	@echo "make test       create/update .venv with test extras, then lint, typecheck, pytest"
	@echo "make lint       ruff check + ruff format --check"
	@echo "make format     ruff format + ruff check --fix"
	@echo "make typecheck  mypy --strict agentnb/"
	@echo "make jstest     unit tests of the JupyterLab extension (TypeScript, vitest)"
	@echo "make bench      run every bench/*.py script"
	@echo "make clean      remove .venv, $(OUT)/ and caches"

$(VENV)/bin/python:
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 10))' \
		|| { echo "agentnb needs Python 3.10+; $(PYTHON) is $$($(PYTHON) -V 2>&1). Use make PYTHON=python3.x" >&2; exit 1; }
	@$(PYTHON) -m venv $(VENV) \
		|| { echo "could not create $(VENV): on Debian/Ubuntu run apt-get install python3-venv" >&2; exit 1; }

# The lab extension's sources: the install builds it (npm, via hatch-jupyter-builder) and copies
# it into the venv, so a change to them needs a new install too.
LABEXT_SRC := $(wildcard labextension/package.json labextension/package-lock.json \
	labextension/tsconfig.json labextension/install.json labextension/src/*.ts \
	labextension/style/* jupyter-config/server-config/*.json)

# The editable install points at the source tree, so only pyproject.toml changes (and the lab
# extension's sources, built at install time) need a new install.
$(STAMP_DEV): pyproject.toml $(LABEXT_SRC) | $(VENV)/bin/python
	$(VENV)/bin/python -m pip install --quiet -e '.[test]'
	@touch $@

# The test extras include the notebook extra: after `make test`, the demo needs no install.
# The demo runs notebooks headlessly, without JupyterLab, so it skips building the lab extension
# (hatch-jupyter-builder honours SKIP_JUPYTER_BUILDER) and needs no Node; `make test` builds it.
$(STAMP_DEMO): pyproject.toml | $(VENV)/bin/python
	@if [ $(STAMP_DEV) -nt pyproject.toml ]; then :; \
	else SKIP_JUPYTER_BUILDER=1 $(VENV)/bin/python -m pip install --quiet -e '.[notebook]'; fi
	@touch $@

$(STAMP_BENCH): pyproject.toml | $(VENV)/bin/python
	$(VENV)/bin/python -m pip install --quiet -e '.[test,bench]'
	@touch $@

venv install: $(STAMP_DEV)

demo: $(STAMP_DEMO)
	agentnb run $(NOTEBOOKS) --html-dir $(OUT)/
	@echo
	@echo "Open the executed notebook(s) with their outputs:"
	@for nb in $(NOTEBOOKS); do echo "  $(CURDIR)/$(OUT)/$$(basename "$$nb" .ipynb).html"; done

# -k: a lint or type error does not hide the test results; any failure still fails `make test`.
test: $(STAMP_DEV)
	@$(MAKE) --no-print-directory -k lint typecheck jstest pytest

lint: $(STAMP_DEV)
	ruff check .
	ruff format --check .

format: $(STAMP_DEV)
	ruff format .
	ruff check --fix .

typecheck: $(STAMP_DEV)
	mypy --strict agentnb/

# The lab extension's TypeScript: type-check the tests too, then run them (vitest).
jstest: $(STAMP_DEV)
	cd labextension && npm test --silent

# pytest exits 5 when it collected nothing: say so instead of failing without a word.
pytest: $(STAMP_DEV)
	@status=0; python -m pytest -ra $(PYTEST_ARGS) || status=$$?; \
	if [ $$status -eq 5 ]; then echo "pytest collected no tests: that is a failure" >&2; fi; \
	exit $$status

bench: $(STAMP_BENCH)
	@shopt -s nullglob; scripts=(bench/[!_]*.py); \
	if [ $${#scripts[@]} -eq 0 ]; then echo "no benchmarks in bench/" >&2; exit 1; fi; \
	for script in "$${scripts[@]}"; do echo "== $$script"; python "$$script"; done

clean:
	rm -rf $(VENV) $(OUT) build dist *.egg-info .pytest_cache .mypy_cache .ruff_cache \
		labextension/node_modules labextension/lib agentnb/labextension
	find . -name __pycache__ -type d -prune -exec rm -rf {} +
