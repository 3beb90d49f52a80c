# The two commands a newcomer needs: `make demo` and `make test`. Both build .venv themselves.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
# The Blender extension's tests run in environments holding only bpy from PyPI (plus what bpy itself requires).
BPY50 := .venv-bpy50/.installed-stamp
BPY42 := .venv-bpy42/.installed-stamp

.PHONY: demo test lint proto bench clean

$(STAMP): pyproject.toml constraints/cpu-x86_64.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c constraints/cpu-x86_64.txt -e '.[dev,models]'
	# sam2 ships as source whose build asks for torch: build it against ours (no isolated
	# build env fetching another torch), without the optional CUDA extension.
	SAM2_BUILD_CUDA=0 $(BIN)/python -m pip install --quiet --no-build-isolation -c constraints/cpu-x86_64.txt 'sam2==1.1.0'
	touch $(STAMP)

$(BPY50):
	$(PYTHON) -m venv .venv-bpy50
	.venv-bpy50/bin/python -m pip install --quiet 'bpy==5.0.1'
	touch $@

$(BPY42):
	$(PYTHON) -m venv .venv-bpy42
	.venv-bpy42/bin/python -m pip install --quiet 'bpy==4.2.23' 'numpy<2'
	touch $@

demo: $(STAMP)
	$(BIN)/python -m milimo.demo

test: $(STAMP) $(BPY50) $(BPY42) lint
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
	rm -rf $(VENV) .venv-bpy50 .venv-bpy42 out dist build
