# The course's two commands (see README):
#   make lab    set everything up if needed, then open the course in JupyterLab
#   make test   set everything up if needed, then run every test (CI runs exactly this)
# For instructors:
#   make solutions PROFILE=cpu   execute every solution notebook, write build/ (notebooks, HTML)
#   make notebooks               regenerate the student notebooks from solutions/
#   make record                  re-record the committed '# NBVAL_CHECK_OUTPUT' outputs
#   make bench                   training-step benchmarks against the reference implementations
#   make budgets                 each notebook's time against its profile budget
#   make test-gpu-dry            every solution notebook in the gpu profile's sizes, on the CPU, 2 steps

PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
PROFILE ?= cpu
PYTEST_ARGS ?=

.PHONY: lab test test-gpu-dry setup browser-deps solutions notebooks record bench budgets lint clean

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip

$(VENV)/.installed: pyproject.toml | $(PY)
	$(PY) -m pip install -q -e ".[lab,dev]"
	$(PY) -m ipykernel install --sys-prefix --name python3 --display-name "Python 3 (coursekit)" > /dev/null
	touch $@

setup: $(VENV)/.installed

# PYTORCH_ENABLE_MPS_FALLBACK: on a Mac, operations Apple's GPU lacks run on the CPU instead of failing
lab: setup
	cd notebooks && PYTORCH_ENABLE_MPS_FALLBACK=1 $(CURDIR)/$(VENV)/bin/jupyter lab 00_welcome.ipynb

# Chromium for the browser tests, from the system's package manager (never a browser download).
browser-deps:
	@if command -v chromium > /dev/null 2>&1; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get > /dev/null 2>&1; then \
	  echo "installing Debian's chromium for the browser tests ..."; \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium > /dev/null) \
	  || echo "could not install chromium: the browser tests will be skipped"; \
	else echo "chromium not found and cannot be installed here: the browser tests will be skipped"; fi

# stdin from /dev/null: CI runs with no standard input, and IPython cannot even be imported
# under pytest's capture when there is none
test: setup browser-deps
	$(PY) -m ruff check coursekit tests solutions benchmarks
	$(PY) -m coursekit.authoring check
	COURSEKIT_PROFILE=smoke COURSEKIT_DEVICE=cpu $(PY) -m pytest tests solutions --nbval-lax \
	  --nbval-sanitize-with tests/nbval_sanitize.cfg --durations=15 $(PYTEST_ARGS) < /dev/null

# The gpu profile's code paths on the CPU (not in `make test`: see README for its time)
test-gpu-dry: setup
	$(PY) -m coursekit.dryrun < /dev/null

solutions: setup
	$(PY) -m coursekit.build --profile $(PROFILE)

notebooks: setup
	$(PY) -m coursekit.authoring sync

record: setup
	$(PY) -m coursekit.authoring record

bench: setup
	$(PY) benchmarks/run.py $(BENCH_ARGS)

budgets: setup
	$(PY) -m coursekit.build --budgets

lint: setup
	$(PY) -m ruff check coursekit tests solutions
	$(PY) -m ruff format --check coursekit tests

clean:
	rm -rf build
