"""proxlb_facts against the simulator returns the golden rules of tests/scenarios/rules_*.json."""

import glob
import json
import os

import pytest

from ansible_collections.proxlb.balancer.plugins.module_utils.entry import runner

SCENARIOS = sorted(glob.glob(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "scenarios",
                                          "rules_*.json")))


@pytest.mark.parametrize("path", SCENARIOS, ids=[os.path.basename(p) for p in SCENARIOS])
def test_facts_return_golden_rules(simulator, path):
    with open(path) as handle:
        document = json.load(handle)
    sim = simulator(path)
    options = document["rules_test"]["options"]
    params = dict(api_host=[sim.api_host], api_user=sim.user, api_token_id=sim.token_name,
                  api_token_secret=sim.token_secret, ca_path=sim.ca_path,
                  proxmox_cluster=options.get("proxmox_cluster"), balancing=options.get("balancing"))
    result = runner.run_facts(params, environ={})
    expected = [r for r in document["rules_test"]["expect_rules"]]
    if "evacuate_nodes" in options:  # a module option of the plan modules, not of facts
        expected = [r for r in expected if r["id"] != "option:evacuate_nodes"]
    assert result["rules"] == expected
