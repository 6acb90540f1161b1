# Two commands: `make demo` and `make test`. Both create or reuse .venv (Python >= 3.11).
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
# Every dependency pinned to a tested release: `make lock` refreshes it (the ranges in pyproject.toml stay loose).
LOCK   := requirements-lock.txt

.PHONY: demo test install benchmark clean lab reference-model lock

$(STAMP): pyproject.toml $(LOCK)
	@$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), "latentexplorer needs Python >= 3.11"'
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip uv
	$(BIN)/uv pip install --quiet --compile-bytecode --python $(BIN)/python -c $(LOCK) -e '.[test]'
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(BIN)/latentexplorer demo $(DEMO_ARGS)

lab: $(STAMP)
	$(BIN)/latentexplorer lab $(LAB_ARGS)

test: $(STAMP)
	$(BIN)/python -m pytest $(PYTEST_ARGS)

# Regenerates latentexplorer/data/reference_model (about ten minutes on two cores; resumable).
REFERENCE_WORKDIR ?= build/reference-model
reference-model: $(STAMP)
	$(BIN)/latentexplorer reference-model --workdir $(REFERENCE_WORKDIR) $(REFERENCE_ARGS)

lock:
	test -x $(BIN)/uv || { $(PYTHON) -m venv $(VENV) && $(BIN)/python -m pip install --quiet --upgrade pip uv; }
	$(BIN)/uv pip compile pyproject.toml --extra test --python-version 3.11 --upgrade --quiet -o $(LOCK)

benchmark: $(STAMP)
	$(BIN)/python -m benchmarks $(BENCH_ARGS)

clean:
	rm -rf $(VENV) build *.egg-info
