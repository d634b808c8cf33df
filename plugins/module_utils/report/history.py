# -*- coding: utf-8 -*-
# Copyright: (c) 2026, proxlb.balancer contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Outcomes and the run history of the reports (docs/reports.md, docs/operations.md).

``outcome(plan, results)``: the spread before, the plan's prediction and what the cluster measured after the
run (``results.measured``, the cluster read again once the moves ended), in percentage points and in PVE's
imbalance unit. ``record(dest, entry, size)`` keeps the last ``size`` runs as JSON lines in
``<dest>/history.jsonl`` (0600, never through a symlink, rewritten whole so it stays bounded);
``html_section``/``markdown_lines`` show the outcome and the last runs as an inline SVG chart (no script).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os

from html import escape as _html_escape

from ansible_collections.proxlb.balancer.plugins.module_utils.common import artifacts
from ansible_collections.proxlb.balancer.plugins.module_utils.common.artifacts import ArtifactError
from ansible_collections.proxlb.balancer.plugins.module_utils.common.errors import PlanError
from ansible_collections.proxlb.balancer.plugins.module_utils.placement import objective
from ansible_collections.proxlb.balancer.plugins.module_utils.plan.operations import table_imbalance

FILE_NAME = "history.jsonl"
DEFAULT_SIZE = 30
MAX_SIZE = 1000
MAX_BYTES = 4 * 1024 * 1024
# the chart's colours (the browser test finds them in the screenshot)
MOVES_COLOUR = "#b7c4d1"
PREDICTED_COLOUR = "#6741d9"
MEASURED_COLOUR = "#d9480f"
_CHART_W, _CHART_H, _PAD_L, _PAD_B, _PAD_T = 640, 220, 44, 34, 14


def _esc(value):
    return _html_escape("" if value is None else str(value), True)


def _round(value):
    return None if value is None else round(float(value), 2)


def outcome(plan, results):
    """{before, predicted, measured} of one run: ``weighted_spread`` (pp, the plan's weights) and
    ``pve_imbalance`` (0..1, PVE's CRS unit); ``measured`` is None without a cluster read after the run."""
    metrics = plan.get("metrics") or {}
    before, after = metrics.get("before") or {}, metrics.get("after") or {}
    out = {"before": {"weighted_spread": _round(before.get("weighted_spread")),
                      "pve_imbalance": before.get("pve_imbalance", table_imbalance(plan.get("nodes_before")))},
           "predicted": {"weighted_spread": _round(after.get("weighted_spread")),
                         "pve_imbalance": after.get("pve_imbalance", table_imbalance(plan.get("nodes_after")))},
           "measured": None}
    measured = (results or {}).get("measured") or {}
    if measured.get("spread"):
        weight = objective.weights(((plan.get("options") or {}).get("balancing")) or {})
        spread = measured["spread"]
        values = [float(spread.get(name) or 0.0) for name in ("memory", "cpu", "disk")]
        out["measured"] = {"weighted_spread": _round(objective.weighted_spread(values, weight)),
                           "pve_imbalance": table_imbalance(measured.get("nodes")),
                           "spread": dict(spread), "at": measured.get("at")}
    return out


def entry(doc):
    """The history line of one report document (after ``annotate``)."""
    result = doc.get("outcome") or {}
    measured = result.get("measured") or {}
    return {"at": doc.get("generated"), "status": doc.get("status"), "mode": doc.get("mode"),
            "moves": doc["totals"].get("done", 0) + doc["totals"].get("already_done", 0),
            "planned": doc["totals"].get("moves", 0), "failed": doc["totals"].get("failed", 0),
            "before": (result.get("before") or {}).get("weighted_spread"),
            "predicted": (result.get("predicted") or {}).get("weighted_spread"),
            "measured": measured.get("weighted_spread"),
            "pve_before": (result.get("before") or {}).get("pve_imbalance"),
            "pve_predicted": (result.get("predicted") or {}).get("pve_imbalance"),
            "pve_measured": measured.get("pve_imbalance")}


def path_of(dest):
    return os.path.join(dest, FILE_NAME)


