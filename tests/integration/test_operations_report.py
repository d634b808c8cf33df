"""Outcome measured and the run history (report/history.py): a real run on the simulator reported with predicted
vs measured spread, a bounded history file, and the history chart checked in a headless chromium screenshot
(skipped where chromium is not installed; `.ci/run` installs it)."""

import json
import os
import stat

import pytest

from ansible_collections.proxlb.balancer.plugins.module_utils.entry import runner
from ansible_collections.proxlb.balancer.plugins.module_utils.entry.migrate import run_migrate
from ansible_collections.proxlb.balancer.plugins.module_utils.placement import objective
from ansible_collections.proxlb.balancer.plugins.module_utils.plan.operations import pve_imbalance
from ansible_collections.proxlb.balancer.plugins.module_utils.report import history, render

from helpers import chromium, colour_pixels, connection, params, scenario, screenshot

THREE = [("pve1", "9.1.2", 64), ("pve2", "9.1.2", 64), ("pve3", "9.1.2", 64)]


def test_a_run_is_reported_with_predicted_and_measured_spread_and_kept_in_a_bounded_history(simulator, tmp_path):
    sim = simulator(scenario(THREE, [(101, "qemu", "pve1", "running", 20), (102, "qemu", "pve1", "running", 12),
                                     (103, "qemu", "pve1", "running", 8)]))
    options = dict(balancing={"balanciness": 5})
    plan = runner.run_plan(connection(sim, **options), environ={})["plan"]
    assert plan["moves"]
    migrated = run_migrate(params(sim, plan=plan, poll_interval=0.5, **options), environ={})
    results = migrated["results"]
    measured = results["measured"]
    assert measured["spread"], "the executor read the cluster again after the run"
    dest = str(tmp_path / "reports")
    report = render.run_report({"plan": plan, "results": results, "dest": dest, "name": "run1"})
    outcome = report["summary"]["outcome"]
    assert outcome["predicted"]["weighted_spread"] == round(plan["metrics"]["after"]["weighted_spread"], 2)
    want = objective.weighted_spread([measured["spread"][k] for k in ("memory", "cpu", "disk")], (1.0, 0.0, 0.0))
    assert outcome["measured"]["weighted_spread"] == round(want, 2)
    online = [n for n in measured["nodes"].values() if n["status"] == "online"]
    assert outcome["measured"]["pve_imbalance"] == round(
        pve_imbalance([(n["cpu_pct"] + n["mem_pct"]) / 200.0 for n in online]), 4)
    assert outcome["before"]["pve_imbalance"] == plan["metrics"]["before"]["pve_imbalance"] > \
        outcome["predicted"]["pve_imbalance"]
    assert "## Outcome" in report["markdown"] and "| measured | %.1f pp |" % want in report["markdown"]
    with open(report["paths"]["html"]) as handle:
        page = handle.read()
    assert '<tr class="outcome" data-kind="measured"><td>measured</td><td>%.1f pp</td>' % want in page
    assert '<svg class="history"' in page

    path = os.path.join(dest, history.FILE_NAME)
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    with open(path) as handle:
        [line] = [json.loads(text) for text in handle]
    assert line["moves"] == len(plan["moves"]) and line["measured"] == round(want, 2)
    assert line["predicted"] == round(plan["metrics"]["after"]["weighted_spread"], 2)
    # a plan-only report and a check-mode report are not runs: the history does not grow
    render.run_report({"plan": plan, "dest": dest, "name": "planned"})
    render.run_report({"plan": plan, "results": results, "dest": dest, "name": "check", "status": "check mode"})
    assert len(history.read(dest, 100)) == 1
    # bounded: with history_size 3, five more runs leave the last three
    for i in range(5):
        render.run_report({"plan": plan, "results": results, "dest": dest, "name": "run%d" % (i + 2),
                           "history_size": 3})
    with open(path) as handle:
        assert len(handle.read().splitlines()) == 3
    # 0: no history and no chart
    none = render.run_report({"plan": plan, "results": results, "dest": str(tmp_path / "quiet"), "name": "q",
                              "history_size": 0})
    assert not os.path.exists(os.path.join(str(tmp_path / "quiet"), history.FILE_NAME))
    assert none["summary"]["history"] == []


