"""Planner behaviour options: modes, enable, triggers, budget, psi, precondition, movability reasons."""

import pytest

from ansible_collections.proxlb.balancer.plugins.module_utils.common.errors import PlanError

from ansible_collections.proxlb.balancer.plugins.module_utils.common import config
from ansible_collections.proxlb.balancer.plugins.module_utils.common.errors import ConfigError
from ansible_collections.proxlb.balancer.plugins.module_utils.plan.planner import plan
from ansible_collections.proxlb.balancer.plugins.module_utils.facts.snapshot import normalize

GIB = 1024 ** 3


def _snap(**guest_extra):
    guests = [{"vmid": 100 + i, "type": "qemu", "node": "n1", "maxmem": 4 * GIB, "mem": 4 * GIB}
              for i in range(6)]
    guests[0].update(guest_extra)
    return normalize({
        "nodes": [{"node": "n1", "maxcpu": 8, "maxmem": 64 * GIB, "mem": 26 * GIB},
                  {"node": "n2", "maxcpu": 8, "maxmem": 64 * GIB, "mem": 2 * GIB},
                  {"node": "n3", "maxcpu": 8, "maxmem": 64 * GIB, "mem": 2 * GIB}],
        "guests": guests})


def test_balance_moves_and_reasons():
    result = plan(_snap(), {"balancing": {"balanciness": 5}}, rules=[])
    assert result["moves"]
    assert all(m["reason"].startswith("balance: memory spread") for m in result["moves"])
    assert result["metrics"]["after"]["weighted_spread"] < result["metrics"]["before"]["weighted_spread"]


def test_enable_false_and_enforce_mode_make_only_mandatory_moves():
    assert plan(_snap(), {"balancing": {"enable": False}}, rules=[])["moves"] == []
    assert plan(_snap(), {"mode": "enforce"}, rules=[])["moves"] == []


def test_memory_threshold_not_reached_means_no_balance():
    assert plan(_snap(), {"balancing": {"memory_threshold": 75, "balanciness": 5}}, rules=[])["moves"] == []


def test_cpu_and_disk_thresholds_trigger_like_memory_threshold():
    """n1 uses 40 % of its memory; its cpu is 87.5 % busy (7 of 8 cores), its disk 20 %. A threshold that no
    node reaches holds balance back; one that a node reaches lets it run; with several, any one triggers."""
    snap = _snap()
    snap["nodes"][0]["cpu"] = 7.0 / 8
    for node, disk in zip(snap["nodes"], (20, 5, 5)):
        node["maxdisk"], node["disk"] = 100 * GIB, disk * GIB
    base = {"balanciness": 5}
    assert plan(snap, {"balancing": dict(base, cpu_threshold=90)}, rules=[])["moves"] == []
    assert plan(snap, {"balancing": dict(base, cpu_threshold=80)}, rules=[])["moves"]
    assert plan(snap, {"balancing": dict(base, disk_threshold=50)}, rules=[])["moves"] == []
    assert plan(snap, {"balancing": dict(base, disk_threshold=15)}, rules=[])["moves"]
    assert plan(snap, {"balancing": dict(base, memory_threshold=75, cpu_threshold=80)}, rules=[])["moves"]
    with pytest.raises(ConfigError, match="balancing.cpu_threshold: must be at most 100"):
        config.validate_behaviour({"balancing": {"cpu_threshold": 120}})


def test_max_migrations():
    assert len(plan(_snap(), {"balancing": {"balanciness": 1, "max_migrations": 1}}, rules=[])["moves"]) == 1


def test_evacuate_drains_and_spreads():
    result = plan(_snap(), {"mode": "evacuate", "evacuate_nodes": ["n1"]}, rules=[])
    assert sorted(m["vmid"] for m in result["moves"]) == list(range(100, 106))
    assert result["nodes_after"]["n2"]["guests"] == result["nodes_after"]["n3"]["guests"] == 3


def test_evacuate_needs_nodes():
    with pytest.raises(ConfigError):
        plan(_snap(), {"mode": "evacuate"}, rules=[])


def _psi_case(name):
    import json
    import pathlib
    doc = json.loads((pathlib.Path(__file__).resolve().parents[1] / "scenarios" / name).read_text())
    return doc["snapshot"], doc["options"]


def test_psi_moves_at_most_one_guest_off_the_pressured_node():
    snapshot, options = _psi_case("psi_one_pressured_node.json")
    result = plan(snapshot, options)
    assert len(result["moves"]) == 1
    move = result["moves"][0]
    assert move["source"] == "pve1" and move["target"] != "pve1"
    assert move["reason"].startswith("psi:")
    assert len(plan(snapshot, dict(options, psi_max_moves=2))["moves"]) == 2


def test_psi_on_pve8_is_a_clear_error():
    snapshot, options = _psi_case("psi_pve8.json")
    with pytest.raises(PlanError, match="needs Proxmox VE 9"):
        plan(snapshot, options)


def test_cooldown_keeps_a_just_moved_guest_in_place():
    snap = _snap()
    free = plan(snap, {"balancing": {"balanciness": 5}}, rules=[])
    assert free["moves"]
    held_vmid = free["moves"][0]["vmid"]
    import time
    snap["recent_migrations"] = [{"vmid": held_vmid, "node": "n1", "endtime": int(time.time()) - 60}]
    held = plan(snap, {"balancing": {"balanciness": 5}, "cooldown": "1h"}, rules=[])
    assert held_vmid not in [m["vmid"] for m in held["moves"]]
    assert any(s["vmid"] == held_vmid and "cooldown" in s["reason"] for s in held["skipped"])


@pytest.mark.parametrize("extra,reason", [
    ({"template": True}, "template"), ({"lock": "backup"}, "locked"),
    ({"local_resources": ["hostpci0"]}, "local resources"),
])
def test_immovable_guests_are_skipped_with_reason(extra, reason):
    result = plan(_snap(**extra), {"balancing": {"balanciness": 1}}, rules=[])
    assert 100 not in [m["vmid"] for m in result["moves"]]
    assert any(s["vmid"] == 100 and reason in s["reason"] for s in result["skipped"])


def test_precondition_refusal_excludes_target_and_is_recorded():
    asked = []

    def precondition(guest, target):
        asked.append((guest["vmid"], target))
        return "local CD-ROM image attached" if target == "n2" else None

    result = plan(_snap(), {"balancing": {"balanciness": 5}}, rules=[], precondition=precondition)
    assert all(m["target"] != "n2" for m in result["moves"])
    assert len(set(asked)) == len(asked)  # asked lazily, once per (guest, node)
    assert any("precondition" in s["reason"] for s in result["skipped"]) or any(
        "precondition" in w for w in result["warnings"])


def test_unknown_mode_is_a_config_error():
    with pytest.raises(ConfigError):
        plan(_snap(), {"mode": "chaos"}, rules=[])


def test_ha_guests_are_left_to_pve_auto_rebalance():
    snap = _snap()
    snap["cluster"]["crs"] = {"ha": "dynamic", "auto_rebalance": True}
    for guest in snap["guests"]:
        guest["hastate"] = "started"
    result = plan(snap, {"balancing": {"balanciness": 5}}, rules=[])
    assert result["moves"] == []
    assert all("auto" in s["reason"].lower() or "crs" in s["reason"].lower() for s in result["skipped"])
    included = plan(snap, {"balancing": {"balanciness": 5}, "ha_guests": "include"}, rules=[])
    assert included["moves"]