def read(dest, size=DEFAULT_SIZE):
    """The last ``size`` runs recorded in ``dest`` (oldest first); lines that are not JSON objects are skipped."""
    path = path_of(dest)
    if os.path.islink(path):
        raise ArtifactError("run history %s: is a symbolic link; refusing to read it" % path)
    try:
        with open(path, "rb") as handle:
            data = handle.read(MAX_BYTES + 1)
    except (IOError, OSError):
        return []
    runs = []
    for line in data[-MAX_BYTES:].decode("utf-8", "replace").splitlines():
        try:
            item = json.loads(line)
        except ValueError:
            continue
        if isinstance(item, dict):
            runs.append(item)
    return runs[-size:] if size else []


def record(dest, item, size=DEFAULT_SIZE):
    """Append ``item`` to the run history in ``dest``, keep the last ``size`` runs; returns them."""
    runs = read(dest, max(size - 1, 0)) + [item]
    runs = runs[-size:]
    text = "".join(json.dumps(run, sort_keys=True) + "\n" for run in runs)
    artifacts.write_text(path_of(dest), text, what="run history")
    return runs


def check_size(value):
    if value is None:
        return DEFAULT_SIZE
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_SIZE:
        raise PlanError("history_size: expected a number of runs from 0 to %d, got %r" % (MAX_SIZE, value))
    return value


def annotate(doc, plan, results, dest=None, size=DEFAULT_SIZE):
    """Add ``outcome`` to a report document and, for a run that was carried out (results given, not check mode)
    with ``size`` > 0, record it in ``dest``'s history; ``history`` holds the last runs for the chart."""
    size = check_size(size)
    doc["outcome"] = outcome(plan, results)
    doc["history"] = []
    if not dest or not size:
        return doc
    if results is not None and doc.get("status") not in ("check mode", "planned", "awaiting approval"):
        artifacts.ensure_dir(dest, what="report directory")
        doc["history"] = record(dest, entry(doc), size)
    else:
        doc["history"] = read(dest, size)
    return doc


# --- rendering -------------------------------------------------------------------------------------------

def _fmt(value, unit=" pp"):
    return "-" if value is None else ("%.1f%s" % (value, unit) if unit else "%.3f" % value)


def no_moves(doc):
    """What a report says about a plan without moves: the window that held it, or that nothing was needed."""
    schedule = doc.get("schedule") or {}
    if schedule and schedule.get("allowed") is False:
        return "No moves: %s." % schedule.get("reason")
    return "No moves: the cluster is within its balanciness and every rule holds."


def _recommended_rows(doc):
    return [(m.get("vmid"), m.get("source"), m.get("target"), m.get("reason")) for m in doc.get("recommended") or []]


def markdown_lines(doc):
    lines = []
    if doc.get("recommended"):
        lines += ["", "## Recommended moves (plb_manual, not carried out)", "", "| guest | from | to | reason |",
                  "|---|---|---|---|"]
        lines += ["| %s | %s | %s | %s |" % tuple(str(c).replace("|", "\\|") for c in row)
                  for row in _recommended_rows(doc)]
    result = doc.get("outcome")
    if not result:
        return lines
    lines += ["", "## Outcome", "", "| | weighted spread | PVE imbalance |", "|---|---|---|"]
    for label, key in (("before", "before"), ("predicted", "predicted"), ("measured", "measured")):
        values = result.get(key) or {}
        lines.append("| %s | %s | %s |" % (
            label, _fmt(values.get("weighted_spread")), _fmt(values.get("pve_imbalance"), None)))
    runs = doc.get("history") or []
    if runs:
        lines += ["", "Last %d run(s): moves %s" % (len(runs), ", ".join(str(r.get("moves", 0)) for r in runs))]
    return lines


def html_section(doc):
    """The outcome table and the run history chart, as HTML (inline SVG)."""
    out = []
    if doc.get("recommended"):
        out.append("<h2>Recommended moves (plb_manual, not carried out)</h2><table><thead><tr><th>guest</th><th>from</th>"
                   "<th>to</th><th>reason</th></tr></thead><tbody>%s</tbody></table>" % "".join(
                       '<tr class="recommended">%s</tr>' % "".join("<td>%s</td>" % _esc(c) for c in row)
                       for row in _recommended_rows(doc)))
    result = doc.get("outcome")
    if not result:
        return "\n".join(out)
    rows = []
    for label, key in (("before", "before"), ("predicted", "predicted"), ("measured", "measured")):
        values = result.get(key) or {}
        rows.append('<tr class="outcome" data-kind="%s"><td>%s</td><td>%s</td><td>%s</td></tr>' % (
            key, label, _esc(_fmt(values.get("weighted_spread"))), _esc(_fmt(values.get("pve_imbalance"), None))))
    note = ("" if result.get("measured") else
            "<p>Not measured: the cluster is read again only after a run that carried the plan out.</p>")
    out += ['<h2>Outcome</h2><table class="outcome"><thead><tr><th></th><th>weighted spread</th>'
            '<th>PVE imbalance (0-1)</th></tr></thead><tbody>%s</tbody></table>%s' % ("".join(rows), note)]
    runs = doc.get("history") or []
    if runs:
        out.append('<h2>Last %d run(s)</h2><div class="legend"><span style="background:%s"></span>moves'
                   '<span style="background:%s"></span>predicted spread<span style="background:%s"></span>'
                   'measured spread</div>%s' % (len(runs), MOVES_COLOUR, PREDICTED_COLOUR, MEASURED_COLOUR,
                                                chart_svg(runs)))
    return "\n".join(out)


