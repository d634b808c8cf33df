"""Helpers shared by the test modules (import them from here; never import one test module from another).

tests/conftest.py holds the fixtures (``simulator``, ``sim_small``, ...); tests/integration/ansible_run.py
runs ansible-playbook. This module holds the rest:

- ``scenario()``, ``make_plan()``, ``params()``: small simulator clusters, hand-written plans and
  ``run_migrate`` parameters for them;
- ``placements()``, ``migrations()``, ``statuses()``: what a simulator or a result says afterwards;
- ``wait_until()``: the one polling loop, which fails with a message when time runs out;
- ``plan_invariants()``: what every plan must keep, checked the same way by every planner test.
"""

import json
import os
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DATA = os.path.join(ROOT, "tests", "data")
GIB = 1024 ** 3


# ---------------------------------------------------------------------- simulator clusters and plans
def scenario(nodes, guests, storages=(), ha_resources=(), **sim):
    """A cluster: nodes [(name, pve_version, maxmem GiB)], guests [(vmid, type, node, status, mem GiB)].

    Every node uses 1 GiB besides its running guests; ``sim`` goes into the scenario's ``simulator`` block
    (``migration_overhead`` is 2 seconds unless given)."""
    node_docs = [{"node": n, "pve_version": v, "status": "online", "maxcpu": 32, "cpu": 0.1, "maxmem": m * GIB,
                  "mem": GIB + sum(g[4] for g in guests if g[2] == n and g[3] == "running") * GIB,
                  "maxdisk": 100 * GIB, "disk": 10 * GIB} for n, v, m in nodes]
    guest_docs = [{"vmid": vmid, "type": kind, "name": "g%d" % vmid, "node": node, "status": status,
                   "maxcpu": 2, "cpu": 0.2, "maxmem": mem * GIB, "mem": mem * GIB, "maxdisk": 10 * GIB}
                  for vmid, kind, node, status, mem in guests]
    return {"schema": "proxlb.balancer/snapshot/1", "cluster": {"name": "t"}, "nodes": node_docs,
            "guests": guest_docs, "storages": list(storages), "ha_resources": list(ha_resources),
            "simulator": dict({"migration_overhead": 2}, **sim)}


def make_plan(*moves, fingerprint="sha256:test"):
    """A plan document from (step, vmid, source, target) tuples."""
    return {"schema": "proxlb.balancer/plan/1", "fingerprint": fingerprint,
            "moves": [{"step": step, "vmid": vmid, "name": "g%d" % vmid, "source": s, "target": t,
                       "reason": "test", "gain": 1.0, "cost": 1.0} for step, vmid, s, t in moves]}


def connection(sim, **extra):
    """Module parameters that connect to a simulator fixture with its token, verifying TLS with its CA."""
    base = dict(api_host=[sim.api_host], api_user=sim.user, api_token_id=sim.token_id.split("!", 1)[1],
                api_token_secret=sim.token_secret, ca_path=sim.ca_path)
    base.update(extra)
    return base


def params(sim, **extra):
    """``run_migrate`` parameters for a simulator fixture: its connection and the shortest poll interval the
    modules accept (0.5 s; the simulator's clock makes a migration take a few polls)."""
    return connection(sim, **dict({"poll_interval": 0.5}, **extra))


# ---------------------------------------------------------------------- reading results back
def placements(sim):
    """vmid -> node, read back over the PVE API (/cluster/resources)."""
    return dict((g["vmid"], g["node"]) for g in sim.proxmox().cluster.resources.get(type="vm"))


def migrations(sim):
    """The simulator's migration tasks (qmigrate and vzmigrate), in the order they were started."""
    return [t for t in sim.admin("GET", "/tasks")["tasks"] if t["type"] in ("qmigrate", "vzmigrate")]


def statuses(result):
    """vmid -> status from a ``run_migrate`` result."""
    return dict((r["vmid"], r["status"]) for r in result["results"]["results"])


def load_json(*parts):
    """A JSON file, the path given relative to the repository root."""
    with open(os.path.join(ROOT, *parts)) as handle:
        return json.load(handle)


