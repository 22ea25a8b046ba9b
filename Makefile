# `make train` and `make test` set up .venv on first use.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

$(BIN)/activate: pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -qq --upgrade pip
	$(BIN)/pip install -qq -c constraints.txt -e '.[test]'
	touch $(BIN)/activate

.PHONY: setup bench-setup train test bench clean
setup: $(BIN)/activate

bench-setup: setup
	$(BIN)/pip install -qq -c constraints.txt -e '.[test,bench]'

train: setup
	$(BIN)/python train.py $(ARGS)

test: setup
	$(BIN)/python -m pytest $(ARGS)

bench: bench-setup
	$(BIN)/python bench/compare.py $(ARGS)

clean:
	rm -rf $(VENV) runs
