# Two commands on a fresh machine: `make demo` and `make test` (see README.md).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
CORES ?= 8

.PHONY: demo test test-slurm bench install lint real clean-demo

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --upgrade pip
	$(BIN)/python -m pip install -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

## make demo: install into .venv, run the workflow on the synthetic demo, write results/demo/report.html
demo: $(STAMP)
	$(BIN)/snakemake --cores $(CORES) --resources gpu=1
	@echo "Report: results/demo/report.html"

## make test: the whole test suite (what CI runs)
test: $(STAMP)
	$(BIN)/python -m pytest -q -rs

## make test-slurm: the tiny config through SLURM on a single-node localhost cluster
## (needs root and apt; installs slurm-wlm + munge; about 17 min on 2 cores: the
## local tiny run it compares with, ~5 min, then the SLURM run, ~11 min)
test-slurm: $(STAMP)
	$(BIN)/python -m pip install -q -e '.[dev,slurm]'
	CXR_RUN_SLURM=1 $(BIN)/python -m pytest -q -rs -s tests/test_slurm.py

## make bench: every benchmark in bench/ (figures and ratios printed)
bench: $(STAMP)
	for b in bench/bench_*.py; do echo "== $$b"; $(BIN)/python $$b || exit 1; done

## make real: the workflow on the real covid-chestxray copy in ../shared/data
real: $(STAMP)
	$(BIN)/snakemake --cores $(CORES) --resources gpu=1 --configfile config/covid-chestxray.yaml

lint: $(STAMP)
	$(BIN)/ruff check src workflow/scripts tests bench
	$(BIN)/snakefmt --check Snakefile workflow/rules
	$(BIN)/snakemake --lint
