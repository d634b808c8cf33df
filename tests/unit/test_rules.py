"""Rules from tags, pools, HA groups and rules, and options: golden scenarios, invariants, speed."""

import copy
import glob
import json
import os
import random
import time

import pytest
from hypothesis import given, settings, strategies as st

from ansible_collections.proxlb.balancer.plugins.module_utils.common import config
from ansible_collections.proxlb.balancer.plugins.module_utils.facts import snapshot
from ansible_collections.proxlb.balancer.plugins.module_utils.rules import build as rules, tags

SCENARIOS = sorted(glob.glob(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "scenarios",
                                          "rules_*.json")))
GIB = 1 << 30


def load(path):
    with open(path) as handle:
        document = json.load(handle)
    options, warnings = config.validate_behaviour(document["rules_test"]["options"])
    assert warnings == []
    return snapshot.normalize(document), options, document["rules_test"]


def index_view(index, snap):
    vmids = sorted(g["vmid"] for g in snap["guests"])
    return {
        "allowed_nodes": dict((str(v), sorted(index.allowed_nodes(v))) for v in vmids
                              if index.allowed_nodes(v) is not None),
        "preferred_nodes": dict((str(v), sorted(index.preferred_nodes(v))) for v in vmids
                                if index.preferred_nodes(v)),
        "ignored": [v for v in vmids if index.is_ignored(v)],
        "maintenance_nodes": sorted(index.maintenance_nodes()),
        "excluded_nodes": sorted(index.excluded_nodes()),
    }


def test_every_golden_kind_is_covered():
    names = set(os.path.basename(p) for p in SCENARIOS)
    assert {"rules_tags.json", "rules_pools.json", "rules_ha_pve8.json", "rules_ha_pve9.json",
            "rules_collisions.json", "rules_options.json"} <= names


@pytest.mark.parametrize("path", SCENARIOS, ids=[os.path.basename(p) for p in SCENARIOS])
def test_golden(path):
    snap, options, expect = load(path)
    built, warnings = rules.build_rules(snap, options)
    assert built == expect["expect_rules"]
    assert warnings == expect["expect_warnings"]
    assert index_view(rules.rule_index(built), snap) == expect["expect_index"]


@pytest.mark.parametrize("path", SCENARIOS, ids=[os.path.basename(p) for p in SCENARIOS])
def test_guest_order_does_not_matter(path):
    snap, options, expect = load(path)
    shuffled = copy.deepcopy(snap)
    random.Random(7).shuffle(shuffled["guests"])
    shuffled["ha_rules"] = list(reversed(shuffled["ha_rules"]))
    assert rules.build_rules(shuffled, options)[0] == expect["expect_rules"]


def scenario(name):
    return load([p for p in SCENARIOS if p.endswith(name)][0])


def test_disabled_and_errored_ha_rules_are_inactive():
    snap, options, _ = scenario("rules_ha_pve9.json")
    built, warnings = rules.build_rules(snap, options)
    ids = [r["id"] for r in built]
    assert not [i for i in ids if "old-rule" in i or "broken" in i]
    assert any(w.startswith("ha-rule:broken: PVE reports errors") for w in warnings)
    snap["ha_rules"][4]["disable"] = 0  # the disabled negative rule comes back when enabled
    built, _ = rules.build_rules(snap, options)
    assert [r for r in built if r["id"] == "ha-rule:old-rule"][0]["guests"] == [400, 406]


def test_failback_decides_hardness_of_node_affinity():
    snap, options, _ = scenario("rules_ha_pve9.json")
    for resource in snap["ha_resources"]:
        resource["failback"] = 0
    built, _ = rules.build_rules(snap, options)
    pins = dict((r["id"], r) for r in built if r["kind"] == "pin")
    # without failback a non-strict node-affinity is only a preference
    assert pins["ha-rule:prefer-pve3"]["strict"] is False
    assert pins["ha-rule:db-on-fast"]["nodes"] == ["pve1", "pve2", "pve3"]


def test_pve8_group_follows_node_availability():
    snap, options, _ = scenario("rules_ha_pve8.json")
    for node in snap["nodes"]:
        if node["node"] == "pve3":
            node["status"] = "online"
    built, _ = rules.build_rules(snap, options)
    assert [r for r in built if r["id"] == "ha-group:fallback"][0]["nodes"] == ["pve3"]


def test_ha_rule_lists_as_json_lists():
    snap, options, _ = scenario("rules_ha_pve9.json")
    snap["ha_rules"][0]["resources"] = ["vm:400", "vm:401"]
    snap["ha_rules"][0]["nodes"] = ["pve1:2", "pve2:1", "pve3"]
    built, _ = rules.build_rules(snap, options)
    assert [r for r in built if r["id"] == "ha-rule:db-on-fast"][0]["nodes"] == ["pve1"]


def test_tag_classification():
    assert tags.classify("plb_ignore") == ("ignore", "plb_ignore")
    assert tags.classify("PLB_Ignore_x") == ("ignore", "PLB_Ignore_x")
    assert tags.classify("plb_anti_affinity_db") == ("anti_affinity", "plb_anti_affinity_db")
    assert tags.classify("plb_affinity_db") == ("affinity", "plb_affinity_db")
    assert tags.classify("plb_pin_pve-01") == ("pin", "pve-01")
    for other in ("plb_affinity_", "plb_pin_", "production", "xplb_ignore"):
        assert tags.classify(other) == (None, None)


def test_unknown_pin_does_not_pin():
    snap, options, _ = scenario("rules_tags.json")
    index = rules.rule_index(rules.build_rules(snap, options)[0])
    assert index.allowed_nodes(109) is None  # only an unknown node: unpinned, as ProxLB does
    assert index.allowed_nodes(110) == frozenset(["pve3"])


