# ECM Imports. `make run` starts the local stack; `make test` runs every check.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
SAM_VENV := .venv-sam
PY := $(VENV)/bin/python
PORT ?= 3000
AWS_PORT ?= 4566

.PHONY: setup run test lint typecheck cfn unit integration bench bench-uploads user provider reindex clean

$(VENV)/.installed: pyproject.toml layers/shared/requirements.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[dev]'
	touch $@

$(SAM_VENV)/.installed:
	test -x $(SAM_VENV)/bin/python || $(PYTHON) -m venv $(SAM_VENV)
	$(SAM_VENV)/bin/pip install -q 'aws-sam-cli>=1.150,<2'
	touch $@

setup: $(VENV)/.installed

run: setup
	PORT=$(PORT) AWS_PORT=$(AWS_PORT) $(PY) -m devstack

lint: setup
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

typecheck: setup
	$(VENV)/bin/mypy

cfn: setup $(SAM_VENV)/.installed
	$(VENV)/bin/cfn-lint template.yaml
	SAM_CLI_TELEMETRY=0 $(SAM_VENV)/bin/sam validate --lint --template template.yaml

unit: setup
	$(VENV)/bin/pytest tests/unit -q

integration: setup
	$(VENV)/bin/pytest tests/integration tests/e2e -q

test: lint typecheck cfn
	$(VENV)/bin/pytest -q -n 2 --dist loadfile

bench: setup
	$(PY) benchmarks/run.py

# 100k-row MIF (CSV, XLSX) through the upload path, 4 x 25k, peak RSS per stage (~45 min)
bench-uploads: setup
	$(PY) benchmarks/uploads.py

# Local stack helpers (run while `make run` is up): make user ROLE=staff NAME=Ana
user: setup
	AWS_ENDPOINT_URL=http://127.0.0.1:$(AWS_PORT) AWS_DEFAULT_REGION=us-east-1 \
	AWS_ACCESS_KEY_ID=local AWS_SECRET_ACCESS_KEY=local \
	$(PY) -m ecm.cli create-user --name "$(or $(NAME),Local User)" --role $(or $(ROLE),admin)

reindex: setup
	AWS_ENDPOINT_URL=http://127.0.0.1:$(AWS_PORT) AWS_DEFAULT_REGION=us-east-1 \
	AWS_ACCESS_KEY_ID=local AWS_SECRET_ACCESS_KEY=local \
	$(PY) -m ecm.cli reindex-patients

provider: setup
	AWS_ENDPOINT_URL=http://127.0.0.1:$(AWS_PORT) AWS_DEFAULT_REGION=us-east-1 \
	AWS_ACCESS_KEY_ID=local AWS_SECRET_ACCESS_KEY=local \
	$(PY) -m ecm.cli add-provider --name "$(NAME)" $(if $(NPI),--npi $(NPI),)

clean:
	rm -rf $(VENV) $(SAM_VENV) .aws-sam .pytest_cache .mypy_cache .ruff_cache
