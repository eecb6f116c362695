# Two commands on a fresh machine: `make run` serves the site, `make test` passes the tests.
PYTHON_BIN ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-$(shell cat requirements.txt requirements-nodeps.txt | sha256sum | cut -c1-12)
SCREENING_STAMP := $(VENV)/.screening-$(shell sha256sum requirements-screening.txt | cut -c1-12)
HOST ?= 127.0.0.1
PORT ?= 8000
CHROMIUM ?= /usr/bin/chromium

.PHONY: install install-screening run test lint browser migrate clean

$(STAMP): requirements.txt requirements-nodeps.txt
	$(PYTHON_BIN) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --upgrade pip
	$(VENV)/bin/pip install --quiet -r requirements.txt
	$(VENV)/bin/pip install --quiet --no-deps -r requirements-nodeps.txt
	rm -f $(VENV)/.installed-*
	touch $(STAMP)

install: $(STAMP)

# The optional nudity screening (AGPL-3.0 model; see README, Moderation). The tests use it.
$(SCREENING_STAMP): requirements-screening.txt $(STAMP)
	$(VENV)/bin/pip install --quiet -r requirements-screening.txt
	rm -f $(VENV)/.screening-*
	touch $(SCREENING_STAMP)

install-screening: $(SCREENING_STAMP)

migrate: install
	$(PY) manage.py migrate --noinput
	$(PY) manage.py sync_labels

run: migrate
	$(PY) manage.py collectstatic --noinput --verbosity 0
	$(PY) manage.py serve --host $(HOST) --port $(PORT)

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(PY) manage.py makemigrations --check --dry-run

# Debian's Chromium drives the end-to-end tests (Playwright cannot download its own browser here).
browser:
	@if [ -x "$(CHROMIUM)" ]; then :; \
	elif [ "$$(id -u)" = "0" ] && command -v apt-get >/dev/null; then \
		echo "Installing Debian's Chromium for the browser tests"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	else echo "Chromium not found at $(CHROMIUM): browser tests will be skipped (apt-get install chromium)."; fi

# The browser tests run in their own pytest process: Playwright's event loop needs
# DJANGO_ALLOW_ASYNC_UNSAFE, which must not mask async mistakes in the other tests.
test: install install-screening browser lint
	$(VENV)/bin/pytest --ignore=tests/e2e
	$(VENV)/bin/pytest tests/e2e

clean:
	rm -rf $(VENV) staticfiles .pytest_cache .ruff_cache
