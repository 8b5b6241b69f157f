# Everything a fresh machine needs is installed from here: Python packages into .venv,
# the CDK CLI from npm into node_modules, the console's build tools from npm into
# console/node_modules, chromium (the console's browser tests) and wrk (benchmarks only)
# from Debian.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip
STAMP := $(VENV)/.installed
export JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION := 20

.PHONY: venv test demo openapi synth lint bench clean console browser

venv: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) install -q --upgrade pip
	$(PIP) install -q -e '.[lambda,serving,training,infra,cli,dev]' 'torch==2.13.0'
	touch $(STAMP)

node_modules/.installed: package.json
	npm install --no-audit --no-fund --loglevel=error
	touch $@

# The web console (console/): npm packages pinned by its lock file, bundled by esbuild into
# console/dist, which the local gateway serves at /console/ and the CDK app uploads to S3.
CONSOLE_SOURCES := $(shell find console/src -type f 2>/dev/null) console/build.mjs console/package.json
console: console/dist/.built

console/node_modules/.installed: console/package.json console/package-lock.json
	cd console && npm ci --no-audit --no-fund --loglevel=error
	touch $@

console/dist/.built: console/node_modules/.installed $(CONSOLE_SOURCES)
	cd console && npm run --silent build
	touch $@

# Debian's chromium for the console's browser tests (Playwright drives it; nothing is downloaded).
browser: /usr/bin/chromium

/usr/bin/chromium:
	apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium fonts-dejavu-core

test: $(STAMP) console browser
	$(PY) -m pytest -q

demo: $(STAMP) console
	$(PY) -m modelport demo

openapi: $(STAMP)
	$(PY) -m functions.openapi docs/openapi.json

# cdk-nag runs inside the synth (any unacknowledged finding fails it); cfn-lint then checks
# every template, nested ones included, and fails on errors (warnings are printed).
# SYNTH_ARGS passes CDK context, e.g. SYNTH_ARGS="-c stage=prod -c account=123456789012".
synth: $(STAMP) node_modules/.installed console
	rm -rf cdk.out/*.template.json
	npx cdk synth --quiet $(SYNTH_ARGS)
	$(VENV)/bin/cfn-lint --non-zero-exit-code error cdk.out/*.template.json

lint: $(STAMP)
	$(VENV)/bin/ruff check .

clean:
	rm -rf $(VENV) node_modules cdk.out .pytest_cache console/node_modules console/dist
