"""Planner behaviour options: modes, enable, triggers, budget, psi, precondition, movability reasons."""

import pytest

from ansible_collections.proxlb.balancer.plugins.module_utils.errors import ConfigError
from ansible_collections.proxlb.balancer.plugins.module_utils.planner import plan
from ansible_collections.proxlb.balancer.plugins.module_utils.snapshot import normalize

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


def test_max_migrations():
    assert len(plan(_snap(), {"balancing": {"balanciness": 1, "max_migrations": 1}}, rules=[])["moves"]) == 1


def test_evacuate_drains_and_spreads():
    result = plan(_snap(), {"mode": "evacuate", "evacuate_nodes": ["n1"]}, rules=[])
    assert sorted(m["vmid"] for m in result["moves"]) == list(range(100, 106))
    assert result["nodes_after"]["n2"]["guests"] == result["nodes_after"]["n3"]["guests"] == 3


def test_evacuate_needs_nodes():
    with pytest.raises(ConfigError):
        plan(_snap(), {"mode": "evacuate"}, rules=[])


def test_psi_warns_and_balances_as_used():
    result = plan(_snap(), {"balancing": {"mode": "psi", "balanciness": 5}}, rules=[])
    assert any("psi" in w for w in result["warnings"]) and result["moves"]


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
