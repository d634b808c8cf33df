"""The maintenance role and the rolling update through ansible-playbook against the simulator; the cluster's
state is read back through the API after each run."""

import copy
import json
import os
import re

from ansible_run import collections_path, run_playbook, save_task, saved, sim_env

ROOT = os.path.join(os.path.dirname(__file__), "..", "..")
SCENARIOS = os.path.join(ROOT, "simulator", "scenarios")
MARKER = "proxlb.balancer maintenance:"

def _scenario(name):
    with open(os.path.join(SCENARIOS, name)) as handle:
        return json.load(handle)


def _state(sim):
    """(placement {vmid: node}, tags {vmid: [tags]}, guests {vmid: guest}) as the API reports them now."""
    resources = sim.proxmox().cluster.resources.get(type="vm")
    placement = dict((int(r["vmid"]), r["node"]) for r in resources)
    tags = dict((int(r["vmid"]), sorted(t for t in (r.get("tags") or "").split(";") if t)) for r in resources)
    return placement, tags, dict((int(r["vmid"]), r) for r in resources)


def _notes(sim):
    return sim.proxmox().cluster.options.get().get("description", "")


def _recap_changed(stdout):
    return sum(int(n) for n in re.findall(r"changed=(\d+)", stdout.split("PLAY RECAP")[-1]))


def _role(tmp_path, sim, nodes, state, *args, report_dir=""):
    tasks = """
        - name: Maintenance
          ansible.builtin.include_role:
            name: proxlb.balancer.maintenance
          vars:
            maintenance_nodes: %s
            maintenance_state: %s
            maintenance_poll_interval: 0.5
            maintenance_report_dir: "%s"
        """ % (json.dumps(nodes), state, report_dir)
    return run_playbook(tmp_path, tasks, sim_env(sim), *args)


def _ok(proc):
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-3000:]


def test_drain_rerun_nightly_plan_and_return(simulator, tmp_path):
    sim = simulator("small.json")
    placement0, tags0, guests0 = _state(sim)
    on_pve1 = sorted(v for v, n in placement0.items() if n == "pve1")

    _ok(_role(tmp_path, sim, ["pve1"], "present"))
    placement, tags, guests = _state(sim)
    left = [v for v, n in placement.items() if n == "pve1" and guests[v]["status"] == "running"]
    assert left == [], "pve1 still runs %s" % left
    assert MARKER + " pve1" in _notes(sim)
    for vmid in on_pve1:
        assert "plb_origin_pve1" in tags[vmid], (vmid, tags[vmid])
        assert set(tags0[vmid]) <= set(tags[vmid]), "other tags are kept"
    assert not [v for v in placement if v not in on_pve1 and any(t.startswith("plb_origin_") for t in tags[v])]

    rerun = _role(tmp_path, sim, ["pve1"], "present")
    _ok(rerun)
    assert _recap_changed(rerun.stdout) == 0, rerun.stdout[-3000:]
    assert _state(sim)[0] == placement

    # the nightly rebalance while pve1 is marked: nothing planned onto it
    nightly = run_playbook(tmp_path, """
        - name: Nightly plan
          proxlb.balancer.proxlb_plan:
          register: nightly
        """ + save_task("nightly", tmp_path / "nightly.json"), sim_env(sim))
    _ok(nightly)
    moves = saved(tmp_path / "nightly.json")["plan"]["moves"]
    assert not [m for m in moves if m["target"] == "pve1"]

    _ok(_role(tmp_path, sim, ["pve1"], "absent"))
    placement, tags, _guests = _state(sim)
    assert placement == placement0, "every guest is back on its origin"
    assert tags == tags0, "origin tags removed, other tags kept"
    assert MARKER not in _notes(sim)

    again = _role(tmp_path, sim, ["pve1"], "absent")
    _ok(again)
    assert _recap_changed(again.stdout) == 0, again.stdout[-3000:]


def test_check_mode_shows_the_drain_plan_and_moves_nothing(simulator, tmp_path):
    sim = simulator("small.json")
    before = sim.admin("GET", "/state")
    _placement, tags0, _g = _state(sim)
    proc = _role(tmp_path, sim, ["pve1"], "present", "--check")
    _ok(proc)
    assert re.search(r"step 1: \w+ \d+ \(\S+\) pve1 -> pve[23]: evacuate: drain pve1", proc.stdout), proc.stdout[-3000:]
    assert sim.admin("GET", "/state")["fingerprint"] == before["fingerprint"]
    assert sim.admin("GET", "/tasks")["tasks"] == []
    assert _state(sim)[1] == tags0
    assert MARKER not in _notes(sim)