def _doc(runs):
    plan = {"schema": "proxlb.balancer/plan/1", "moves": [], "nodes_before": {}, "nodes_after": {},
            "metrics": {"before": {"weighted_spread": 40.0}, "after": {"weighted_spread": 8.0}}}
    doc = render.summary(plan, generated="2026-06-03T05:58:00Z")
    doc["outcome"] = history.outcome(plan, None)
    doc["history"] = runs
    return doc


def _runs(moves, measured=True):
    return [{"at": "2026-06-%02dT02:30:00Z" % (i + 1), "moves": m, "predicted": 6.0 + i, "before": 30.0,
             "measured": (9.0 + i) if measured else None} for i, m in enumerate(moves)]


@pytest.mark.skipif(not chromium(), reason="chromium is not installed (the report chart is checked in a browser)")
def test_the_history_chart_draws_the_runs_it_is_given(tmp_path):
    _w, _h, rows = screenshot(render.html(_doc(_runs([10, 2, 2, 2]))), tmp_path, "a", size="760,900")
    bars_a = colour_pixels(rows, history.MOVES_COLOUR)
    predicted = colour_pixels(rows, history.PREDICTED_COLOUR)
    measured = colour_pixels(rows, history.MEASURED_COLOUR)
    legend = 3 * 12 * 12   # the three legend swatches
    assert predicted > legend + 400 and measured > legend + 400, (predicted, measured)
    # more moves in the same runs: the bars cover more pixels, in proportion (16 vs 32 moves, tallest the same)
    _w, _h, rows = screenshot(render.html(_doc(_runs([10, 10, 10, 2]))), tmp_path, "b", size="760,900")
    bars_b = colour_pixels(rows, history.MOVES_COLOUR)
    assert 1.7 < (bars_b - 144) / float(bars_a - 144) < 2.3, (bars_a, bars_b)
    # runs that measured nothing draw no measured line: only its legend swatch is left
    _w, _h, rows = screenshot(render.html(_doc(_runs([10, 2, 2, 2], measured=False))), tmp_path, "c", size="760,900")
    assert colour_pixels(rows, history.MEASURED_COLOUR) < 200
    assert colour_pixels(rows, history.PREDICTED_COLOUR) > legend + 400


def test_a_report_says_which_window_held_the_plan_and_lists_the_recommended_moves(tmp_path):
    plan = {"schema": "proxlb.balancer/plan/1", "moves": [], "nodes_before": {}, "nodes_after": {},
            "schedule": {"allowed": False, "reason": "blackout 'sat,sun 01:00-05:00' (now Sat 02:00 UTC)"},
            "recommended": [{"step": 1, "vmid": 101, "name": "db", "type": "qemu", "source": "pve1", "target": "pve3",
                             "reason": "plb_manual, recommended: balance", "gain": 9.0, "cost": 1}]}
    report = render.run_report({"plan": plan, "dest": str(tmp_path), "name": "held"})
    assert "No moves: blackout 'sat,sun 01:00-05:00' (now Sat 02:00 UTC)." in report["markdown"]
    assert "within its balanciness" not in report["markdown"]
    assert "| 101 | pve1 | pve3 | plb_manual, recommended: balance |" in report["markdown"]
    with open(report["paths"]["html"]) as handle:
        page = handle.read()
    assert '<tr class="recommended"><td>101</td><td>pve1</td><td>pve3</td>' in page
    assert "No moves: blackout &#x27;sat,sun 01:00-05:00&#x27;" in page
    assert report["summary"]["recommended"][0]["vmid"] == 101
