# The kit's commands. `make help` lists them.
# A first result needs only Python 3.11+ and make: the virtual environment is
# created on first use and reinstalled only when pyproject.toml changes.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
DATA   ?= data/sample
OUT    ?= reports
QUARTER ?= latest

.DEFAULT_GOAL := help
.PHONY: help report check test lint format lab sample clean nbval-refresh snapshot-refresh bench \
	bench-quick bench-render bench-metrics bench-product bench-profile bench-100m

# what ruff lints and formats
CODE := alignment_lib tests notebooks benchmarks
# the fast tier: no report render, kernel, nbval notebook or browser (tests/conftest.py
# fails an unmarked test that starts a kernel)
FAST := not slow and not browser and not notebook

help: ## list the commands
	@awk 'BEGIN {FS = ":.*## "} /^[a-zA-Z0-9_-]+:.*## / {printf "  make %-16s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

$(BIN)/python:
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python 3.11 or newer is needed; set PYTHON=python3.11 (or newer)")'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.runtime: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .
	@touch $@

# the suite includes the JupyterLab tests, so development installs the lab extra too
$(VENV)/.dev: pyproject.toml $(VENV)/.runtime
	$(BIN)/python -m pip install --quiet -e '.[dev,lab]'
	@touch $@ $(VENV)/.lab

$(VENV)/.lab: pyproject.toml $(VENV)/.runtime
	$(BIN)/python -m pip install --quiet -e '.[lab]'
	@touch $@

report: $(VENV)/.runtime ## render the sample's latest complete quarter into reports/ (QUARTER=, DATA=, OUT= to change)
	$(BIN)/alignment report --quarter $(QUARTER) --data $(DATA) --out $(OUT)

check: $(VENV)/.dev ## while working: lint, format check, types and the fast unit tests (under two minutes)
	$(BIN)/ruff check $(CODE)
	$(BIN)/ruff format --check $(CODE)
	$(BIN)/mypy
	$(BIN)/python -m pytest -q -m "$(FAST)"

test: $(VENV)/.dev ## run the whole suite: unit, notebook (nbval), browser and JupyterLab tests, lint, types
	$(BIN)/ruff check $(CODE)
	$(BIN)/mypy
	$(BIN)/python -m pytest

lint: $(VENV)/.dev ## ruff lint and format check, mypy type check
	$(BIN)/ruff check $(CODE)
	$(BIN)/ruff format --check $(CODE)
	$(BIN)/mypy

format: $(VENV)/.dev ## format the code with ruff
	$(BIN)/ruff format $(CODE)

lab: $(VENV)/.lab ## open JupyterLab on the notebooks
	$(BIN)/jupyter lab --notebook-dir=notebooks $$( [ "$$(id -u)" = 0 ] && echo --allow-root )

sample: $(VENV)/.runtime ## regenerate data/sample from the seeded generator
	$(BIN)/alignment sample --out data/sample

# Benchmarks (README "Performance"; benchmarks/results/). The generated data sets are cached
# in benchmarks/.data/ (the sample tiled; about 10 MB per million leads).
SIZES         ?= 30k,1M,10M
PRODUCT_SIZES ?= 30k,300k,3M
REPEAT        ?= 3
PRODUCT_REPEAT ?= 1
PROFILE_SIZE  ?= 10M
# where the tables go (bench-quick: beside the cached data, so the committed figures stay)
BENCH_RESULTS ?= benchmarks/results
# a line on the conditions of the run (e.g. "other jobs running"), written in the results
BENCH_NOTE    ?=

# psutil: the memory sampling (not needed by the kit; pandas, the pandas engine, is in the
# dev extra because tests/test_bench.py checks that engine against the kit)
$(VENV)/.bench: $(VENV)/.dev
	$(BIN)/python -m pip install --quiet 'psutil>=5.9'
	@touch $@

bench: bench-render bench-metrics bench-product bench-profile ## every benchmark (SIZES=30k,1M,10M, PRODUCT_SIZES=30k,300k,3M, REPEAT=3): about an hour (the full set at 10M takes minutes a run)
bench-quick: ## every benchmark on small data, one round, tables in benchmarks/.data/quick-results/: a check that they run (about 5 min)
	$(MAKE) bench REPEAT=1 SIZES=30k,300k PRODUCT_SIZES=30k RENDER_REPEAT=1 PROFILE_SIZE=30k \
	  BENCH_RESULTS=benchmarks/.data/quick-results

RENDER_REPEAT ?= 3
bench-render: $(VENV)/.bench ## the bundle render time against the naive papermill+nbconvert CLI baseline
	$(BIN)/python benchmarks/render_bundle.py --repeat $(RENDER_REPEAT)

bench-metrics: $(VENV)/.bench ## the full metric set: kit vs DuckDB vs pandas vs the read floor -> benchmarks/results/metrics.md
	$(BIN)/python benchmarks/metrics.py --sizes $(SIZES) --repeat $(REPEAT) --note "$(BENCH_NOTE)" \
	  --out $(BENCH_RESULTS)/metrics.md

bench-product: $(VENV)/.bench ## alignment validate and report --no-images at 30k, 300k, 3M leads -> benchmarks/results/product.md
	$(BIN)/python benchmarks/product.py --sizes $(PRODUCT_SIZES) --repeat $(PRODUCT_REPEAT) --note "$(BENCH_NOTE)" \
	  --out $(BENCH_RESULTS)/product.md

bench-profile: $(VENV)/.bench ## CPU seconds of each step of the kit's full metric set at PROFILE_SIZE=10M -> benchmarks/results/profile.md
	$(BIN)/python benchmarks/profile.py --size $(PROFILE_SIZE) --note "$(BENCH_NOTE)" \
	  --out $(BENCH_RESULTS)/profile.md

# 100M leads: about 1 GB of Parquet; pandas (about 18 GB there) is left out; the kit holds
# the as-of cut of every table in memory, about 10x its peak at 10M leads
bench-100m: $(VENV)/.bench ## the metrics at 100M leads, one round, without pandas (the kit holds the cut data in memory: ~35-45 GB) -> benchmarks/results/metrics-100m.md
	$(BIN)/python benchmarks/metrics.py --sizes 100M --repeat 1 --engines kit,kit_core,duckdb,floor,floor_all --out $(BENCH_RESULTS)/metrics-100m.md --note "$(BENCH_NOTE)"

nbval-refresh: $(VENV)/.dev ## re-record the notebook outputs nbval compares against (review the diff!)
	$(BIN)/python tests/refresh_notebooks.py

# renders the sample once (about a minute); rewrites tests/__snapshots__/ and drops
# snapshots of pages that no longer exist (docs/development.md)
snapshot-refresh: $(VENV)/.dev ## re-record the page-text snapshots of the sample report (review the diff!)
	$(BIN)/python -m pytest -q tests/test_page_text_snapshot.py --snapshot-update

# Only what the kit wrote: links to and folders with its marker (.alignment-report), and
# its lock files; a folder of yours under $(OUT) stays (docs/rendering.md).
clean: ## remove the virtual environment and the reports the kit rendered
	rm -rf $(VENV)
	@for f in $(OUT)/FY* $(OUT)/.FY* $(OUT)/.failed/*; do \
	  if [ -L "$$f" ]; then [ -e "$$f/.alignment-report" ] && rm -f "$$f"; \
	  elif [ -d "$$f" ]; then [ -e "$$f/.alignment-report" ] && rm -rf "$$f"; \
	  elif [ -f "$$f" ] && [ "$${f%.lock}" != "$$f" ]; then rm -f "$$f"; fi; \
	done; rmdir $(OUT)/.failed 2>/dev/null; true
