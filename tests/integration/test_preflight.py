"""Permission preflight against the simulator's ACLs: one clear message before anything else happens."""

import json
import os

import pytest

from ansible_collections.proxlb.balancer.plugins.module_utils.entry import runner
from ansible_collections.proxlb.balancer.plugins.module_utils.common.errors import PermissionDenied

SCENARIOS = os.path.join(os.path.dirname(__file__), "..", "..", "simulator", "scenarios")


@pytest.fixture
def guarded(simulator):
    with open(os.path.join(SCENARIOS, "demo.json")) as handle:
        scenario = json.load(handle)
    scenario["simulator"] = dict(scenario.get("simulator") or {}, users={
        "nopool@pve": {"acl": {"/": ["Sys.Audit", "VM.Audit", "Datastore.Audit"]}},
        "ops@pve": {"acl": {"/": "PVEAuditor", "/vms": "PVEVMAdmin"}},
    }, tokens={
        "nopool@pve!t": {"privsep": False, "secret": "nopool-secret"},
        "ops@pve!sealed": {"privsep": True, "secret": "sealed-secret"},
    })
    return simulator(scenario)


def facts(sim, user, token, secret, **extra):
    params = dict(api_host=[sim.api_host], api_user=user, api_token_id=token, api_token_secret=secret,
                  ca_path=sim.ca_path)
    params.update(extra)
    return runner.run_facts(params, environ={})


def endpoints_called(sim):
    return set(sim.admin("GET", "/requests")["by_endpoint"])


def test_pool_rules_without_pool_audit_stop_before_reading_the_cluster(guarded):
    guarded.admin("POST", "/requests/reset")
    with pytest.raises(PermissionDenied) as err:
        facts(guarded, "nopool@pve", "t", "nopool-secret", balancing={"pools": {"dev": {"type": "affinity"}}})
    assert "Pool.Audit" in str(err.value)
    assert "nopool-secret" not in str(err.value)
    assert not [e for e in endpoints_called(guarded) if "/cluster/resources" in e]
    # without pool rules the same token reads the cluster
    assert facts(guarded, "nopool@pve", "t", "nopool-secret")["snapshot"]["guests"]


def test_privilege_separated_token_without_acl_is_named_as_such(guarded):
    guarded.admin("POST", "/requests/reset")
    with pytest.raises(PermissionDenied) as err:
        facts(guarded, "ops@pve", "sealed", "sealed-secret")
    assert "privilege separation" in str(err.value)
    assert not [e for e in endpoints_called(guarded) if "/cluster/resources" in e]
