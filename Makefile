# `make run`: set up .venv and run the default experiment. `make test`: set up and run the tests.
PYTHON ?= python3
VENV ?= .venv
VENV_FLAGS ?=
# The torch to install when the venv has none (a GPU machine gets its CUDA build from PyPI;
# set TORCH_SPEC=skip with VENV_FLAGS=--system-site-packages to use a torch you already have).
TORCH_SPEC ?= torch==2.13.0
BIN = $(VENV)/bin

.PHONY: setup run quick test clean
setup: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV_FLAGS) $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -c "import torch" 2>/dev/null || [ "$(TORCH_SPEC)" = skip ] || $(BIN)/python -m pip install -q "$(TORCH_SPEC)"
	$(BIN)/python -m pip install -q -e '.[test]'
	touch $@

run: setup
	$(BIN)/w2s run

quick: setup
	$(BIN)/w2s run --preset quick

test: setup
	HF_HUB_OFFLINE=1 $(BIN)/python -m pytest -q


clean:
	rm -rf $(VENV) runs
