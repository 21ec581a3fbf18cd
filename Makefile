# The newcomer's contract: `make run` serves the demo, `make test` runs the whole suite.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 5000
export FLASK_APP := app.py
# Links (invitations, certificates) are built from this address, never from a request's Host header;
# the app refuses to start in production without it. For `make run` it is this machine.

CATALOGS := $(wildcard judging/translations/*/LC_MESSAGES/messages.po)
COMPILED := $(CATALOGS:.po=.mo)

.PHONY: install system-packages run test test-fast lint translations extract-messages clean

install: $(VENV)/.installed system-packages $(COMPILED)

# Re-runs only when a requirements file changed; pip itself is idempotent.
$(VENV)/.installed: requirements.txt requirements-dev.txt
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements-dev.txt
	@touch $@

system-packages:
	@sh scripts/system-packages.sh

%.mo: %.po $(VENV)/.installed
	$(BIN)/pybabel compile --use-fuzzy -i $< -o $@ >/dev/null

translations: $(COMPILED)

# Refresh the catalogs after changing user-facing strings, then translate the new entries. The catalog keeps
# its header: without one Babel takes it as fuzzy, and a plain `pybabel compile` (the README's deploy) skips it.
extract-messages: $(VENV)/.installed
	$(BIN)/pybabel extract -F babel.cfg -k _l -k lazy_gettext -o judging/translations/messages.pot --no-location --sort-output --omit-header .
	$(BIN)/pybabel update -i judging/translations/messages.pot -d judging/translations --no-fuzzy-matching
	sed -i '/^"POT-Creation-Date: /d; /^"PO-Revision-Date: /d; /^"Generated-By: /d' $(CATALOGS)

# The demo's links (invitations, certificates) point at the address it is served on.
run: export PUBLIC_BASE_URL ?= http://127.0.0.1:$(PORT)
run: install
	@if [ -f instance/judging.sqlite3 ] || [ -n "$$DATABASE_URL" ]; then $(BIN)/flask init --demo; \
	 else echo "First run: creating the embedded database with demo data…"; $(BIN)/flask init --demo; fi
	@echo "Serving on http://127.0.0.1:$(PORT)  (Ctrl-C to stop)"
	$(BIN)/flask run --host 127.0.0.1 --port $(PORT)

lint: $(VENV)/.installed
	$(BIN)/ruff check .
	$(BIN)/mypy
	$(BIN)/bandit --quiet --recursive judging --severity-level medium

test: install lint
	$(BIN)/python -m pytest

test-fast: install
	$(BIN)/python -m pytest -m "not e2e and not slow"

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache $(COMPILED)
