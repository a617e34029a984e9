# Quick start: `make run` (set up and run on SQLite under ./data/), `make test` (set up and run the tests).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
UV := $(BIN)/uv

.PHONY: install run test test-install lint format lock lock-upgrade lock-check bench train-topics i18n clean

# The venv holds exactly the locked versions (hashes checked), then the project itself without
# dependencies: a dependency missing from the lock fails `pip check` here, not at run time.
$(STAMP): pyproject.toml requirements/dev.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet --require-hashes --no-deps -r requirements/dev.txt
	$(BIN)/pip install --quiet --no-deps -e .
	$(BIN)/pip check
	touch $(STAMP)

install: $(STAMP)

run: $(STAMP)
	$(BIN)/sciforum run

test: $(STAMP)
	$(BIN)/pytest

# What the image's install step does, in a fresh venv from the lock (a few minutes; CI runs it).
test-install: $(STAMP)
	$(BIN)/pytest -m packaging

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

format: $(STAMP)
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

# The lock tools need uv alone (the dev lock's entry, hashes checked), not the project:
# installing the project fails while pyproject.toml names a dependency the lock lacks.
$(UV):
	$(PYTHON) -m venv $(VENV)
	sed -n '/^uv==/,/[^\\]$$/p' requirements/dev.txt \
	  | $(BIN)/pip install --quiet --require-hashes --no-deps -r /dev/stdin

# After editing dependencies in pyproject.toml: re-resolve, keeping every pin still allowed.
lock: $(UV)
	UV=$(UV) requirements/lock.sh

# Every locked package to the newest version pyproject.toml allows (then run the tests).
lock-upgrade: $(UV)
	UV=$(UV) requirements/lock.sh --upgrade

# Fails when pyproject.toml and requirements/*.txt disagree (CI runs it first).
lock-check: $(UV)
	UV=$(UV) requirements/lock.sh --check

bench: $(STAMP)
	$(BIN)/python benchmarks/startup.py
	$(BIN)/python benchmarks/ingest.py
	$(BIN)/python benchmarks/summary_quality.py
	$(BIN)/python benchmarks/topic_quality.py

# Rebuild the shipped topic model from ../shared/topics (about 2 minutes), then measure it.
# The train extra is not locked: a developer's offline tool, never in the image (pip adds it
# to the locked venv, upgrading nothing the lock already satisfies).
train-topics: $(STAMP)
	$(BIN)/pip install --quiet -e '.[train]'
	$(BIN)/python benchmarks/train_topics.py
	$(BIN)/python benchmarks/topic_quality.py

# After changing interface strings: the template from bot/ (tr(...), N_(...), ngettext), merged
# into each language's catalog (translate the new empty entries in its messages.po), then
# compiled to messages.mo. Options live in pyproject.toml's [tool.babel.*] tables;
# tests/test_i18n.py fails while a string lacks a translation or a .mo is stale.
i18n: $(STAMP)
	$(BIN)/pybabel extract
	$(BIN)/pybabel update
	$(BIN)/pybabel compile

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache
