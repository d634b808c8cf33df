"""Planner invariants on random small clusters (hypothesis): no hard-rule violation left unreported, hard
capacity after every step, each guest at most once, determinism, and a second plan on the planned
placement moves nothing when the first reached its goal."""

from hypothesis import HealthCheck, given, settings, strategies as st

from ansible_collections.proxlb.balancer.plugins.module_utils.common import config
from ansible_collections.proxlb.balancer.plugins.module_utils.plan.planner import plan
from ansible_collections.proxlb.balancer.plugins.module_utils.facts.snapshot import normalize

from helpers import plan_invariants

GIB = 1024 ** 3


@st.composite
def clusters(draw):
    node_count = draw(st.integers(2, 5))
    names = ["pve%d" % i for i in range(1, node_count + 1)]
    sizes = dict((n, draw(st.sampled_from([32, 64, 128]))) for n in names)
    used = dict((n, 2 * GIB) for n in names)
    guests = []
    for i in range(draw(st.integers(1, 24))):
        node = draw(st.sampled_from(names))
        gib = draw(st.sampled_from([1, 2, 4, 8]))
        if used[node] + gib * GIB > sizes[node] * GIB * 0.9:
            continue
        running = draw(st.booleans()) or gib > 2
        used[node] += gib * GIB if running else 0
        guests.append({"vmid": 100 + i, "type": draw(st.sampled_from(["qemu", "qemu", "lxc"])),
                       "node": node, "maxmem": gib * GIB, "mem": gib * GIB if running else 0,
                       "status": "running" if running else "stopped", "maxcpu": 2, "cpu": 0.1,
                       "lock": draw(st.sampled_from(["", "", "", "", "backup"]))})
    nodes = [{"node": n, "maxcpu": 16, "maxmem": sizes[n] * GIB, "mem": used[n], "cpu": 0.05} for n in names]
    vmids = [g["vmid"] for g in guests]
    rules = []
    if len(vmids) >= 2:
        pair = draw(st.lists(st.sampled_from(vmids), min_size=2, max_size=3, unique=True))
        rules.append({"id": "anti", "kind": "anti_affinity", "guests": pair})
        rest = [v for v in vmids if v not in pair]
        if len(rest) >= 2:
            group = draw(st.lists(st.sampled_from(rest), min_size=2, max_size=3, unique=True))
            rules.append({"id": "aff", "kind": "affinity", "guests": group})
        pinned = draw(st.sampled_from(vmids))
        rules.append({"id": "pin", "kind": "pin", "strict": True, "guests": [pinned],
                      "nodes": draw(st.lists(st.sampled_from(names), min_size=1, max_size=2, unique=True))})
    options = {"balancing": {"balanciness": draw(st.sampled_from([5, 10, 20])),
                             "mode": draw(st.sampled_from(["used", "assigned"]))}}
    if node_count > 2 and draw(st.booleans()):
        options["proxmox_cluster"] = {"maintenance_nodes": [names[-1]]}
    return normalize({"nodes": nodes, "guests": guests}), options, rules


def _check(snap, options, rules):
    result = plan(snap, options, rules=rules)
    return result, plan_invariants(snap, options, rules, result)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(clusters())
def test_plan_invariants(case):
    snap, options, rules = case
    result, after = _check(snap, options, rules)
    assert plan(snap, options, rules=rules) == result
    goal = result["metrics"]["after"]
    balanciness = config.behaviour(options)["balancing"]["balanciness"]
    if not result["unsatisfiable"] and goal["on_drain_nodes"] == 0 and goal["weighted_spread"] <= balanciness:
        again, _ = _check(after, options, rules)
        assert again["moves"] == [], again["moves"]


@settings(max_examples=30, deadline=None)
@given(clusters(), st.integers(0, 3))
def test_max_migrations_is_a_budget(case, budget):
    snap, options, rules = case
    options = dict(options, balancing=dict(options["balancing"], max_migrations=budget))
    result, _after = _check(snap, options, rules)
    assert len(result["moves"]) <= budget
