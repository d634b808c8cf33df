"""Shared fixtures: ``simulator`` starts a Proxmox VE API simulator as a real subprocess over HTTPS.

    def test_x(simulator):
        sim = simulator("small.json", clock=0)   # a file under simulator/scenarios/, a path, or a dict
        sim.proxmox().nodes.get()
        sim.admin("POST", "/_sim/clock", seconds=30)

Helpers that are not fixtures live in tests/helpers.py. Tests run in parallel (pytest-xdist, see the
Makefile): every simulator listens on a port the kernel picks and keeps its files in its own temporary
directory, and nothing a test writes goes into the checkout or the user's home (Hypothesis keeps no example
database and its files under .build/hypothesis; Ansible's home is .build/, as in the Makefile, unless
ANSIBLE_HOME says otherwise).
Where timing matters, use ``clock=0`` and advance simulated time with ``admin("POST", "clock", ...)``.
"""

import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import uuid

import pytest
from hypothesis import settings
from hypothesis.configuration import set_hypothesis_home_dir

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SCENARIOS = os.path.join(ROOT, "simulator", "scenarios")
DEFAULT_CLOCK = 30  # fast enough that migrations finish in a fraction of a second of real time

# no example database shared by parallel workers, and Hypothesis's other files (its cache of constants found
# in the source) under .build/ instead of a .hypothesis/ directory in the checkout
settings.register_profile("proxlb", database=None)
settings.load_profile("proxlb")
os.environ.setdefault("HYPOTHESIS_STORAGE_DIRECTORY", os.path.join(ROOT, ".build", "hypothesis"))
set_hypothesis_home_dir(os.environ["HYPOTHESIS_STORAGE_DIRECTORY"])
# ansible-playbook runs by the tests keep their temporary files and caches inside the project (the module
# files of a local connection go to the "remote" temporary directory, ~/.ansible/tmp by default)
os.environ.setdefault("ANSIBLE_HOME", os.path.join(ROOT, ".build"))
os.environ.setdefault("ANSIBLE_REMOTE_TMP", os.path.join(os.environ["ANSIBLE_HOME"], "tmp"))


class SimulatorProcess(object):
    """One running simulator: connection details, ``admin()`` for /_sim/ and ``proxmox()`` for proxmoxer."""

    user = "root@pam"
    token_name = "ci"

    def __init__(self, scenario, clock=DEFAULT_CLOCK, bind="127.0.0.1", extra_args=()):
        self.tmp = tempfile.mkdtemp(prefix="proxlb-sim-")
        if isinstance(scenario, dict):
            path = os.path.join(self.tmp, "scenario.json")
            with open(path, "w") as handle:
                json.dump(scenario, handle)
        elif os.path.exists(scenario):
            path = scenario
        else:
            path = os.path.join(SCENARIOS, scenario)
        self.scenario_path = path
        self.token_id = "%s!%s" % (self.user, self.token_name)
        self.token_secret = str(uuid.uuid4())
        self.password = "sim-" + uuid.uuid4().hex[:12]
        self.ca_path = os.path.join(self.tmp, "ca.pem")
        cmd = [sys.executable, "-m", "simulator", "serve", "--scenario", path, "--port", "0", "--bind", bind,
               "--token", "%s=%s" % (self.token_id, self.token_secret),
               "--password", "%s=%s" % (self.user, self.password), "--ca-out", self.ca_path]
        if clock is not None:
            cmd += ["--clock", str(clock)]
        cmd += list(extra_args)
        self.process = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                        universal_newlines=True)
        line = self._ready_line(timeout=30)
        if not line.startswith("ready https://"):
            self.stop()
            raise RuntimeError("simulator did not start: %r %s" % (line, self.process.stderr.read()[-2000:]))
        self.url = line.split()[1]
        hostport = self.url[len("https://"):]
        self.api_host = hostport
        host, _, port = hostport.rpartition(":")
        self.host = host.strip("[]")
        self.port = int(port)

    def _ready_line(self, timeout):
        box = []
        reader = threading.Thread(target=lambda: box.append(self.process.stdout.readline()), daemon=True)
        reader.start()
        reader.join(timeout)
        return (box[0] if box else "").strip()

    def admin(self, method, path, /, **data):
        """Call the admin API (``/_sim/...``; the prefix may be left out) and return its ``data``."""
        import requests
        if not path.startswith("/_sim"):
            path = "/_sim/" + path.lstrip("/")
        response = requests.request(method, self.url + path, json=data or None, verify=self.ca_path, timeout=30,
                                    headers={"Authorization": "PVEAPIToken=%s=%s" % (self.token_id,
                                                                                     self.token_secret)})
        if response.status_code != 200:
            raise RuntimeError("%s %s: %s %s" % (method, path, response.status_code, response.reason))
        return response.json()["data"]

    @property
    def down_api_host(self):
        """``host:port`` of a listener that refuses connections: a second API host that is down."""
        port = self.admin("GET", "info")["down_port"]
        return "%s:%d" % ("[%s]" % self.host if ":" in self.host else self.host, port)

    def proxmox(self, **kwargs):
        """A proxmoxer.ProxmoxAPI on this simulator with the token, verifying TLS with the CA."""
        from proxmoxer import ProxmoxAPI
        options = dict(host=self.host if ":" not in self.host else "[%s]" % self.host, port=self.port,
                       user=self.user, token_name=self.token_name, token_value=self.token_secret,
                       verify_ssl=self.ca_path, timeout=30)
        options.update(kwargs)
        return ProxmoxAPI(**options)

    def stop(self):
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        for stream in (self.process.stdout, self.process.stderr):
            if stream:
                stream.close()
        shutil.rmtree(self.tmp, ignore_errors=True)


