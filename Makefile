# The README's two commands: `make demo` and `make test`. `make bench` prints the benchmark tables.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
BUILD := .build
COLL := $(BUILD)/collections/ansible_collections/proxlb/balancer
export ANSIBLE_COLLECTIONS_PATH := $(CURDIR)/$(BUILD)/collections
export PATH := $(CURDIR)/$(VENV)/bin:$(PATH)
# Everything the tools keep stays inside the project (.build/ is git-ignored), never in the user's home:
# Ansible's home holds ansible-playbook's temporary files and molecule's state; its collections directory
# is the one above, where the checkout is linked, so molecule uses the checkout instead of installing a
# built copy. ansible-test keeps its cached virtual environments and the get-pip shim under ~/.ansible/test
# with no setting to move them, so it runs with a home of its own.
export ANSIBLE_HOME := $(CURDIR)/$(BUILD)
# the module files of a local connection go to the "remote" temporary directory, ~/.ansible/tmp by default
export ANSIBLE_REMOTE_TMP := $(ANSIBLE_HOME)/tmp
SANITY_HOME := $(CURDIR)/$(BUILD)/sanity-home
# pytest workers: a serial run kept one CPU about 30 % busy (it waits on simulators and ansible-playbook),
# so about three workers per CPU; PYTEST_WORKERS=auto uses one per CPU
PYTEST_WORKERS ?= 6

.PHONY: demo test check-tests unit sanity lint molecule bench venv clean

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

# The stages run side by side (the machine mostly waits on subprocesses), each timed; pytest prints as it
# goes and its summary line closes the output. Logs: .build/logs/<date>-<time>-<pid>/<stage>.log.
test: venv check-tests
	$(PY) tools/run_stages.py --logs $(BUILD)/logs --live unit sanity lint molecule

# test modules that cannot fail, skips and expected failures that do not say why
check-tests: venv
	$(PY) tools/check_tests.py tests

# Parallel: every test starts its own simulators on ports the kernel picks. `--dist load --maxschedchunk 2`
# hands out tests two at a time in collection order, which tests/conftest.py sorts longest first (times of
# the last run, in .build/test-durations.json). pytest.ini adds one line per skip, expected failure and
# unexpected pass, with its reason, at the end.
unit: venv
	$(PY) -m pytest -q -n $(PYTEST_WORKERS) --dist load --maxschedchunk 2 tests/unit tests/integration

# ansible-test runs on exactly what ships: the built collection, unpacked under ansible_collections/ in a
# temporary directory outside this git checkout (inside it, git would hide the ignored copy from ansible-test).
sanity: venv
	HOME=$(SANITY_HOME) $(PY) tools/install_get_pip_shim.py
	rm -rf $(BUILD)/dist && mkdir -p $(BUILD)/dist
	$(VENV)/bin/ansible-galaxy collection build --force --output-path $(BUILD)/dist . >/dev/null
	dir=$$(mktemp -d)/ansible_collections/proxlb/balancer && mkdir -p $$dir && \
	  tar -xzf $(BUILD)/dist/proxlb-balancer-*.tar.gz -C $$dir && cd $$dir && \
	  HOME=$(SANITY_HOME) $(CURDIR)/$(VENV)/bin/ansible-test sanity --python 3.11 --color no; \
	  status=$$?; rm -rf $${dir%/ansible_collections/proxlb/balancer}; exit $$status

lint: venv
	$(VENV)/bin/ansible-lint --offline -q

molecule: venv
	@if [ -d extensions/molecule/default ]; then $(VENV)/bin/molecule test -s default; fi
	@if [ -d extensions/molecule/maintenance ]; then $(VENV)/bin/molecule test -s maintenance; fi

bench: venv
	@for b in benchmarks/bench_*.py; do echo "== $$b"; $(PY) $$b || exit 1; done

clean:
	rm -rf $(BUILD) .pytest_cache .hypothesis
