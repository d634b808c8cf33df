"""Reports from plans and results: the joined summary, Markdown, self-contained HTML, files, clear errors."""

import copy
import json
import os
import re
from html.parser import HTMLParser

import pytest
from hypothesis import given, settings, strategies as st

from ansible_collections.proxlb.balancer.plugins.module_utils.facts import snapshot
from ansible_collections.proxlb.balancer.plugins.module_utils.report import render as report
from ansible_collections.proxlb.balancer.plugins.module_utils.common.errors import PlanError
from ansible_collections.proxlb.balancer.plugins.module_utils.plan.planner import plan as make_plan

DEMO = os.path.join(os.path.dirname(__file__), "..", "..", "simulator", "scenarios", "demo.json")


@pytest.fixture(scope="module")
def demo_plan():
    return make_plan(snapshot.load(DEMO), {})


def results_for(plan, statuses):
    rows = []
    for move, status in zip(plan["moves"], statuses):
        rows.append({"vmid": move["vmid"], "source": move["source"], "target": move["target"], "status": status,
                     "upid": None, "started": None, "finished": None,
                     "error": None if status in ("done", "already_done") else "because %s" % status})
    return {"schema": "proxlb.balancer/results/1", "fingerprint": plan["fingerprint"], "results": rows,
            "totals": {"moves": len(rows), "seconds": 3.5}}


class Parts(HTMLParser):
    def __init__(self):
        HTMLParser.__init__(self)
        self.nodes, self.moves, self.bars, self.urls, self.tags = [], [], [], [], set()

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        self.tags.add(tag)
        classes = (attrs.get("class") or "").split()
        if tag == "div" and "node" in classes:
            self.nodes.append(attrs["data-node"])
        if tag == "tr" and "move" in classes:
            self.moves.append(int(attrs["data-vmid"]))
        if tag == "rect" and "bar" in classes:
            self.bars.append((classes[1], attrs["data-resource"], float(attrs["data-value"]), int(attrs["width"])))
        for key in ("src", "href"):
            if attrs.get(key):
                self.urls.append(attrs[key])


def parse(text):
    parts = Parts()
    parts.feed(text)
    return parts


def test_html_has_one_bar_group_per_node_and_one_row_per_move(demo_plan):
    doc = report.summary(demo_plan, generated="2026-01-01T00:00:00Z")
    parts = parse(report.html(doc))
    assert parts.nodes == sorted(demo_plan["nodes_before"])
    assert parts.moves == [m["vmid"] for m in demo_plan["moves"]]
    assert len(parts.bars) == 6 * len(parts.nodes)
    for when, resource, value, width in parts.bars:
        assert abs(width - max(1, round(min(value, 100) / 100.0 * 220))) <= 1
    # every before/after value of the plan is drawn
    drawn = set((b[0], b[1], b[2]) for b in parts.bars)
    for name, row in demo_plan["nodes_after"].items():
        assert ("after", "memory", round(row["mem_pct"], 1)) in drawn


def test_html_is_self_contained(demo_plan):
    text = report.html(report.summary(demo_plan))
    parts = parse(text)
    assert parts.urls == [] and "script" not in parts.tags and "link" not in parts.tags and "img" not in parts.tags
    assert "url(" not in text and "@import" not in text


def test_html_and_markdown_escape_guest_text(demo_plan):
    plan = copy.deepcopy(demo_plan)
    plan["moves"][0]["name"] = "<script>x</script>|y"
    plan["skipped"].append({"vmid": 999, "reason": "a <b> & c"})
    doc = report.summary(plan)
    text = report.html(doc)
    assert "<script>x" not in text and "&lt;script&gt;x" in text and "a &lt;b&gt; &amp; c" in text
    assert "<script>x</script>\\|y" in report.markdown(doc)


def test_results_join_the_moves(demo_plan):
    statuses = ["done", "failed", "skipped", "already_done", "timed_out"]
    results = results_for(demo_plan, statuses)
    doc = report.summary(demo_plan, results)
    assert doc["status"] == "executed"
    assert [m["status"] for m in doc["moves"][:5]] == statuses
    assert all(m["status"] == "not run" for m in doc["moves"][5:])
    assert doc["totals"]["done"] == 1 and doc["totals"]["failed"] == 1 and doc["totals"]["seconds"] == 3.5
    md = report.markdown(doc)
    assert "failed: because failed" in md and "1 done, 1 already done, 1 skipped, 1 failed, 1 timed out" in md
    assert 'class="s-failed"' in report.html(doc)


