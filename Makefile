# Quick start: `make run` (set up and run on SQLite under ./data/), `make test` (set up and run the tests).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install run test lint format bench train-topics clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

run: $(STAMP)
	$(BIN)/sciforum run

test: $(STAMP)
	$(BIN)/pytest

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

format: $(STAMP)
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

bench: $(STAMP)
	$(BIN)/python benchmarks/ingest.py
	$(BIN)/python benchmarks/summary_quality.py
	$(BIN)/python benchmarks/topic_quality.py

# Rebuild the shipped topic model from ../shared/topics (about 2 minutes), then measure it.
train-topics: $(STAMP)
	$(BIN)/pip install --quiet -e '.[dev,train]'
	$(BIN)/python benchmarks/train_topics.py
	$(BIN)/python benchmarks/topic_quality.py

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache
