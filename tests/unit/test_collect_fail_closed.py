"""facts/collect.py with PVE's real answer shapes: crs as an object, the options subset a caller without
Sys.Audit on / gets, and required reads that retry a transient 5xx and then stop with one line."""

import pytest

from ansible_collections.proxlb.balancer.plugins.module_utils.common.errors import ApiError, PermissionDenied
from ansible_collections.proxlb.balancer.plugins.module_utils.connect import permissions
from ansible_collections.proxlb.balancer.plugins.module_utils.facts import collect
from ansible_collections.proxlb.balancer.plugins.module_utils.facts.collect import Collector, parse_crs


def test_crs_as_pve_answers_it_and_as_the_raw_property_string():
    # pve-cluster DataCenterConfig.pm parses the crs line into an object before the API answers
    assert parse_crs({"ha": "static", "ha-auto-rebalance": 1, "ha-auto-rebalance-threshold": 30}) == \
        {"ha": "static", "auto_rebalance": True, "ha_auto_rebalance_threshold": "30"}
    assert parse_crs("ha=static,ha-auto-rebalance=1") == {"ha": "static", "auto_rebalance": True}
    assert parse_crs({"ha": "dynamic", "ha-auto-rebalance": 0}) == {"ha": "dynamic", "auto_rebalance": False}
    assert parse_crs(None) == {"ha": "basic", "auto_rebalance": False}


class Answers(object):
    """A client whose answers per path are lists of values or exceptions, consumed in order."""

    def __init__(self, **answers):
        self.answers = dict((k.replace("_", "/"), list(v)) for k, v in answers.items())
        self.calls = []

    def get(self, path, **params):
        self.calls.append(path)
        queue = self.answers[path.strip("/")]
        value = queue.pop(0) if len(queue) > 1 else queue[0]
        if isinstance(value, Exception):
            raise value
        return value


def test_a_required_read_retries_a_transient_5xx_then_answers():
    client = Answers(cluster_ha_rules=[ApiError("GET /cluster/ha/rules: 503 busy", status_code=503), [{"rule": "r"}]])
    pauses = []
    assert Collector(client, sleep=pauses.append)._required("/cluster/ha/rules", "HA rules", "why") == [{"rule": "r"}]
    assert client.calls == ["/cluster/ha/rules"] * 2 and pauses == [collect.RETRY_PAUSE]


def test_a_lasting_error_or_a_refusal_stops_with_one_line():
    client = Answers(cluster_ha_rules=[ApiError("GET /cluster/ha/rules: 500 got timeout", status_code=500)])
    with pytest.raises(ApiError) as err:
        Collector(client, sleep=lambda s: None)._required("/cluster/ha/rules", "HA rules", "they are hard rules")
    assert len(client.calls) == collect.READ_ATTEMPTS
    assert str(err.value) == ("HA rules not readable (GET /cluster/ha/rules: 500 got timeout, 3 attempt(s)); "
                              "they are hard rules, so nothing is planned without them")
    client = Answers(cluster_ha_groups=[ApiError("GET /cluster/ha/groups: 400 bad", status_code=400)])
    with pytest.raises(ApiError):
        Collector(client, sleep=lambda s: None)._required("/cluster/ha/groups", "HA groups", "why")
    assert len(client.calls) == 1  # a 4xx is not transient
    client = Answers(cluster_ha_resources=[PermissionDenied("GET /cluster/ha/resources: permission denied")])
    with pytest.raises(PermissionDenied) as err:
        Collector(client)._required("/cluster/ha/resources", "HA resources", "why")
    assert "Sys.Audit on /" in str(err.value) and "\n" not in str(err.value)


def test_the_options_subset_of_a_caller_without_sys_audit_is_refused():
    # pve-manager Cluster.pm get_options: without Sys.Audit on / only console, tag-style and allowed-tags
    with pytest.raises(PermissionDenied, match="Sys.Audit on /"):
        Collector(Answers(cluster_options=[{"allowed-tags": ["web"]}]))._options()
    full = {"allowed-tags": [], "description": "", "mac_prefix": "BC:24:11", "crs": {"ha": "basic"}}
    assert Collector(Answers(cluster_options=[full]))._options() == full


def test_a_cooldown_names_the_privilege_for_the_task_history():
    granted = {"/vms": {"VM.Audit": 1}, "/storage": {"Datastore.Audit": 1}}
    with pytest.raises(PermissionDenied) as err:
        permissions.check(granted, {"cooldown": "1h"}, ["read"], user="ops@pve")
    assert "Sys.Audit on /nodes" in str(err.value)
    assert "read every node's migration task history for the cooldown" in str(err.value)
    assert "history" in permissions._actions({"cooldown": "30m"}, ["read"])
    assert "history" not in permissions._actions({}, ["read"])
