# The two commands of the quick start: `make serve` and `make test`.
VENV ?= .venv
PY := $(VENV)/bin/python

.PHONY: serve test setup system-deps lint proto

$(VENV)/.installed: pyproject.toml
	python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade "pip>=25.1"
	$(PY) -m pip install --quiet -e . --group dev
	touch $@

setup: $(VENV)/.installed

serve: setup
	$(VENV)/bin/depscreen serve

system-deps:
	scripts/system-deps

lint: setup
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy

test: setup system-deps lint
	$(VENV)/bin/depscreen rules validate
	$(VENV)/bin/depscreen rules test
	$(PY) -m pytest

proto: setup
	$(PY) scripts/gen_proto.py
