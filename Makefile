# The book's two commands are `make book` and `make test`; both set themselves up.
# Run `make help` for the rest.

PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
# The oldest and newest Python this book is tested on (torch==2.13.0 ships wheels for these).
PY_MIN := 3.10
PY_MAX := 3.13

NOTEBOOKS := $(sort $(wildcard notebooks/*.ipynb))
NB        ?= $(NOTEBOOKS)
# Notebooks run in parallel, one kernel per worker; the cells of one notebook stay in order in one kernel.
WORKERS   ?= 2
NBVAL     := -p no:cacheprovider --nbval --nbval-current-env --nbval-sanitize-with tests/nbval_sanitize.cfg \
             -q -n $(WORKERS) --dist loadfile \
             -W "ignore:Overlapping options from comments and metadata"  # the tag is for nbclient, the comment for readers

.DEFAULT_GOAL := help
.PHONY: help check-python setup book test test-hygiene test-nbval test-variants test-browser lint execute lab clean

help:
	@echo "make book      build the site into _build/html (sets up .venv first)"
	@echo "make test      run the whole suite: hygiene, lint, nbval in four settings, the site in Chromium"
	@echo "make lab       open the notebooks in JupyterLab from the same environment"
	@echo "make execute   re-run notebooks in place (NB=notebooks/02_lsa.ipynb for one)"
	@echo "make clean     remove _build and caches (keeps .venv)"

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

setup: check-python $(VENV)/.installed

book: setup
	rm -rf _build/html _build/.doctrees
	$(VENV)/bin/jupyter-book build . --warningiserror --nitpick --keep-going
	@echo "The site is at $(CURDIR)/_build/html/index.html"

# Hygiene and the can-it-fail test first (fast), then the notebooks cell by cell,
# then the same notebooks in three other settings that stand in for a reader's CPU,
# then the built site in a real browser.
test: setup lint
	$(PY) -m pytest -p no:cacheprovider -q tests/test_hygiene.py tests/test_nbval_can_fail.py
	$(MAKE) --no-print-directory test-nbval
	$(MAKE) --no-print-directory test-variants
	$(MAKE) --no-print-directory book
	$(MAKE) --no-print-directory test-browser

test-hygiene: setup
	$(PY) -m pytest -p no:cacheprovider -q tests/test_hygiene.py

test-nbval: setup
	$(PY) -m pytest $(NBVAL) $(NB)

test-variants: setup
	OMP_NUM_THREADS=1 $(PY) -m pytest $(NBVAL) $(NB)
	ATEN_CPU_CAPABILITY=default $(PY) -m pytest $(NBVAL) $(NB)
	env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE $(PY) -m pytest $(NBVAL) $(NB)

test-browser: setup
	$(PY) -m pytest -p no:cacheprovider -q -rs tests/test_site.py

lint: setup
	$(VENV)/bin/ruff check .

execute: setup
	$(PY) tests/execute_notebooks.py $(NB)

lab: setup
	$(PY) -m pip install --quiet --disable-pip-version-check jupyterlab
	$(VENV)/bin/jupyter lab notebooks/

clean:
	rm -rf _build .pytest_cache .ruff_cache
