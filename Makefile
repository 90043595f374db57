# Set-up and test entry points. Both targets build .venv from scratch when it
# is missing, so a fresh clone needs nothing but Python 3.11+ and make.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: demo test install clean

$(BIN)/python:
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' || \
	  { echo "zoom-etl needs Python 3.11 or newer; set PYTHON=python3.11 or similar" >&2; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: $(BIN)/python pyproject.toml
	$(BIN)/python -m pip install --quiet -e '.[test]'
	@touch $@

install: $(VENV)/.installed

demo: install
	$(BIN)/zoom-etl demo

test: install
	$(BIN)/python -m pytest

clean:
	rm -rf $(VENV) *.egg-info zoom-demo.db zoom-demo.db-wal zoom-demo.db-shm
