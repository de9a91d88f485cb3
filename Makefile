# ECM Imports. `make run` starts the local stack; `make test` runs every check.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
SAM_VENV := .venv-sam
PY := $(VENV)/bin/python
PORT ?= 3000
AWS_PORT ?= 4566

.PHONY: setup build browser axe screenshots lock test-latest run reset test lint typecheck cfn docs docs-serve unit integration bench bench-uploads bench-months user provider reindex migrate-plans openapi clean

# Installs come from the locks (requirements/*.txt, full trees with hashes), never from the
# newest versions pyproject's ranges allow: `make lock` refreshes them, `make test-latest` tries
# the newest versions without failing the build.
$(VENV)/.installed: pyproject.toml requirements/dev.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --require-hashes --no-deps -r requirements/dev.txt
	$(PY) -m pip install -q --no-deps --no-build-isolation -e .
	touch $@

$(SAM_VENV)/.installed: requirements/sam.txt
	test -x $(SAM_VENV)/bin/python || $(PYTHON) -m venv $(SAM_VENV)
	$(SAM_VENV)/bin/pip install -q --require-hashes --no-deps -r requirements/sam.txt
	touch $@

setup: $(VENV)/.installed

run: setup
	PORT=$(PORT) AWS_PORT=$(AWS_PORT) $(PY) -m devstack

# Delete the local stack's data (ECM_DATA_DIR, default .devstack/): the next `make run`
# starts empty. Stop `make run` first.
reset:
	rm -rf -- "$${ECM_DATA_DIR-.devstack}"

# What `sam deploy` ships: `sam build` (the layer's packages for arm64, from its lock), then
# the layer and the handlers compiled to bytecode. /opt is read-only on Lambda, so a layer
# without .pyc is compiled again at every cold start. The .pyc must come from the runtime's
# Python version (else Lambda ignores them) and are unchecked-hash ones: valid whatever
# mtimes the deployment zip gives the sources.
BUILD_DIR := .aws-sam/build
build: setup $(SAM_VENV)/.installed
	@runtime=$$(sed -n 's/^ *Runtime: *\(python3\.[0-9]*\) *$$/\1/p' template.yaml | head -n 1); \
	ours=$$($(PY) -c 'import sys; print("python%d.%d" % sys.version_info[:2])'); \
	test "$$runtime" = "$$ours" || { \
		echo "$(PY) is $$ours, the functions run $$runtime: Lambda would ignore its .pyc" >&2; \
		exit 1; }
	SAM_CLI_TELEMETRY=0 $(SAM_VENV)/bin/sam build --build-dir $(BUILD_DIR)
	$(PY) -m compileall -q -j 0 --invalidation-mode unchecked-hash $(BUILD_DIR)
	@echo "$$(find $(BUILD_DIR)/SharedLayer -name '*.pyc' | wc -l) .pyc for" \
		"$$(find $(BUILD_DIR)/SharedLayer -name '*.py' | wc -l) .py in the layer"

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

# The console's browser tests drive Debian's chromium through chromedriver: installed here
# when missing (as root, or with sudo), so a fresh machine and CI need nothing else.
browser:
	@command -v chromium >/dev/null && command -v chromedriver >/dev/null || { \
		SUDO=$$([ "$$(id -u)" = 0 ] || echo sudo); \
		$$SUDO apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq \
			chromium chromium-driver; }

# axe-core, which the browser tests inject into each console page to audit it (WCAG 2.1 A/AA):
# a test-time tool from npm, installed from package-lock.json (npm ci). Nothing of it ships.
node_modules/.installed: package.json package-lock.json
	@command -v npm >/dev/null || { \
		SUDO=$$([ "$$(id -u)" = 0 ] || echo sudo); \
		$$SUDO apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq nodejs npm; }
	npm ci --no-audit --no-fund --ignore-scripts
	touch $@

axe: node_modules/.installed

test: lint typecheck cfn docs browser axe
	$(VENV)/bin/pytest -q -n 2 --dist loadfile --durations=15