# --- invariants over random clusters ---------------------------------------------------------------------

NODES = ["pve1", "pve2", "pve3", "pve4"]
TAG = st.sampled_from(["plb_ignore", "plb_ignore_a", "plb_affinity_a", "plb_affinity_b", "plb_anti_affinity_a",
                       "plb_anti_affinity_b", "plb_pin_pve1", "plb_pin_pve2", "plb_pin_nope", "web"])


@st.composite
def clusters(draw):
    count = draw(st.integers(1, 12))
    guests = [{"vmid": 100 + i, "type": draw(st.sampled_from(["qemu", "lxc"])), "node": draw(st.sampled_from(NODES)),
               "maxmem": GIB, "tags": draw(st.lists(TAG, max_size=3))} for i in range(count)]
    nodes = [{"node": n, "maxcpu": 8, "maxmem": 64 * GIB,
              "hastate": draw(st.sampled_from(["online", "online", "maintenance"])),
              "status": draw(st.sampled_from(["online", "online", "offline"]))} for n in NODES]
    sids = ["vm:%d" % g["vmid"] for g in guests]
    ha_rules = [{"rule": "r%d" % i, "type": draw(st.sampled_from(["node-affinity", "resource-affinity"])),
                 "resources": ",".join(draw(st.lists(st.sampled_from(sids), min_size=1, max_size=3))),
                 "nodes": ",".join(draw(st.lists(st.sampled_from(NODES), min_size=1, max_size=3, unique=True))),
                 "strict": draw(st.sampled_from([0, 1])), "affinity": draw(st.sampled_from(["positive", "negative"])),
                 "disable": draw(st.sampled_from([0, 0, 1]))} for i in range(draw(st.integers(0, 3)))]
    options = {"proxmox_cluster": {"maintenance_nodes": draw(st.lists(st.sampled_from(NODES), max_size=2)),
                                   "ignore_nodes": draw(st.lists(st.sampled_from(NODES), max_size=1))},
               "balancing": {"balance_types": draw(st.sampled_from([["vm", "ct"], ["vm"], ["ct"]]))}}
    return snapshot.normalize({"nodes": nodes, "guests": guests, "ha_rules": ha_rules,
                               "ha_resources": [{"sid": s, "state": "started"} for s in sids]}), options


@settings(max_examples=150, deadline=None)
@given(clusters())
def test_rule_invariants(case):
    snap, raw = case
    options, _ = config.validate_behaviour(raw)
    built, warnings = rules.build_rules(snap, options)
    vmids = set(g["vmid"] for g in snap["guests"])
    ids = [r["id"] for r in built]
    assert len(ids) == len(set(ids))
    assert json.loads(json.dumps(built)) == built
    order = [rules.KINDS.index(r["kind"]) for r in built]
    assert order == sorted(order)
    for rule in built:
        assert set(rule) == {"id", "kind", "strict", "guests", "nodes", "source"}
        assert rule["guests"] == sorted(set(rule["guests"])) and set(rule["guests"]) <= vmids
        assert rule["nodes"] == sorted(set(rule["nodes"])) and set(rule["nodes"]) <= set(NODES)
        if rule["kind"] in ("maintenance", "exclude_node"):
            assert rule["guests"] == [] and rule["nodes"]
        if rule["kind"] == "pin":
            assert rule["nodes"]
    index = rules.rule_index(built)
    for vmid in vmids:
        allowed = index.allowed_nodes(vmid)
        assert allowed is None or (allowed and allowed <= set(NODES))
        preferred = index.preferred_nodes(vmid)
        assert preferred is None or allowed is None or preferred <= allowed
    for warning in warnings:
        assert "\n" not in warning


# --- speed: the planner calls the index on 64 nodes x 8,000 guests ----------------------------------------

def test_build_and_query_at_scale():
    rng = random.Random(3)
    nodes = [{"node": "pve%02d" % i, "maxcpu": 64, "maxmem": 512 * GIB} for i in range(64)]
    guests = []
    for vmid in range(1000, 9000):
        tag_list = []
        roll = rng.random()
        if roll < 0.05:
            tag_list.append("plb_ignore")
        elif roll < 0.25:
            tag_list.append("plb_anti_affinity_g%d" % rng.randrange(400))
        elif roll < 0.45:
            tag_list.append("plb_affinity_g%d" % rng.randrange(800))
        if rng.random() < 0.1:
            tag_list.append("plb_pin_pve%02d" % rng.randrange(70))
        guests.append({"vmid": vmid, "type": "qemu", "node": rng.choice(nodes)["node"], "maxmem": 4 * GIB,
                       "tags": tag_list, "pool": "p%d" % rng.randrange(20)})
    snap = snapshot.normalize({"nodes": nodes, "guests": guests})
    options, _ = config.validate_behaviour({
        "balancing": {"pools": dict(("p%d" % i, {"type": "anti-affinity" if i % 2 else "affinity"})
                                    for i in range(4))},
        "proxmox_cluster": {"maintenance_nodes": ["pve00"]}})
    start = time.perf_counter()
    built, _ = rules.build_rules(snap, options)
    index = rules.rule_index(built)
    built_in = time.perf_counter() - start
    start = time.perf_counter()
    for guest in guests:
        vmid = guest["vmid"]
        index.allowed_nodes(vmid)
        index.is_ignored(vmid)
        index.anti_affinity_groups(vmid)
        index.affinity_groups(vmid)
        index.maintenance_nodes()
    queried_in = time.perf_counter() - start
    assert built_in < 2.0, built_in
    assert queried_in < 0.2, queried_in
