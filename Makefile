# The course's commands. `make help` lists them.
#   make run      execute every notebook with default parameters, print each one's headline numbers
#   make test     unit tests, smoke runs of every notebook, nbval over the committed notebooks
#   make lab      open JupyterLab on notebooks/
#   make refresh  re-execute the committed notebooks in place (their stored outputs)
#   make nav      regenerate each notebook's links/badges, its Colab cell and the README table
#   make student  regenerate the student copies in notebooks/student/
#   make site     build the course book (Sphinx, the notebooks with their outputs) in site/
#   make map      rerun notebook 03 over its full map (4 dimensions x 4 view strengths, digits and a mixture)

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
# torch is pinned through this constraints file; `make TORCH_CONSTRAINT= setup` drops the pin,
# `make TORCH_CONSTRAINT=my-constraints.txt setup` uses another one. The pin does not choose the CPU
# build: see constraints.txt (and the README) for PyTorch's CPU wheel index.
TORCH_CONSTRAINT ?= constraints.txt
# numpy, scipy and scikit-learn at the versions behind the committed outputs (`NUMERIC_CONSTRAINT=` drops them).
NUMERIC_CONSTRAINT ?= constraints-numeric.txt
STAMP := $(VENV)/.installed
NOTEBOOKS := $(sort $(wildcard notebooks/[0-9][0-9]_*.ipynb))

.PHONY: help setup run test lab refresh nav student site clean map
.DEFAULT_GOAL := help

help:
	@echo "make run      execute every notebook (defaults) into results/, then print each one's headline numbers"
	@echo "make test     unit tests + smoke run of every notebook + nbval over the committed notebooks"
	@echo "make lab      open JupyterLab on notebooks/ (extra Jupyter arguments: make lab LAB_ARGS=--allow-root)"
	@echo "make refresh  re-execute the committed notebooks in place"
	@echo "make nav      regenerate the notebooks' previous/next links, badges, Colab cell and the README table"
	@echo "make student  write the student copies (solutions removed, outputs stripped) to notebooks/student/"
	@echo "make site     build the course book in site/: every notebook with its outputs, search, math (open site/index.html)"
	@echo "make sweep    example sweep: notebook 03's sigma trade-off at d = 2 over 3 seeds, figure with bands"
	@echo "make map      rerun notebook 03 over its full map (d x view strength, digits and a mixture) into data/gaussian_map.json (~15 min on 2 cores)"
	@echo "make clean    remove results/ and caches (keeps .venv)"

$(STAMP): pyproject.toml $(wildcard $(TORCH_CONSTRAINT)) $(wildcard $(NUMERIC_CONSTRAINT))
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet $(if $(TORCH_CONSTRAINT),-c $(TORCH_CONSTRAINT)) $(if $(NUMERIC_CONSTRAINT),-c $(NUMERIC_CONSTRAINT)) -e ".[course,dev,docs]"
	@touch $@

setup: $(STAMP)

run: setup
	$(BIN)/python -m nine_utils.course.runner run --out results/executed
	@echo
	@$(BIN)/python -m nine_utils.course.results results

# TQDM_DISABLE: a long cell's progress-bar updates can overflow the kernel's output queue, which
# then drops the final "idle" message and nbval fails the cell with "waiting for output".
# Two pytest-xdist workers, each torch on one thread (the course's thread policy), fill the two
# cores. `--dist loadfile` sends all of a file's tests to one worker, in order: a committed
# notebook's nbval cells share one kernel, so they must stay together. Files are handed out in
# command-line order (`--no-loadscope-reorder`; xdist's default order is by number of tests, which
# left the long smoke-run file for last and one worker idle for minutes): the nbval runs first,
# then the three test files that run notebooks in kernels, then the quick unit tests, which fill
# the gaps at the end. Every test file is named on its own: pytest (8 and later) collects a folder
# named on the command line in alphabetical order, the files named before it included, which put
# the sweep tests last and left one worker idle for a minute (tests/test_project.py checks the order).
# `make TEST_WORKERS=0 test` runs everything in one process.
TEST_WORKERS ?= 2
KERNEL_TESTS := tests/test_notebooks.py tests/test_sweep.py tests/test_notebooks_larger_data.py
UNIT_TESTS := $(filter-out $(KERNEL_TESTS),$(sort $(wildcard tests/test_*.py)))
test: setup
	TQDM_DISABLE=1 $(BIN)/python -m pytest -n $(TEST_WORKERS) --dist loadfile --no-loadscope-reorder --durations=15 --nbval-lax --nbval-current-env $(NOTEBOOKS) $(KERNEL_TESTS) $(UNIT_TESTS)

# Extra arguments for Jupyter, e.g. `make lab LAB_ARGS=--allow-root` as root in a container.
LAB_ARGS ?=
lab: setup
	$(BIN)/jupyter lab notebooks $(LAB_ARGS)

refresh: setup
	$(BIN)/python -m nine_utils.course.runner refresh

nav: setup
	$(BIN)/python -m nine_utils.course.kit nav

student: setup
	$(BIN)/python -m nine_utils.course.kit student

site: setup
	$(BIN)/python -m nine_utils.course.site --out site

# The full map of notebook 03 (data/gaussian_map.json, committed): the notebook over d in {2, 4, 8, 16} x view strength
# in {0, 0.05, 0.1, 0.2}, 3 seeds, on the digits and on a clustered mixture, one data set per core.
map: setup
	TQDM_DISABLE=1 $(BIN)/python -m nine_utils.course.gaussian_map --out data/gaussian_map.json --jobs 2

clean:
	rm -rf results .pytest_cache
	find . -name __pycache__ -prune -exec rm -rf {} +

# Example sweep: notebook 03's sigma trade-off at d = 2 over 3 seeds (one seed a run), with error bands
# (results/sweeps/sigma-tradeoff/).
SWEEP_NOTEBOOK ?= 03_gaussian_matching
SWEEP_ARGS ?= -p seed 0 1 2 --set n_seeds 1 --set map_dims '[2]' --set map_views '[0.2]' --jobs 2 --name sigma-tradeoff \
	--explode sigma_sweep --plot sigma probe_acc --plot sigma radial_ks_ratio

.PHONY: sweep
sweep: setup
	$(BIN)/python -m nine_utils.course.sweep $(SWEEP_NOTEBOOK) $(SWEEP_ARGS)
