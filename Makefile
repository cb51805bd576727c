# Quickstart: `make demo` runs both functions against the local Alibaba Cloud emulator; `make test` runs the suite.
# Both set up everything they need: a virtual environment of Lambda's Python (3.12) from pinned requirements.

SHELL := /bin/bash
VENV := .venv
# Lambda runs Python 3.12: use it where it is (PATH, or pyenv's versions), else say which Python runs.
PYTHON312 := $(shell for p in python3.12 $$(pyenv root 2>/dev/null)/versions/3.12*/bin/python3.12 $$HOME/.pyenv/versions/3.12*/bin/python3.12; do \
	"$$p" -c 'import sys; assert sys.version_info[:2] == (3, 12)' 2>/dev/null && { command -v "$$p" 2>/dev/null || echo "$$p"; } && break; done)
PYTHON ?= $(or $(PYTHON312),python3)
PY := $(VENV)/bin/python
PYTEST_ARGS ?=

.PHONY: demo test lint fuzz build serve bench lock lock-checkov clean

LINTED := layers functions local tests

$(VENV)/.installed: tests/requirements.txt layers/alibaba_cloud/requirements.txt
	@[ -n "$(PYTHON312)" ] || echo "warning: no Python 3.12 found (Lambda's runtime); using $(PYTHON)" >&2
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r tests/requirements.txt
	touch $@

# checkov pins versions the test tools cannot share a virtual environment with: it gets its own.
$(VENV)/checkov/.installed: tests/checkov-requirements.txt
	$(PYTHON) -m venv $(VENV)/checkov
	$(VENV)/checkov/bin/pip install --quiet --disable-pip-version-check -r tests/checkov-requirements.txt
	touch $@

demo: $(VENV)/.installed
	$(PY) -m local.demo

test: lint $(VENV)/checkov/.installed
	$(PY) -m pytest $(PYTEST_ARGS)

# ruff as pyproject.toml configures it; the import-circle check is a test (tests/test_layout.py).
lint: $(VENV)/.installed
	$(VENV)/bin/ruff check $(LINTED)
	$(VENV)/bin/ruff format --check $(LINTED)

# template.yaml's routes and schedules on 127.0.0.1 against the emulator (see local/serve.py).
serve: $(VENV)/.installed
	$(PY) -m local.serve $(SERVE_ARGS)

# Cold start, size, memory, signing cost and batch throughput against the official SDKs, with budgets.
bench: $(VENV)/.installed
	$(PY) tests/bench.py

# The property tests at length: tens of thousands of generated events per trigger.
fuzz: $(VENV)/.installed
	HYPOTHESIS_PROFILE=fuzz $(PY) -m pytest tests/test_fuzz.py --timeout=0 $(PYTEST_ARGS)

# sam build without Docker: SAM needs a python3.12 first on PATH, which the venv provides.
build: $(VENV)/.installed
	PATH="$(CURDIR)/$(VENV)/bin:$$PATH" SAM_CLI_TELEMETRY=0 $(VENV)/bin/sam build

lock:
	rm -rf /tmp/lock-venv && $(PYTHON) -m venv /tmp/lock-venv && /tmp/lock-venv/bin/pip install --quiet -r tests/requirements.in
	{ echo "# Pinned from requirements.in with 'make lock' (Python 3.12). Test-only: the layer ships layers/alibaba_cloud/requirements.txt."; \
	  /tmp/lock-venv/bin/pip freeze; } > tests/requirements.txt

lock-checkov:
	rm -rf /tmp/lock-checkov && $(PYTHON) -m venv /tmp/lock-checkov && /tmp/lock-checkov/bin/pip install --quiet "checkov==$$(grep -o 'checkov==[0-9.]*' tests/checkov-requirements.txt | cut -d= -f3)"
	{ head -1 tests/checkov-requirements.txt; /tmp/lock-checkov/bin/pip freeze; } > tests/checkov-requirements.txt.new && mv tests/checkov-requirements.txt.new tests/checkov-requirements.txt

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis
