# `make train` and `make test` set up .venv on first use.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

$(BIN)/activate: pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -qq --upgrade pip
	$(BIN)/pip install -qq -c constraints.txt -e '.[all,test]'
	touch $(BIN)/activate

.PHONY: setup bench-setup train test test-fast lint bench mutation clean
setup: $(BIN)/activate

bench-setup: setup
	$(BIN)/pip install -qq -c constraints.txt -e '.[all,test,bench]'

train: setup
	$(BIN)/python train.py $(ARGS)

lint: setup
	$(BIN)/ruff check .

test: lint
	$(BIN)/python -m pytest $(ARGS)

# The fast tier, to run while working: every test but those marked slow.
test-fast: lint
	$(BIN)/python -m pytest -m "not slow" $(ARGS)

bench: bench-setup
	$(BIN)/python bench/compare.py $(ARGS)

# Mutation testing ([tool.mutmut] in pyproject.toml); `mutmut results` lists the survivors.
# ARGS picks mutants by name, e.g. ARGS='"jaxgan.losses*"'.
mutation: setup
	$(BIN)/pip install -qq -c constraints.txt -e '.[mutation]'
	$(BIN)/mutmut run --max-children 2 $(ARGS)

clean:
	rm -rf $(VENV) runs mutants
