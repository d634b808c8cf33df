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


# ---------------------------------------------------------------- progress of long runs

from ansible_collections.proxlb.balancer.plugins.module_utils.migrate import progress  # noqa: E402


def test_progress_counts_ended_moves_and_estimates_what_is_left():
    moves = [{"status": "done", "t0": 100.0}, {"status": "done", "t0": 110.0}, {"status": None, "t0": 120.0},
             {"status": None, "t0": None}]
    line = progress.counted(moves, 140.0, True, "101 pve1 -> pve2: done in 20s")
    # 2 of 4 ended 40 s after the first start: about 40 s left at that pace
    assert line == "101 pve1 -> pve2: done in 20s [2/4, 40s elapsed, about 40s left]"
    assert progress.status_line(4, 4, 324) == "[4/4, 5m24s elapsed]"
    assert progress.duration(3725) == "1h02m"


def test_a_long_sequential_run_hints_at_parallel_once():
    moves = [{"status": "done", "t0": float(i * 3)} for i in range(3)] + [{"status": None, "t0": None}] * 118
    line = progress.counted(moves, 9.0, False, "x")
    first, hint = line.split("\n")
    assert first == "x [3/121, 9s elapsed, about 5m54s left]"
    assert hint.startswith("hint: the moves run one at a time (balancing.parallel is off)")
    assert "about 6m03s" in hint and "parallel: true" in hint
    # not with parallel on, not again later, not for a short run
    assert "\n" not in progress.counted(moves, 9.0, True, "x")
    moves[3] = {"status": "done", "t0": 9.0}
    assert "\n" not in progress.counted(moves, 12.0, False, "x")
    short = [{"status": "done", "t0": 0.0}] * 3 + [{"status": None, "t0": None}] * 2
    assert "\n" not in progress.counted(short, 3.0, False, "x")


def test_totals_line_says_would_in_check_mode():
    totals = {"moves": 12, "done": 11, "already_done": 0, "skipped": 1, "failed": 0, "timed_out": 0}
    assert progress.totals_line(totals, check_mode=True) == "11 move(s) would be made, 1 skipped"
    assert progress.totals_line(totals) == "12 move(s): 11 done, 1 skipped"


def test_check_mode_report_says_would_and_counts_no_move_as_done():
    planned = make_plan(snapshot.load(DEMO), {})
    results = {"schema": "proxlb.balancer/results/1", "fingerprint": planned["fingerprint"],
               "results": [{"vmid": m["vmid"], "source": m["source"], "target": m["target"], "status": "done",
                            "upid": None, "started": None, "finished": None, "error": None}
                           for m in planned["moves"]], "totals": {"moves": len(planned["moves"])}}
    doc = render.summary(planned, results, status="check mode")
    assert doc["totals"]["done"] == 0 and doc["totals"]["would_move"] == len(planned["moves"])
    text = render.markdown(doc)
    assert "%d move(s) would be made;" % len(planned["moves"]) in text
    assert "| done |" not in text and "| would move |" in text
    executed = render.markdown(render.summary(planned, results))
    assert "%d done" % len(planned["moves"]) in executed


# ---------------------------------------------------------------- true connection defaults, precedence kept

def test_given_only_hides_defaults_from_the_precedence():
    from ansible_collections.proxlb.balancer.plugins.module_utils.entry.argspec import CONNECTION_SPEC, given_only
    assert CONNECTION_SPEC["api_port"]["default"] == 8006 and CONNECTION_SPEC["validate_certs"]["default"] is True
    params = {"api_port": 8006, "validate_certs": True, "api_timeout": 10, "mode": "balance"}
    out = given_only(params, {"validate_certs": True})
    assert (out["api_port"], out["validate_certs"], out["api_timeout"], out["mode"]) == (None, True, None, "balance")


def test_module_main_passes_only_given_connection_options(monkeypatch, tmp_path):
    """The plain-module path (no action plugin): the environment's port wins over the spec's 8006."""
    import pytest
    from ansible.module_utils.testing import patch_module_args
    from ansible_collections.proxlb.balancer.plugins.module_utils.common import config
    from ansible_collections.proxlb.balancer.plugins.modules import proxlb_plan
    seen = {}
    real = config.resolve

    def resolve(params, environ=None):
        seen.update(real(params, {"PROXMOX_HOST": "pve1", "PROXMOX_PORT": "8443"})[0])
        return real(params, {})
    monkeypatch.setattr(config, "resolve", resolve)
    with patch_module_args({"snapshot_file": DEMO}):
        with pytest.raises(SystemExit):
            proxlb_plan.main()
    assert seen["api_port"] == 8443 and seen["validate_certs"] is True
