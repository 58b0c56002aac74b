# PeerTrail developer commands. `make run` and `make test` are the README's set-up commands.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: run test bench lint format installer

$(BIN)/python:
	$(PY) -m venv $(VENV)
	$(BIN)/python -m pip install --upgrade pip >/dev/null

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install -e . && touch $@

$(VENV)/.installed-test: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install -e '.[test]' && touch $@ $(VENV)/.installed

run: $(VENV)/.installed
	$(BIN)/python main.py

test: $(VENV)/.installed-test
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	QT_QPA_PLATFORM=offscreen $(BIN)/python -m pytest

bench: $(VENV)/.installed-test
	QT_QPA_PLATFORM=offscreen $(BIN)/python -m pytest tests/benchmarks -s -p no:cacheprovider

lint: $(VENV)/.installed-test
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(VENV)/.installed-test
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

$(VENV)/.installed-build: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install -e '.[build]' && touch $@ $(VENV)/.installed

installer: $(VENV)/.installed-build
	$(BIN)/python installer/build.py