def test_a_pinned_guest_fails_the_drain_with_its_name_and_reason(simulator, tmp_path):
    scenario = _scenario("small.json")
    pinned = next(g for g in scenario["guests"] if g["node"] == "pve1" and g["status"] == "running")
    pinned["tags"] = ["plb_pin_pve1"]
    sim = simulator(scenario)
    proc = _role(tmp_path, sim, ["pve1"], "present", report_dir=str(tmp_path / "reports"))
    assert proc.returncode != 0
    assert "maintenance of pve1 is not complete" in proc.stdout, proc.stdout[-3000:]
    assert "%d (%s) on pve1" % (pinned["vmid"], pinned["name"]) in proc.stdout
    assert "plb_pin_pve1" in proc.stdout.split("is not complete")[1]
    placement, _tags, guests = _state(sim)
    assert [v for v, n in placement.items() if n == "pve1" and guests[v]["status"] == "running"] == [pinned["vmid"]]
    # the report of the drain is written before the failure
    report = next((tmp_path / "reports").glob("maintenance-pve1-present-*.md")).read_text()
    assert "pve1" in report


def _four_nodes(quorate=True):
    """small.json grown to four equal nodes with the guests spread round-robin (no rule in the way)."""
    scenario = _scenario("small.json")
    template = next(n for n in scenario["nodes"] if n["node"] == "pve3")
    pve4 = copy.deepcopy(template)
    pve4["node"] = "pve4"
    scenario["nodes"].append(pve4)
    for storage in [s for s in scenario.get("storages", []) if s["node"] == "pve3"]:
        scenario["storages"].append(dict(copy.deepcopy(storage), node="pve4"))
    names = ["pve1", "pve2", "pve3", "pve4"]
    for i, guest in enumerate(sorted(scenario["guests"], key=lambda g: g["vmid"])):
        guest["node"] = names[i % 4]
    for node in scenario["nodes"]:
        node["mem"] = 2 * 1024 ** 3 + sum(g.get("mem", 0) for g in scenario["guests"]
                                          if g["node"] == node["node"] and g["status"] == "running")
        node["uptime"] = 10 ** 6
    scenario["cluster"]["pve_versions"] = dict((n, scenario["nodes"][0]["pve_version"]) for n in names)
    scenario["cluster"]["quorate"] = quorate
    return scenario


def _rolling(tmp_path, sim):
    inventory = tmp_path / "hosts.yml"
    inventory.write_text(json.dumps({"proxmox": {"hosts": dict(
        (n, {"ansible_connection": "local"}) for n in ("pve1", "pve2", "pve3", "pve4"))}}))
    import subprocess
    import sys
    binary = os.path.join(os.path.dirname(sys.executable), "ansible-playbook")
    return subprocess.run([binary, "-i", str(inventory), os.path.join(ROOT, "playbooks", "rolling_update.yml"),
                           "-e", json.dumps({"rolling_poll_interval": 0.5, "rolling_reboot_timeout": 120})],
                          env=sim_env(sim), cwd=str(tmp_path), capture_output=True, text=True, timeout=600)


def test_rolling_update_reboots_every_node_once_and_brings_guests_home(simulator, tmp_path):
    sim = simulator(_four_nodes())
    placement0, tags0, _g = _state(sim)
    proc = _rolling(tmp_path, sim)
    _ok(proc)
    for node in ("pve1", "pve2", "pve3", "pve4"):
        assert proc.stdout.count("proxlb: %s: reboot requested" % node) == 1, proc.stdout[-3000:]
    nodes = sim.proxmox().nodes.get()
    assert sorted(n["node"] for n in nodes if n["status"] == "online") == ["pve1", "pve2", "pve3", "pve4"]
    assert all(n["uptime"] < 10 ** 6 for n in nodes), "every node was rebooted"
    placement, tags, _guests = _state(sim)
    assert placement == placement0
    assert tags == tags0
    assert MARKER not in _notes(sim)


def test_rolling_update_refuses_a_cluster_without_quorum(simulator, tmp_path):
    sim = simulator(_four_nodes(quorate=False))
    before = sim.admin("GET", "/state")["fingerprint"]
    proc = _rolling(tmp_path, sim)
    assert proc.returncode != 0
    assert "refusing to start" in proc.stdout, proc.stdout[-3000:]
    assert sim.admin("GET", "/state")["fingerprint"] == before
    assert all(n["status"] == "online" for n in sim.proxmox().nodes.get())


def test_module_rejects_unknown_nodes_in_one_line(simulator, tmp_path):
    sim = simulator("small.json")
    proc = run_playbook(tmp_path, """
        - name: Maintenance of a node that does not exist
          proxlb.balancer.proxlb_maintenance:
            nodes: [pve9]
        """, dict(sim_env(sim), ANSIBLE_COLLECTIONS_PATH=collections_path()))
    assert proc.returncode != 0
    assert "nodes: pve9 is not a node of this cluster (nodes: pve1, pve2, pve3)" in proc.stdout
    assert "Traceback" not in proc.stdout + proc.stderr
