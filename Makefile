# The course's two commands (see README):
#   make lab    set everything up if needed, then open the course in JupyterLab
#   make test   set everything up if needed, then run every test (CI runs exactly this)
#   make test-full   the same, plus every student notebook executed from the top (slower)
# For instructors:
#   make solutions PROFILE=cpu   execute every solution notebook, write build/ (notebooks, HTML)
#   make notebooks               regenerate the student notebooks from solutions/
#   make record                  re-record the committed '# NBVAL_CHECK_OUTPUT' outputs
#   make nbval                   nbval's fresh-output check of those cells (executes every solution)
#   make bench                   training-step benchmarks against the reference implementations
#   make budgets                 each notebook's time against its profile budget
#   make test-gpu-dry            every solution notebook in the gpu profile's sizes, on the CPU, 2 steps

PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
PROFILE ?= cpu
PYTEST_ARGS ?=
LAB_ARGS ?=

.PHONY: lab test test-full test-gpu-dry nbval setup setup-dev browser-deps solutions notebooks record bench budgets lint clean

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip

# The student's install: the course package and JupyterLab (what `make lab` needs).
$(VENV)/.installed: pyproject.toml | $(PY)
	$(PY) -m pip install -q -e ".[lab]"
	$(PY) -m ipykernel install --sys-prefix --name python3 --display-name "Python 3 (coursekit)" > /dev/null
	touch $@

# Tests and instructor tooling on top (nbgrader, nbval, papermill, offline MathJax, ...).
# (The dev extra pins ipykernel<7; reinstalling ipykernel rewrites the kernel's display name, so the
# course kernel is registered again.)
$(VENV)/.installed-dev: $(VENV)/.installed
	$(PY) -m pip install -q -e ".[lab,dev,instructor]"
	$(PY) -m ipykernel install --sys-prefix --name python3 --display-name "Python 3 (coursekit)" > /dev/null
	touch $@

setup: $(VENV)/.installed
setup-dev: $(VENV)/.installed-dev

# tools/lab.py adds --allow-root as root, opens no browser without a display
# (or with COURSEKIT_LAB_NO_BROWSER=1), takes the next free port from 8888 and prints the URL.
# and sets PYTORCH_ENABLE_MPS_FALLBACK=1 (on a Mac, operations MPS lacks run on the CPU).
# One plain command, no shell around it: a signal to the launcher reaches JupyterLab, not make.
lab: setup
	$(PY) tools/lab.py $(LAB_ARGS)

# Chromium for the browser tests, from the system's package manager (never a browser download).
browser-deps:
	@if command -v chromium > /dev/null 2>&1; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get > /dev/null 2>&1; then \
	  echo "installing Debian's chromium for the browser tests ..."; \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium > /dev/null) \
	  || echo "could not install chromium: the browser tests will be skipped"; \
	else echo "chromium not found and cannot be installed here: the browser tests will be skipped"; fi

# The gate: lint, generated notebooks in sync, unit tests and every solution notebook executed
# once (tests/notebook_gate.py), two at a time. stdin from /dev/null: CI runs with no standard
# input, and IPython cannot even be imported under pytest's capture when there is none.
PYTEST := COURSEKIT_PROFILE=smoke COURSEKIT_DEVICE=cpu $(PY) -m pytest -p no:nbval -n 2 --dist loadgroup
test: setup-dev browser-deps
	$(PY) -m ruff check coursekit tests solutions benchmarks tools
	$(PY) -m tools.authoring check
	$(PYTEST) tests -m "not full" --durations=15 $(PYTEST_ARGS) < /dev/null

# Slower and complete: the gate plus every student notebook executed from the top.
test-full: setup-dev browser-deps
	$(PYTEST) tests --durations=15 $(PYTEST_ARGS) < /dev/null

# The gpu profile's code paths on the CPU (not in `make test`: see README for its time)
test-gpu-dry: setup-dev
	$(PY) -m tools.dryrun < /dev/null

# Instructors: nbval over the solution notebooks, a fresh execution of each compared with the
# committed '# NBVAL_CHECK_OUTPUT' outputs (the gate does the same comparison inside its one run).
nbval: setup-dev
	COURSEKIT_PROFILE=smoke COURSEKIT_DEVICE=cpu COURSEKIT_OFFLINE=1 $(PY) -m pytest -p no:xdist solutions \
	  --nbval-lax --nbval-sanitize-with tests/nbval_sanitize.cfg $(PYTEST_ARGS) < /dev/null

solutions: setup-dev
	$(PY) -m tools.build --profile $(PROFILE)

notebooks: setup-dev
	$(PY) -m tools.authoring sync

record: setup-dev
	$(PY) -m tools.authoring record

bench: setup-dev
	$(PY) benchmarks/run.py $(BENCH_ARGS)

budgets: setup-dev
	$(PY) -m tools.build --budgets

lint: setup-dev
	$(PY) -m ruff check coursekit tests solutions tools
	$(PY) -m ruff format --check coursekit tests tools

clean:
	rm -rf build
