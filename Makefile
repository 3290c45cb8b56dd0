# SFTP Python Connector: build the DSS plugin archive, run the demo and the tests.
PLUGIN_ID := $(shell python3 -c "import json; print(json.load(open('plugin.json'))['id'])")
VERSION := $(shell python3 -c "import json; print(json.load(open('plugin.json'))['version'])")
ARCHIVE := dist/dss-plugin-$(PLUGIN_ID)-$(VERSION).zip
VENV := .venv
PY := $(VENV)/bin/python
PYTEST_ARGS ?= -q -ra

.PHONY: all test imports test-py36 test-py313 demo bench bench-deps plugin deps venv unit-tests integration-tests \
	clean install-plugin presets

all: test

## Debian packages for the real servers the tests and the demo start (needs root).
deps:
	bash tests/install-debian-deps.sh

$(VENV)/.installed: tests/requirements.txt code-env/python/spec/requirements.txt
	python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -r code-env/python/spec/requirements.txt -r tests/requirements.txt
	touch $@

venv: $(VENV)/.installed

## The whole test suite: the architecture contract, unit tests, then real sshd /
## ProFTPD / Dante / tinyproxy tests.
test: deps venv imports
	$(PY) -m pytest $(PYTEST_ARGS) tests

## The architecture contract (.importlinter): wings of python-lib/sftp_client import
## only downward, no import cycle, no dataiku import. A broken one names the import.
imports: venv
	PYTHONPATH=python-lib $(VENV)/bin/lint-imports --config .importlinter

unit-tests: venv
	$(PY) -m pytest $(PYTEST_ARGS) tests/python/unit

integration-tests: deps venv
	$(PY) -m pytest $(PYTEST_ARGS) tests/python/integration

## The suite again on the oldest Python DSS code envs use (3.6; the newest paramiko
## that supports it). PY36 defaults to a pyenv 3.6 interpreter. tools/dss_admin.py
## runs on the admin's own Python, not in DSS: its tests are left out here.
PY36 ?= $(firstword $(wildcard $(HOME)/.pyenv/versions/3.6*/bin/python3.6) python3.6)
VENV36 := .venv36
$(VENV36)/.installed: tests/requirements.txt code-env/python/spec/requirements.txt
	$(PY36) -m venv $(VENV36)
	$(VENV36)/bin/python -m pip install -q "pip>=21,<22"
	$(VENV36)/bin/python -m pip install -q -r code-env/python/spec/requirements.txt pytest \
		"pandas>=1.1.5,<1.2"
	touch $@

test-py36: deps $(VENV36)/.installed
	$(VENV36)/bin/python -m pytest $(PYTEST_ARGS) -W ignore::DeprecationWarning tests \
		--ignore=tests/python/unit/test_python36_syntax.py \
		--ignore=tests/python/integration/test_dss_admin.py

## The suite again on the newest Python the code env accepts (3.13; current paramiko).
## PY313 defaults to a pyenv 3.13 interpreter.
PY313 ?= $(firstword $(wildcard $(HOME)/.pyenv/versions/3.13*/bin/python3.13) python3.13)
VENV313 := .venv313
$(VENV313)/.installed: tests/requirements.txt code-env/python/spec/requirements.txt
	$(PY313) -m venv $(VENV313)
	$(VENV313)/bin/python -m pip install -q --upgrade pip
	$(VENV313)/bin/python -m pip install -q -r code-env/python/spec/requirements.txt \
		-r tests/requirements.txt
	touch $@

test-py313: deps $(VENV313)/.installed
	$(VENV313)/bin/python -m pytest $(PYTEST_ARGS) tests

## The main job end to end against local real servers, through each proxy.
demo: deps venv
	$(PY) tests/demo/run_demo.py

## Debian packages only the bench needs (lftp, rclone: its peers; needs root).
bench-deps:
	bash tests/install-debian-deps.sh --bench

## Throughput benchmarks (not part of the test suite).
bench: deps bench-deps venv
	$(PY) tests/bench/run_bench.py
	$(PY) tests/bench/bench_fs_provider.py

## The plugin archive for DSS (Plugins > Add plugin > Upload), without tests.
plugin:
	@python3 -c "import json; json.load(open('plugin.json'))"
	@mkdir -p dist
	git archive --format=zip -9 -o $(ARCHIVE) HEAD
	@echo "Built $(ARCHIVE)"

## Install or update the plugin (and its code env) on the DSS instance named by
## DSS_URL and DSS_API_KEY, through tools/dss_admin.py (dataiku-api-client).
install-plugin: venv plugin
	$(PY) tools/dss_admin.py install --zip $(ARCHIVE)

## Create or update the SFTP Services presets described in FILE (secrets come from
## the environment variables the file names).
presets: venv
	@test -n "$(FILE)" || { echo "usage: make presets FILE=presets.json"; exit 2; }
	$(PY) tools/dss_admin.py presets apply $(FILE)

clean:
	rm -rf $(VENV) $(VENV36) $(VENV313) dist
