# make demo: set up and run the main job on the embedded default data.
# make test: set up and run the tests.
# make check: the fast tests only (not marked slow), in under 30 s.
# make fuzz: the hostile-input property tests with FUZZ_EXAMPLES examples each, fresh seeds.
# make docs: the documentation site, built strictly into site/.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
export DOTIFY_HOME ?= $(CURDIR)/.dotify

FUZZ_EXAMPLES ?= 2000

.PHONY: demo test check fuzz bench lint docs clean

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -e '.[dev,spark]'
	@touch $(STAMP)

demo: $(STAMP)
	$(BIN)/dotify demo

test: $(STAMP)
	$(BIN)/python -m pytest -q $(PYTEST_ARGS)

check: $(STAMP)
	$(BIN)/python -m pytest -q -m "not slow" $(PYTEST_ARGS)

fuzz: $(STAMP)
	DOTIFY_FUZZ_EXAMPLES=$(FUZZ_EXAMPLES) $(BIN)/python -m pytest -q -m fuzz \
		--hypothesis-show-statistics $(PYTEST_ARGS)

bench: $(STAMP)
	@for script in bench/bench_*.py; do echo "== $$script"; $(BIN)/python $$script || exit 1; done

docs: $(STAMP)
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict

lint: $(STAMP)
	$(BIN)/ruff check src tests bench scripts
	$(BIN)/mypy src

clean:
	rm -rf $(VENV) .dotify build site *.egg-info