def _factory():
    """A start function and the list of what it started (stopped by the fixture at teardown)."""
    started = []

    def start(scenario="small.json", clock=DEFAULT_CLOCK, **kwargs):
        sim = SimulatorProcess(scenario, clock=clock, **kwargs)
        started.append(sim)
        return sim
    return start, started


@pytest.fixture
def simulator():
    """Factory: ``simulator(scenario, clock=...)`` starts one; every one started is stopped at teardown."""
    start, started = _factory()
    yield start
    for sim in started:
        sim.stop()


@pytest.fixture(scope="module")
def sim_small():
    """small.json, shared by a module's tests (do not leave it changed in ways other tests would notice)."""
    sim = SimulatorProcess("small.json")
    yield sim
    sim.stop()


@pytest.fixture(scope="module")
def sim_demo():
    """demo.json with the clock stopped (advance it with ``admin("POST", "clock", seconds=...)``)."""
    sim = SimulatorProcess("demo.json", clock=0)
    yield sim
    sim.stop()


@pytest.fixture(scope="module")
def module_simulator():
    """Like ``simulator`` but shared by a module's tests: ``module_simulator("mixed-ha.json", clock=0)``."""
    start, started = _factory()
    yield start
    for sim in started:
        sim.stop()


# Longest tests first: with `--dist load --maxschedchunk 2` (see the Makefile) workers take tests about in
# collection order, so the long ones start at once and short ones fill the gaps, instead of one long test
# starting last and running alone. The order comes from the durations the last run recorded in
# .build/test-durations.json (git-ignored); tests it does not know get an estimate by module. pytest-xdist
# needs every worker to collect the same order, so the controller reads the file once and hands it over.
DURATIONS = os.path.join(ROOT, ".build", "test-durations.json")
SLOW_MODULES = ("test_readme.py", "test_operations_report.py", "test_migrate_guarantees.py", "test_rebalance.py",
                "test_fleet.py", "test_first_hour_playbooks.py", "test_hardening_role.py",
                "test_maintenance_role.py", "test_report_render.py")
_measured = {}


def _read_durations():
    try:
        with open(DURATIONS) as handle:
            known = json.load(handle)
        return dict((k, float(v)) for k, v in known.items()) if isinstance(known, dict) else {}
    except (OSError, ValueError, TypeError):
        return {}


class _HandDurationsToWorkers(object):
    """Registered only when pytest-xdist is active (its hook is unknown otherwise, e.g. with -p no:xdist)."""

    @staticmethod
    def pytest_configure_node(node):   # on the controller, for each worker it starts
        node.workerinput["proxlb_durations"] = node.config._proxlb_durations


def pytest_configure(config):
    if not hasattr(config, "workerinput"):
        config._proxlb_durations = _read_durations()
        if config.pluginmanager.hasplugin("xdist"):
            config.pluginmanager.register(_HandDurationsToWorkers(), "proxlb-durations-to-workers")


def _estimate(item):
    path = str(item.fspath)
    if os.path.basename(path) in SLOW_MODULES:
        return 30.0
    return 2.0 if os.sep + "integration" + os.sep in path else 0.1


def pytest_collection_modifyitems(session, config, items):
    known = config.workerinput.get("proxlb_durations", {}) if hasattr(config, "workerinput") \
        else getattr(config, "_proxlb_durations", {})
    items.sort(key=lambda item: -known.get(item.nodeid, _estimate(item)))   # stable for equal times


def pytest_runtest_logreport(report):
    _measured[report.nodeid] = _measured.get(report.nodeid, 0.0) + report.duration


def pytest_sessionfinish(session, exitstatus):
    if hasattr(session.config, "workerinput") or not _measured:
        return
    known = _read_durations()
    known.update(_measured)
    try:
        os.makedirs(os.path.dirname(DURATIONS), exist_ok=True)
        handle, temporary = tempfile.mkstemp(dir=os.path.dirname(DURATIONS), suffix=".json")
        with os.fdopen(handle, "w") as out:
            json.dump(known, out, indent=0, sort_keys=True)
        os.replace(temporary, DURATIONS)
    except OSError:
        pass   # only an ordering hint
