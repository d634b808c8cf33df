"""Issue 19, what a new user sees first: natural node order, one meaning of disk %, failover notes."""

import copy
import os

from ansible_collections.proxlb.balancer.plugins.module_utils.common.natural import natural_key, natural_sorted
from ansible_collections.proxlb.balancer.plugins.module_utils.entry import runner
from ansible_collections.proxlb.balancer.plugins.module_utils.facts import snapshot
from ansible_collections.proxlb.balancer.plugins.module_utils.plan.planner import plan as make_plan, plan_summary
from ansible_collections.proxlb.balancer.plugins.module_utils.report import render

DEMO = os.path.join(os.path.dirname(__file__), "..", "..", "simulator", "scenarios", "demo.json")


def test_natural_order_counts_numbers():
    assert natural_sorted(["pve10", "pve2", "pve1", "PVE3", "a", "pve1b"]) == \
        ["a", "pve1", "pve1b", "pve2", "PVE3", "pve10"]
    assert natural_key("node-02") < natural_key("node-10")
    # different spellings of one number still sort deterministically
    assert natural_sorted(["n01", "n1"]) == natural_sorted(["n1", "n01"])


def ten_node_snapshot():
    """demo.json with pve1..pve5 renamed so that text order and natural order differ (pve1, pve2, pve10, ...)."""
    doc = copy.deepcopy(snapshot.load(DEMO))
    rename = {"pve1": "pve1", "pve2": "pve2", "pve3": "pve10", "pve4": "pve11", "pve5": "pve9"}
    for section in ("nodes", "guests", "storages"):
        for item in doc.get(section, []):
            if item.get("node") in rename:
                item["node"] = rename[item["node"]]
    doc["nodes"].sort(key=lambda n: n["node"])  # text order, as a naive sort leaves it
    return snapshot.load(doc)


def test_facts_summary_plan_summary_and_report_list_nodes_naturally():
    doc = ten_node_snapshot()
    assert [n["node"] for n in doc["nodes"]] != ["pve1", "pve2", "pve9", "pve10", "pve11"]
    expected = ["pve1", "pve2", "pve9", "pve10", "pve11"]
    assert list(runner.node_summary(doc)) == expected
    planned = make_plan(doc, {})
    table = [line.split()[0] for line in plan_summary(planned).splitlines()[1:6]]
    assert table == expected
    report = render.summary(planned)
    assert [n["node"] for n in report["nodes"]] == expected
    md_rows = [line.split("|")[1].strip() for line in render.markdown(report).splitlines()
               if line.startswith("| pve")]
    assert md_rows == expected


def test_disk_pct_is_local_storage_as_the_plan_counts_it_and_rootfs_is_named_apart():
    doc = snapshot.load(DEMO)
    summary = runner.node_summary(doc)
    planned = make_plan(doc, {})
    for name, row in summary.items():
        assert row["disk_pct"] == round(planned["nodes_before"][name]["disk_pct"], 1), name
        node = [n for n in doc["nodes"] if n["node"] == name][0]
        assert row["rootfs_pct"] == round(100.0 * node["disk"] / node["maxdisk"], 1)
    # the demo's local storage and root filesystems differ, so the two names cannot be mixed up unnoticed
    assert any(row["disk_pct"] != row["rootfs_pct"] for row in summary.values())


class FailedOver(object):
    failed_hosts = [{"host": "pve1:8006", "error": "connection refused"}]
    host_used = "pve2:8006"


def test_failover_warns_about_the_dead_host_only():
    notes = runner.host_warnings(FailedOver())
    assert notes == ["API host pve1:8006 did not answer (connection refused)"]
    assert not [n for n in notes if "answered" in n]
