# -*- coding: utf-8 -*-
# Copyright: (c) 2026, proxlb.balancer contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The planner: snapshot + behaviour options + rules -> a plan of migrations (docs/planner.md).

Phases, in the order of the lexicographic objective: mandatory moves (strict pins, draining maintenance
and evacuated nodes, anti-affinity, affinity groups joined), then balance (a fluid band computed from
the loads, filled by best-matching guests, then local improvement on the weighted spread). Every move
is checked against hard rules and hard capacity in the state left by the moves before it, so the moves
in order are safe; ``capacity.assign_steps`` then groups them into parallel steps.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import copy

from ansible_collections.proxlb.balancer.plugins.module_utils.common.config import behaviour
from ansible_collections.proxlb.balancer.plugins.module_utils.common.constants import GIB
from ansible_collections.proxlb.balancer.plugins.module_utils.common.errors import PlanError
from ansible_collections.proxlb.balancer.plugins.module_utils.common.natural import natural_key
from ansible_collections.proxlb.balancer.plugins.module_utils.plan import balance, mandatory, operations, order, output, pressure
from ansible_collections.proxlb.balancer.plugins.module_utils.plan.context import PlanContext
from ansible_collections.proxlb.balancer.plugins.module_utils.plan.document import node_table, plan_document
from ansible_collections.proxlb.balancer.plugins.module_utils.rules.build import rules_for
from ansible_collections.proxlb.balancer.plugins.module_utils.facts.snapshot import normalize, fingerprint

# passes over the placement: each looks afresh (every guest may move again); the plan ends when one
# finds nothing to do, so planning again on the planned placement finds nothing either
MAX_PASSES = 6


def _passes(ctx):
    psi = ctx.balancing.get("mode") == "psi"
    for number in range(MAX_PASSES):
        ctx.new_pass()
        mandatory.run(ctx)
        if not psi:
            balance.run(ctx)
        elif number == 0:
            pressure.relieve(ctx)
        if ctx.pass_moves == 0:
            return
    ctx.warnings.append("the plan did not settle in %d passes; planning again may move more" % MAX_PASSES)


def _stop_warning(ctx):
    """Say why a plan ends above balanciness, so nobody reads it as a half-done job."""
    if ctx.balancing.get("mode") == "psi" or not balance.should_balance(ctx):
        return
    why = "the move budget is spent" if not ctx.budget_left() else (
        "no move or chain of moves gains at least the margin within the rules, pins and capacity")
    ctx.warnings.append("balance stops at %.1f pp, above balanciness %s: %s"
                        % (ctx.wspread(), ctx.balancing.get("balanciness"), why))


def _run(ctx):
    nodes_before = node_table(ctx.loads)
    metrics_before = output.metrics(ctx)
    _passes(ctx)
    moves, blocked = order.schedule(ctx)
    _stop_warning(ctx)
    metrics_after = output.metrics(ctx)
    metrics_after["moves"] = len(moves)
    metrics_after["memory_moved"] = int(sum(ctx.loads.guest[m["vmid"]][0] for m in moves))
    metrics_after["cost"] = int(sum(m["cost"] for m in moves))
    unsatisfiable = output.unsatisfiable(ctx, blocked)
    doc = plan_document(ctx.snapshot, ctx.options, moves, output.skipped(ctx), unsatisfiable, nodes_before,
                        node_table(ctx.loads), {"before": metrics_before, "after": metrics_after}, ctx.warnings)
    return doc, blocked


class _Planner(object):
    """One plan in the making, as plan/operations.py asks it (windows, recommendations, imbalance)."""

    def __init__(self, snapshot, options, rules, precondition, warnings):
        self.ctx = ctx = PlanContext(snapshot, options, rules, precondition, warnings)
        self.snapshot, self.options, self.warnings = snapshot, options, ctx.warnings
        self.state, self.fixed, self.held, self.targets = ctx.state, ctx.fixed, ctx.held, ctx.targets
        self.nodes = ctx.state.nodes
        self.rules = ctx.view.rules

    @property
    def unsatisfiable(self):
        return list(self.ctx.view.unsatisfiable) + list(self.ctx.unsatisfiable)

    def node_table(self):
        return node_table(self.ctx.loads)

    def metrics(self):
        return output.metrics(self.ctx)

    def placement(self):
        return self.ctx.loads.node_of

    def run(self):
        return _run(self.ctx)[0]


