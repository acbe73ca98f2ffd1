# alphanode: the two commands are `make run` and `make test` (see README.md).
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000
# The demo's absolute links (canonical, feeds, sitemap) follow the address it serves on.
SITE_URL ?= http://$(HOST):$(PORT)
DEMO_POSTS ?= 300
SAMPLE_SLUG := building-a-safer-workflow-for-building-safer-deployment-steps-with-python-services

.PHONY: setup setup-env run test test-fast lint format browser deps-browser deps-varnish deps-bench deps-html clean deploy rollback requirements

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(VENV)/.installed: requirements.txt requirements-dev.txt | $(BIN)/python
	$(BIN)/pip install --quiet -r requirements-dev.txt
	touch $@

# A local .env with a random SECRET_KEY; real environment variables win over it.
.env:
	@printf 'SECRET_KEY=%s\nALLOWED_HOSTS=localhost,127.0.0.1,[::1]\nSITE_URL=http://127.0.0.1:8000\n' \
		"$$($(PYTHON) -c 'import secrets; print(secrets.token_urlsafe(50))')" > $@
	@echo "wrote .env (local settings; not committed)"

# Settings became required after some .env files were written: add the local default.
setup-env: .env
	@grep -q '^SITE_URL=' .env || { echo 'SITE_URL=http://127.0.0.1:8000' >> .env; echo "added SITE_URL to .env"; }

setup: $(VENV)/.installed setup-env

## run: set up, load the sample and demo posts into SQLite, serve on http://$(HOST):$(PORT)/
run: setup
	$(BIN)/python manage.py migrate --noinput
	$(BIN)/python manage.py import_posts tests/fixtures/seed-4577.json --rejects var/import-rejects.jsonl
	$(BIN)/python manage.py generate_posts --count $(DEMO_POSTS) --seed 1 --output var/demo-posts.jsonl
	$(BIN)/python manage.py import_posts var/demo-posts.jsonl --rejects var/import-rejects.jsonl
	$(BIN)/python manage.py date_generated_posts
	$(BIN)/python manage.py collectstatic --noinput --verbosity 0
	$(BIN)/python manage.py purge_cache --all
	@echo "alphanode on $(SITE_URL)/  (the sample: $(SITE_URL)/posts/$(SAMPLE_SLUG)/; admin: $(BIN)/python manage.py createsuperuser)"
	SITE_URL=$(SITE_URL) $(BIN)/gunicorn alphanode.wsgi --config gunicorn.conf.py --bind $(HOST):$(PORT)

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

## deps-html: Java and the Node test tools pinned in package.json (Nu HTML checker vnu-jar, Lighthouse)
NODE_TOOLS := node_modules/.installed
deps-html: $(NODE_TOOLS)
	@command -v java >/dev/null || { \
		echo "installing Debian's default-jre-headless for the Nu HTML checker"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq default-jre-headless >/dev/null; }

# --ignore-scripts: vnu-jar's install script would download a Java runtime; Debian's is used.
$(NODE_TOOLS): package.json package-lock.json
	@command -v npm >/dev/null || { \
		echo "installing Debian's npm"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq npm >/dev/null; }
	npm ci --ignore-scripts --no-audit --no-fund --loglevel=error
	touch $@

## test: set up, install chromium, varnish, Java and the Node tools if missing, run the whole suite (DATABASE_URL / REDIS_URL select the services)
test: setup deps-browser deps-varnish deps-html
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
