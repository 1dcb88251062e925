# nordledger: `make demo` and `make test` need nothing but Python 3.11 and make.
SHELL := /bin/bash
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
DBT_DIR := dbt_project
MANIFEST := $(DBT_DIR)/target/manifest.json
export DAGSTER_HOME ?= $(CURDIR)/dagster_home
# Credentials of the simulator's demo companies (they open nothing but the simulator).
include demo.env
export $(shell sed -n 's/^\([A-Z_][A-Z0-9_]*\)=.*/\1/p' demo.env)

.PHONY: help install demo dev simulator test test-fast lint format chaos bench clean

help:
	@echo "make demo       install, start the simulator, materialize everything, print the books"
	@echo "make dev        Dagster UI (http://127.0.0.1:3000) on the demo data, simulator included"
	@echo "make test       run the whole test suite (what CI runs after make lint)"
	@echo "make test-fast  unit, asset and definitions tests only (no end-to-end runs; under 90 s)"
	@echo "make lint       ruff (lint + format check), mypy, sqlfluff on the dbt SQL"
	@echo "make format     rewrite Python with ruff format and fix what ruff can"
	@echo "make chaos      the whole pipeline under seeded faults (RATE=0.1 SEEDS=3), compared with a clean run"
	@echo "make bench      speed and memory vs this machine's limits and vs dlt (SIZES=S,M,L PARTS=extract,marts,office,refresh)"
	@echo "make simulator  serve the API simulators on 127.0.0.1:8765"
	@echo "make clean      remove generated data (data/, dagster_home/, dbt target)"

$(BIN)/python:
	@command -v $(PYTHON) >/dev/null || { echo "Python 3.11 is required ($(PYTHON) not found)"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e ".[test]"
	touch $@

$(MANIFEST): $(VENV)/.installed $(shell find $(DBT_DIR)/models $(DBT_DIR)/macros $(DBT_DIR)/seeds $(DBT_DIR)/tests -type f) $(DBT_DIR)/dbt_project.yml
	cd $(DBT_DIR) && ../$(BIN)/dbt parse --profiles-dir . --quiet
	touch $@

install: $(VENV)/.installed $(MANIFEST)

$(DAGSTER_HOME)/dagster.yaml: orchestration/instance/dagster.yaml
	mkdir -p $(DAGSTER_HOME)
	cp $< $@

demo: install $(DAGSTER_HOME)/dagster.yaml
	$(BIN)/python -m orchestration.demo

dev: install $(DAGSTER_HOME)/dagster.yaml
	@$(BIN)/python -m simulator serve --port 8765 & sim=$$!; trap "kill $$sim" EXIT; \
	$(BIN)/dagster dev -w workspace.yaml -h 127.0.0.1 -p 3000

simulator: install
	$(BIN)/python -m simulator serve --port 8765

test: install
	$(BIN)/python -m pytest -q

test-fast: install
	$(BIN)/python -m pytest -q -m "not e2e"

$(VENV)/.dev-installed: pyproject.toml | $(VENV)/.installed
	$(BIN)/python -m pip install --quiet -e ".[test,dev]"
	touch $@

lint: $(VENV)/.dev-installed
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/sqlfluff lint dbt_project

format: $(VENV)/.dev-installed
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

chaos: install
	$(BIN)/python -m orchestration.chaos --rate $(or $(RATE),0.1) --seeds $(or $(SEEDS),3)

$(VENV)/.bench-installed: pyproject.toml | $(VENV)/.installed
	$(BIN)/python -m pip install --quiet -e ".[test,bench]"
	touch $@

bench: install $(VENV)/.bench-installed
	$(BIN)/python -m bench.run --sizes $(or $(SIZES),S,M) $(if $(PARTS),--parts $(PARTS)) $(BENCH_ARGS)

clean:
	rm -rf data dagster_home $(DBT_DIR)/target $(DBT_DIR)/logs
