"""Pure parts of the maintenance engine: origin tags, the return plan (capacity, rules, maintenance), the checks
before a drain, what remains on a drained node (the reboot is tested against the simulator)."""

from hypothesis import given, settings, strategies as st

from ansible_collections.proxlb.balancer.plugins.module_utils.plan import maintenance_plan as maintenance
from ansible_collections.proxlb.balancer.plugins.module_utils.rules import origin_tags
from ansible_collections.proxlb.balancer.plugins.module_utils.placement.capacity import step_violations
from ansible_collections.proxlb.balancer.plugins.module_utils.common.config import behaviour
from ansible_collections.proxlb.balancer.plugins.module_utils.rules.build import build_rules
from ansible_collections.proxlb.balancer.plugins.module_utils.facts.snapshot import normalize

GIB = 1024 ** 3
TAG = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789_-", min_size=1, max_size=12)


def _snapshot(guests, nodes=("pve1", "pve2", "pve3"), maxmem=64, marked=(), offline=()):
    node_list = [{"node": n, "status": "offline" if n in offline else "online", "maxcpu": 16, "cpu": 0.05,
                  "maxmem": maxmem * GIB, "mem": 2 * GIB + sum(g[3] * GIB for g in guests if g[1] == n),
                  "maxdisk": 100 * GIB, "disk": 10 * GIB, "pve_version": "9.1.1"} for n in nodes]
    guest_list = [{"vmid": vmid, "type": "qemu", "name": "g%d" % vmid, "node": node, "status": "running",
                   "tags": list(tags), "maxcpu": 2, "cpu": 0.1, "maxmem": mem * GIB, "mem": mem * GIB,
                   "maxdisk": 0, "disk": 0} for vmid, node, tags, mem in guests]
    return normalize({"cluster": {"name": "t", "maintenance_nodes": list(marked)},
                      "nodes": node_list, "guests": guest_list})


def _plan(snapshot, options=None, nodes=None):
    options = behaviour(options)
    rules, _warnings = build_rules(snapshot, options)
    return maintenance.return_plan(snapshot, options, rules, nodes=nodes)


# ---------------------------------------------------------------------- tags
@settings(max_examples=60, deadline=None)
@given(st.lists(TAG, max_size=6), TAG, TAG)
def test_origin_tags_round_trip_and_keep_other_tags(tags, node, other):
    tagged = origin_tags.with_origin(tags, node)
    assert origin_tags.origin_of(tagged) == node
    assert origin_tags.with_origin(tagged, node) == tagged, "idempotent"
    retagged = origin_tags.with_origin(tagged, other)
    assert origin_tags.origin_of(retagged) == other
    assert len([t for t in retagged if t.startswith("plb_origin_")]) == 1
    plain = [t for t in tags if not t.startswith("plb_origin_")]
    assert set(plain) <= set(tagged)
    assert origin_tags.without_origin(tagged) == sorted(set(plain))
    assert origin_tags.origin_of(origin_tags.without_origin(tagged)) is None


# ---------------------------------------------------------------------- the return plan
def test_guests_go_home_and_the_steps_stay_within_capacity():
    snapshot = _snapshot([(100, "pve2", ["plb_origin_pve1"], 8), (101, "pve3", ["plb_origin_pve1", "web"], 8),
                          (102, "pve2", [], 8), (103, "pve3", ["plb_origin_pve2"], 4)])
    plan = _plan(snapshot, nodes={"pve1"})
    assert sorted((m["vmid"], m["source"], m["target"]) for m in plan["moves"]) == [
        (100, "pve2", "pve1"), (101, "pve3", "pve1")]
    assert plan["skipped"] == []
    assert step_violations(snapshot, behaviour(None), plan["moves"]) == []
    assert plan["nodes_after"]["pve1"]["guests"] == plan["nodes_before"]["pve1"]["guests"] + 2
    # every origin when no node is named
    assert sorted(m["vmid"] for m in _plan(snapshot)["moves"]) == [100, 101, 103]


def test_a_full_origin_keeps_the_guest_and_says_why():
    # pve1 holds 40 GiB of other guests: 30 more do not fit in 64
    snapshot = _snapshot([(100, "pve1", [], 40), (101, "pve2", ["plb_origin_pve1"], 30),
                          (102, "pve2", ["plb_origin_pve1"], 10)])
    plan = _plan(snapshot)
    assert [m["vmid"] for m in plan["moves"]] == [102]
    assert plan["skipped"][0]["vmid"] == 101
    assert "pve1: needs 30.0 GiB memory" in plan["skipped"][0]["reason"]


