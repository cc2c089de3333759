# The two commands of the README:  `make run` (install + start the app)  and  `make test` (install + every test).
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python

.PHONY: install run test test-slow lint chromium postgresql bench reliability
install: $(VENV)/.installed

$(VENV)/.installed: requirements.txt requirements.lock
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements.txt -c requirements.lock
	$(PY) -m pip install --quiet --disable-pip-version-check --no-deps -e .
	touch $@

# The demo runs in open mode (no accounts: anyone using the app may change data), which the app allows only on
# 127.0.0.1 (server.address in .streamlit/config.toml).
run: install
	$(PY) -m cspdash demo --if-empty
	CSPDASH_OPEN_MODE=1 $(VENV)/bin/streamlit run dashboard.py

lint: install
	$(VENV)/bin/ruff check .

# The browser test drives Debian's chromium (a Playwright browser download does not work everywhere); the emoji
# font makes the status icons visible in its screenshots. Needs root, or sudo when there is one.
chromium:
	@command -v chromium >/dev/null || { \
	  SUDO=$$( [ "$$(id -u)" -eq 0 ] || ! command -v sudo >/dev/null || echo sudo ); \
	  $$SUDO apt-get update && $$SUDO apt-get install -y chromium fonts-noto-color-emoji; }

# The store's PostgreSQL tests (tests/pg_server.py) start their own server with Debian's initdb and pg_ctl, as an
# unprivileged user, in a temporary folder: only the binaries are needed, no running service. Needs root, or sudo.
postgresql:
	@ls /usr/lib/postgresql/*/bin/pg_ctl >/dev/null 2>&1 || { \
	  SUDO=$$( [ "$$(id -u)" -eq 0 ] || ! command -v sudo >/dev/null || echo sudo ); \
	  $$SUDO apt-get update && $$SUDO apt-get install -y postgresql; }

# The accessibility test (tests/test_e2e_axe.py) injects axe-core's axe.min.js into each page: the npm package at the
# exact version of package-lock.json. Node and npm come with the machine; Debian's are installed when they are missing.
node_modules: package.json package-lock.json
	@command -v npm >/dev/null || { \
	  SUDO=$$( [ "$$(id -u)" -eq 0 ] || ! command -v sudo >/dev/null || echo sudo ); \
	  $$SUDO apt-get update && $$SUDO apt-get install -y nodejs npm; }
	npm ci --ignore-scripts --no-audit --no-fund
	touch $@

# pytest exits 5 when it collected no test: that is a failure here, never a silent pass. The test files run side by
# side, one worker per core (pytest-xdist; --dist loadfile keeps each file in one worker, so a module's server, browser
# and database are built once; the costliest files are handed out first, tests/conftest.py COSTLY_FIRST);
# `make test PYTEST_WORKERS=0` runs them one after another.
PYTEST_WORKERS ?= auto
test: install lint chromium postgresql node_modules
	@$(PY) -m pytest -n $(PYTEST_WORKERS) --dist loadfile; rc=$$?; \
	if [ $$rc -eq 5 ]; then echo "pytest collected no tests: failing the run"; exit 1; fi; exit $$rc

# The tests marked slow: the benchmark smoke runs, the 30 SIGKILLs of a large import, 300 concurrent rounds, the
# three-session server run, 150 generated files per fuzz test (the default suite runs 25 of each).
test-slow: install
	@$(PY) -m pytest -m slow; rc=$$?; \
	if [ $$rc -eq 5 ]; then echo "pytest collected no slow tests: failing the run"; exit 1; fi; exit $$rc

# Benchmarks at a borough's and a region's size (about 5-15 minutes; generates ~2.5 GB under benchmarks/.data/):
# writes the figures into docs/performance.md. Not part of `make test`. A one-minute smoke run: make bench ARGS=--quick
# Then every page of the app in Chromium against a bare Streamlit page (benchmarks/pages.py; a few minutes), and the
# import and status figures on PostgreSQL beside DuckDB's, on a server the benchmark starts (benchmarks/postgres.py).
bench: install chromium postgresql
	$(PY) -m benchmarks.run $(ARGS)
	$(PY) -m benchmarks.pages $(if $(findstring --quick,$(ARGS)),--repeat 1,--write)
	$(PY) -m benchmarks.postgres $(if $(findstring --quick,$(ARGS)),--quick,--write)

# Reliability figures (docs/reliability.md): every reliability test including the slow ones (30 SIGKILLs of a large
# import, 300 concurrent rounds, 1,000 generated files per fuzz test), then the figures table written into
# docs/reliability.md. About 8 minutes. The figures are only written when every test passed.
FIGURES := test-artifacts/reliability-figures.json
reliability: install
	@mkdir -p test-artifacts; rm -f $(FIGURES)
	@CSPDASH_RELIABILITY_FIGURES=$(CURDIR)/$(FIGURES) CSPDASH_HYPOTHESIS_EXAMPLES=1000 \
	  $(PY) -m pytest -m "slow or not slow" tests/test_reliability_*.py; rc=$$?; \
	if [ $$rc -ne 0 ]; then echo "reliability tests failed: docs/reliability.md not updated (figures so far: $(FIGURES))"; \
	  exit 1; fi
	$(PY) tests/reliability_helpers.py $(FIGURES) docs/reliability.md
