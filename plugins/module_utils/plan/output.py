# -*- coding: utf-8 -*-
# Copyright: (c) 2026, proxlb.balancer contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What a plan reports besides its moves: metrics, the guests left where they are and why, and the rules
it could not meet with the cause on each candidate node. Everything is read from the placement the
moves reach, so no entry is stale (a failure a later phase repaired after all is dropped)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.proxlb.balancer.plugins.module_utils.placement import objective
from ansible_collections.proxlb.balancer.plugins.module_utils.placement.load import RESOURCES
from ansible_collections.proxlb.balancer.plugins.module_utils.plan.make_room import NO_ORDER


def metrics(ctx):
    spread = ctx.spread()
    placement = ctx.loads.node_of
    violated = objective.violations(placement, ctx.view.hard_rules(), ctx.state.nodes, len(ctx.targets),
                                    ctx.view.anti_limit)
    return {
        "spread": dict((RESOURCES[i], round(spread[i], 2)) for i in range(3)),
        "weighted_spread": round(objective.weighted_spread(spread, ctx.weight), 2),
        "violations": len(violated),
        "on_drain_nodes": len(objective.on_nodes(placement, ctx.drain)),
    }


def skipped(ctx):
    """Guests the plan leaves where they are although something asked to move them, with the reason."""
    away = set(v for v in ctx.origin if ctx.node_of(v) != ctx.origin[v])
    out = [{"vmid": v, "reason": ctx.fixed[v]} for v in sorted(ctx.fixed)]
    out.extend({"vmid": v, "reason": ctx.held[v]} for v in sorted(ctx.held) if v not in away and v not in ctx.fixed)
    out.extend({"vmid": v, "reason": ctx.stuck[v]} for v in sorted(ctx.stuck) if v not in away)
    refused = ctx.state.refused
    for vmid in sorted(refused):
        if vmid not in away and vmid not in ctx.fixed:
            out.append({"vmid": vmid, "reason": "precondition refused " + "; ".join(refused[vmid])})
        elif vmid in away:
            ctx.warnings.append("vmid %d: precondition refused %s" % (vmid, "; ".join(refused[vmid])))
    return sorted(out, key=lambda s: s["vmid"])


def unsatisfiable(ctx, blocked):
    """The last pass's failures that still hold, moves without an executable order, and any hard rule
    the placement still breaks that nothing explained."""
    violated = objective.violations(ctx.loads.node_of, ctx.view.hard_rules(), ctx.state.nodes, len(ctx.targets),
                                    ctx.view.anti_limit)
    broken = set(v["rule"] for v in violated)
    out = [dict(e) for e in ctx.view.unsatisfiable]
    out.extend(dict(e) for e in ctx.unsatisfiable if _still(ctx, e.get("check"), broken))
    for vmid, target, why in blocked:
        rule = ctx.why[vmid][2]
        text = "%s: %d to %s waits for %s" % (NO_ORDER, vmid, target, why or "room")
        if rule is None:
            ctx.warnings.append("balance move left out, %s" % text)
        else:
            out.append({"rule": rule, "guests": [vmid], "reason": text, "causes": {target: why}})
    reported = set(e["rule"] for e in out)
    for entry in violated:
        if entry["rule"] not in reported:
            out.append(dict(entry, causes={}))
    for entry in out:
        entry.pop("check", None)
        entry.setdefault("causes", {})
    return _merge(out)


def _merge(entries):
    """One entry per rule and reason (the guests merged), so a rule is not listed twice for one cause."""
    merged = {}
    for entry in entries:
        key = (entry["rule"], entry["reason"])
        if key in merged:
            merged[key]["guests"] = sorted(set(merged[key]["guests"]) | set(entry["guests"]))
            merged[key]["causes"].update(entry["causes"])
        else:
            merged[key] = dict(entry, guests=sorted(entry["guests"]), causes=dict(entry["causes"]))
    return [merged[k] for k in sorted(merged)]


def _still(ctx, check, broken):
    if not check:
        return True
    kind, subject = check
    if kind == "pin":
        pin = ctx.view.pin.get(subject)
        return bool(pin) and ctx.node_of(subject) not in pin[0]
    if kind == "drain":
        return ctx.node_of(subject) in ctx.drain
    if kind == "rule":
        return subject in broken
    if kind == "capacity":
        return ctx.state.capacity.overrun(subject) is not None
    return True
