# The two commands: `make demo` and `make test`. Both install what they need.
SHELL := /bin/bash
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: demo test lint system-packages clean

$(STAMP): pyproject.toml
	python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test]'
	touch $(STAMP)

system-packages:
	@bash scripts/install-system-packages.sh

demo: system-packages $(STAMP)
	$(PY) -m mailbot.demo

# Two worker processes, each given whole test files (--dist loadfile): a file's module and session fixtures
# and cached reports are then built once, in one worker. Each worker has its own basetemp and servers.
test: system-packages $(STAMP)
	MAILBOT_REQUIRE_SERVERS=$${MAILBOT_REQUIRE_SERVERS:-1} $(VENV)/bin/pytest -q -n 2 --dist loadfile

lint: $(STAMP)
	$(VENV)/bin/ruff check mailbot tests benchmarks

clean:
	rm -rf $(VENV) var/demo

# The wheel to install on a server (docs/deploy.md), with the shipped policies, rules and templates inside.
.PHONY: wheel
wheel: $(STAMP)
	$(PY) -m pip wheel . --no-deps --no-build-isolation --wheel-dir dist
