# TinyTorch Classroom: every entry point. Each target sets up what it needs.
#   make grade MODULE=01                 grade your module 01 (creates .venv on first use)
#   make grade MODULE=01 SUBMISSION=solutions   grade another tree (instructors)
#   make test                            the template's own test suite
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
MODULE ?= 01
SUBMISSION ?=
FROM ?=
M ?=
SUBMISSION_FLAG := $(if $(SUBMISSION),--submission $(SUBMISSION),)
FROM_FLAG := $(if $(FROM),--from $(FROM),)

.PHONY: venv grade test starter package unlock sync check-config lint clean help reseed

help:
	@sed -n '1,5p' Makefile | sed 's/^# \{0,1\}//'

venv: $(STAMP)

# The virtual environment: pinned dependencies from pyproject.toml, and a .pth file so
# that `import tinytorch` (this repository's package) works from notebooks anywhere.
$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python 3.11 or newer is needed; set PYTHON=python3.11")'
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	@$(PYTHON) -c 'import tomllib; d = tomllib.load(open("pyproject.toml", "rb")); print("\n".join(d["project"]["dependencies"] + d["project"]["optional-dependencies"]["dev"]))' > $(VENV)/requirements.txt
	@echo "Installing pinned dependencies into $(VENV) (first run only) ..."
	@$(PY) -m pip install --quiet --disable-pip-version-check -r $(VENV)/requirements.txt
	@$(PY) -c 'import site, pathlib; pathlib.Path(site.getsitepackages()[0], "tinytorch-classroom.pth").write_text(str(pathlib.Path.cwd()) + "\n")'
	@touch $(STAMP)

grade: $(STAMP)
	@$(PY) -m grader grade --module $(MODULE) $(SUBMISSION_FLAG)

test: $(STAMP)
	$(PY) -m ruff check .
	$(PY) -m pytest -q

starter: $(STAMP)
	$(PY) -m grader starter

package: $(STAMP)
	$(PY) -m grader package

unlock: $(STAMP)
	$(PY) -m grader unlock --verbose
	$(PY) -m grader package

sync: $(STAMP)
	$(PY) -m grader sync --module $(MODULE) $(FROM_FLAG)

# Maintainers only: make assignments/ and tinytorch/ pristine copies of the starter again.
# It deletes work in assignments/, so it asks for CONFIRM=yes.
reseed: $(STAMP)
	@test "$(CONFIRM)" = yes || { echo "reseed deletes assignments/; run: make reseed CONFIRM=yes"; exit 1; }
	rm -rf assignments tinytorch
	$(PY) -m grader unlock
	$(PY) -m grader package

check-config: $(STAMP)
	$(PY) -m grader check-config

lint: $(STAMP)
	$(PY) -m ruff check .

clean:
	rm -rf $(VENV) .grades .pytest_cache dist
