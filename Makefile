# Every target sets up its own virtual environment, so on a fresh machine
# `make demo` and `make test` are the only two commands needed.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-$(shell $(PYTHON) -c "import hashlib,sys;print(hashlib.md5(open('pyproject.toml','rb').read()).hexdigest()[:8])")

.PHONY: demo test test-fast lint format bench docs clean

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e ".[test]"
	rm -f $(VENV)/.installed-*
	touch $(STAMP)

demo: $(STAMP)
	$(PY) -m sklearn_rbm demo

# one pytest-xdist worker per core, one BLAS thread each (tests/conftest.py)
test: $(STAMP)
	$(PY) -m pytest -q -n auto

# the suite without the slow statistical and data-backed tests
test-fast: $(STAMP)
	$(PY) -m pytest -q -n auto -m "not slow and not data"

lint: $(STAMP)
	$(PY) -m ruff check sklearn_rbm tests benchmarks docs
	$(PY) -m ruff format --check sklearn_rbm tests benchmarks docs

format: $(STAMP)
	$(PY) -m ruff check --fix sklearn_rbm tests benchmarks docs
	$(PY) -m ruff format sklearn_rbm tests benchmarks docs

$(VENV)/.bench: $(STAMP)
	$(PY) -m pip install -q -e ".[test,bench]"
	touch $@

bench: $(VENV)/.bench
	$(PY) benchmarks/bench_bernoulli.py --quick

docs: $(STAMP)
	$(PY) -m pip install -q -e ".[test,docs]"
	$(PY) -m sphinx -W --keep-going -b html docs docs/_build/html

clean:
	rm -rf $(VENV) docs/_build docs/auto_examples build *.egg-info