# ---------------------------------------------------------------------- polling
def wait_until(predicate, what, timeout=30.0, interval=0.05):
    """Call ``predicate()`` until it returns something true and return that; fail naming ``what`` (what was
    awaited) and the last value seen when ``timeout`` seconds of wall time pass first.

    Wall time only bounds how long a broken test hangs: a test must not depend on how fast it passes."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise AssertionError("timed out after %.0f s waiting for %s (last value: %r)" % (timeout, what, value))
        time.sleep(interval)


# ---------------------------------------------------------------------- planner invariants
def placement_view(snapshot, options, rules):
    """The placement core's view of a cluster (usable nodes, anti-affinity limits with pins counted): the
    one place they are defined, so a test counts them as the planner does."""
    from ansible_collections.proxlb.balancer.plugins.module_utils.common import config
    from ansible_collections.proxlb.balancer.plugins.module_utils.placement.state import PlacementState
    from ansible_collections.proxlb.balancer.plugins.module_utils.rules.build import rules_for
    behaviour = config.behaviour(options)
    full, _warnings = rules_for(snapshot, behaviour, rules)
    return PlacementState(snapshot, behaviour, full)


def plan_invariants(snapshot, options, rules, result):
    """Assert what any plan keeps (DESIGN.md, "The planner") and return the planned snapshot:
    each guest moves at most once, hard capacity holds after every step, and every hard rule the planned
    placement still breaks is reported in ``unsatisfiable``."""
    from ansible_collections.proxlb.balancer.plugins.module_utils.common import config
    from ansible_collections.proxlb.balancer.plugins.module_utils.placement import objective
    from ansible_collections.proxlb.balancer.plugins.module_utils.placement.capacity import step_violations
    from ansible_collections.proxlb.balancer.plugins.module_utils.plan.planner import apply, plan_summary

    behaviour = config.behaviour(options)
    moved = [m["vmid"] for m in result["moves"] if m.get("kind") != "park"]   # a park step is the one exception
    assert len(moved) == len(set(moved)), "a guest moved twice: %s" % plan_summary(result)
    assert step_violations(snapshot, behaviour, result["moves"]) == []
    after = apply(snapshot, result)
    where = dict((g["vmid"], g["node"]) for g in after["guests"])
    reported = set(u["rule"] for u in result["unsatisfiable"])
    view = placement_view(snapshot, options, rules)
    hard = [r for r in rules if r["kind"] != "affinity" or r["id"] in view.rules.affinity_rules]
    for broken in objective.violations(where, hard, set(n["node"] for n in snapshot["nodes"]),
                                       len(view.node_sets.targets), view.rules.anti_limit):
        assert broken["rule"] in reported, (broken, result["unsatisfiable"])
    return after


# ---------------------------------------------------------------------- browser screenshots of reports
def chromium():
    """The headless browser the report tests use, or None (those tests skip, saying so)."""
    import shutil
    return shutil.which("chromium") or shutil.which("chromium-browser")


def screenshot(html_text, directory, name, size="1000,1600"):
    """Render ``html_text`` in headless chromium; returns (width, height, rows of RGB tuples)."""
    import subprocess
    page = os.path.join(str(directory), name + ".html")
    png = os.path.join(str(directory), name + ".png")
    with open(page, "w") as handle:
        handle.write(html_text)
    subprocess.run([chromium(), "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
                    "--force-device-scale-factor=1", "--window-size=%s" % size, "--screenshot=%s" % png,
                    "file://%s" % page], capture_output=True, timeout=120, check=False,
                   env=dict(os.environ, HOME=str(directory)))
    assert os.path.exists(png), "chromium wrote no screenshot"
    return read_png(png)


def read_png(path):
    """(width, height, rows of RGB tuples) from an 8-bit RGB/RGBA non-interlaced PNG, as chromium writes."""
    import struct
    import zlib
    with open(path, "rb") as handle:
        data = handle.read()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, idat, width, height, colour = 8, b"", 0, 0, 2
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + length]
        if kind == b"IHDR":
            width, height, depth, colour, _c, _f, interlace = struct.unpack(">IIBBBBB", body)
            assert depth == 8 and colour in (2, 6) and interlace == 0
        elif kind == b"IDAT":
            idat += body
        pos += 12 + length
    channels = 3 if colour == 2 else 4
    raw = zlib.decompress(idat)
    stride = width * channels
    rows, previous = [], bytearray(stride)
    for y in range(height):
        kind = raw[y * (stride + 1)]
        line = bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        for i in range(stride):
            left = line[i - channels] if i >= channels else 0
            up = previous[i]
            corner = previous[i - channels] if i >= channels else 0
            if kind == 1:
                line[i] = (line[i] + left) & 0xFF
            elif kind == 2:
                line[i] = (line[i] + up) & 0xFF
            elif kind == 3:
                line[i] = (line[i] + ((left + up) >> 1)) & 0xFF
            elif kind == 4:
                p = left + up - corner
                pa, pb, pc = abs(p - left), abs(p - up), abs(p - corner)
                line[i] = (line[i] + (left if pa <= pb and pa <= pc else up if pb <= pc else corner)) & 0xFF
        rows.append([tuple(line[x * channels:x * channels + 3]) for x in range(width)])
        previous = line
    return width, height, rows


def colour_pixels(rows, hex_colour, tolerance=6):
    """How many pixels of a screenshot have ``hex_colour`` (within ``tolerance`` per channel)."""
    want = tuple(int(hex_colour[i:i + 2], 16) for i in (1, 3, 5))
    return sum(1 for row in rows for px in row if all(abs(a - b) <= tolerance for a, b in zip(px, want)))


# ---------------------------------------------------------------------- processes and journals
def journal_events(path):
    """The journal's complete lines (a line torn by the kill is left out)."""
    if not path.exists():
        return []
    out = []
    for line in path.read_text().splitlines():
        try:
            out.append(json.loads(line))
        except ValueError:
            pass
    return out


def process_tree(pid):
    """``pid`` and every process below it, read from /proc (Ansible's workers leave the session with setsid,
    so killing the process group would miss the one running the action plugin)."""
    parents = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % entry) as handle:
                fields = handle.read().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue   # ended meanwhile
        parents.setdefault(int(fields[1]), []).append(int(entry))
    tree, todo = [], [pid]
    while todo:
        current = todo.pop()
        tree.append(current)
        todo.extend(parents.get(current, []))
    return tree
