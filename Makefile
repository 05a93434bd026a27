# The two commands of the README: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
RUN_STAMP := $(VENV)/.installed-runtime

.PHONY: run test test-asterisk lint bench clean

# make test: the package with its test extras
$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[test]'
	touch $(STAMP)

# make run: the runtime only
$(RUN_STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e .
	touch $(RUN_STAMP)

run: $(RUN_STAMP)
	$(VENV)/bin/openagc serve

# check-wheel.sh: the built wheel installed with no extras into a clean venv inits, seeds and serves
test: $(STAMP)
	bash scripts/test-prereqs.sh
	$(VENV)/bin/ruff check src tests bench
	PYTHON=$(PY) bash scripts/check-wheel.sh
	$(VENV)/bin/pytest

# The Asterisk tier alone (tests/asterisk and the Asterisk variant of the scenario list in tests/scenarios),
# recording its AMI transcripts into tests/fixtures/ami (ASTERISK_BIN names the binary; `make test` runs the tier
# too whenever an Asterisk is installed, without rewriting the fixtures).
test-asterisk: $(STAMP)
	OPENAGC_RECORD_AMI=1 $(VENV)/bin/pytest -m asterisk tests/asterisk tests/scenarios

lint: $(STAMP)
	$(VENV)/bin/ruff check src tests bench

clean:
	rm -rf $(VENV) var
