# hsc-research: `make reports` builds the demo reports, `make test` runs the tests.
# Both create .venv from requirements.lock when it is missing or out of date.

PYTHON ?= $(shell command -v python3.11 2>/dev/null || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
RAW := data/raw/survey_export.csv
SYNTH_ARGS ?= --messy
JOBS ?=

.DEFAULT_GOAL := help
.PHONY: help env synth data aggregate reports test lab lint docs format strip lock benchmark clean

help: ## Show this help
	@awk 'BEGIN {FS = ":.*## "} /^[a-zA-Z_-]+:.*## / {printf "  make %-10s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

$(STAMP): requirements.lock pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info[:2] >= (3, 11) else "Python 3.11+ is required (set PYTHON=...)")'
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade "pip>=24"
	$(BIN)/python -m pip install --quiet -r requirements.lock
	$(BIN)/python -m pip install --quiet --no-deps -e .
	touch $(STAMP)

env: $(STAMP) ## Create or update the virtual environment in .venv

$(RAW): | $(STAMP)
	$(BIN)/hsc-research synth $(SYNTH_ARGS)

synth: $(STAMP) ## Generate the synthetic demo survey into data/raw/ (overwrites)
	$(BIN)/hsc-research synth $(SYNTH_ARGS)

data: $(STAMP) $(RAW) ## Clean data/raw/ into data/processed/
	$(BIN)/hsc-research clean

aggregate: $(STAMP) $(RAW) ## Clean data/raw/ and compute every report table into data/processed/aggregates/
	$(BIN)/hsc-research clean --aggregate

reports: aggregate ## Synth (if data/raw/ has no export), clean, aggregate and build every report
	$(BIN)/hsc-research build $(if $(JOBS),--jobs $(JOBS),)

test: $(STAMP) ## Run the whole test suite
	$(BIN)/python -m pytest

lab: $(STAMP) ## Open JupyterLab on notebooks/
	$(BIN)/jupyter lab --notebook-dir=notebooks

lint: $(STAMP) ## Check style with ruff
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks

docs: $(STAMP) ## Build the HTML API reference from the docstrings (pdoc) into docs/_build/
	rm -rf docs/_build
	$(BIN)/pdoc --docformat numpy --output-directory docs/_build hsc_research \
	  $$($(BIN)/python -c "import pkgutil, hsc_research as h; print(' '.join(m.name for m in pkgutil.iter_modules(h.__path__, 'hsc_research.')))")
	@echo "open docs/_build/index.html"

format: $(STAMP) ## Format code with ruff
	$(BIN)/ruff format src tests benchmarks
	$(BIN)/ruff check --fix src tests benchmarks

strip: $(STAMP) ## Strip outputs from the notebooks before committing
	$(BIN)/jupyter nbconvert --clear-output --inplace notebooks/*.ipynb

lock: ## Re-resolve requirements.lock from pyproject.toml (needs network)
	rm -rf .lockenv && $(PYTHON) -m venv .lockenv
	.lockenv/bin/python -m pip install --quiet --upgrade "pip>=24"
	.lockenv/bin/python -m pip install --quiet ".[dev]"
	echo "# Exact versions for .venv (make) and environment.yml (conda). Regenerate with \`make lock\`." > requirements.lock
	.lockenv/bin/python -m pip freeze --exclude-editable | grep -v '^hsc-research' >> requirements.lock
	rm -rf .lockenv

benchmark: $(STAMP) ## Run the benchmarks (prints timings and memory; not part of the tests)
	$(BIN)/python benchmarks/bench_clean_aggregate.py
	$(BIN)/python benchmarks/bench_build.py

clean: ## Remove generated data, reports and the environment
	rm -rf $(VENV) data/processed/* data/raw/survey_export.csv data/raw/sites.csv reports/*.html reports/manifest.json
	git checkout -- data reports 2>/dev/null || true
