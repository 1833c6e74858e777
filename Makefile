# Dockyard: `make run` serves on http://127.0.0.1:5000 with data in ./data; `make test` passes the tests.
VENV ?= .venv
PYTHON ?= python3
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test lint unit bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/dockyard serve

lint: $(STAMP)
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench
	$(BIN)/mypy
	$(BIN)/lint-imports

# The whole functional suite (registry protocol, auth, Hub API, webhooks, rate limits, web
# pages, live servers) once more on PostgreSQL + S3, the scale-out configuration: each test
# gets a fresh database (a copy of a migrated template) and a fresh bucket on a moto_server.
SCALEOUT_SUITE := tests/functional

test: $(STAMP)
	bash scripts/install-test-deps.sh
	$(MAKE) lint
	$(BIN)/pytest
	$(BIN)/pytest -p no:cacheprovider --postgres --storage s3 $(SCALEOUT_SUITE)

unit: $(STAMP)
	$(BIN)/pytest tests/unit tests/functional

# Dockyard against the reference registry, side by side (bench/README.md); results in
# bench/results/latest.json. Options: BENCH_ARGS="--quick", "--only manifest-get",
# "--dockyard-workers 2", "--fsync false".
BENCH_ARGS ?=
bench: $(STAMP)
	bash scripts/install-test-deps.sh
	$(BIN)/python -m bench $(BENCH_ARGS)

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
