# The two commands of the README:  `make run` (install + start the app)  and  `make test` (install + every test).
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python

.PHONY: install run test test-slow lint
install: $(VENV)/.installed

$(VENV)/.installed: requirements.txt requirements.lock
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements.txt -c requirements.lock
	touch $@

run: install
	$(PY) -m cspdash demo --if-empty
	$(VENV)/bin/streamlit run dashboard.py

lint: install
	$(VENV)/bin/ruff check .

# pytest exits 5 when it collected no test: that is a failure here, never a silent pass.
test: install lint
	@$(PY) -m pytest; rc=$$?; \
	if [ $$rc -eq 5 ]; then echo "pytest collected no tests: failing the run"; exit 1; fi; exit $$rc

test-slow: install
	@$(PY) -m pytest -m slow; rc=$$?; \
	if [ $$rc -eq 5 ]; then echo "pytest collected no slow tests: failing the run"; exit 1; fi; exit $$rc
