# Two commands on a fresh machine: `make demo` and `make test` (see README.md).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
CORES ?= 8
NPROC := $(shell nproc 2>/dev/null || echo 2)
# Torch rules claim `gpu=1`. With CUDA that is one job per GPU. Without it the claim
# only serialises CPU jobs, and there two one-thread jobs at once train 1.44x faster
# than one two-thread job (bench/bench_train.py --threads 1 vs 2, DenseNet-121 at 64 px
# on 2 cores: 2 x 25.6 vs 35.5 images/s), so on a CPU-only machine torch jobs get two
# slots (one on a one-core machine) sharing the cores between them: the DAG's long
# chains (classifier -> saliency -> IG, CE -> DML) rarely have more than two torch jobs
# ready, so more slots would leave cores idle. Override with `make demo SNAKEMAKE_RUN=...`.
SLOTS := $(shell [ $(NPROC) -ge 2 ] && echo 2 || echo 1)
SLOT_THREADS := $(shell echo $$(( $(NPROC) / $(SLOTS) )))
HAS_CUDA := $(shell nvidia-smi -L 2>/dev/null | grep -q '^GPU' && echo yes)
ifeq ($(HAS_CUDA),yes)
SNAKEMAKE_RUN ?= $(BIN)/snakemake --cores $(CORES) --resources gpu=1
else
SNAKEMAKE_RUN ?= $(BIN)/snakemake --cores $(NPROC) --resources gpu=$(SLOTS) \
	--config threads=$(SLOT_THREADS)
# Everything downstream waits for the lung masks. The demo segments in one shard: that
# job takes every core. The real config's two shards run side by side, a slot each.
DEMO_SEG_THREADS := --set-threads seg_apply=$(NPROC)
endif

# Bytecode is compiled when a module is first imported, not at install: pip compiles all
# 5.5 GB of torch + CUDA wheels on one core (152 s install vs 83 s with --no-compile
# here), most of which no job imports; the first jobs' imports then write the .pyc files
# (about 13 s once). That needs bytecode writing on, whatever the caller's environment.
unexport PYTHONDONTWRITEBYTECODE

.PHONY: demo test test-slurm bench install lint real clean-demo

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --upgrade pip
	$(BIN)/python -m pip install --no-compile -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

## make demo: install into .venv, run the workflow on the synthetic demo, write results/demo/report.html
demo: $(STAMP)
	$(SNAKEMAKE_RUN) $(DEMO_SEG_THREADS)
	@echo "Report: results/demo/report.html"

## make test: the whole test suite (what CI runs)
test: $(STAMP)
	$(BIN)/python -m pytest -q -rs

## make test-slurm: the tiny config through SLURM on a single-node localhost cluster
## (needs root and apt; installs slurm-wlm + munge; about 25 min on 2 cores: the
## local tiny run it compares with, ~5 min, then the SLURM run, ~19 min)
test-slurm: $(STAMP)
	$(BIN)/python -m pip install -q -e '.[dev,slurm]'
	CXR_RUN_SLURM=1 $(BIN)/python -m pytest -q -rs -s tests/e2e/test_slurm.py

## make bench: every benchmark in bench/ (figures and ratios printed)
bench: $(STAMP)
	for b in bench/bench_*.py; do echo "== $$b"; $(BIN)/python $$b || exit 1; done

## make real: the workflow on the real covid-chestxray copy in ../shared/data
real: $(STAMP)
	$(SNAKEMAKE_RUN) --configfile config/covid-chestxray.yaml

lint: $(STAMP)
	$(BIN)/ruff check src workflow/scripts tests bench
	$(BIN)/snakefmt --check Snakefile workflow/rules
	$(BIN)/snakemake --lint
