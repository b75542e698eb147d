# The two commands of the quick start: `make serve` and `make test`.
VENV ?= .venv
PY := $(VENV)/bin/python

.PHONY: serve test setup setup-serve system-deps lint proto fuzz

# Serving needs the package alone; the tests also need the dev tools and the reports extra.
$(VENV)/.serve-installed: pyproject.toml
	python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade "pip>=25.1"
	$(PY) -m pip install --quiet -e .
	touch $@

$(VENV)/.installed: $(VENV)/.serve-installed
	$(PY) -m pip install --quiet -e ".[reports]" --group dev
	touch $@

setup-serve: $(VENV)/.serve-installed

setup: $(VENV)/.installed

serve: setup-serve
	$(VENV)/bin/depscreen serve

system-deps:
	scripts/system-deps

lint: setup
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy
	$(VENV)/bin/lint-imports

test: setup system-deps lint
	$(VENV)/bin/depscreen rules validate
	$(VENV)/bin/depscreen rules test
	$(VENV)/bin/depscreen access test
	$(PY) -m pytest

# The fuzz harnesses for long (tests/fuzz/; `make test` runs them briefly): FUZZ_SECONDS each.
FUZZ_SECONDS ?= 600
fuzz: setup
	PYTHON=$(PY) scripts/fuzz $(FUZZ_SECONDS)

proto: setup
	$(PY) scripts/gen_proto.py