def test_replanned_results_are_listed_too(demo_plan):
    results = results_for(demo_plan, ["done"])
    results["results"].append({"vmid": 4242, "source": "pve1", "target": "pve2", "status": "done", "upid": None,
                               "started": None, "finished": None, "error": None})
    doc = report.summary(demo_plan, results)
    assert doc["moves"][-1]["vmid"] == 4242 and doc["moves"][-1]["reason"] == "from a replan"
    assert parse(report.html(doc)).moves[-1] == 4242


def test_empty_plan_says_so(demo_plan):
    plan = dict(demo_plan, moves=[], skipped=[], unsatisfiable=[], warnings=[])
    doc = report.summary(plan)
    assert "No moves" in report.markdown(doc) and "No moves" in report.html(doc)
    assert parse(report.html(doc)).moves == []


def test_markdown_node_table(demo_plan):
    md = report.markdown(report.summary(demo_plan, status="awaiting approval"))
    assert md.startswith("# Rebalance: awaiting approval\n")
    for name, before in demo_plan["nodes_before"].items():
        after = demo_plan["nodes_after"][name]
        assert "| %s | %.1f -> %.1f |" % (name, before["mem_pct"], after["mem_pct"]) in md
    for entry in demo_plan["unsatisfiable"]:
        assert entry["rule"] in md


def test_write_files_and_run_report(demo_plan, tmp_path):
    plan_file = tmp_path / "in.json"
    plan_file.write_text(json.dumps(demo_plan))
    out = report.run_report({"plan_file": str(plan_file), "results": results_for(demo_plan, ["done"]),
                             "dest": str(tmp_path / "new" / "dir"), "name": "r1"})
    assert out["changed"] is False
    assert sorted(out["paths"]) == ["html", "markdown", "plan", "results"]
    assert json.loads(open(out["paths"]["plan"]).read()) == demo_plan
    assert open(out["paths"]["markdown"]).read() == out["markdown"]
    assert not [f for f in os.listdir(str(tmp_path / "new" / "dir")) if f.endswith(".tmp")]


@pytest.mark.parametrize("params, message", [
    ({"plan": {"schema": "proxlb.balancer/snapshot/1"}}, "expected a plan of proxlb_plan"),
    ({"plan": {"schema": "proxlb.balancer/plan/1"}}, "'moves' is missing"),
    ({"plan_file": "/nonexistent/plan.json"}, "plan_file /nonexistent/plan.json: cannot read it"),
    ({"name": "../x"}, "is not a plain file name"),
    ({"results": {"results": []}}, "expected the 'results' of a proxlb_migrate result"),
])
def test_errors_are_one_line(demo_plan, tmp_path, params, message):
    full = {"plan": demo_plan, "dest": str(tmp_path), "name": "r"}
    full.update(params)
    if "plan_file" in params:
        full.pop("plan")
    with pytest.raises(PlanError) as info:
        report.run_report(full)
    assert message in str(info.value) and "\n" not in str(info.value)


@settings(max_examples=40, deadline=None)
@given(st.dictionaries(st.sampled_from(["a", "b", "c<d", "e&f"]),
                       st.tuples(*[st.floats(min_value=0, max_value=250, allow_nan=False)] * 3), min_size=1))
def test_bars_stay_inside_their_track(values):
    nodes = dict((n, {"mem_pct": v[0], "cpu_pct": v[1], "disk_pct": v[2], "guests": 1}) for n, v in values.items())
    plan = {"schema": "proxlb.balancer/plan/1", "moves": [], "nodes_before": nodes, "nodes_after": nodes}
    parts = parse(report.html(report.summary(plan)))
    assert parts.nodes == sorted(values)
    assert all(1 <= width <= 220 for _w, _r, _v, width in parts.bars)
    assert re.search(r"<svg[^>]*>", report.html(report.summary(plan)))
