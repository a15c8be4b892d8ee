# The two commands: `make run` (the whole stack) and `make test` (lint, types, tests).
# `make` alone creates .venv, installs the pinned dependencies and generates protobuf code.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
DEPS   := $(VENV)/.deps-installed

.PHONY: all deps protos run test lint typecheck bench bench-e2e clean distclean lock

all: deps protos $(BIN)/booking

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

# Reinstalled whenever the lock file changes; every file must match a hash in the lock.
$(DEPS): requirements.txt | $(BIN)/python
	$(BIN)/python -m pip install --disable-pip-version-check -q --require-hashes -r requirements.txt
	touch $@

# Regenerate the three locks from pyproject.toml (the one place direct dependencies are declared),
# keeping the pins already there unless pyproject asks otherwise; UPGRADE=1 moves to the newest.
# pip-tools runs in its own throwaway venv, so it is not part of what `make` installs.
LOCK_TOOL := .data/lock-venv
PIP_COMPILE = $(LOCK_TOOL)/bin/pip-compile -q --generate-hashes --allow-unsafe --strip-extras \
	--no-emit-find-links --no-emit-index-url $(if $(UPGRADE),--upgrade)
lock:
	test -x $(LOCK_TOOL)/bin/pip-compile || ($(PYTHON) -m venv $(LOCK_TOOL) && $(LOCK_TOOL)/bin/pip install -q pip-tools==7.6.2)
	$(PIP_COMPILE) -o requirements-runtime.txt pyproject.toml
	$(PIP_COMPILE) --extra build -c requirements-runtime.txt -o requirements-build.txt pyproject.toml
	$(PIP_COMPILE) --extra build --extra dev -c requirements-build.txt -o requirements.txt pyproject.toml

deps: $(DEPS)

# tools/gen_protos.py regenerates only when a .proto is newer than its output.
protos: $(DEPS)
	$(BIN)/python tools/gen_protos.py

# The `booking` command (common/cli.py), editable: it runs this checkout's code.
$(BIN)/booking: pyproject.toml | protos
	$(BIN)/python -m pip install --disable-pip-version-check -q --no-deps --no-build-isolation -e .
	touch $@

# `make run REPLICAS=2`: two of each service and gateway (gateways behind one port).
run: all
	$(BIN)/booking run $(if $(REPLICAS),--replicas $(REPLICAS))

lint: all
	$(BIN)/ruff check .

typecheck: all
	$(BIN)/mypy

test: lint typecheck
	$(BIN)/python -m pytest

bench: all
	$(BIN)/python -m bench.availability
	$(BIN)/python -m bench.reservation
	$(BIN)/python -m bench.notification

# The whole stack over HTTP, side by side with the bare baseline; writes docs/PERFORMANCE.md.
bench-e2e: all
	$(BIN)/python -m bench.e2e

clean:
	rm -rf booking .mypy_cache .ruff_cache .pytest_cache .hypothesis
	find . -name __pycache__ -type d -prune -exec rm -rf {} +

distclean: clean
	-$(BIN)/python -m devkit.embedded_pg stop
	rm -rf $(VENV) .data
