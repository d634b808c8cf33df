"""The engine against the simulator in real PVE's answer shapes (issue 16, docs/pve-answers.md):
``crs`` as an object, ``WARNINGS: n`` exit statuses, timestamped task logs, and a task history longer than
``/cluster/tasks`` shows."""

import pytest

from ansible_collections.proxlb.balancer.plugins.module_utils.common.errors import ApiError
from ansible_collections.proxlb.balancer.plugins.module_utils.entry import runner
from ansible_collections.proxlb.balancer.plugins.module_utils.facts import history
from ansible_collections.proxlb.balancer.plugins.module_utils.entry.migrate import run_migrate

from helpers import GIB, connection, make_plan, placements, scenario

THREE = [("pve1", "9.1.2", 64), ("pve2", "9.1.2", 64), ("pve3", "9.1.2", 64)]


def with_crs(doc, crs):
    doc["cluster"]["crs"] = crs
    return doc


def result_of(result, vmid):
    return next(r for r in result["results"]["results"] if r["vmid"] == vmid)


def test_ha_guests_skip_leaves_ha_guests_to_pve_auto_rebalance(simulator):
    # PVE answers crs as an object ({"ha": "static", "ha-auto-rebalance": 1}); only the big guests are HA
    guests = [(101, "qemu", "pve1", "running", 12), (102, "qemu", "pve1", "running", 12),
              (103, "qemu", "pve1", "running", 12), (110, "qemu", "pve1", "running", 1),
              (111, "qemu", "pve1", "running", 1)]
    ha = [{"sid": "vm:%d" % v, "state": "started"} for v in (101, 102, 103)]
    sim = simulator(with_crs(scenario(THREE, guests, ha_resources=ha), {"ha": "static", "auto_rebalance": True}),
                    clock=0)
    assert sim.proxmox().cluster.options.get()["crs"] == {"ha": "static", "ha-auto-rebalance": 1}
    facts = runner.run_facts(connection(sim))
    assert facts["snapshot"]["cluster"]["crs"]["auto_rebalance"] is True
    skipped = runner.run_plan(connection(sim))["plan"]
    assert not {m["vmid"] for m in skipped["moves"]} & {101, 102, 103}
    # the same cluster with ha_guests: include does move an HA guest, so the hold above is what kept them
    included = runner.run_plan(connection(sim, ha_guests="include"))["plan"]
    assert {m["vmid"] for m in included["moves"]} & {101, 102, 103}


def test_a_migration_ending_with_warnings_is_done_and_carries_them(simulator):
    sim = simulator(scenario(THREE, [(101, "qemu", "pve1", "running", 2)]), clock=30)
    sim.admin("POST", "faults", warn_vmid=101, warnings=1, message="mirror-scsi1: bandwidth limit reached")
    result = run_migrate(connection(sim, plan=make_plan((1, 101, "pve1", "pve2")), poll_interval=0.5), environ={})
    entry = result_of(result, 101)
    assert entry["status"] == "done", entry
    assert entry["warnings"] == ["mirror-scsi1: bandwidth limit reached"]
    assert placements(sim)[101] == "pve2"
    (task,) = [t for t in sim.admin("GET", "tasks")["tasks"] if t["type"] == "qmigrate"]
    assert task["exitstatus"] == "WARNINGS: 1"


def test_a_failed_migration_says_why(simulator):
    sim = simulator(scenario(THREE, [(101, "qemu", "pve1", "running", 2)]), clock=30)
    sim.admin("POST", "faults", fail_vmid=101, exitstatus="migration aborted",
              message="Can't connect to destination address using public key authentication")
    result = run_migrate(connection(sim, plan=make_plan((1, 101, "pve1", "pve2")), poll_interval=0.5,
                                    fail_task=False), environ={})
    entry = result_of(result, 101)
    assert entry["status"] == "failed"
    # the log line is '<timestamp> ERROR: migration aborted (duration ..): <cause>'; the error keeps the cause
    assert entry["error"].endswith("'migration aborted': Can't connect to destination address using public "
                                   "key authentication"), entry["error"]
    assert placements(sim)[101] == "pve1"


def test_cooldown_sees_a_move_older_than_the_nodes_25_newest_tasks(simulator):
    guests = [(101, "qemu", "pve1", "stopped", 1)] + [(300 + i, "qemu", "pve1", "stopped", 1) for i in range(26)]
    sim = simulator(scenario(THREE, guests), clock=0)
    api = sim.proxmox()
    first = api.nodes("pve1").qemu(101).migrate.post(target="pve2")
    sim.admin("POST", "clock", seconds=60)
    for vmid in range(300, 326):
        api.nodes("pve1").qemu(vmid).migrate.post(target="pve3")
        sim.admin("POST", "clock", seconds=30)
    # /cluster/tasks keeps only the 25 newest tasks of pve1: the move of 101 is gone from it
    assert first not in {t["upid"] for t in api.cluster.tasks.get()}
    snapshot, _behaviour, _warnings, _client = runner.snapshot_for(connection(sim, cooldown="2h"))
    assert 101 in [e["vmid"] for e in snapshot["recent_migrations"]]
    held = history.held_guests(snapshot, {"cooldown": "2h"})
    assert held[101].startswith("cooldown")
    calls = sim.admin("GET", "requests")["by_endpoint"]
    assert calls.get("GET /cluster/tasks") == 1 and calls.get("GET /nodes/{node}/tasks") == 3  # 1 is the assert's


def test_unreadable_ha_rules_stop_the_collection_after_retries(simulator):
    sim = simulator(scenario(THREE, [(101, "qemu", "pve1", "running", 2)],
                             ha_resources=[{"sid": "vm:101", "state": "started"}]), clock=0)
    sim.admin("POST", "faults", http_status=503, count=2, path="/cluster/ha/rules", message="busy")
    facts = runner.run_facts(connection(sim))     # two 503s, then an answer: retried, not dropped
    assert facts["snapshot"]["ha_rules"] == []
    sim.admin("POST", "faults", http_status=503, count=10, path="/cluster/ha/rules", message="busy")
    with pytest.raises(ApiError) as err:
        runner.run_facts(connection(sim))
    assert "HA rules not readable" in str(err.value) and "3 attempt(s)" in str(err.value)
    assert "\n" not in str(err.value)


def test_a_step_that_needs_freed_room_runs_while_resources_still_lag(simulator):
    # /cluster/resources reports node usage from RRD samples (PVE: every 10 s). Here the lag is longer than
    # the whole run: pve2 looks full there until the end, yet the executor must count the guest that left
    # at its target as soon as its task ends, not wait for (or trust) the lagging node usage
    nodes = [("pve1", "9.1.2", 64), ("pve2", "9.1.2", 16), ("pve3", "9.1.2", 64)]
    sim = simulator(scenario(nodes, [(101, "qemu", "pve2", "running", 12), (102, "qemu", "pve1", "running", 12)],
                             rrd_interval=3600, start_time=999_997_300), clock=30)  # 100 s past a sample
    two_steps = make_plan((1, 101, "pve2", "pve3"), (2, 102, "pve1", "pve2"))
    result = run_migrate(connection(sim, plan=two_steps, poll_interval=0.5), environ={})
    assert [result_of(result, v)["status"] for v in (101, 102)] == ["done", "done"], result["results"]
    assert placements(sim) == {101: "pve3", 102: "pve2"}
    lagging = next(n for n in sim.proxmox().cluster.resources.get(type="node") if n["node"] == "pve2")
    assert lagging["mem"] == 13 * GIB  # still the sample from before both moves
