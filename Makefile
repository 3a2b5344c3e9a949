# The two commands a fresh machine needs: `make demo` and `make test`.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
# The official SARIF 2.1.0 schema, taken from the npm registry (it ships inside Microsoft's
# jest-sarif package), so that a test can validate our SARIF against it offline afterwards.
SARIF_SCHEMA := $(VENV)/schemas/sarif-2.1.0.json
SARIF_PACKAGE := @microsoft/jest-sarif@1.0.0-beta.0

.PHONY: demo test lint typecheck rego-test pytest bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "knightwatch needs Python 3.11 or newer")'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/knightwatch demo

test: $(STAMP) lint typecheck rego-test pytest

lint: $(STAMP)
	$(BIN)/ruff check checker tests
	$(BIN)/ruff format --check checker tests

typecheck: $(STAMP)
	$(BIN)/mypy

rego-test: $(STAMP)
	$(BIN)/knightwatch policy test policies

$(SARIF_SCHEMA): | $(STAMP)
	mkdir -p $(VENV)/schemas/pack
	cd $(VENV)/schemas/pack && npm pack --silent $(SARIF_PACKAGE) >/dev/null && \
	  tar -xzf *.tgz package/lib/schemas/sarif-2.1.0-rtm.5.json
	mv $(VENV)/schemas/pack/package/lib/schemas/sarif-2.1.0-rtm.5.json $(SARIF_SCHEMA)
	rm -rf $(VENV)/schemas/pack

pytest: $(STAMP) $(SARIF_SCHEMA)
	KNIGHTWATCH_SARIF_SCHEMA=$(SARIF_SCHEMA) $(BIN)/pytest

# A large organisation's month (generated once into .bench/, then cached), timed per stage.
bench: $(STAMP)
	$(BIN)/python -m tests.bench

clean:
	rm -rf $(VENV) build dist *.egg-info .pytest_cache .mypy_cache .ruff_cache
