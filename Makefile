# envconf — every target creates the virtualenv itself when it is missing.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
# Where `make test-container` caches the debootstrapped base image tarball.
IMAGE_CACHE ?= $(HOME)/.cache/envconf/images
# Extra options for `make compat`, e.g. COMPAT_ARGS="--write-failures --min 35".
COMPAT_ARGS ?=
# yaml-language-server for the editor-schema test (tests/e2e/test_schema_e2e.py): pinned,
# installed from the npm registry into a git-ignored directory (1.x runs on node 20).
YAML_LS_VERSION := 1.25.0
NODE_DIR        := .cache/node

.PHONY: help venv demo test lint type fmt bench fuzz compat test-container yaml-ls clean

help:
	@echo "make demo            run the example app with all four control methods and explain it"
	@echo "make test            the whole test suite (unit, property, e2e, namespace tier)"
	@echo "make lint type       ruff check + format check; mypy --strict"
	@echo "make bench           benchmarks against peer tools (writes docs/performance.md)"
	@echo "make fuzz            a bounded fuzz run of the parsers"
	@echo "make compat          pydantic-settings' own tests run against envconf.Settings (pass rate)"
	@echo "make test-container  real Docker engine and single-node Swarm tests"
	@echo "make yaml-ls         install the pinned yaml-language-server the schema test drives"

$(STAMP): pyproject.toml scripts/envconf
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

venv: $(STAMP)

demo: $(STAMP)
	cd examples/demo && PATH="$(CURDIR)/$(BIN):$$PATH" sh ./run-demo.sh

test: $(STAMP)
	$(BIN)/python -m pytest -p no:cacheprovider

lint: $(STAMP)
	$(BIN)/ruff check src tests $(wildcard bench) examples compat
	$(BIN)/ruff format --check src tests $(wildcard bench) examples compat

fmt: $(STAMP)
	$(BIN)/ruff check --fix src tests bench examples compat
	$(BIN)/ruff format src tests bench examples compat

type: $(STAMP)
	$(BIN)/mypy --strict src

bench: $(STAMP)
	$(BIN)/python bench/run.py

fuzz: $(STAMP)
	$(BIN)/python -m pytest -p no:cacheprovider tests/fuzz --hypothesis-seed=0

compat: $(STAMP)
	$(BIN)/python compat/run.py $(COMPAT_ARGS)

test-container: $(STAMP)
	IMAGE_CACHE=$(IMAGE_CACHE) bash tests/container/real/run.sh

yaml-ls:
	@test "$$(cd $(NODE_DIR) 2>/dev/null && node -p \
	    'require("yaml-language-server/package.json").version' 2>/dev/null)" = "$(YAML_LS_VERSION)" \
	  || npm install --prefix $(NODE_DIR) --no-save --no-audit --no-fund --ignore-scripts \
	       yaml-language-server@$(YAML_LS_VERSION)

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache $(NODE_DIR)
