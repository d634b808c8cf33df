# -*- coding: utf-8 -*-
# Copyright: (c) 2026, proxlb.balancer contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Reports people look at: a plan (and, once carried out, its results) as HTML, Markdown and JSON.

``summary(plan, results)`` joins the two artifacts into one plain dict (schema
``proxlb.balancer/report/1``): what a webhook receives and what both renderings are made from. The HTML is
self-contained (inline CSS and SVG, no script, no font or image fetched), so it opens from a mail
attachment or an AWX artifact without network access.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os

from ansible_collections.proxlb.balancer.plugins.module_utils.common.constants import GIB, PLAN_SCHEMA, RESULTS_SCHEMA, STATUSES, utc_stamp
from ansible_collections.proxlb.balancer.plugins.module_utils.common import artifacts, config
from ansible_collections.proxlb.balancer.plugins.module_utils.common.errors import PlanError
from ansible_collections.proxlb.balancer.plugins.module_utils.common.natural import natural_key
from ansible_collections.proxlb.balancer.plugins.module_utils.report import history as runs

from html import escape as _html_escape

SCHEMA = "proxlb.balancer/report/1"
RESOURCES = (("mem_pct", "memory"), ("cpu_pct", "cpu"), ("disk_pct", "disk"))
# a check run moves nothing: its moves that would have been made say so (status and totals key)
CHECK_MODE = "check mode"
WOULD = "would move"


def _esc(value):
    return _html_escape("" if value is None else str(value), True)


def _check(plan, results):
    """One actionable line for the inputs people get wrong (a facts result, a file of the wrong kind)."""
    if not isinstance(plan, dict) or plan.get("schema") != PLAN_SCHEMA:
        found = plan.get("schema") if isinstance(plan, dict) else type(plan).__name__
        raise PlanError("plan: expected a plan of proxlb_plan (schema %s), got %s" % (PLAN_SCHEMA, found or "no schema"))
    for key in ("moves", "nodes_before", "nodes_after"):
        if key not in plan:
            raise PlanError("plan: '%s' is missing; pass the 'plan' of a proxlb_plan result" % key)
    if results is not None and (not isinstance(results, dict) or results.get("schema") != RESULTS_SCHEMA):
        raise PlanError("results: expected the 'results' of a proxlb_migrate result (schema %s)" % RESULTS_SCHEMA)


def _now():
    return utc_stamp()


def summary(plan, results=None, title="Rebalance", status=None, generated=None):
    """Join a plan and its results (optional) into the report document.

    ``status`` labels the run for readers (for example ``awaiting approval``); by default it is
    ``planned`` without results and ``executed`` (or ``check mode``) with them."""
    _check(plan, results)
    by_vmid = dict((r["vmid"], r) for r in (results or {}).get("results", []))
    moves = []
    for move in plan["moves"]:
        row = dict(move)
        outcome = by_vmid.pop(move["vmid"], None)
        row["status"] = outcome["status"] if outcome else ("planned" if results is None else "not run")
        row["error"] = (outcome or {}).get("error")
        moves.append(row)
    # a replanning run can execute guests the original plan did not move: list them too
    for vmid in sorted(by_vmid):
        extra = by_vmid[vmid]
        moves.append({"step": None, "vmid": vmid, "name": None, "type": None, "source": extra["source"],
                      "target": extra["target"], "reason": "from a replan", "status": extra["status"],
                      "error": extra.get("error")})
    nodes = []
    for name in sorted(set(plan["nodes_before"]) | set(plan["nodes_after"]), key=natural_key):
        nodes.append({"node": name, "before": plan["nodes_before"].get(name, {}),
                      "after": plan["nodes_after"].get(name, {})})
    if status == CHECK_MODE:
        for row in moves:
            if row["status"] == "done":
                row["status"] = WOULD
    totals = dict((s, sum(1 for m in moves if m["status"] == s)) for s in STATUSES)
    if status == CHECK_MODE:
        totals["would_move"] = sum(1 for m in moves if m["status"] == WOULD)
    totals["moves"] = len(moves)
    if results is not None and "seconds" in results.get("totals", {}):
        totals["seconds"] = results["totals"]["seconds"]
    if status is None:
        status = "planned" if results is None else "executed"
    metrics = plan.get("metrics", {})
    return {
        "schema": SCHEMA,
        "title": title,
        "status": status,
        "generated": generated or _now(),
        "fingerprint": plan.get("fingerprint"),
        "mode": (plan.get("options") or {}).get("mode", "balance"),
        "totals": totals,
        "metrics": {"before": metrics.get("before", {}), "after": metrics.get("after", {})},
        "nodes": nodes,
        "moves": moves,
        "skipped": list(plan.get("skipped", [])),
        "unsatisfiable": list(plan.get("unsatisfiable", [])),
        "warnings": list(plan.get("warnings", [])),
        "schedule": plan.get("schedule"),                    # balancing windows (docs/operations.md)
        "recommended": list(plan.get("recommended", [])),    # plb_manual moves, never carried out
    }


def _pct(value):
    return "%.1f" % float(value or 0.0)


def _headline(doc):
    before, after = doc["metrics"]["before"], doc["metrics"]["after"]
    parts = ["%d move(s)" % doc["totals"]["moves"]]
    if doc["status"] == CHECK_MODE:
        parts = [", ".join(["%d move(s) would be made" % doc["totals"].get("would_move", 0)] + [
            "%d %s" % (doc["totals"][s], s.replace("_", " ")) for s in STATUSES if doc["totals"][s]])]
    elif doc["status"] not in ("planned", "awaiting approval"):
        parts.append(", ".join("%d %s" % (doc["totals"][s], s.replace("_", " ")) for s in STATUSES
                               if doc["totals"][s]) or "nothing run")
    if "weighted_spread" in before:
        parts.append("weighted spread %s -> %s pp" % (
            _pct(before["weighted_spread"]), _pct(after.get("weighted_spread"))))
    if "violations" in before:
        parts.append("rule violations %d -> %d" % (before["violations"], after.get("violations", 0)))
    if after.get("memory_moved"):
        parts.append("%.1f GiB memory moved" % (after["memory_moved"] / GIB))
    return "; ".join(parts)


def _guest(move):
    label = "%s %s" % (move.get("type") or "guest", move["vmid"])
    return label + (" (%s)" % move["name"] if move.get("name") else "")


def markdown(doc):
    """The Markdown summary: headline, per-node table, moves, then what was left alone and why."""
    lines = ["# %s: %s" % (doc["title"], doc["status"]), "",
             "%s. Generated %s, snapshot %s." % (_headline(doc), doc["generated"], doc["fingerprint"] or "-"), "",
             "| node | memory % | cpu % | disk % | guests |", "|---|---|---|---|---|"]
    for node in doc["nodes"]:
        b, a = node["before"], node["after"]
        cells = ["%s -> %s" % (_pct(b.get(key)), _pct(a.get(key))) for key, _label in RESOURCES]
        cells.append("%s -> %s" % (b.get("guests", 0), a.get("guests", 0)))
        lines.append("| %s | %s |" % (node["node"], " | ".join(cells)))
    lines.append("")
    if doc["moves"]:
        lines += ["## Moves", "", "| step | guest | from | to | status | reason |", "|---|---|---|---|---|---|"]
        for move in doc["moves"]:
            status = move["status"] + (": %s" % move["error"] if move.get("error") else "")
            lines.append("| %s | %s | %s | %s | %s | %s |" % (
                move["step"] if move["step"] is not None else "-", _md(_guest(move)), move["source"],
                move["target"], _md(status), _md(move["reason"])))
    else:
        lines.append(runs.no_moves(doc))
    if doc["skipped"]:
        lines += ["", "## Skipped guests", ""]
        lines += ["- %s: %s" % (s["vmid"], _md(s["reason"])) for s in doc["skipped"]]
    if doc["unsatisfiable"]:
        lines += ["", "## Unsatisfiable rules", ""]
        lines += ["- %s (guests %s): %s" % (
            _md(u["rule"]), ", ".join(str(g) for g in u.get("guests", [])), _md(u["reason"]))
            for u in doc["unsatisfiable"]]
    lines += runs.markdown_lines(doc)   # outcome (predicted vs measured) and the last runs (report/history.py)
    if doc["warnings"]:
        lines += ["", "## Warnings", ""] + ["- %s" % _md(w) for w in doc["warnings"]]
    return "\n".join(lines) + "\n"


def _md(text):
    # a pipe would end the table cell
    return str(text).replace("|", "\\|").replace("\n", " ")


_CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:24px;color:#1f2933;background:#fff}
h1{font-size:22px;margin:0 0 4px}h2{font-size:17px;margin:28px 0 8px}
.meta{color:#52606d;font-size:13px}.headline{font-size:15px;margin:10px 0 18px}
.status{display:inline-block;padding:2px 8px;border-radius:10px;background:#e4e7eb;font-size:13px}
.legend span{display:inline-block;width:12px;height:12px;margin:0 4px 0 12px;vertical-align:middle}
.nodes{display:flex;flex-wrap:wrap;gap:14px}
.node{border:1px solid #d9e2ec;border-radius:6px;padding:8px 10px}
.node h3{font-size:14px;margin:0 0 4px}
table{border-collapse:collapse;font-size:13px;width:100%}
th,td{border-bottom:1px solid #e4e7eb;padding:4px 8px;text-align:left;vertical-align:top}
th{background:#f5f7fa}
.s-done,.s-already_done{color:#1b7f3b}.s-failed,.s-timed_out{color:#b42318;font-weight:600}
.s-skipped,.s-not_run{color:#8a6d00}
"""

BEFORE_COLOUR = "#9aa5b1"
AFTER_COLOUR = "#1f6fb2"
_BAR_WIDTH = 220  # pixels for 100 %


def _bars(node):
    """One inline SVG per node: for each resource a before bar and an after bar, scaled to 100 %."""
    rows = []
    y = 0
    for key, label in RESOURCES:
        rows.append('<text x="0" y="%d" font-size="12" fill="#1f2933">%s</text>' % (y + 12, label))
        for when, colour in (("before", BEFORE_COLOUR), ("after", AFTER_COLOUR)):
            value = max(0.0, float(node[when].get(key) or 0.0))
            width = max(1, int(round(min(value, 100.0) / 100.0 * _BAR_WIDTH)))
            rows.append('<rect x="60" y="%d" width="%d" height="14" fill="#f0f4f8"/>' % (y, _BAR_WIDTH))
            rows.append('<rect class="bar %s" data-resource="%s" data-value="%s" x="60" y="%d" width="%d" '
                        'height="14" fill="%s"><title>%s %s: %s %%</title></rect>'
                        % (when, label, _pct(value), y, width, colour, label, when, _pct(value)))
            rows.append('<text x="%d" y="%d" font-size="11" fill="#52606d">%s %%</text>'
                        % (66 + _BAR_WIDTH, y + 11, _pct(value)))
            y += 16
        y += 8
    height = y
    return ('<svg class="bars" width="%d" height="%d" viewBox="0 0 %d %d" role="img" '
            'aria-label="%s before and after">%s</svg>' % (_BAR_WIDTH + 110, height, _BAR_WIDTH + 110, height,
                                                           _esc(node["node"]), "".join(rows)))


def html(doc):
    """The self-contained HTML report."""
    out = ['<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">',
           '<meta name="viewport" content="width=device-width, initial-scale=1">',
           "<title>%s: %s</title><style>%s</style></head><body>" % (_esc(doc["title"]), _esc(doc["status"]), _CSS),
           '<h1>%s <span class="status">%s</span></h1>' % (_esc(doc["title"]), _esc(doc["status"])),
           '<div class="meta">generated %s &middot; mode %s &middot; snapshot %s</div>'
           % (_esc(doc["generated"]), _esc(doc["mode"]), _esc(doc["fingerprint"] or "-")),
           '<p class="headline">%s</p>' % _esc(_headline(doc)),
           '<h2>Nodes, before and after</h2><div class="legend">in percent of each node\'s capacity'
           '<span style="background:%s"></span>before<span style="background:%s"></span>after</div>'
           % (BEFORE_COLOUR, AFTER_COLOUR),
           '<div class="nodes">']
    for node in doc["nodes"]:
        out.append('<div class="node" data-node="%s"><h3>%s <small>(%s -> %s guests)</small></h3>%s</div>' % (
            _esc(node["node"]), _esc(node["node"]), _esc(node["before"].get("guests", 0)),
            _esc(node["after"].get("guests", 0)), _bars(node)))
    out.append("</div><h2>Moves</h2>")
    if doc["moves"]:
        out.append("<table><thead><tr><th>step</th><th>guest</th><th>from</th><th>to</th><th>status</th>"
                   "<th>reason</th></tr></thead><tbody>")
        for move in doc["moves"]:
            status = move["status"] + (": %s" % move["error"] if move.get("error") else "")
            out.append('<tr class="move" data-vmid="%s"><td>%s</td><td>%s</td><td>%s</td><td>%s</td>'
                       '<td class="s-%s">%s</td><td>%s</td></tr>' % (
                           _esc(move["vmid"]), _esc(move["step"] if move["step"] is not None else "-"),
                           _esc(_guest(move)), _esc(move["source"]), _esc(move["target"]),
                           _esc(move["status"].replace(" ", "_")), _esc(status), _esc(move["reason"])))
        out.append("</tbody></table>")
    else:
        out.append("<p>%s</p>" % _esc(runs.no_moves(doc)))
    out.append("<h2>Skipped guests</h2>")
    out.append(_simple_table("skipped", ("vmid", "reason"),
                             [(s["vmid"], s["reason"]) for s in doc["skipped"]], "none"))
    out.append("<h2>Unsatisfiable rules</h2>")
    out.append(_simple_table("unsatisfiable", ("rule", "guests", "reason"),
                             [(u["rule"], ", ".join(str(g) for g in u.get("guests", [])), u["reason"])
                              for u in doc["unsatisfiable"]], "none: every rule holds"))
    out.append(runs.html_section(doc))   # outcome (predicted vs measured) and the run history chart
    if doc["warnings"]:
        out.append("<h2>Warnings</h2><ul>%s</ul>" % "".join("<li>%s</li>" % _esc(w) for w in doc["warnings"]))
    out.append("</body></html>\n")
    return "\n".join(out)


def _simple_table(kind, headers, rows, empty):
    if not rows:
        return "<p>%s</p>" % _esc(empty)
    head = "".join("<th>%s</th>" % h for h in headers)
    body = "".join('<tr class="%s">%s</tr>' % (kind, "".join("<td>%s</td>" % _esc(c) for c in row)) for row in rows)
    return "<table><thead><tr>%s</tr></thead><tbody>%s</tbody></table>" % (head, body)


def write(doc, plan, results, dest, name):
    """Write ``<name>.html``, ``<name>.md``, ``<name>-plan.json`` (loadable by proxlb_migrate) and, with
    results, ``<name>-results.json`` into ``dest`` (created if missing). Returns the paths by kind."""
    if not name or os.sep in name or name in (".", ".."):
        raise PlanError("name: %r is not a plain file name (no directories)" % (name,))
    try:
        artifacts.ensure_dir(dest, what="report directory")
        paths = {"html": os.path.join(dest, name + ".html"), "markdown": os.path.join(dest, name + ".md"),
                 "plan": os.path.join(dest, name + "-plan.json")}
        _write_text(paths["html"], html(doc))
        _write_text(paths["markdown"], markdown(doc))
        _write_text(paths["plan"], json.dumps(plan, indent=1, sort_keys=True) + "\n")
        if results is not None:
            paths["results"] = os.path.join(dest, name + "-results.json")
            _write_text(paths["results"], json.dumps(results, indent=1, sort_keys=True) + "\n")
    except (IOError, OSError) as exc:
        raise PlanError("report: cannot write into %s (%s)" % (dest, exc.strerror or exc))
    return paths


def _write_text(path, text):
    # 0600, never through a symlink, written then renamed: a reader never sees half a report
    artifacts.write_text(path, text, what="report")


def _load(value, path, what):
    if value is not None or not path:
        return value
    # UTF-8, size-limited, one line naming the file on any error (common/config.py)
    return config.read_json(path, what + "_file", error=PlanError)


def run_report(params):
    """The proxlb_report module: load the artifacts, write the report files, return the module result.

    A report changes nothing on the cluster, so ``changed`` is always false."""
    plan = _load(params.get("plan"), params.get("plan_file"), "plan")
    results = _load(params.get("results"), params.get("results_file"), "results")
    doc = summary(plan, results, title=params.get("title") or "Rebalance", status=params.get("status"))
    runs.annotate(doc, plan, results, params.get("dest"), params.get("history_size"))
    paths = write(doc, plan, results, params["dest"], params.get("name") or "report")
    return {"changed": False, "paths": paths, "summary": doc, "markdown": markdown(doc)}
