# -*- coding: utf-8 -*-
# Copyright: (c) 2026, proxlb.balancer contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Planning around node maintenance: whether a drain may start, what stays behind, and the way back.

Draining is the planner's job (mode evacuate). The return brings each guest tagged ``plb_origin_<node>``
home when the placement core lets its origin take it (usable node, rules, capacity): guests in vmid
order, affinity partners that share an origin together; one whose origin refuses stays and is listed in
``skipped`` with the filter's reason.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.proxlb.balancer.plugins.module_utils.common.config import behaviour as full_behaviour
from ansible_collections.proxlb.balancer.plugins.module_utils.common.constants import GIB
from ansible_collections.proxlb.balancer.plugins.module_utils.placement import filter_chain
from ansible_collections.proxlb.balancer.plugins.module_utils.placement.capacity import Capacity, assign_steps
from ansible_collections.proxlb.balancer.plugins.module_utils.placement.movability import ignored_guests
from ansible_collections.proxlb.balancer.plugins.module_utils.placement.nodes import NodeSets
from ansible_collections.proxlb.balancer.plugins.module_utils.placement.state import PlacementState
from ansible_collections.proxlb.balancer.plugins.module_utils.plan.document import move_entry, node_table, plan_document
from ansible_collections.proxlb.balancer.plugins.module_utils.rules.origin_tags import origin_of


def drain_problems(snapshot, rules):
    """Why a drain must not start: a cluster without quorum, or anti-affinity rules with more members than
    nodes would remain (they could only be kept apart by breaking them). ``rules`` include the drain."""
    usable = NodeSets(snapshot["nodes"], rules).targets
    problems = []
    if not snapshot["cluster"].get("quorate", True):
        problems.append("the cluster has lost quorum")
    guests = set(g["vmid"] for g in snapshot["guests"])
    for rule in sorted(rules, key=lambda r: r["id"]):
        members = [v for v in rule["guests"] if v in guests]
        if rule["kind"] == "anti_affinity" and len(members) > len(usable):
            problems.append("anti-affinity rule %s has %d guests but only %d node(s) would remain (%s)"
                            % (rule["id"], len(members), len(usable), ", ".join(usable) or "none"))
    return problems


def remaining(snapshot, plan, nodes, rules):
    """Guests still on ``nodes``, each with why it is there; ``blocking`` marks running guests that are not
    ignored on purpose (a drain is complete when none is left)."""
    planned = dict((m["vmid"], m["target"]) for m in plan["moves"])
    skipped = dict((s["vmid"], s["reason"]) for s in plan["skipped"])
    unsatisfiable = {}
    for entry in plan["unsatisfiable"]:
        for vmid in entry["guests"]:
            unsatisfiable.setdefault(vmid, "%s: %s" % (entry["rule"], entry["reason"]))
    ignored = ignored_guests(rules)
    out = []
    for guest in sorted(snapshot["guests"], key=lambda g: g["vmid"]):
        if guest["node"] not in nodes:
            continue
        vmid = guest["vmid"]
        if vmid in planned:
            reason = "to be migrated to %s" % planned[vmid]
        else:
            reason = unsatisfiable.get(vmid) or skipped.get(vmid) or "no plan moves it"
        out.append({"vmid": vmid, "name": guest["name"], "type": guest["type"], "node": guest["node"],
                    "status": guest["status"], "reason": reason,
                    "blocking": guest["status"] == "running" and vmid not in ignored})
    return out


def _bundles(candidates, view):
    """Candidates returning to the same origin, joined when an affinity bundle holds them together."""
    groups = {}
    for vmid in sorted(candidates):
        partners = [v for v in view.bundle_of.get(vmid, (vmid,)) if candidates.get(v) == candidates[vmid]]
        groups.setdefault(tuple(partners) or (vmid,), None)
    return sorted(groups)


def return_plan(snapshot, options, rules, nodes=None):
    """A plan (schema plan/1) that brings guests tagged ``plb_origin_<node>`` home.

    ``nodes``: only origins among them (None: every origin)."""
    options = full_behaviour(options)
    state = PlacementState(snapshot, options, rules)
    nodes_before = node_table(state.loads)
    skipped, candidates = [], {}
    for vmid in sorted(state.guests):
        guest = state.guests[vmid]
        origin = origin_of(guest["tags"])
        if origin is None or guest["node"] == origin or (nodes is not None and origin not in nodes):
            continue
        reason = state.fixed.get(vmid) or state.node_sets.refusal(origin)
        if reason:
            skipped.append({"vmid": vmid, "reason": "stays on %s: origin %s" % (guest["node"], reason)
                            if reason.startswith(origin + ":") else "stays on %s: %s" % (guest["node"], reason)})
        else:
            candidates[vmid] = origin
    moves = []
    for bundle in _bundles(candidates, state.rules):
        origin = candidates[bundle[0]]
        why = filter_chain.refusal(state, list(bundle), origin)
        if why:
            skipped.extend({"vmid": v, "reason": "stays on %s: %s" % (state.guests[v]["node"], why)} for v in bundle)
            continue
        for vmid in bundle:
            moves.append(move_entry(state.guests[vmid], origin, "return: origin %s" % origin))
            state.move(vmid, origin)
    moves = assign_steps(Capacity(snapshot, options), moves)
    metrics = {"moves": len(moves), "memory_moved": int(sum(state.loads.guest[m["vmid"]][0] for m in moves)),
               "cost": int(sum(m["cost"] for m in moves))}
    return plan_document(snapshot, dict((k, options[k]) for k in ("proxmox_cluster", "balancing")), moves,
                         skipped, (), nodes_before, node_table(state.loads), {"before": {}, "after": metrics})


def plan_lines(plan):
    """The plan for people: one line per move and per guest that stays."""
    lines = ["step %d: %s %d (%s) %s -> %s: %s" % (m["step"], m["type"], m["vmid"], m["name"] or "-",
                                                   m["source"], m["target"], m["reason"]) for m in plan["moves"]]
    lines.extend("skipped %d: %s" % (s["vmid"], s["reason"]) for s in plan["skipped"])
    lines.extend("unsatisfiable %s %s: %s" % (u["rule"], u["guests"], u["reason"]) for u in plan["unsatisfiable"])
    moved = plan["metrics"]["after"].get("memory_moved", 0)
    lines.append("%d move(s), %.1f GiB memory moved" % (len(plan["moves"]), moved / float(GIB)))
    return lines
