# nordledger: `make demo` and `make test` need nothing but Python 3.11 and make.
SHELL := /bin/bash
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
DBT_DIR := dbt_project
MANIFEST := $(DBT_DIR)/target/manifest.json
export DAGSTER_HOME ?= $(CURDIR)/dagster_home
# The demo companies' credentials (demo.env) are read by `nordledger`, the tests and chaos, for variables
# the environment does not set and that no company of a real API names: make never overrides yours.

.PHONY: help install demo dev simulator test test-fast test-scale scale-services lint format chaos bench lock audit clean

help:
	@echo "make demo       install, start the simulator, materialize everything, print the books"
	@echo "make dev        Dagster UI (http://127.0.0.1:3000) on the demo data, simulator included"
	@echo "make test       run the whole test suite (what CI runs after make lint)"
	@echo "make test-fast  unit, asset and definitions tests only (no end-to-end runs; under 90 s)"
	@echo "make test-scale the pipeline on Postgres + Celery/Redis + an S3 lake (moto) + marts in Postgres, on 127.0.0.1, compared with the default"
	@echo "make lint       ruff (lint + format check), mypy, sqlfluff on the dbt SQL"
	@echo "make format     rewrite Python with ruff format and fix what ruff can"
	@echo "make chaos      the whole pipeline under seeded faults (RATE=0.1 SEEDS=3), compared with a clean run"
	@echo "make bench      speed and memory vs this machine's limits and vs dlt (SIZES=S,M,L PARTS=extract,marts,office,refresh)"
	@echo "make simulator  serve the API simulators on 127.0.0.1:8765"
	@echo "make lock       re-resolve requirements/*.txt from pyproject.toml (UPGRADE=1: newest allowed versions)"
	@echo "make audit      check every locked package against PyPI's vulnerability data (pip-audit)"
	@echo "make clean      remove generated data (data/, dagster_home/, dbt target)"

# Supply chain: requirements/lock.txt pins every package that demo, test and lint install (pip and
# the build backend included) with PyPI's sha256 hashes; requirements/bench.txt is the same plus
# bench's; `make lock` rewrites both (and tools.txt) from pyproject.toml. pip installs them with
# --no-deps (the lock is the whole resolution) and --only-binary (building an sdist would fetch its
# build requirements unchecked), then the project itself, editable, without build isolation.
# A copy of a file elsewhere (pip's find-links, a local mirror) is used only if its hash matches.
LOCK := requirements/lock.txt
BENCH_LOCK := requirements/bench.txt
SCALE_LOCK := requirements/scale.txt
TOOLS_LOCK := requirements/tools.txt
TOOLS := $(VENV)/tools
PIP_LOCKED := -m pip install --quiet --require-hashes --no-deps --only-binary :all:

$(BIN)/python:
	@command -v $(PYTHON) >/dev/null || { echo "Python 3.11 is required ($(PYTHON) not found)"; exit 1; }
	$(PYTHON) -m venv $(VENV)

$(VENV)/.installed: $(LOCK) pyproject.toml requirements/build.in requirements/check_lock.py | $(BIN)/python
	$(BIN)/python $(PIP_LOCKED) -r $(LOCK)
	$(BIN)/python -m pip install --quiet --no-deps --no-build-isolation -e .
	$(BIN)/python requirements/check_lock.py $(LOCK) test dev
	$(BIN)/python -m pip check --quiet >/dev/null || $(BIN)/python -m pip check
	touch $@

$(MANIFEST): $(VENV)/.installed $(shell find $(DBT_DIR)/models $(DBT_DIR)/macros $(DBT_DIR)/seeds $(DBT_DIR)/tests -type f) $(DBT_DIR)/dbt_project.yml
	cd $(DBT_DIR) && ../$(BIN)/dbt parse --profiles-dir . --quiet
	touch $@

install: $(VENV)/.installed $(MANIFEST)

$(DAGSTER_HOME)/dagster.yaml: orchestration/instance/dagster.yaml
	install -d -m 700 $(DAGSTER_HOME)
	cp $< $@

# Thin wrappers of the `nordledger` command (`.venv/bin/nordledger --help`), which does the same from any shell.
demo: install $(DAGSTER_HOME)/dagster.yaml
	$(BIN)/nordledger demo

dev: install $(DAGSTER_HOME)/dagster.yaml
	$(BIN)/nordledger dev

