# The README's two commands: `make demo` and `make test`. `make bench` prints the benchmark tables.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
BUILD := .build
COLL := $(BUILD)/collections/ansible_collections/proxlb/balancer
export ANSIBLE_COLLECTIONS_PATH := $(CURDIR)/$(BUILD)/collections
export PATH := $(CURDIR)/$(VENV)/bin:$(PATH)

.PHONY: demo test unit sanity lint molecule bench venv clean

venv: $(VENV)/.installed $(COLL)

$(VENV)/.installed: requirements.txt requirements-dev.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --disable-pip-version-check -r requirements-dev.txt
	touch $@

# Ansible finds the collection by its name: link the checkout into a collections path (nothing copied).
$(COLL):
	mkdir -p $(dir $(COLL))
	ln -sfn $(CURDIR) $(COLL)

demo: venv
	$(PY) tools/demo.py

# pytest runs last so that its summary line closes the output.
test: venv sanity lint molecule unit

unit: venv
	$(PY) -m pytest -q -p no:cacheprovider tests/unit tests/integration

# ansible-test runs on exactly what ships: the built collection, unpacked under ansible_collections/ in a
# temporary directory outside this git checkout (inside it, git would hide the ignored copy from ansible-test).
sanity: venv
	$(PY) tools/install_get_pip_shim.py
	rm -rf $(BUILD)/dist && mkdir -p $(BUILD)/dist
	$(VENV)/bin/ansible-galaxy collection build --force --output-path $(BUILD)/dist . >/dev/null
	dir=$$(mktemp -d)/ansible_collections/proxlb/balancer && mkdir -p $$dir && \
	  tar -xzf $(BUILD)/dist/proxlb-balancer-*.tar.gz -C $$dir && cd $$dir && \
	  $(CURDIR)/$(VENV)/bin/ansible-test sanity --python 3.11 --color no; \
	  status=$$?; rm -rf $$dir; exit $$status

# molecule installs a built copy of the collection user-wide; a stale one would shadow this checkout
STALE_COPY := $(HOME)/.ansible/collections/ansible_collections/proxlb/balancer

lint: venv
	rm -rf $(STALE_COPY)
	$(VENV)/bin/ansible-lint --offline -q

molecule: venv
	@if [ -d extensions/molecule/default ]; then $(VENV)/bin/molecule test -s default; fi
	@if [ -d extensions/molecule/maintenance ]; then $(VENV)/bin/molecule test -s maintenance; fi
	rm -rf $(STALE_COPY)

bench: venv
	@for b in benchmarks/bench_*.py; do echo "== $$b"; $(PY) $$b || exit 1; done

clean:
	rm -rf $(BUILD) .pytest_cache .hypothesis
