# The two commands: `make demo` and `make test`. Both install what is missing first (idempotent).
SHELL := /bin/bash
VENV ?= .venv
PY := $(VENV)/bin/python
# systemd: its systemd-analyze checks the units `aedfleet deploy` writes (a container lacks it);
# fonts-wqy-microhei: Chinese in the monthly report; poppler-utils: its tests read the PDF back;
# postgresql: the high-availability alert store and lease (docs/ha.md), its tests' server, and
# the libpq5 that psycopg loads
DEBIAN_PACKAGES := mosquitto mosquitto-clients influxdb systemd fonts-wqy-microhei poppler-utils \
	postgresql
# what each Debian package installs (a command, or the font file), so a second run knows there
# is nothing to install
DEBIAN_COMMANDS := /usr/sbin/mosquitto /usr/bin/mosquitto_sub /usr/bin/influxd \
	/usr/bin/systemd-analyze /usr/share/fonts/truetype/wqy/wqy-microhei.ttc /usr/bin/pdftoppm \
	/usr/lib/postgresql/15/bin/postgres
INSTALLED := $(VENV)/.installed

LOCK := requirements.lock

.PHONY: demo test lint setup debian clean lock

demo: setup
	$(VENV)/bin/aedfleet demo

# Four workers for the tests that mostly wait on brokers, databases and the firmware (they used
# about a third of two cores), the few busy files in two lanes so at most two run at once
# (tests/support/lanes.py); then, alone, the ones that measure whether the machine keeps up
# (marked serial: the simulated fleet, a loaded event loop), so a neighbour's load cannot make
# their verdicts inconclusive.
test: setup lint
	$(VENV)/bin/pytest -n 4 --dist loadfile -m "not serial"
	$(VENV)/bin/pytest -m serial

lint: setup
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy

setup: debian $(INSTALLED)

debian:
	@for cmd in $(DEBIAN_COMMANDS); do [ -e $$cmd ] || missing=1; done; \
	if [ -n "$$missing" ]; then \
		echo "installing Debian packages: $(DEBIAN_PACKAGES)"; \
		export DEBIAN_FRONTEND=noninteractive; \
		apt-get update -qq && apt-get install -y -qq --no-install-recommends $(DEBIAN_PACKAGES); \
	fi

# Exactly the lock (hash-checked, nothing resolved at install time), then the project itself
# with --no-deps; reinstalled only when the lock or the project's metadata change.
$(INSTALLED): $(LOCK) pyproject.toml
	[ -x $(PY) ] || python3 -m venv $(VENV)
	$(PY) -m pip install -q --disable-pip-version-check --require-hashes --no-deps -r $(LOCK)
	$(PY) -m pip install -q --disable-pip-version-check --no-deps --no-build-isolation -e .
	touch $@

# The lock after a change to pyproject (runtime and dev dependencies, with hashes): what is
# locked stays at its version unless pyproject's range excludes it. `make lock UPGRADE=--upgrade`
# moves everything to the newest in range, on purpose and with a full test run.
lock: $(INSTALLED)
	$(VENV)/bin/uv pip compile pyproject.toml --extra dev --generate-hashes $(UPGRADE) \
		--python-version 3.11 --python-platform x86_64-unknown-linux-gnu -o $(LOCK)

clean:
	rm -rf $(VENV) .run .pytest_cache .mypy_cache .ruff_cache
