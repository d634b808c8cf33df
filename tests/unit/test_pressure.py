"""pressure: PSI thresholds, the candidates of mode psi, the PVE 8 error (tests/scenarios/psi_*.json)."""

import json
import pathlib

import pytest

from ansible_collections.proxlb.balancer.plugins.module_utils.plan import pressure
from ansible_collections.proxlb.balancer.plugins.module_utils.common.config import behaviour
from ansible_collections.proxlb.balancer.plugins.module_utils.common.errors import ConfigError, PlanError
from ansible_collections.proxlb.balancer.plugins.module_utils.facts.snapshot import normalize

SCENARIOS = pathlib.Path(__file__).resolve().parents[1] / "scenarios"


def case(name):
    doc = json.loads((SCENARIOS / name).read_text())
    return doc, normalize(doc["snapshot"]), behaviour(doc["options"])


def test_one_pressured_node_gives_candidates_from_it_only():
    doc, snapshot, options = case("psi_one_pressured_node.json")
    expect = doc["expect"]
    found = pressure.psi_candidates(snapshot, options)
    assert sorted(found["nodes"]) == expect["pressured_nodes"]
    assert found["max_moves"] == expect["max_moves"]
    nodes = dict((g["vmid"], g["node"]) for g in snapshot["guests"])
    assert found["candidates"][0][0] == expect["first"]  # the guest that stalls most goes first
    assert set(nodes[v] for v, _r in found["candidates"]) == set(expect["candidates_on"])
    assert all(r.startswith("psi: node pve1 memory pressure") for _v, r in found["candidates"])


def test_fixed_guests_are_not_candidates_and_max_moves_is_an_option():
    _doc, snapshot, options = case("psi_one_pressured_node.json")
    options["psi_max_moves"] = 2
    found = pressure.psi_candidates(snapshot, options, fixed={301: "ignored"})
    assert 301 not in [v for v, _r in found["candidates"]]
    assert found["max_moves"] == 2
    options["psi_max_moves"] = -1
    with pytest.raises(ConfigError, match="psi_max_moves"):
        pressure.psi_candidates(snapshot, options)


def test_pve8_is_a_clear_error():
    doc, snapshot, options = case("psi_pve8.json")
    with pytest.raises(PlanError) as err:
        pressure.psi_candidates(snapshot, options)
    for text in doc["expect"]["error"]:
        assert text in str(err.value)


def test_thresholds_some_full_and_spikes():
    limits = pressure.limits({"nodes": {"memory": {"pressure_some": 5, "pressure_full": 2, "pressure_spikes": 20}}},
                             "nodes")
    assert pressure.over({"pressurememorysome": 4.9, "pressurememoryfull": 1.0}, limits) == []
    reasons = [t for _e, t in pressure.over({"pressurememorysome": 6.0, "pressurememoryfull": 3.0}, limits)]
    assert reasons == ["memory pressure full 3.00% > 2.00%", "memory pressure some 6.00% > 5.00%"]
    spiky = pressure.over({"pressurememorysome": 1.0}, limits, spikes={"pressurememorysome": 25.0})
    assert [t for _e, t in spiky] == ["memory pressure spikes 25.00% > 20.00%"]
    # resources not configured are not checked once one is given
    assert pressure.over({"pressurecpusome": 99.0}, limits) == []


def test_calm_cluster_has_no_candidates():
    _doc, snapshot, options = case("psi_one_pressured_node.json")
    for record in snapshot["nodes"] + snapshot["guests"]:
        record.pop("psi", None)
    assert pressure.psi_candidates(snapshot, options)["candidates"] == []
