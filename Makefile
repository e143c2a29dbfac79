# rewardkit: `make demo` runs the main job on the embedded default, `make test` runs the tests.
# Both create ./.venv first. GPU users: install your own torch into .venv, then `make setup TORCH=`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
ARCH := $(shell uname -m)
ifeq ($(ARCH),aarch64)
TORCH ?= torch==2.9.1 torchvision==0.24.1
else
TORCH ?= torch==2.14.1 torchvision==0.29.1
endif

.PHONY: setup demo test test-fast lint format clean browser

setup: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(if $(strip $(TORCH)),$(BIN)/python -m pip install --quiet $(TORCH))
	$(BIN)/python -m pip install --quiet -e '.[dev,trl,serve,ray]'
	touch $@

demo: setup
	$(BIN)/rewardkit score examples/toy/captions.jsonl --preset toy -o runs/demo/toy.scores.jsonl

test: setup browser
	$(BIN)/python -m pytest -m "slow or not slow"

# The leaderboard test renders the page in headless Chromium; install it where apt can (root).
browser:
	@command -v chromium >/dev/null 2>&1 || { [ "$$(id -u)" = 0 ] && (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null) || echo "Chromium not installed: the browser test will say why it skipped"; }

test-fast: setup
	$(BIN)/python -m pytest

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: setup
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .ruff_cache
