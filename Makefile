# Two commands for a newcomer: `make run` (the service on the embedded defaults) and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin

.PHONY: run test lint bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .
	touch $@

$(VENV)/.installed-dev: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $@ $(VENV)/.installed

## run: install, migrate, load a demo office if the database is empty, and serve on 127.0.0.1:8000
run: $(VENV)/.installed
	$(BIN)/tidtam demo

## test: ruff, then the whole pytest suite (SQLite, and PostgreSQL when reachable), on three workers
## (most of its time is waiting: services starting, replies arriving), each test file on one of them
test: $(VENV)/.installed-dev
	$(BIN)/ruff check .
	$(BIN)/pytest -n 3 --dist loadfile

lint: $(VENV)/.installed-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

bench: $(VENV)/.installed-dev
	$(BIN)/python bench/import_bench.py

clean:
	rm -rf $(VENV) var .pytest_cache .ruff_cache