# The documentation site (mkdocs.yml): built with --strict, so a broken link, a missing anchor
# or a page left out of the navigation fails; then no page may load a script or stylesheet
# from elsewhere (the site works offline). site/ is git-ignored.
# Not --quiet: it hides the warnings --strict counts. (NO_MKDOCS_2_WARNING: Material prints
# a banner about MkDocs 2.0 at every build otherwise.)
DOCS_PORT ?= 8000
MKDOCS := NO_MKDOCS_2_WARNING=1 $(VENV)/bin/mkdocs
docs: setup
	$(MKDOCS) build --strict --clean --site-dir site
	@if grep -rlE '<script[^>]+src="https?:|<link[^>]+href="https?:' site --include='*.html'; then \
		echo "the pages above load a script or stylesheet from elsewhere" >&2; exit 1; fi

docs-serve: setup
	$(MKDOCS) serve --strict --dev-addr 127.0.0.1:$(DOCS_PORT)

# The OpenAPI document from the routes' models; commit docs/openapi.json with the change.
openapi: setup
	$(PY) -m devstack.openapi

# The console's pictures (docs/using/console.md), taken by the browser tests as they run.
screenshots: setup browser axe
	ECM_SCREENSHOTS=docs/screenshots $(VENV)/bin/pytest -q -p no:cacheprovider \
		tests/integration/test_console_browser.py tests/integration/test_console_files_browser.py \
		tests/integration/test_console_daily_browser.py

bench: setup
	$(PY) benchmarks/run.py

# Two months of a plan's 100k-row MIF with 30 kept columns, with the diff and without (~30-60 min)
bench-months: setup
	$(PY) benchmarks/changes.py --wide

# 100k-row MIF (CSV, XLSX) through the upload path, 4 x 25k, peak RSS per stage (~45 min)
bench-uploads: setup
	$(PY) benchmarks/uploads.py

# Local stack helpers (run while `make run` is up): make user ROLE=staff NAME=Ana
user: setup
	AWS_PORT=$(AWS_PORT) $(PY) -m devstack.cli create-user --name "$(or $(NAME),Local User)" \
		--role $(or $(ROLE),admin)

reindex: setup
	AWS_PORT=$(AWS_PORT) $(PY) -m devstack.cli reindex-patients

# The plans' layout documents of the bucket (config/plans/<plan>.json) as plan records.
migrate-plans: setup
	AWS_PORT=$(AWS_PORT) $(PY) -m devstack.cli migrate-plans

provider: setup
	AWS_PORT=$(AWS_PORT) $(PY) -m devstack.cli add-provider --name "$(NAME)" $(if $(NPI),--npi $(NPI),)

# Refresh the locks after changing a range in pyproject.toml or requirements/sam.in, or to take
# newer releases (then run `make test` and commit the three files together).
UV_COMPILE := $(VENV)/bin/uv pip compile --python-version 3.11 --generate-hashes \
	--custom-compile-command "make lock" -q
lock: setup
	$(UV_COMPILE) --universal pyproject.toml --extra dev $(UPGRADE) -o requirements/dev.txt
	$(UV_COMPILE) --python-platform aarch64-manylinux_2_17 pyproject.toml -c requirements/dev.txt \
		-o layers/shared/requirements.txt
	$(UV_COMPILE) --universal requirements/sam.in $(UPGRADE) -o requirements/sam.txt

# The suite on the newest versions pyproject's ranges allow, in its own virtualenv: shows drift
# before a lock refresh brings it to main. Not part of `make test` or CI.
test-latest:
	test -x .venv-latest/bin/python || $(PYTHON) -m venv .venv-latest
	.venv-latest/bin/pip install -q --upgrade --upgrade-strategy eager -e '.[dev]'
	.venv-latest/bin/pip freeze --exclude-editable > .venv-latest/versions.txt
	.venv-latest/bin/pytest -q -n 2 --dist loadfile -p no:cacheprovider

clean:
	rm -rf $(VENV) $(SAM_VENV) .venv-latest node_modules .aws-sam .pytest_cache .mypy_cache .ruff_cache site
