# mlfabric — the two commands a newcomer runs: `make plan` and `make test`.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STACK  ?= dev
# The cloud of the stack being planned decides which provider SDK is installed (lean installs).
CLOUD  ?= $(shell sed -n 's/^[[:space:]]*cloud:[[:space:]]*\([a-z]*\).*/\1/p' stacks/Pulumi.$(STACK).yaml 2>/dev/null | head -n1)

.PHONY: plan test lint docs docs-check wheel-check bench check check-all snapshots clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# One stamp per extras set, so `make plan` (one cloud) and `make test` (all clouds) share the venv.
$(VENV)/.installed-%: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e ".[$*]"
	touch $@

plan: $(VENV)/.installed-$(CLOUD)
	$(BIN)/mlfabric plan -s $(STACK)

test: $(VENV)/.installed-all,dev
	$(BIN)/python -m pytest

lint: $(VENV)/.installed-all,dev
	$(BIN)/ruff check .
	$(BIN)/mypy

docs: $(VENV)/.installed-all,dev
	$(BIN)/python -m mlfabric.reference --write

docs-check: $(VENV)/.installed-all,dev
	$(BIN)/python -m mlfabric.reference --check

# The built wheel, installed with [aws] into a fresh virtualenv outside the checkout: only `mlfabric` at
# the top level, and `mlfabric check` / `validate` work from a directory with no policies/ folder.
wheel-check: | $(BIN)/python
	PYTHON=$(BIN)/python tests/wheel_check.sh

bench: $(VENV)/.installed-all,dev
	$(BIN)/python bench/plan_time.py
	$(BIN)/python bench/overhead.py
	$(BIN)/python bench/scaling.py
	$(BIN)/python bench/policy_time.py

# Policy verdicts offline for one stack, or for every example stack.
check: $(VENV)/.installed-$(CLOUD)
	$(BIN)/mlfabric check -s $(STACK)

check-all: $(VENV)/.installed-all,dev
	for f in stacks/Pulumi.*.yaml; do s=$${f#stacks/Pulumi.}; $(BIN)/mlfabric check -s $${s%.yaml} || exit 1; done

# Upgrade-safety snapshots of every example stack's URNs (commit the result after a reviewed change).
snapshots: $(VENV)/.installed-all,dev
	$(BIN)/python -m mlfabric.diff --update-snapshots

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
