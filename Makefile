# Telerad Workstation: the two commands a newcomer needs are `make run` and `make test`.
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.telerad-installed
APT_PACKAGES := xvfb libxcb-icccm4 libxcb-keysyms1 libxcb-cursor0 libxkbcommon-x11-0 libegl1 libgl1 \
	orthanc orthanc-dicomweb dcmtk dicom3tools poppler-utils libnss3-tools libopenjp2-tools \
	binutils file zstd icu-devtools gcc rsyslog rsyslog-gnutls postgresql iproute2

.PHONY: run test test-core test-fuzz test-gui lint-imports system-deps venv bench lock clean

run: $(STAMP)  ## Launch the workstation (cache in the user data dir; demo studies on first run)
	$(VENV)/bin/telerad $(ARGS) run

venv: $(STAMP)

$(STAMP): pyproject.toml constraints.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -c constraints.txt -e '.[test]'
	touch $(STAMP)

system-deps:  ## Install (as root) or list the Debian packages the tests need
	@bash packaging/system-deps.sh $(APT_PACKAGES)

test: system-deps $(STAMP) lint-imports test-core test-fuzz test-gui test-package  ## Install everything and run the whole suite

lint-imports: $(STAMP)
	$(VENV)/bin/lint-imports

test-core: $(STAMP)  ## Core tests in a process where PySide6 and vtk cannot be imported
	$(PY) -m pytest -p no:pytest-qt -p tests.block_gui tests/core $(PYTEST_ARGS)

test-fuzz: $(STAMP)  ## Mutation-fuzz gate over the shared data (seeded, ~1 min), core mode like test-core
	$(PY) -m pytest -p no:pytest-qt -p tests.block_gui tests/fuzz $(PYTEST_ARGS)

test-gui: $(STAMP)  ## GUI tests (pytest-qt, private Xvfb started by tests/gui/conftest.py)
	$(PY) -m pytest tests/gui $(PYTEST_ARGS)

bench: $(STAMP)  ## All benchmarks (loading/decoding, 2D viewer, open-to-image and MPR-ready from the X server, MPR, network, group, encryption on/off), ratios vs references in the same run
	@status=0; for b in run worklist scale viewer open_probe mpr mpr_probe network group atrest; do echo "=== bench/$$b.py"; $(PY) bench/$$b.py || status=1; done; exit $$status

lock:  ## Refresh constraints.txt from the current venv
	$(PY) -m pip freeze --exclude-editable | grep -v '^telerad' > constraints.txt

clean:
	rm -rf $(VENV) build *.egg-info

.PHONY: package test-package
package: $(STAMP)  ## Linux installers in dist/: onedir bundle, .deb, .tar.zst, AppDir (packaging/README.md)
	$(PY) -m pip install -q -c constraints.txt -e '.[package]'
	bash packaging/build.sh dist

test-package: $(STAMP)  ## Build the .deb, install it into a temporary root, run its --selftest under Xvfb
	$(PY) -m pip install -q -c constraints.txt -e '.[package]'
	$(PY) -m pytest tests/packaging $(PYTEST_ARGS)