simulator: install
	$(BIN)/python -m simulator serve --port 8765

# One pytest worker more than cores: the end-to-end tests wait on dbt and the simulator part of the time, and a
# third worker on two cores took make test from 7:03 to 6:30. Files go to workers whole, except that every file
# reading the session's pipeline goes to one worker, which builds it once (tests/conftest.py).
TEST_JOBS := $(shell echo $$(( $$(nproc 2>/dev/null || echo 1) + 1 )))
test: install
	$(BIN)/python -m pytest -q -n $(or $(JOBS),$(TEST_JOBS)) --dist loadfile --no-loadscope-reorder

test-fast: install
	$(BIN)/python -m pytest -q -n $(or $(JOBS),auto) --dist loadfile -m "not e2e"

lint: $(VENV)/.installed
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/sqlfluff lint dbt_project

format: $(VENV)/.installed
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

chaos: install
	$(BIN)/python -m orchestration.chaos --rate $(or $(RATE),0.1) --seeds $(or $(SEEDS),3)

$(VENV)/.bench-installed: $(BENCH_LOCK) $(VENV)/.installed
	$(BIN)/python $(PIP_LOCKED) -r $(BENCH_LOCK)
	$(BIN)/python requirements/check_lock.py $(BENCH_LOCK) test dev bench
	touch $@

bench: install $(VENV)/.bench-installed
	$(BIN)/python -m bench.run --sizes $(or $(SIZES),S,M) $(if $(PARTS),--parts $(PARTS)) $(BENCH_ARGS)

$(VENV)/.scale-installed: $(SCALE_LOCK) $(VENV)/.installed
	$(BIN)/python $(PIP_LOCKED) -r $(SCALE_LOCK)
	$(BIN)/python requirements/check_lock.py $(SCALE_LOCK) test dev scale scale-test
	touch $@

# The servers test-scale runs: Debian's PostgreSQL and Redis, installed with apt when missing (sudo unless
# root). The tests start their own throwaway cluster and Redis on free ports of 127.0.0.1 (tests/scale/services.py).
SCALE_PACKAGES := postgresql redis-server
SUDO := $(if $(filter 0,$(shell id -u)),,sudo)
scale-services:
	@if ! command -v redis-server >/dev/null || ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then \
		echo "installing $(SCALE_PACKAGES) (apt)"; \
		$(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get update -qq && \
		$(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $(SCALE_PACKAGES) >/dev/null; \
	fi

test-scale: install $(VENV)/.scale-installed scale-services
	NORDLEDGER_TEST_SCALE=1 $(BIN)/python -m pytest -q -p no:xdist tests/scale

# uv (resolves the locks) and pip-audit, from their own hashed lock, in a venv of their own.
$(TOOLS)/.installed: $(TOOLS_LOCK) | $(BIN)/python
	test -x $(TOOLS)/bin/python || $(PYTHON) -m venv $(TOOLS)
	$(TOOLS)/bin/python $(PIP_LOCKED) -r $(TOOLS_LOCK)
	touch $@

UV_COMPILE = $(TOOLS)/bin/uv pip compile --quiet --no-config --index-url https://pypi.org/simple \
	--universal --python-version 3.11 --generate-hashes --custom-compile-command "make lock" $(if $(UPGRADE),--upgrade)

lock: $(TOOLS)/.installed
	$(UV_COMPILE) pyproject.toml requirements/build.in --extra test --extra dev -o $(LOCK)
	$(UV_COMPILE) pyproject.toml requirements/build.in --extra test --extra dev --extra bench -c $(LOCK) -o $(BENCH_LOCK)
	$(UV_COMPILE) pyproject.toml requirements/build.in --extra test --extra dev --extra scale --extra scale-test -c $(LOCK) -o $(SCALE_LOCK)
	$(UV_COMPILE) requirements/tools.in -o $(TOOLS_LOCK)

# --strict: a package whose advisories could not be fetched fails the audit instead of passing unseen.
AUDIT_SERVICE ?= pypi
audit: $(TOOLS)/.installed
	$(TOOLS)/bin/pip-audit --strict --disable-pip --require-hashes --progress-spinner off \
		--vulnerability-service $(AUDIT_SERVICE) -r $(BENCH_LOCK) -r $(SCALE_LOCK) -r $(TOOLS_LOCK)

clean:
	rm -rf data dagster_home $(DBT_DIR)/target $(DBT_DIR)/logs
