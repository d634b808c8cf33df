"""Planner invariants on random small clusters (hypothesis): no hard-rule violation left unreported, hard
capacity and anti-affinity after every step, each guest at most once (a park step aside), determinism,
and the fixed point: a second plan on the planned placement moves nothing, whatever the first reached.

The clusters mix what made plans churn before (issue #15): affinity groups split over nodes next to
anti-affinity and pins, a node to drain, nodes already over their memory or their vCPU ratio, reserves,
two-resource weights, thresholds and margins."""

from hypothesis import HealthCheck, given, settings, strategies as st

from ansible_collections.proxlb.balancer.plugins.module_utils.facts.snapshot import normalize
from ansible_collections.proxlb.balancer.plugins.module_utils.placement import objective
from ansible_collections.proxlb.balancer.plugins.module_utils.plan.planner import plan, plan_summary

from helpers import placement_view, plan_invariants

GIB = 1024 ** 3


def _guests(draw, names, sizes, cores):
    used = dict((n, 2 * GIB) for n in names)
    guests = []
    crowd = draw(st.booleans())   # let nodes start above their memory (an overrun to repair)
    for i in range(draw(st.integers(1, 24))):
        node = draw(st.sampled_from(names))
        gib = draw(st.sampled_from([1, 2, 4, 8, 16]))
        if used[node] + gib * GIB > sizes[node] * GIB * (1.3 if crowd else 0.9):
            continue
        running = draw(st.booleans()) or gib > 2
        used[node] += gib * GIB if running else 0
        guests.append({"vmid": 100 + i, "type": draw(st.sampled_from(["qemu", "qemu", "lxc"])),
                       "node": node, "maxmem": gib * GIB, "mem": gib * GIB if running else 0,
                       "status": "running" if running else "stopped",
                       "maxcpu": draw(st.sampled_from([1, 2, 4, 8])),
                       "cpu": draw(st.sampled_from([0.05, 0.3, 0.9])),
                       "lock": draw(st.sampled_from(["", "", "", "", "", "backup"]))})
    nodes = [{"node": n, "maxcpu": cores[n], "maxmem": sizes[n] * GIB, "mem": used[n], "cpu": 0.05} for n in names]
    return nodes, guests


def _rules(draw, names, vmids):
    rules = []
    if len(vmids) < 2:
        return rules
    anti = draw(st.lists(st.sampled_from(vmids), min_size=2, max_size=3, unique=True))
    rules.append({"id": "anti", "kind": "anti_affinity", "guests": anti})
    rest = [v for v in vmids if v not in anti]
    for rid in ("aff", "aff2"):
        if len(rest) >= 2 and draw(st.booleans()):
            group = draw(st.lists(st.sampled_from(rest), min_size=2, max_size=3, unique=True))
            rules.append({"id": rid, "kind": "affinity", "guests": group})
            rest = [v for v in rest if v not in group]
    for rid in ("pin", "pin2"):
        if draw(st.booleans()):
            rules.append({"id": rid, "kind": "pin", "strict": draw(st.sampled_from([True, True, False])),
                          "guests": [draw(st.sampled_from(vmids))],
                          "nodes": draw(st.lists(st.sampled_from(names), min_size=1, max_size=2, unique=True))})
    return rules


def _options(draw, names):
    balancing = {"balanciness": draw(st.sampled_from([0, 3, 5, 10, 20])),
                 "mode": draw(st.sampled_from(["used", "assigned"])),
                 "margin": draw(st.sampled_from([0, 1, 3]))}
    choice = draw(st.sampled_from(["memory", "cpu", "mix"]))
    if choice == "mix":
        balancing["weights"] = {"memory": draw(st.sampled_from([1, 2])), "cpu": 1}
    else:
        balancing["method"] = choice
    if draw(st.booleans()):
        balancing["cpu_overcommit"] = draw(st.sampled_from([1.0, 2.0, 4.0]))
    if draw(st.booleans()):
        balancing["node_resource_reserve"] = {"defaults": {"memory": draw(st.sampled_from([0, 2, 4])),
                                                           "cpu": draw(st.sampled_from([0, 1, 2]))}}
    threshold = draw(st.sampled_from([None, "memory_threshold", "cpu_threshold"]))
    if threshold:
        balancing[threshold] = draw(st.sampled_from([20, 50, 80]))
    balancing["enforce_pinning"] = draw(st.booleans())
    balancing["balance_larger_guests_first"] = draw(st.booleans())
    options = {"balancing": balancing}
    if len(names) > 2 and draw(st.booleans()):
        options["proxmox_cluster"] = {"maintenance_nodes": [names[-1]]}
    return options


@st.composite
def clusters(draw):
    names = ["pve%d" % i for i in range(1, draw(st.integers(2, 5)) + 1)]
    sizes = dict((n, draw(st.sampled_from([32, 64, 128]))) for n in names)
    cores = dict((n, draw(st.sampled_from([8, 16, 32]))) for n in names)
    nodes, guests = _guests(draw, names, sizes, cores)
    rules = _rules(draw, names, [g["vmid"] for g in guests])
    return normalize({"nodes": nodes, "guests": guests}), _options(draw, names), rules


def _check(snap, options, rules):
    result = plan(snap, options, rules=rules)
    after = plan_invariants(snap, options, rules, result)
    _anti_affinity_every_step(snap, options, rules, result)
    return result, after


def _anti_affinity_every_step(snap, options, rules, result):
    """No step leaves an anti-affinity rule worse on a node than the placement before it."""
    anti = [r for r in rules if r["kind"] == "anti_affinity"]
    where = dict((g["vmid"], g["node"]) for g in snap["guests"])
    view = placement_view(snap, options, rules)
    eligible, limits = len(view.node_sets.targets), view.rules.anti_limit
    names = set(n["node"] for n in snap["nodes"])
    allowed = dict((v["rule"], set(v["guests"])) for v in objective.violations(where, anti, names, eligible, limits))
    steps = sorted(set(m["step"] for m in result["moves"]))
    for step in steps:
        for move in result["moves"]:
            if move["step"] == step:
                where[move["vmid"]] = move["target"]
        for broken in objective.violations(where, anti, names, eligible, limits):
            assert set(broken["guests"]) <= allowed.get(broken["rule"], set()), (step, broken, plan_summary(result))


@settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(clusters())
def test_plan_invariants_and_fixed_point(case):
    snap, options, rules = case
    result, after = _check(snap, options, rules)
    again = plan(after, options, rules=rules)
    assert again["moves"] == [], "first:\n%s\nsecond:\n%s" % (plan_summary(result), plan_summary(again))


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(clusters())
def test_deterministic(case):
    snap, options, rules = case
    first, second = plan(snap, options, rules=rules), plan(snap, options, rules=rules)
    first.pop("created")
    second.pop("created")
    assert first == second


@settings(max_examples=30, deadline=None)
@given(clusters(), st.integers(0, 3))
def test_max_migrations_is_a_budget(case, budget):
    snap, options, rules = case
    options = dict(options, balancing=dict(options["balancing"], max_migrations=budget))
    result, _after = _check(snap, options, rules)
    assert len(result["moves"]) <= budget
