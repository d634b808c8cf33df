"""best_node: golden scenarios (tests/scenarios/best_*.json) and properties of the ranking."""

import json
import pathlib

import pytest
from hypothesis import given, settings, strategies as st

from ansible_collections.proxlb.balancer.plugins.module_utils.plan.best_node import normalize_request, placement_for, rank_nodes
from ansible_collections.proxlb.balancer.plugins.module_utils.plan.planner import apply
from ansible_collections.proxlb.balancer.plugins.module_utils.common.errors import ConfigError, PlanError
from ansible_collections.proxlb.balancer.plugins.module_utils.rules.build import build_rules
from ansible_collections.proxlb.balancer.plugins.module_utils.facts.snapshot import normalize

SCENARIOS = sorted((pathlib.Path(__file__).resolve().parents[1] / "scenarios").glob("best_*.json"))
GIB = 1024 ** 3


def load(path):
    return json.loads(path.read_text())


@pytest.mark.parametrize("path", SCENARIOS, ids=lambda p: p.stem)
def test_scenario(path):
    case = load(path)
    expect = case["expect"]
    snapshot = normalize(case["snapshot"])
    if case.get("make_room"):
        return _make_room(case, snapshot, expect)
    if "error" in expect:
        with pytest.raises(PlanError) as err:
            rank_nodes(snapshot, case["request"], case["options"])
        for text in expect["error"]:
            assert text in str(err.value)
        return
    ranking = rank_nodes(snapshot, case["request"], case["options"])
    assert ranking[0]["node"] == expect["best"]
    assert sorted(r["node"] for r in ranking) == sorted(n["node"] for n in snapshot["nodes"])
    by_node = dict((r["node"], r) for r in ranking)
    for node, text in expect["excluded"].items():
        assert by_node[node]["score"] is None
        assert any(text in reason for reason in by_node[node]["reasons"]), by_node[node]
    scored = [r for r in ranking if r["score"] is not None]
    assert ranking[:len(scored)] == scored  # fitting nodes first


def cluster(loads, maxmem=64):
    return normalize({"nodes": [{"node": "n%d" % i, "maxcpu": 8, "maxmem": maxmem * GIB, "mem": int(l * GIB)}
                                for i, l in enumerate(loads)], "guests": []})


def test_ties_break_by_name_and_the_least_loaded_wins():
    ranking = rank_nodes(cluster([20, 5, 5, 30]), {"memory": 1024})
    assert [r["node"] for r in ranking] == ["n1", "n2", "n0", "n3"]


def test_given_rules_learn_the_new_guests_tags():
    snapshot = normalize(load(SCENARIOS[0])["snapshot"])  # best_anti_affinity
    rules, _w = build_rules(snapshot, {})
    ranking = rank_nodes(snapshot, {"memory": 1024, "tags": ["plb_anti_affinity_web"]}, {}, rules=rules)
    assert ranking[0]["node"] == "pve3"
    assert [r["node"] for r in ranking if r["score"] is None] == ["pve1", "pve2"]


def test_strict_affinity_follows_the_members():
    snapshot = normalize({"nodes": [{"node": n, "maxcpu": 8, "maxmem": 64 * GIB, "mem": m * GIB}
                                    for n, m in (("a", 40), ("b", 2))],
                          "guests": [{"vmid": 100, "type": "qemu", "node": "a", "maxmem": GIB, "mem": GIB,
                                      "tags": ["plb_affinity_db"]}]})
    ranking = rank_nodes(snapshot, {"memory": 1024, "tags": "plb_affinity_db"})
    assert ranking[0]["node"] == "a"
    assert "affinity" in ranking[1]["reasons"][0]


@pytest.mark.parametrize("request_, key", [({"type": "kvm"}, "request.type"), ({"memory": "lots"}, "request.memory"),
                                           ({"cores": 0}, "request.cores"), ({"cpu": 2}, "request.cpu")])
def test_bad_requests_name_the_key(request_, key):
    with pytest.raises(ConfigError, match=key.replace(".", r"\.")):
        normalize_request(request_)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.integers(min_value=0, max_value=60), min_size=1, max_size=6), st.integers(min_value=1, max_value=40))
def test_ranking_is_deterministic_and_best_has_most_room(loads, memory_gib):
    snapshot = cluster(loads)
    request = {"memory": memory_gib * 1024}
    fits = [i for i, l in enumerate(loads) if l + memory_gib <= 64]
    if not fits:
        with pytest.raises(PlanError):
            rank_nodes(snapshot, request)
        return
    ranking = rank_nodes(snapshot, request)
    assert ranking == rank_nodes(snapshot, dict(request))
    best = int(ranking[0]["node"][1:])
    assert loads[best] == min(loads[i] for i in fits)
    assert sum(1 for r in ranking if r["score"] is not None) == len(fits)


def _make_room(case, snapshot, expect):
    """make_room: the node, the fewest moves that free it (a plan document), and it fits afterwards."""
    with pytest.raises(PlanError) as err:
        rank_nodes(snapshot, case["request"], case["options"])
    for text in expect["error_without_make_room"]:
        assert text in str(err.value)
    found = placement_for(snapshot, case["request"], case["options"], make_room=True)
    assert found["node"] == expect["best"]
    plan = found["plan"]
    assert plan["schema"] == "proxlb.balancer/plan/1"
    assert sorted(m["vmid"] for m in plan["moves"]) == expect["moved"]
    assert all(m["target"] != found["node"] for m in plan["moves"])
    assert rank_nodes(apply(snapshot, plan), case["request"], case["options"])[0]["node"] == found["node"]


def test_make_room_fails_when_no_moves_help():
    case = load(pathlib.Path(__file__).resolve().parents[1] / "scenarios" / "best_nothing_fits.json")
    with pytest.raises(PlanError) as err:
        placement_for(normalize(case["snapshot"]), case["request"], case["options"], make_room=True)
    assert "no moves of other guests make room" in str(err.value)


def test_make_room_is_not_used_when_a_node_fits():
    case = load(pathlib.Path(__file__).resolve().parents[1] / "scenarios" / "best_make_room.json")
    found = placement_for(normalize(case["snapshot"]), {"memory": 4096}, case["options"], make_room=True)
    assert found["plan"] is None and found["ranking"][0]["score"] is not None
