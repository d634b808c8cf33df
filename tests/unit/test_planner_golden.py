"""Golden planner scenarios (tests/scenarios/plan_*.json): what must hold after the plan, not frozen moves.

Each file holds a snapshot, options, optional explicit rules (absent: rules.build_rules reads the tags)
and ``expect``. Every scenario also checks the invariants any plan must keep."""

import glob
import json
import os

import pytest

from ansible_collections.proxlb.balancer.plugins.module_utils.common import config
from ansible_collections.proxlb.balancer.plugins.module_utils.placement.capacity import Capacity
from ansible_collections.proxlb.balancer.plugins.module_utils.rules import build as rules_mod
from ansible_collections.proxlb.balancer.plugins.module_utils.plan.planner import apply, plan, plan_summary
from ansible_collections.proxlb.balancer.plugins.module_utils.facts.snapshot import normalize

from helpers import plan_invariants

HERE = os.path.dirname(os.path.abspath(__file__))
SCENARIOS = sorted(glob.glob(os.path.join(HERE, "..", "scenarios", "plan_*.json")))


def _load(path):
    with open(path) as handle:
        return json.load(handle)


def _rules(scenario, snap):
    if "rules" in scenario:
        return scenario["rules"]
    return rules_mod.build_rules(snap, config.behaviour(scenario.get("options")))[0]


@pytest.mark.parametrize("path", SCENARIOS, ids=[os.path.basename(p)[:-5] for p in SCENARIOS])
def test_scenario(path):
    scenario = _load(path)
    snap = normalize(scenario["snapshot"])
    rules = _rules(scenario, snap)
    result = plan(snap, scenario.get("options"), rules=rules)
    expect = scenario["expect"]
    after = plan_invariants(snap, scenario.get("options"), rules, result)   # those of every plan
    where = dict((g["vmid"], g["node"]) for g in after["guests"])
    moved = [m["vmid"] for m in result["moves"]]
    reported = set(u["rule"] for u in result["unsatisfiable"])
    again = plan(snap, scenario.get("options"), rules=rules)
    assert dict(again, created=None) == dict(result, created=None), "not deterministic"
    assert plan_summary(result)
    second = plan(apply(snap, result), scenario.get("options"), rules=rules)
    assert second["moves"] == [], "not a fixed point: %s" % plan_summary(second)
    _expect_more(expect, snap, scenario.get("options"), result, after)

    if "min_moves" in expect:
        assert len(moved) >= expect["min_moves"]
    if "max_moves" in expect:
        assert len(moved) <= expect["max_moves"], plan_summary(result)
    for resource, bound in expect.get("max_spread", {}).items():
        assert result["metrics"]["after"]["spread"][resource] <= bound, plan_summary(result)
    if "max_guests_per_node" in expect:
        assert max(n["guests"] for n in result["nodes_after"].values()) <= expect["max_guests_per_node"]
    for vmid, nodes in expect.get("placements", {}).items():
        assert where[int(vmid)] in nodes, plan_summary(result)
    for group in expect.get("same_node", []):
        assert len(set(where[v] for v in group)) == 1, plan_summary(result)
    for members, most in expect.get("max_members_per_node", []):
        counts = {}
        for vmid in members:
            counts[where[vmid]] = counts.get(where[vmid], 0) + 1
        assert max(counts.values()) <= most, plan_summary(result)
    for vmid in expect.get("unmoved", []):
        assert vmid not in moved
    if "unsatisfiable_rules" in expect:
        assert sorted(reported) == sorted(expect["unsatisfiable_rules"]), result["unsatisfiable"]
    for vmid in expect.get("skipped_vmids", []):
        assert vmid in [s["vmid"] for s in result["skipped"]], result["skipped"]
    for vmid in expect.get("unsatisfiable_guests", []):
        assert any(vmid in u["guests"] for u in result["unsatisfiable"]), result["unsatisfiable"]


def test_the_demo_cluster_converges_in_one_rebalance():
    """Issue #15: the bundled demo cluster used to move 12 guests, stop at 19.7 pp with a false warning,
    and move 4 more (app1 pve1 -> pve2 -> pve1) on the next run. Now one run reaches balance, and the
    next moves nothing."""
    with open(os.path.join(HERE, "..", "..", "simulator", "scenarios", "demo.json")) as handle:
        doc = json.load(handle)
    doc.pop("simulator", None)
    snap = normalize(doc)
    first = plan(snap, {})
    assert first["metrics"]["after"]["weighted_spread"] <= config.behaviour({})["balancing"]["balanciness"]
    assert not any("balance stops" in w for w in first["warnings"]), first["warnings"]
    assert plan(apply(snap, first), {})["moves"] == []
    moved = [m["vmid"] for m in first["moves"]]
    assert len(moved) == len(set(moved))


def test_scenarios_exist():
    assert len(SCENARIOS) >= 6


def _expect_more(expect, snap, options, result, after):
    """The expectations of the make-room, park, overrun, weights and tie scenarios (issue #15)."""
    reasons = [m["reason"] for m in result["moves"]]
    for text in expect.get("reason_contains", []):
        assert any(text in r for r in reasons), plan_summary(result)
    parked = [m["vmid"] for m in result["moves"] if m.get("kind") == "park"]
    if "park_vmids" in expect:
        assert parked == expect["park_vmids"], plan_summary(result)
    for text in expect.get("unsatisfiable_reason_contains", []):
        assert any(text in u["reason"] for u in result["unsatisfiable"]), result["unsatisfiable"]
        assert all(u["causes"] for u in result["unsatisfiable"] if text in u["reason"]), result["unsatisfiable"]
    if expect.get("no_overruns"):
        assert Capacity(snap, config.behaviour(options)).overruns(), "the scenario should start overrun"
        assert Capacity(after, config.behaviour(options)).overruns() == [], plan_summary(result)
    if "max_weighted_spread" in expect:
        assert result["metrics"]["after"]["weighted_spread"] <= expect["max_weighted_spread"], plan_summary(result)
