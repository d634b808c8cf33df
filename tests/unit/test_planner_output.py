"""What a plan reports (plan/output.py): unsatisfiable entries are read against the placement the moves
reach, each with the cause per node, and an entry a later phase repaired is not listed."""

from ansible_collections.proxlb.balancer.plugins.module_utils.common.config import behaviour
from ansible_collections.proxlb.balancer.plugins.module_utils.facts.snapshot import normalize
from ansible_collections.proxlb.balancer.plugins.module_utils.plan import output
from ansible_collections.proxlb.balancer.plugins.module_utils.plan.context import PlanContext
from ansible_collections.proxlb.balancer.plugins.module_utils.plan.planner import plan

GIB = 1024 ** 3
PIN = {"id": "pin-db", "kind": "pin", "strict": True, "guests": [100], "nodes": ["pve2"], "source": "test"}


def _snapshot(pve2_used=60):
    return normalize({
        "nodes": [{"node": "pve1", "maxcpu": 8, "maxmem": 64 * GIB, "mem": 10 * GIB},
                  {"node": "pve2", "maxcpu": 8, "maxmem": 64 * GIB, "mem": pve2_used * GIB},
                  {"node": "pve3", "maxcpu": 8, "maxmem": 64 * GIB, "mem": 2 * GIB}],
        "guests": [{"vmid": 100, "type": "qemu", "node": "pve1", "maxmem": 8 * GIB, "mem": 8 * GIB},
                   {"vmid": 200, "type": "qemu", "node": "pve2", "maxmem": 8 * GIB, "mem": 8 * GIB,
                    "template": True}]})


def test_a_failure_a_later_phase_repaired_is_not_listed():
    ctx = PlanContext(_snapshot(), behaviour({}), [PIN], None, [])
    ctx.fail("pin-db", [100], "no node can take it", {"pve2": "pve2: full"}, check=("pin", 100))
    assert [e["rule"] for e in output.unsatisfiable(ctx, [])] == ["pin-db"]
    ctx.place(100, "pve2", "pin")
    assert output.unsatisfiable(ctx, []) == []


def test_a_full_pin_target_is_the_cause_not_the_other_nodes():
    """pve2 has 4 GiB free and only a template besides: nothing can make room. The reason names pve2's
    memory, and the causes list the pinned node only (the other nodes are not candidates)."""
    result = plan(_snapshot(), {"balancing": {"enable": False}}, rules=[PIN])
    [entry] = result["unsatisfiable"]
    assert entry["rule"] == "pin-db" and entry["guests"] == [100]
    assert "pve2: needs 8.0 GiB memory" in entry["reason"], entry
    assert sorted(entry["causes"]) == ["pve2"]
    assert plan(_snapshot(pve2_used=20), {"balancing": {"enable": False}}, rules=[PIN])["unsatisfiable"] == []
