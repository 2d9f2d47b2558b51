# The course's commands. `make help` lists them.
#   make run      execute every notebook with default parameters, print the metrics table
#   make test     unit tests, smoke runs of every notebook, nbval over the committed notebooks
#   make lab      open JupyterLab on notebooks/
#   make refresh  re-execute the committed notebooks in place (their stored outputs)

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
# torch is pinned through this constraints file; `make TORCH_CONSTRAINT= setup` drops the pin,
# `make TORCH_CONSTRAINT=my-constraints.txt setup` uses another one.
TORCH_CONSTRAINT ?= constraints.txt
STAMP := $(VENV)/.installed
NOTEBOOKS := $(sort $(wildcard notebooks/[0-9][0-9]_*.ipynb))

.PHONY: help setup run test lab refresh clean
.DEFAULT_GOAL := help

help:
	@echo "make run      execute every notebook (defaults) into results/, then print the metrics table"
	@echo "make test     unit tests + smoke run of every notebook + nbval over the committed notebooks"
	@echo "make lab      open JupyterLab on notebooks/"
	@echo "make refresh  re-execute the committed notebooks in place"
	@echo "make clean    remove results/ and caches (keeps .venv)"

$(STAMP): pyproject.toml $(wildcard $(TORCH_CONSTRAINT))
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet $(if $(TORCH_CONSTRAINT),-c $(TORCH_CONSTRAINT)) -e ".[dev]"
	@touch $@

setup: $(STAMP)

run: setup
	$(BIN)/python -m nine_utils.notebooks run --out results/executed
	@echo
	@$(BIN)/python -m nine_utils.results results

test: setup
	$(BIN)/python -m pytest --nbval-lax --nbval-current-env tests $(NOTEBOOKS)

lab: setup
	$(BIN)/jupyter lab notebooks

refresh: setup
	$(BIN)/python -m nine_utils.notebooks refresh

clean:
	rm -rf results .pytest_cache
	find . -name __pycache__ -prune -exec rm -rf {} +
