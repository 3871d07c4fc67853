# Set-up and the everyday commands. `make demo` and `make test` each do the whole
# set-up on a fresh machine first (a virtual environment in .venv).

VENV ?= .venv
PYTHON ?= python3
BIN := $(VENV)/bin
# The matching torch/torchvision pair; on the project's CPU machines pip takes it from
# local disk. On a GPU machine any matching pair works (TORCH_PAIR="torch torchvision").
TORCH_PAIR ?= torch==2.14.1 torchvision==0.29.1

.PHONY: setup system-deps demo test lint format clean

setup: $(BIN)/.installed

$(BIN)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet $(TORCH_PAIR)
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@

# PostgreSQL and Chromium for the service, report and web-page tests (apt, if missing).
system-deps:
	bash scripts/install-system-deps.sh

demo: setup
	$(BIN)/lingshu demo

test: setup system-deps
	$(BIN)/python -m pytest -q

# Import cycles among the project's packages (function-level imports too): exit 1 on any.
lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/python -m scripts.import_cycles

format: setup
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .mypy_cache .ruff_cache
