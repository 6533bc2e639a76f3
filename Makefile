# Two commands a newcomer needs: `make build` and `make test`. Each creates .venv when missing.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: build test clean serve bench chromium

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[test]'
	touch $(STAMP)

build: $(STAMP)
	$(BIN)/python build.py

test: $(STAMP) chromium
	$(BIN)/python -m pytest -q

# Build, serve on http://127.0.0.1:8000/ and reload the browser on every change.
serve: $(STAMP)
	$(BIN)/python build.py serve

# Time from a file save to the rewritten page, for the default site and 1,000 generated articles.
bench: $(STAMP)
	$(BIN)/python bench/live.py

# The live-reload browser test drives Debian's Chromium: install it where we can (root with apt-get);
# elsewhere that one test skips and says why.
chromium:
	@command -v chromium >/dev/null 2>&1 || { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1 && \
	  { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium >/dev/null; } || \
	  echo "make: chromium is not installed and cannot be installed here; the browser test will be skipped"; }

clean:
	rm -rf output .venv .pytest_cache
