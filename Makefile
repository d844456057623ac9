# `make demo`, `make test` and `make lab` work on a fresh machine with Python 3.10+ and PyPI access.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
LAB_STAMP := $(VENV)/.lab-installed
# `make lab LAB_ARGS="--no-browser --port 8899"` passes options to `jupyter lab`.
LAB_ARGS ?=

.PHONY: demo test venv lab docs lint dist clean

venv: $(STAMP)

$(BIN)/python:
	@$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 10), "readiness needs Python 3.10+ (found " + sys.version.split()[0] + "); run make PYTHON=python3.11"'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# The test extra includes the lab extra, so a test venv is also a lab venv.
$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[test]'
	@touch $@ $(LAB_STAMP)

$(LAB_STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[lab]'
	@touch $@

demo: $(STAMP)
	$(BIN)/readiness demo --out readiness-demo

# The notebook templates in JupyterLab, with the demo scenario of `make demo` as their default
# parameters (built on first use); results of notebooks run in place go to readiness-demo/notebook-results/.
# As root (a container, CI), Jupyter refuses to start without --allow-root.
lab: $(LAB_STAMP)
	READINESS_DEMO_DIR="$(CURDIR)/readiness-demo/inputs" $(BIN)/jupyter lab --notebook-dir=notebooks \
		$(if $(filter 0,$(shell id -u)),--allow-root) $(LAB_ARGS)

# ruff (lint) and mypy (types; scope in pyproject.toml [tool.mypy]); also the pre-commit hook.
lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/mypy

test: lint
	$(BIN)/python -m pytest -q

# Regenerates the README's demo section and docs/demo-index.png from a fresh demo run (headless chromium).
docs: $(STAMP)
	$(BIN)/python docs/build_docs.py

# Wheel and sdist in dist/, checked as PyPI will check them.
dist: $(STAMP)
	rm -rf dist
	$(BIN)/python -m build --no-isolation --outdir dist .
	$(BIN)/twine check --strict dist/*

clean:
	rm -rf $(VENV) readiness-demo build dist
