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

.PHONY: help demo test lint fuzz build serve invoke bench lock lock-checkov clean
.DEFAULT_GOAL := help

LINTED := layers functions local tests

## help: this list (a bare `make` shows it too)
help:
	@echo "Targets (the first run of any sets up .venv, about 4 minutes, once):"
	@sed -n 's/^## /  make /p' $(MAKEFILE_LIST)

$(VENV)/.installed: tests/requirements.txt layers/alibaba_cloud/requirements.txt
	@[ -n "$(PYTHON312)" ] || echo "warning: no Python 3.12 found (Lambda's runtime); using $(PYTHON)" >&2
	@echo "Setting up $(VENV) with $(PYTHON): the pinned test tools, the official SDKs as oracles, moto, SAM CLI."
	@echo "This takes about 4 minutes, once; pip's own output is in $(VENV)/pip.log."
	$(PYTHON) -m venv $(VENV)
	@$(PY) -m pip install --quiet --disable-pip-version-check -r tests/requirements.txt > $(VENV)/pip.log 2>&1 \
		|| { tail -30 $(VENV)/pip.log; exit 1; }
	@echo "$(VENV) is ready."
	touch $@

# checkov pins versions the test tools cannot share a virtual environment with: it gets its own.
$(VENV)/checkov/.installed: tests/checkov-requirements.txt
	@echo "Setting up $(VENV)/checkov (the template's scan, in its own environment): about a minute, once."
	$(PYTHON) -m venv $(VENV)/checkov
	@$(VENV)/checkov/bin/pip install --quiet --disable-pip-version-check -r tests/checkov-requirements.txt \
		> $(VENV)/checkov/pip.log 2>&1 || { tail -30 $(VENV)/checkov/pip.log; exit 1; }
	touch $@

## demo: both functions, both triggers and the TTL-by-tag policy against the local emulator
demo: $(VENV)/.installed
	$(PY) -m local.demo

## test: ruff, then the whole suite (PYTEST_ARGS='-k ...' to narrow it)
test: lint $(VENV)/checkov/.installed
	$(PY) -m pytest $(PYTEST_ARGS)

# ruff as pyproject.toml configures it; the import-circle check is a test (tests/test_layout.py).
## lint: ruff check and ruff format --check, as pyproject.toml configures them
lint: $(VENV)/.installed
	$(VENV)/bin/ruff check $(LINTED)
	$(VENV)/bin/ruff format --check $(LINTED)

## serve: template.yaml's routes and schedules on 127.0.0.1 against the emulator (SERVE_ARGS='--cron --verbose')
serve: $(VENV)/.installed
	$(PY) -m local.serve $(SERVE_ARGS)

## invoke: one function with one event, as sam local invoke -e (FUNCTION=modify_instance_maintain_time EVENT=events/...json)
invoke: $(VENV)/.installed
	$(PY) -m local.invoke $(FUNCTION) $(EVENT) $(INVOKE_ARGS)

## bench: cold start, size, memory, signing cost and throughput against the official SDKs, with budgets
bench: $(VENV)/.installed
	$(PY) tests/bench.py

## fuzz: the property tests at length (tens of thousands of generated events per trigger)
fuzz: $(VENV)/.installed
	HYPOTHESIS_PROFILE=fuzz $(PY) -m pytest tests/test_fuzz.py --timeout=0 $(PYTEST_ARGS)

## build: sam build, without Docker (SAM needs a python3.12 first on PATH, which the venv provides)
build: $(VENV)/.installed
	PATH="$(CURDIR)/$(VENV)/bin:$$PATH" SAM_CLI_TELEMETRY=0 $(VENV)/bin/sam build

## lock: pin tests/requirements.in and what it brings into tests/requirements.txt
lock:
	rm -rf /tmp/lock-venv && $(PYTHON) -m venv /tmp/lock-venv && /tmp/lock-venv/bin/pip install --quiet -r tests/requirements.in
	{ echo "# Pinned from requirements.in with 'make lock' (Python 3.12). Test-only: the layer ships layers/alibaba_cloud/requirements.txt."; \
	  /tmp/lock-venv/bin/pip freeze; } > tests/requirements.txt

lock-checkov:
	rm -rf /tmp/lock-checkov && $(PYTHON) -m venv /tmp/lock-checkov && /tmp/lock-checkov/bin/pip install --quiet "checkov==$$(grep -o 'checkov==[0-9.]*' tests/checkov-requirements.txt | cut -d= -f3)"
	{ head -1 tests/checkov-requirements.txt; /tmp/lock-checkov/bin/pip freeze; } > tests/checkov-requirements.txt.new && mv tests/checkov-requirements.txt.new tests/checkov-requirements.txt

## clean: remove the virtual environments and caches
clean:
	rm -rf $(VENV) .pytest_cache .hypothesis
