# Parley: the two commands are `make run` (the chat on http://127.0.0.1:8000,
# nothing else needed) and `make test` (everything, as CI runs it).

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
PY     := $(BIN)/python
PIP    := $(PY) -m pip --disable-pip-version-check -q
HOST   ?= 127.0.0.1
PORT   ?= 8000

.DEFAULT_GOAL := help
.PHONY: help run up test faults loadtest lint format lock system-deps tools clean

help: ## Show the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-12s %s\n", $$1, $$2}'

$(VENV)/.base: requirements/base.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) install -r requirements/base.txt
	touch $@

$(VENV)/.test: $(VENV)/.base requirements/test.txt
	$(PIP) install -r requirements/test.txt
	touch $@

$(VENV)/.blueprint: $(VENV)/.test requirements/blueprint.txt
	$(PIP) install -r requirements/blueprint.txt
	touch $@

run: $(VENV)/.base ## Serve the whole chat on http://$(HOST):$(PORT) (SQLite, in-process layer and worker)
	DJANGO_SETTINGS_MODULE=app.config.settings.local $(PY) manage.py migrate --noinput
	DJANGO_SETTINGS_MODULE=app.config.settings.local $(BIN)/python -m app.ops.interface_server --bind $(HOST) --port $(PORT) app.config.asgi:application

up: $(VENV)/.test system-deps ## The split topology via honcho: 2 interface servers, web, 2 workers, real Redis + Postgres
	$(PY) scripts/services.py run -- $(PY) scripts/up.py

system-deps: ## Install redis-server, postgresql and chromium from Debian where missing (root)
	bash scripts/system-deps.sh

tools: $(VENV)/.blueprint ## helm and kubectl binaries into .venv/bin
	$(PY) scripts/install_helm.py $(BIN)

lint: $(VENV)/.test ## ruff lint + format check
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(VENV)/.test ## Apply ruff's fixes and formatting
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

test: system-deps lint tools ## Everything, against throwaway Redis + Postgres unless REDIS_URL/DATABASE_URL are set
	$(PY) scripts/services.py run -- $(PY) -m pytest $(PYTEST_ARGS)

faults: system-deps $(VENV)/.test ## The fault suite, long forms (Postgres down 90 s), with its table
	PARLEY_FAULT_OUTAGE_SECONDS=90 $(PY) scripts/services.py run -- \
	  $(PY) -m pytest -m fault -s -p no:cacheprovider tests/integration $(PYTEST_ARGS)

# make loadtest: Locust users, users started per second, run time, where the reports go.
# WS_HOST: the interface servers' ws(s):// bases, comma-separated, when not at URL itself;
# LOADTEST_ARGS: any other Locust option (--processes 4, --parley-v1, --rooms 20, ...).
USERS        ?= 100
SPAWN_RATE   ?= 20
RUN_TIME     ?= 1m
LOADTEST_OUT ?= .run/loadtest

loadtest: $(VENV)/.test ## Locust, headless, against a running Parley: make loadtest URL=http://host:port
	@test -n "$(URL)" || { echo "usage: make loadtest URL=http(s)://host[:port] [USERS=$(USERS)] [SPAWN_RATE=$(SPAWN_RATE)] [RUN_TIME=$(RUN_TIME)] [WS_HOST=ws://...,ws://...] [LOADTEST_ARGS=...]"; exit 2; }
	mkdir -p $(LOADTEST_OUT)
	$(BIN)/locust -f loadtest/locustfile.py --headless --only-summary \
	  -u $(USERS) -r $(SPAWN_RATE) -t $(RUN_TIME) --host $(URL) $(if $(WS_HOST),--ws-host $(WS_HOST)) \
	  --csv $(LOADTEST_OUT)/run --html $(LOADTEST_OUT)/report.html $(LOADTEST_ARGS)

lock: ## Re-lock requirements/*.txt from requirements/*.in (universal: every platform, Python 3.11+)
	$(PIP) install uv
	cd requirements && for f in base test blueprint; do \
	  ../$(BIN)/uv pip compile --quiet --universal --python-version 3.11 --no-header $$f.in -o $$f.txt; done

clean: ## Remove the virtualenv and build outputs
	rm -rf $(VENV) staticfiles .pytest_cache .ruff_cache .run
