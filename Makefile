# The two commands: `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
# Production-like settings for `check --deploy` (a throwaway key: only the checks read it).
DEPLOY_ENV := CARETHREAD_HTTPS=1 CARETHREAD_DEBUG=0 CARETHREAD_ALLOWED_HOSTS=carethread.example.org \
	CARETHREAD_BASE_URL=https://carethread.example.org \
	CARETHREAD_SECRET_KEY=deploy-check-$$($(PYTHON) -c 'import secrets; print(secrets.token_urlsafe(48))')

.PHONY: demo test lint typecheck security checks pytest install clean chromium

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

# The web server, the background worker (Django tasks on the database queue: email
# notifications) and a local SMTP sink (mail lands in var/mail/*.eml).
demo: $(STAMP)
	$(BIN)/carethread migrate --verbosity 0
	$(BIN)/carethread demo
	$(BIN)/carethread mailsink --port 8025 & sink=$$!; \
	$(BIN)/carethread worker & worker=$$!; \
	trap 'kill $$sink $$worker 2>/dev/null' EXIT INT TERM; \
	$(BIN)/carethread runserver 127.0.0.1:8000 --noreload

lint: $(STAMP)
	$(BIN)/ruff check carethread tests bench
	$(BIN)/ruff format --check carethread tests bench
	$(BIN)/lint-imports

typecheck: $(STAMP)
	$(BIN)/mypy carethread

# Static security scan: any high-severity finding fails the build.
security: $(STAMP)
	$(BIN)/bandit --quiet --recursive carethread --severity-level high

checks: $(STAMP)
	$(BIN)/carethread makemigrations --check --dry-run
	$(DEPLOY_ENV) $(BIN)/carethread check --deploy --fail-level WARNING

# The whole suite must cover at least COVERAGE_FLOOR % of the lines of carethread/ (95.4 % on
# SQLite when the floor was set); `.venv/bin/coverage report` lists the lines missed. A run of
# part of the suite (PYTEST_ARGS set) measures nothing.
COVERAGE_FLOOR := 94
COVERAGE_ARGS := $(if $(PYTEST_ARGS),,--cov=carethread --cov-report= --cov-fail-under=$(COVERAGE_FLOOR))

pytest: $(STAMP)
	$(BIN)/pytest $(COVERAGE_ARGS) $(PYTEST_ARGS)

# The browser tests drive Debian's Chromium at CARETHREAD_CHROMIUM (tests/e2e/conftest.py).
# Missing: installed with apt when run as root, else `make test` stops at once with the command.
CHROMIUM ?= $(or $(CARETHREAD_CHROMIUM),/usr/bin/chromium)
export CARETHREAD_CHROMIUM := $(CHROMIUM)
APT_GET ?= apt-get
chromium:
	@if [ ! -x "$(CHROMIUM)" ]; then \
	  if [ "$$(id -u)" != 0 ]; then \
	    echo "Chromium is missing ($(CHROMIUM)); the browser tests need it. Run:" >&2; \
	    echo "  sudo apt-get install -y chromium" >&2; \
	    exit 1; \
	  fi; \
	  echo "Installing Debian's chromium for the browser tests"; \
	  export DEBIAN_FRONTEND=noninteractive; \
	  $(APT_GET) update -qq && $(APT_GET) install -y -qq chromium >/dev/null; \
	fi

test: chromium lint typecheck security checks pytest

clean:
	rm -rf $(VENV) build *.egg-info
