# The two commands of the quick start: `make serve` and `make test`.
VENV ?= .venv
PY := $(VENV)/bin/python

.PHONY: serve test setup setup-serve system-deps deploy-deps node-deps lint proto fuzz image \
	image-archive postgresql-image

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

# Node.js and the packages of the Node.js client test (tests/access/node), by npm ci.
node-deps:
	scripts/node-deps

# The container image and what its tests need (podman, mmdebstrap, systemd): deploy/README.md.
deploy-deps:
	scripts/deploy-deps

VERSION := $(shell sed -n 's/^version = "\(.*\)"/\1/p' pyproject.toml)
IMAGE_ARCHIVE ?= dist/departure-screening-$(VERSION).oci.tar

image: setup deploy-deps
	deploy/container/build-image

image-archive: setup deploy-deps
	mkdir -p $(dir $(IMAGE_ARCHIVE))
	deploy/container/build-image --archive $(IMAGE_ARCHIVE)

# The PostgreSQL of deploy/compose, built the same way: localhost/depscreen-postgresql:15.
postgresql-image: deploy-deps
	deploy/container/build-postgresql-image

lint: setup
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy
	$(VENV)/bin/lint-imports

test: setup system-deps deploy-deps node-deps lint
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
