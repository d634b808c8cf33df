# -*- coding: utf-8 -*-
# Copyright: (c) 2026, proxlb.balancer contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What the planner adds for a cluster that is balanced for months: windows, plb_manual, PVE's imbalance.

See docs/operations.md.

- ``schedule_status``/``closed_plan``: outside ``balancing.windows`` or inside a ``balancing.blackouts`` entry
  the plan has no moves and says why (``schedule`` in the plan, and a warning);
- ``recommend``: guests tagged ``plb_manual`` never move automatically; where moving them would help, the
  plan lists the move in ``recommended`` (beside ``moves``; ``proxlb_migrate`` never executes it);
- ``pve_imbalance``: the imbalance in Proxmox VE's own unit, the normalised coefficient of variation of node
  load that PVE's CRS computes (proxmox-resource-scheduling), in ``metrics.before/after.pve_imbalance``.

The planner calls ``finish`` on every plan it makes; nothing here imports the planner (it hands itself in).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import copy
import math

from ansible_collections.proxlb.balancer.plugins.module_utils.common import clock, windows
from ansible_collections.proxlb.balancer.plugins.module_utils.facts import cooldown as adaptive
from ansible_collections.proxlb.balancer.plugins.module_utils.placement import objective
from ansible_collections.proxlb.balancer.plugins.module_utils.plan.document import MOVE_KEYS, plan_document

MANUAL_PASS = "recommend:automatic-guests"


def pve_imbalance(loads):
    """PVE's node imbalance of per-node loads (fractions): the coefficient of variation (population standard
    deviation over the mean) divided by its upper bound sqrt(n - 1), so 0 is perfectly even and 1 is all load
    on one node. 0.0 for fewer than two nodes or no load, as PVE answers.

    Source: proxmox/proxmox-rs, proxmox-resource-scheduling/src/scheduler.rs ``calculate_node_imbalance``,
    with a node's load ``(cpu / maxcpu + mem / maxmem) / 2`` (src/node.rs ``NodeStats::load``); PVE's HA
    manager asks it through ``PVE::HA::Usage::Dynamic::calculate_node_imbalance``."""
    loads = [float(v) for v in loads]
    count = len(loads)
    total = sum(loads)
    if count < 2 or total <= 0:
        return 0.0
    mean = total / count
    deviation = math.sqrt(sum((v - mean) ** 2 for v in loads) / count)
    return (deviation / mean) / math.sqrt(count - 1)


def table_imbalance(table, nodes=None):
    """``pve_imbalance`` of a node table ({node: {mem_pct, cpu_pct, ...}}, as plans and results carry),
    over ``nodes`` (default: every node of the table whose ``status``, if given, is online), rounded."""
    names = [n for n in (table or {}) if (nodes is None and (table[n].get("status") or "online") == "online")
             or (nodes is not None and n in nodes)]
    loads = [(float(table[n].get("cpu_pct") or 0.0) + float(table[n].get("mem_pct") or 0.0)) / 200.0
             for n in names]
    return round(pve_imbalance(loads), 4)


def schedule_status(options):
    """The window status of a plan ({allowed, reason, ...}) when windows or blackouts are set, else None."""
    schedule = windows.schedule_of((options or {}).get("balancing"))
    if schedule is None or not windows.governs(options):
        return None   # a maintenance drain (mode evacuate) is asked for now: windows do not hold it
    return schedule.status()


def closed_plan(planner, status):
    """The plan outside the windows (or in a blackout): no moves, the cluster as it is, and the reason."""
    table = planner.node_table()
    before = planner.metrics()
    after = dict(before, moves=0, memory_moved=0, cost=0)
    skipped = [{"vmid": v, "reason": planner.fixed[v]} for v in sorted(planner.fixed)]
    skipped.extend({"vmid": v, "reason": planner.held[v]} for v in sorted(planner.held) if v not in planner.fixed)
    unsatisfiable = list(planner.unsatisfiable)
    reported = set(u["rule"] for u in unsatisfiable)
    for entry in objective.violations(planner.placement(), planner.state.rules.hard_rules(), planner.nodes,
                                      len(planner.targets), planner.state.rules.anti_limit):
        if entry["rule"] not in reported:
            unsatisfiable.append(dict(entry, reason="%s; not repaired now: %s" % (entry["reason"], status["reason"])))
    warnings = list(planner.warnings) + ["no moves: %s" % status["reason"]]
    return plan_document(planner.snapshot, planner.options, [], skipped, unsatisfiable, table, copy.deepcopy(table),
                         {"before": before, "after": after}, warnings)


def recommend(doc, planner, replan, apply):
    """The moves of ``plb_manual`` guests that would help, planned on the placement after ``doc``'s moves with
    every other guest held where it is; [] without manual guests. ``replan(snapshot, rules)`` plans,
    ``apply(snapshot, plan)`` gives the snapshot after a plan."""
    manual = set(v for r in planner.rules if r["kind"] == "manual" for v in r["guests"])
    if not manual:
        return []
    after = apply(planner.snapshot, doc)
    others = sorted(g["vmid"] for g in after["guests"] if g["vmid"] not in manual)
    rules = [r for r in planner.rules if r["kind"] != "manual" and r["id"] != MANUAL_PASS]
    rules.append({"id": MANUAL_PASS, "kind": "ignore", "strict": True, "guests": others, "nodes": [],
                  "source": "the recommendation pass for plb_manual guests"})
    second = replan(after, rules)
    out = []
    for move in second["moves"]:
        entry = dict((k, move[k]) for k in MOVE_KEYS)
        entry["reason"] = "plb_manual, recommended: %s" % move["reason"]
        out.append(entry)
    return out


def finish(doc, planner, status, replan, apply):
    """Add the window status, the recommendations and PVE's imbalance to a plan; returns it."""
    if status is not None:
        doc["schedule"] = status
    online = set(n["node"] for n in planner.snapshot["nodes"] if n.get("status", "online") == "online")
    for when, table in (("before", doc.get("nodes_before")), ("after", doc.get("nodes_after"))):
        if table and when in doc.get("metrics", {}):
            doc["metrics"][when]["pve_imbalance"] = table_imbalance(table, online)
    doc["recommended"] = recommend(doc, planner, replan, apply) if status is None or status["allowed"] else []
    if adaptive.is_adaptive(planner.options.get("cooldown")):
        spec = adaptive.parse(planner.options["cooldown"])
        doc["ping_pong"] = adaptive.ping_pongs(planner.snapshot, spec["window"], clock.now())
        for entry in doc["ping_pong"]:
            doc["warnings"].append("ping-pong: guest %d went %s within %d h; the adaptive cooldown holds it longer "
                                   "after each move" % (entry["vmid"], " -> ".join(entry["path"]),
                                                        spec["window"] // 3600))
    return doc