def plan(snapshot, options=None, rules=None, precondition=None):
    """Compute a plan (CONTRACTS.md "Plan") for a normalised snapshot and behaviour options.

    ``rules``: the rules list (``rules.build_rules`` when None); ``precondition``: optional callable
    (guest, target node) -> None or the reason PVE refuses that migration, asked for candidates only."""
    if "fingerprint" not in snapshot or "schema" not in snapshot:
        snapshot = normalize(snapshot)
    options = behaviour(options)
    rules, warnings = rules_for(snapshot, options, rules)
    planner = _Planner(snapshot, options, rules, precondition, warnings)
    # balancing windows and blackouts, plb_manual recommendations, PVE's imbalance (plan/operations.py)
    status = operations.schedule_status(options)
    doc = operations.closed_plan(planner, status) if status and not status["allowed"] else planner.run()
    return operations.finish(doc, planner, status, lambda after, given: plan(
        after, dict(options, balancing=dict(options["balancing"], windows=[], blackouts=[])), given, precondition), apply)


def apply(snapshot, plan_doc):
    """The snapshot as it would be after the plan: guests on their targets, node usage moved with them."""
    doc = copy.deepcopy(snapshot)
    nodes = dict((n["node"], n) for n in doc["nodes"])
    guests = dict((g["vmid"], g) for g in doc["guests"])
    storages = dict(((s["node"], s["storage"]), s) for s in doc.get("storages", []) if not s["shared"])
    for move in sorted(plan_doc["moves"], key=lambda m: (m["step"], m["vmid"])):
        guest = guests[move["vmid"]]
        if guest["node"] != move["source"]:
            raise PlanError("vmid %d is on %s, the plan expects %s" % (guest["vmid"], guest["node"], move["source"]))
        source, target = nodes[move["source"]], nodes[move["target"]]
        running = guest["status"] == "running"
        memory = guest["mem"] if running else 0
        cores = guest["cpu"] * guest["maxcpu"] if running else 0.0
        local = sum(d["size"] for d in guest["local_disks"])
        source["mem"] = max(source["mem"] - memory, 0)
        target["mem"] += memory
        source["cpu"] = max(source["cpu"] - cores / source["maxcpu"], 0.0)
        target["cpu"] += cores / target["maxcpu"]
        source["disk"] = max(source["disk"] - local, 0)
        target["disk"] += local
        for disk in guest["local_disks"]:
            if (move["source"], disk["storage"]) in storages:
                storages[(move["source"], disk["storage"])]["disk"] -= disk["size"]
            if (move["target"], disk["storage"]) in storages:
                storages[(move["target"], disk["storage"])]["disk"] += disk["size"]
        guest["node"] = move["target"]
    if plan_doc["moves"]:
        # pressure cannot be predicted after a move (pressure.py): the planned snapshot has none to report
        for record in doc["nodes"] + doc["guests"]:
            record.pop("psi", None)
            record.pop("psi_max", None)
    doc["fingerprint"] = fingerprint(doc)
    return doc


def plan_summary(plan_doc):
    """A per-node before/after table and the moves with their reasons, for people (the demo prints it)."""
    lines = ["%-16s %13s %13s %13s %9s" % ("node", "mem %", "cpu %", "disk %", "guests")]
    before, after = plan_doc["nodes_before"], plan_doc["nodes_after"]
    for name in sorted(before, key=natural_key):
        b, a = before[name], after[name]
        lines.append("%-16s %5.1f -> %5.1f %5.1f -> %5.1f %5.1f -> %5.1f %3d -> %3d" % (
            name, b["mem_pct"], a["mem_pct"], b["cpu_pct"], a["cpu_pct"], b["disk_pct"], a["disk_pct"],
            b["guests"], a["guests"]))
    mb, ma = plan_doc["metrics"]["before"], plan_doc["metrics"]["after"]
    lines.append("weighted spread %.1f -> %.1f pp, rule violations %d -> %d, %d move(s), %.1f GiB memory moved"
                 % (mb["weighted_spread"], ma["weighted_spread"], mb["violations"], ma["violations"],
                    ma["moves"], ma["memory_moved"] / float(GIB)))
    for move in plan_doc["moves"]:
        lines.append("step %d: %s%s %d (%s) %s -> %s: %s" % (
            move["step"], "park " if move.get("kind") == "park" else "", move["type"], move["vmid"],
            move["name"] or "-", move["source"], move["target"], move["reason"]))
    for entry in plan_doc["unsatisfiable"]:
        lines.append("unsatisfiable %s %s: %s" % (entry["rule"], entry["guests"], entry["reason"]))
    for text in plan_doc.get("warnings", []):
        lines.append("warning: %s" % text)
    return "\n".join(lines)
