# ticketflow: the two commands a new machine needs are `make demo` and `make test`.
SHELL := /bin/bash
PY ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test test-python test-web web-models lint bench dev clean

$(STAMP): pyproject.toml requirements-emulators.txt
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[dev]'
	@if [ -f requirements-emulators.txt ]; then $(BIN)/pip install -q --no-deps -r requirements-emulators.txt; fi
	touch $(STAMP)

node_modules/.installed: package-lock.json
	npm ci --no-audit --no-fund
	touch $@

web/node_modules/.installed: web/package-lock.json
	cd web && npm ci --no-audit --no-fund
	touch $@

## Run the whole workflow on a bundled sample request, embedded default (no services).
## In a terminal it asks its question; without one it skips it and still finishes.
demo: $(STAMP)
	@if [ -t 0 ]; then $(BIN)/ticketflow generate --sample invoice-csv-export; \
	else $(BIN)/ticketflow generate --sample invoice-csv-export --skip-questions; fi

## The whole test suite (what CI runs): lint (with the import layers), web, Python.
test: $(STAMP) node_modules/.installed web/node_modules/.installed
	$(MAKE) lint
	$(MAKE) test-web
	$(MAKE) test-python

test-python: $(STAMP)
	@set +e; $(BIN)/python -m pytest -q -p no:cacheprovider; rc=$$?; \
	if [ $$rc -eq 5 ]; then echo "pytest collected no tests: failing"; exit 1; fi; exit $$rc

test-web: web/node_modules/.installed
	cd web && npm test --silent && npm run build --silent

## The page's document types, generated from the pydantic models (commit both files;
## tests/unit/test_web_schema.py and web/test/models.test.ts fail while they are stale).
web-models: $(STAMP) web/node_modules/.installed
	$(BIN)/python -m ticketflow.dev.web_schema --out web/src/generated/models.schema.json
	cd web && npm run models --silent

## ruff, mypy (strict), and the import-layer contract (docs/architecture.md).
lint: $(STAMP)
	$(BIN)/ruff check shared functions tests bench
	$(BIN)/mypy
	$(BIN)/lint-imports

bench: $(STAMP)
	@for b in bench/w*.py; do echo "== $$b"; $(BIN)/python $$b; done

## The emulator suite: builds the page, then starts everything (Ctrl-C stops it all).
dev: $(STAMP) node_modules/.installed web/node_modules/.installed
	cd web && npm run build --silent
	$(BIN)/ticketflow dev

clean:
	rm -rf $(VENV) node_modules web/node_modules web/dist .ticketflow .devstack