def test_an_origin_that_breaks_a_rule_is_reported_not_used():
    snapshot = _snapshot([(100, "pve1", ["plb_anti_affinity_web"], 2),
                          (101, "pve2", ["plb_anti_affinity_web", "plb_origin_pve1"], 2),
                          (102, "pve3", ["plb_pin_pve3", "plb_origin_pve1"], 2)])
    plan = _plan(snapshot)
    assert plan["moves"] == []
    reasons = dict((s["vmid"], s["reason"]) for s in plan["skipped"])
    assert "tag:plb_anti_affinity_web" in reasons[101]
    assert "plb_pin_pve3" in reasons[102]


def test_affinity_partners_with_one_origin_return_together():
    snapshot = _snapshot([(100, "pve2", ["plb_affinity_shop", "plb_origin_pve1"], 2),
                          (101, "pve2", ["plb_affinity_shop", "plb_origin_pve1"], 2)])
    plan = _plan(snapshot)
    assert sorted(m["vmid"] for m in plan["moves"]) == [100, 101]


def test_an_origin_still_in_maintenance_or_offline_is_not_used():
    snapshot = _snapshot([(100, "pve2", ["plb_origin_pve1"], 2), (101, "pve2", ["plb_origin_pve3"], 2)],
                         marked=["pve1"], offline=["pve3"])
    plan = _plan(snapshot)
    assert plan["moves"] == []
    reasons = dict((s["vmid"], s["reason"]) for s in plan["skipped"])
    assert reasons[100] == "stays on pve2: origin pve1: in maintenance (cluster marker)"
    assert reasons[101] == "stays on pve2: origin pve3: offline (status offline)"


def test_ignored_guests_stay():
    snapshot = _snapshot([(100, "pve2", ["plb_ignore", "plb_origin_pve1"], 2)])
    plan = _plan(snapshot)
    assert plan["moves"] == [] and "ignored" in plan["skipped"][0]["reason"]


@settings(max_examples=25, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["pve1", "pve2", "pve3"]), st.sampled_from(["pve1", "pve2", "pve3"]),
                          st.integers(1, 20)), min_size=1, max_size=12))
def test_return_plans_never_overfill_and_move_each_guest_home_at_most_once(entries):
    guests = [(100 + i, node, ["plb_origin_%s" % origin], mem) for i, (node, origin, mem) in enumerate(entries)]
    snapshot = _snapshot(guests, maxmem=96)
    plan = _plan(snapshot)
    assert step_violations(snapshot, behaviour(None), plan["moves"]) == []
    origin = dict((g[0], g[2][0][len("plb_origin_"):]) for g in guests)
    for move in plan["moves"]:
        assert move["target"] == origin[move["vmid"]] != move["source"]
    listed = [m["vmid"] for m in plan["moves"]] + [s["vmid"] for s in plan["skipped"]]
    assert sorted(listed) == sorted(g[0] for g in guests if g[1] != origin[g[0]])


# ---------------------------------------------------------------------- before and after a drain
def test_drain_problems_name_quorum_and_anti_affinity_room():
    snapshot = _snapshot([(100 + i, "pve%d" % (i + 1), ["plb_anti_affinity_web"], 2) for i in range(3)])
    options = behaviour(None)
    rules, _w = build_rules(snapshot, options)
    assert maintenance.drain_problems(snapshot, rules) == []
    rules, _w = build_rules(snapshot, dict(options, evacuate_nodes=["pve3"]))
    problems = maintenance.drain_problems(snapshot, rules)
    assert problems == ["anti-affinity rule tag:plb_anti_affinity_web has 3 guests but only 2 node(s) would "
                        "remain (pve1, pve2)"]
    snapshot["cluster"]["quorate"] = False
    assert "the cluster has lost quorum" in maintenance.drain_problems(snapshot, rules)


def test_remaining_marks_running_guests_not_ignored_as_blocking():
    snapshot = _snapshot([(100, "pve1", ["plb_ignore"], 2), (101, "pve1", ["plb_pin_pve1"], 2), (102, "pve1", [], 2),
                          (103, "pve2", [], 2)])
    options = behaviour(None)
    rules, _w = build_rules(snapshot, options)
    plan = {"moves": [{"vmid": 102, "target": "pve2"}], "skipped": [{"vmid": 100, "reason": "ignored (tag)"}],
            "unsatisfiable": [{"rule": "tag:plb_pin_pve1", "guests": [101], "reason": "pinned"}]}
    left = dict((g["vmid"], g) for g in maintenance.remaining(snapshot, plan, {"pve1"}, rules))
    assert sorted(left) == [100, 101, 102]
    assert not left[100]["blocking"]
    assert left[101]["blocking"] and left[101]["reason"] == "tag:plb_pin_pve1: pinned"
    assert left[102]["blocking"] and left[102]["reason"] == "to be migrated to pve2"
