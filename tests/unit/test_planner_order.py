"""The order of a plan's moves (plan/order.py): straight to where the plan puts each guest when some order
allows it, parks when guests must trade places, and the plan's own sequence of placements when a guest
placed twice needs it."""

from ansible_collections.proxlb.balancer.plugins.module_utils.common.config import behaviour
from ansible_collections.proxlb.balancer.plugins.module_utils.facts.snapshot import normalize
from ansible_collections.proxlb.balancer.plugins.module_utils.placement.capacity import step_violations
from ansible_collections.proxlb.balancer.plugins.module_utils.plan import order
from ansible_collections.proxlb.balancer.plugins.module_utils.plan.context import PlanContext
from ansible_collections.proxlb.balancer.plugins.module_utils.rules.build import rules_for

GIB = 1024 ** 3


def _ctx(options=None):
    """pve1 and pve3 have 64 GiB and 52 GiB in use; pve2 has room. x (16 GiB) and y (16 GiB) are the
    guests the tests move around."""
    guests = [{"vmid": 100, "type": "qemu", "name": "x", "node": "pve1", "maxmem": 16 * GIB, "mem": 16 * GIB},
              {"vmid": 101, "type": "qemu", "name": "fill1", "node": "pve1", "maxmem": 34 * GIB, "mem": 34 * GIB},
              {"vmid": 200, "type": "qemu", "name": "y", "node": "pve3", "maxmem": 16 * GIB, "mem": 16 * GIB},
              {"vmid": 201, "type": "qemu", "name": "fill3", "node": "pve3", "maxmem": 34 * GIB, "mem": 34 * GIB}]
    nodes = [{"node": "pve1", "maxcpu": 8, "maxmem": 64 * GIB, "mem": 52 * GIB},
             {"node": "pve2", "maxcpu": 8, "maxmem": 64 * GIB, "mem": 2 * GIB},
             {"node": "pve3", "maxcpu": 8, "maxmem": 64 * GIB, "mem": 52 * GIB}]
    snapshot = normalize({"nodes": nodes, "guests": guests})
    options = behaviour(options)
    rules, _warnings = rules_for(snapshot, options)
    return snapshot, options, PlanContext(snapshot, options, rules, None, [])


def test_a_guest_placed_again_goes_straight_to_its_last_node_or_stays_where_it_started():
    snapshot, options, ctx = _ctx()
    ctx.place(100, "pve2", "first")
    ctx.place(200, "pve2", "first")
    ctx.place(200, "pve3", "back where it started")
    entries, blocked = order.schedule(ctx)
    assert blocked == []
    assert [(m["vmid"], m["source"], m["target"], m["reason"]) for m in entries] == [(100, "pve1", "pve2", "first")]


def test_the_plans_own_sequence_runs_when_moving_straight_has_no_order():
    """x goes to pve2, y takes its place on pve1, x moves on to pve3 where y was: moving x and y straight
    is a swap of full nodes; the sequence the plan made runs, with x's first move a park step."""
    snapshot, options, ctx = _ctx()
    ctx.place(100, "pve2", "make room on pve1 for 200")
    ctx.place(200, "pve1", "pin")
    ctx.place(100, "pve3", "balance")
    order._reset(ctx)
    entries, stuck = order._replay(ctx)
    assert stuck == []
    assert [(m["vmid"], m["source"], m["target"], m.get("kind")) for m in entries] == [
        (100, "pve1", "pve2", "park"), (200, "pve3", "pve1", None), (100, "pve2", "pve3", None)]
    assert [m["step"] for m in entries] == [1, 2, 3]
    assert step_violations(snapshot, options, entries) == []
    assert ctx.node_of(100) == "pve3" and ctx.node_of(200) == "pve1"


def test_executable_finds_a_park_node_or_none():
    snapshot, options, ctx = _ctx()
    hops = order.executable(ctx, [(100, "pve3"), (200, "pve1")])
    assert hops is not None and len(hops) == 3, hops
    assert ctx.node_of(100) == "pve1" and ctx.node_of(200) == "pve3"   # the state is left as it was
    parked = hops[0]
    assert parked[2] == "pve2"
    snapshot, options, ctx = _ctx({"proxmox_cluster": {"maintenance_nodes": ["pve2"]}})
    assert order.executable(ctx, [(100, "pve3"), (200, "pve1")]) is None
