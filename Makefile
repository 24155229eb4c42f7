# Atlas CPTS: the two commands of the README.
#   make run   set everything up and start the dashboard on the embedded default
#   make test  set everything up and run the whole test suite (what CI runs)
# Both are idempotent: the virtual environment, the dependencies and the data
# build are redone only when missing or stale.

PYTHON ?= $(shell command -v python3.11 2>/dev/null || command -v python3)
VENV := .venv
PY := $(VENV)/bin/python
PORT ?= 8501
STAMP_RUN := $(VENV)/.deps-run.stamp
STAMP_DEV := $(VENV)/.deps-dev.stamp

.PHONY: run test data setup setup-dev browser pdf lint typecheck pytest bench clean

run: setup data pdf
	$(VENV)/bin/streamlit run app.py --server.port $(PORT)

test: setup-dev data browser pdf lint typecheck pytest

$(PY):
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python 3.11 or newer is required (found " + sys.version.split()[0] + "); set PYTHON=/path/to/python3.11")'
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --disable-pip-version-check -q --upgrade pip

# The project folder goes on the environment's path (a .pth file), so that notebooks
# and scripts run from any folder import diagnosis and coverage.
$(STAMP_RUN): requirements.txt | $(PY)
	$(PY) -m pip install --disable-pip-version-check -q -r requirements.txt
	$(PY) -c 'import pathlib, site; pathlib.Path(site.getsitepackages()[0], "atlas_cpts.pth").write_text(str(pathlib.Path.cwd()) + "\n")'
	touch $@

$(STAMP_DEV): requirements.txt requirements-dev.txt | $(PY)
	$(PY) -m pip install --disable-pip-version-check -q -r requirements-dev.txt
	$(PY) -c 'import pathlib, site; pathlib.Path(site.getsitepackages()[0], "atlas_cpts.pth").write_text(str(pathlib.Path.cwd()) + "\n")'
	touch $@ $(STAMP_RUN)

setup: $(STAMP_RUN)

setup-dev: $(STAMP_DEV)

# The data build: offline from the pinned packages once downloaded; skipped when up to date.
data: setup
	$(PY) -m diagnosis build-data --if-stale

# Debian's Chromium for the browser tests; elsewhere the tests are skipped with their reason.
browser:
	@bash scripts/ensure-chromium.sh

# Debian's Pango and DejaVu fonts for the PDF fiches (WeasyPrint); elsewhere the dashboard
# offers the HTML fiche only and the PDF tests are skipped with their reason.
pdf:
	@bash scripts/ensure-pdf.sh

lint: setup-dev
	$(VENV)/bin/ruff check .

typecheck: setup-dev
	$(VENV)/bin/mypy

# The registry tests run on SQLite and on a private PostgreSQL cluster that
# scripts/with-postgres.sh installs (Debian's postgresql, where it can), starts on a free
# local port and stops at the end; without it, the PostgreSQL variants are skipped with
# their reason.
pytest: setup-dev data
	ATLAS_REQUIRE_REFERENTIAL=1 bash scripts/with-postgres.sh $(PY) -m pytest

# The fast lane for the developer's loop (about two minutes on 2 cores): the library,
# CLI and registry tests on SQLite; no browser, no AppTest matrix (tests/app), no test
# marked slow. `make test` runs everything, as CI does.
fast: setup-dev data
	$(PY) -m pytest -q -m "not browser and not slow" --ignore=tests/app

bench: setup-dev data browser
	$(PY) benchmarks/referential.py
	$(PY) benchmarks/perimeter_import.py
	$(PY) benchmarks/diagnosis.py
	$(PY) benchmarks/access.py
	$(PY) benchmarks/care_loaders.py
	$(PY) benchmarks/whatif.py
	$(PY) benchmarks/hardening.py
	$(PY) benchmarks/dashboard.py --only region
	$(PY) benchmarks/dashboard.py --only interactions
	$(PY) benchmarks/dashboard.py --only france
	$(PY) benchmarks/dashboard.py --only national
	bash scripts/with-postgres.sh $(PY) benchmarks/registry.py

clean:
	rm -rf $(VENV) data/cache static/vendor
