# alphanode: the two commands are `make run` and `make test` (see README.md).
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000
DEMO_POSTS ?= 300

.PHONY: setup run test test-fast lint format browser deps-browser deps-varnish deps-bench clean deploy rollback requirements

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(VENV)/.installed: requirements.txt requirements-dev.txt | $(BIN)/python
	$(BIN)/pip install --quiet -r requirements-dev.txt
	touch $@

# A local .env with a random SECRET_KEY; real environment variables win over it.
.env:
	@printf 'SECRET_KEY=%s\nALLOWED_HOSTS=localhost,127.0.0.1,[::1]\n' \
		"$$($(PYTHON) -c 'import secrets; print(secrets.token_urlsafe(50))')" > $@
	@echo "wrote .env (local settings; not committed)"

setup: $(VENV)/.installed .env

## run: set up, load the sample and demo posts into SQLite, serve on http://$(HOST):$(PORT)/
run: setup
	$(BIN)/python manage.py migrate --noinput
	$(BIN)/python manage.py import_posts tests/fixtures/seed-4577.json --rejects var/import-rejects.jsonl
	$(BIN)/python manage.py generate_posts --count $(DEMO_POSTS) --seed 1 --output var/demo-posts.jsonl
	$(BIN)/python manage.py import_posts var/demo-posts.jsonl --rejects var/import-rejects.jsonl
	$(BIN)/python manage.py collectstatic --noinput --verbosity 0
	@echo "alphanode on http://$(HOST):$(PORT)/  (admin: $(BIN)/python manage.py createsuperuser)"
	$(BIN)/gunicorn alphanode.wsgi --config gunicorn.conf.py --bind $(HOST):$(PORT)

## deps-browser: Debian's chromium for the browser tests (never `playwright install`)
deps-browser:
	@command -v chromium >/dev/null || { \
		echo "installing Debian's chromium for the browser tests"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; }

## deps-varnish: Debian's varnish and varnish-modules (xkey) for the edge tests; not run as a service
deps-varnish:
	@command -v varnishd >/dev/null && test -e /usr/lib/x86_64-linux-gnu/varnish/vmods/libvmod_xkey.so || { \
		echo "installing Debian's varnish and varnish-modules for the edge tests"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq varnish varnish-modules >/dev/null; }

## deps-bench: wrk and nginx for bench/edge_bench.py (nginx is the static-file baseline, not a service)
deps-bench: deps-varnish
	@command -v wrk >/dev/null && command -v nginx >/dev/null || { \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk nginx-light >/dev/null; }

## test: set up, install chromium and varnish if missing, run the whole suite (DATABASE_URL / REDIS_URL select the services)
test: setup deps-browser deps-varnish
	$(BIN)/python manage.py collectstatic --noinput --verbosity 0
	$(BIN)/python -m pytest

test-fast: setup
	$(BIN)/python -m pytest -m "not slow and not browser"

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: setup
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

## requirements: pin requirements.in / requirements-dev.in into the .txt files (pip-tools; keeps today's pins,
## UPGRADE=1 moves them to the newest versions the .in files allow)
PIP_COMPILE = $(BIN)/pip-compile --quiet --no-strip-extras --no-emit-index-url --no-emit-find-links $(if $(UPGRADE),--upgrade)
requirements: setup
	$(PIP_COMPILE) --output-file requirements.txt requirements.in
	$(PIP_COMPILE) --output-file requirements-dev.txt requirements-dev.in

## deploy: deploy REF (default HEAD) on this machine; see "Deploying" in README.md
REF ?= HEAD
deploy:
	scripts/deploy --ref $(REF)

## rollback: put the previous release back on this machine
rollback:
	scripts/rollback

clean:
	rm -rf var staticfiles test-artifacts
