# The two commands a newcomer needs: `make demo` and `make test`. Both build .venv themselves.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

.PHONY: demo test lint proto bench clean

$(STAMP): pyproject.toml constraints/cpu-x86_64.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c constraints/cpu-x86_64.txt -e '.[dev,models]'
	# sam2 ships as source whose build asks for torch: build it against ours (no isolated
	# build env fetching another torch), without the optional CUDA extension.
	SAM2_BUILD_CUDA=0 $(BIN)/python -m pip install --quiet --no-build-isolation -c constraints/cpu-x86_64.txt 'sam2==1.1.0'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/python -m milimo.demo

test: $(STAMP) lint
	$(BIN)/python scripts/gen_proto.py --check
	$(BIN)/python -m pytest -q

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

proto: $(STAMP)
	$(BIN)/python scripts/gen_proto.py

bench: $(STAMP)
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV) out dist build
