"""One definition of ignored guests (docs/rules.md): ``include_vmids`` takes guests back out of the option
exclusions and is not a whitelist; a ``plb_ignore`` tag still wins. The same answer through the plan
entry point (what proxlb_plan runs), an evacuation, and best node."""

from ansible_collections.proxlb.balancer.plugins.module_utils.entry.runner import run_best_node, run_plan
from ansible_collections.proxlb.balancer.plugins.module_utils.facts.snapshot import normalize

GIB = 1024 ** 3
OPTIONS = {"balancing": {"include_vmids": [101], "exclude_vmids": [101]}}


def _snapshot():
    nodes = [{"node": n, "maxcpu": 8, "maxmem": 64 * GIB, "mem": (14 if n == "pve1" else 2) * GIB}
             for n in ("pve1", "pve2", "pve3")]
    guests = [{"vmid": v, "type": "qemu", "node": "pve1", "maxmem": 4 * GIB, "mem": 4 * GIB, "tags": tags}
              for v, tags in ((101, ["plb_anti_affinity_web"]), (102, ["plb_anti_affinity_web"]), (103, ["plb_ignore"]))]
    return normalize({"cluster": {"name": "t"}, "nodes": nodes, "guests": guests})


def test_include_wins_over_exclude_in_a_plan_and_an_evacuation():
    planned = run_plan(dict(OPTIONS, snapshot=_snapshot(), mode="evacuate", evacuate_nodes=["pve1"]), environ={})
    plan = planned["plan"]
    assert sorted(m["vmid"] for m in plan["moves"]) == [101, 102]
    assert dict((s["vmid"], s["reason"]) for s in plan["skipped"]) == {103: "ignored (tag plb_ignore)"}
    targets = dict((m["vmid"], m["target"]) for m in plan["moves"])
    assert targets[101] != targets[102], "anti-affinity holds while draining"


def test_include_wins_over_exclude_in_a_balance_plan():
    plan = run_plan(dict(OPTIONS, snapshot=_snapshot(), balancing=dict(OPTIONS["balancing"], balanciness=1)),
                    environ={})["plan"]
    assert 101 not in [s["vmid"] for s in plan["skipped"]]
    assert plan["moves"], "pve1 is the fullest node: a balance plan moves something off it"


def test_best_node_sees_the_included_guest_as_a_rule_member():
    result = run_best_node(dict(OPTIONS, snapshot=_snapshot(), memory=1024, tags=["plb_anti_affinity_web"]),
                           environ={})
    by_node = dict((r["node"], r) for r in result["ranking"])
    assert by_node["pve1"]["score"] is None
    assert any("anti-affinity tag:plb_anti_affinity_web already has 101, 102 there" in r
               for r in by_node["pve1"]["reasons"])
    assert result["node"] in ("pve2", "pve3")
