# PeerTrail developer commands. `make run` and `make test` are the README's set-up commands.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: run test bench lint format screenshots installer

$(BIN)/python:
	$(PY) -m venv $(VENV)
	$(BIN)/python -m pip install --upgrade pip >/dev/null

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install -e '.[desktop]' && touch $@

$(VENV)/.installed-test: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install -e '.[desktop,server,test]' && touch $@ $(VENV)/.installed

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

# A PNG of every main screen with a demo caseload, at 100 % and 200 %, light and dark.
screenshots: $(VENV)/.installed-test
	QT_SCALE_FACTOR=1 $(BIN)/python -m tests.screenshot_tour screenshots-tmp/100
	QT_SCALE_FACTOR=2 $(BIN)/python -m tests.screenshot_tour screenshots-tmp/200
	PEERTRAIL_THEME=dark $(BIN)/python -m tests.screenshot_tour screenshots-tmp/dark

$(VENV)/.installed-build: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install -e '.[desktop,build]' && touch $@ $(VENV)/.installed

installer: $(VENV)/.installed-build
	$(BIN)/python installer/build.py