def chart_svg(runs):
    """Bars for the moves of each run (right axis) and two lines, predicted and measured weighted spread (left
    axis, pp), over the last runs, oldest left."""
    plot_w, plot_h = _CHART_W - _PAD_L - 40, _CHART_H - _PAD_B - _PAD_T
    count = len(runs)
    slot = plot_w / float(max(count, 1))
    spreads = [r.get(k) for r in runs for k in ("predicted", "measured", "before") if r.get(k) is not None]
    top = max([10.0] + [float(v) for v in spreads]) * 1.1
    most = max([1] + [int(r.get("moves") or 0) for r in runs])
    parts = ['<rect x="%d" y="%d" width="%d" height="%d" fill="#fbfcfd" stroke="#d9e2ec"/>'
             % (_PAD_L, _PAD_T, plot_w, plot_h)]
    for i in range(5):
        value = top * i / 4.0
        y = _PAD_T + plot_h - plot_h * i / 4.0
        parts.append('<text x="%d" y="%.1f" font-size="10" fill="#52606d" text-anchor="end">%.0f</text>'
                     % (_PAD_L - 4, y + 3, value))
    parts.append('<text x="4" y="%d" font-size="10" fill="#52606d">pp</text>' % (_PAD_T + 8))
    parts.append('<text x="%d" y="%d" font-size="10" fill="#52606d">moves (max %d)</text>'
                 % (_PAD_L + plot_w - 70, _PAD_T - 3, most))
    lines = {"predicted": [], "measured": []}
    for i, run in enumerate(runs):
        x = _PAD_L + slot * i
        moves = int(run.get("moves") or 0)
        height = plot_h * 0.9 * moves / float(most)
        parts.append('<rect class="moves" data-run="%d" data-value="%d" x="%.1f" y="%.1f" width="%.1f" height="%.1f" '
                     'fill="%s"><title>%s: %d move(s)</title></rect>'
                     % (i, moves, x + slot * 0.2, _PAD_T + plot_h - height, slot * 0.6, height, MOVES_COLOUR,
                        _esc(run.get("at")), moves))
        for key in lines:
            if run.get(key) is not None:
                y = _PAD_T + plot_h - plot_h * float(run[key]) / top
                lines[key].append((x + slot / 2.0, y, float(run[key]), run.get("at")))
        label = str(run.get("at") or "")[5:16].replace("T", " ")
        parts.append('<text x="%.1f" y="%d" font-size="9" fill="#52606d" text-anchor="middle">%s</text>'
                     % (x + slot / 2.0, _PAD_T + plot_h + 14, _esc(label) if count <= 12 or i % 3 == 0 else ""))
    for key, colour in (("predicted", PREDICTED_COLOUR), ("measured", MEASURED_COLOUR)):
        points = lines[key]
        if len(points) > 1:
            parts.append('<polyline class="%s" fill="none" stroke="%s" stroke-width="3" points="%s"/>' % (
                key, colour, " ".join("%.1f,%.1f" % (x, y) for x, y, _v, _a in points)))
        for x, y, value, when in points:
            parts.append('<circle class="%s" cx="%.1f" cy="%.1f" r="5" fill="%s" data-value="%.2f">'
                         '<title>%s %s: %.1f pp</title></circle>' % (key, x, y, colour, value, _esc(when), key, value))
    return ('<svg class="history" width="%d" height="%d" viewBox="0 0 %d %d" role="img" aria-label="last runs: moves, '
            'predicted and measured spread">%s</svg>' % (_CHART_W, _CHART_H, _CHART_W, _CHART_H, "".join(parts)))
