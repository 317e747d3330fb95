# The two commands a newcomer needs: `make demo` and `make test`. Each does its own set-up.
PYTHON ?= python3
TEST_WORKERS ?= 2
# pytest-xdist workers for `make test` (each loads its own models: about 3 GB of memory each;
# 0 runs the suite in one process)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test lint typecheck unit bench clean browser reliability slow-proofs wrk offline

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev,postgres,openai,anthropic,transformers,server,otel]'
	touch $(STAMP)

demo: $(STAMP)
	HF_HUB_OFFLINE=1 $(BIN)/steerwise demo --dir demo-workspace --fresh

lint: $(STAMP)
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench

typecheck: $(STAMP)
	$(BIN)/mypy

# The review page is tested in a real Chromium (the Debian package; Playwright drives it).
browser:
	@command -v chromium >/dev/null || apt-get install -y --no-install-recommends chromium

unit: $(STAMP) browser
	HF_HUB_OFFLINE=1 $(BIN)/pytest -q -n $(TEST_WORKERS) --dist loadscope

test: lint typecheck unit

# The load test drives the gateway with wrk (the Debian package).
wrk:
	@command -v wrk >/dev/null || apt-get install -y --no-install-recommends wrk

# The proofs of docs/reliability.md, all with no network but loopback (a network namespace
# with its own PostgreSQL; needs root): `make test` (whose quick proofs, the access matrix,
# hostile input and templates, record their figures too) and `make demo`, then the slow
# proofs (crashes, faults, load, fuzzing, personal data at rest). 30 minutes at most on 2
# cores; the figures of the run go to bench/results/reliability.json.
RELIABILITY_RESULTS := $(CURDIR)/bench/results/reliability.json

reliability: $(STAMP) browser wrk
	rm -f $(RELIABILITY_RESULTS)
	STEERWISE_RELIABILITY_RESULTS=$(RELIABILITY_RESULTS) \
		tests/reliability/offline.sh $(MAKE) test demo slow-proofs

slow-proofs: $(STAMP) browser wrk
	HF_HUB_OFFLINE=1 $(BIN)/pytest -q -m reliability tests/reliability

# `make test` and `make demo` alone with no network but loopback (part of `make reliability`).
offline: $(STAMP) browser
	tests/reliability/offline.sh $(MAKE) test demo

# Peers live in their own ignored venvs under bench/; they are never steerwise dependencies.
bench/.venv-mlflow/bin/python:
	$(PYTHON) -m venv bench/.venv-mlflow
	bench/.venv-mlflow/bin/pip install --quiet mlflow==3.17.2

bench/.venv-litellm/bin/litellm:
	$(PYTHON) -m venv bench/.venv-litellm
	bench/.venv-litellm/bin/pip install --quiet 'litellm[proxy]==1.108.7'

bench: $(STAMP) bench/.venv-mlflow/bin/python
	$(BIN)/python bench/prompt_registry.py
	$(BIN)/python bench/models.py

clean:
	rm -rf $(VENV) demo-workspace .mypy_cache .ruff_cache .pytest_cache
