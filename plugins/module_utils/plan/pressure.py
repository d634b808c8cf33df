# -*- coding: utf-8 -*-
# Copyright: (c) 2026, proxlb.balancer contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Mode ``psi``: pressure stall information triggers moves away from pressured nodes, a few at a time.

Pressure does not add up across guests and cannot be predicted after a move, so it is a trigger, not a
load: ProxLB's thresholds (``balancing.psi.{nodes,guests}.{memory,cpu,disk}.{pressure_some,
pressure_full,pressure_spikes}``, percent of time stalled, PVE's avg10) say which nodes are pressured;
``psi_candidates`` orders the guests to move off them, and the planner picks each one's target by its
normal objective, at most ``psi_max_moves`` per run (default 1, as ProxLB). PVE 9 reports PSI; on PVE 8
the mode is an error.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.proxlb.balancer.plugins.module_utils.common.errors import ConfigError, PlanError
from ansible_collections.proxlb.balancer.plugins.module_utils.facts.snapshot import version_tuple

# resource -> PVE field stem (disk pressure is I/O pressure)
FIELDS = {"memory": "pressurememory", "cpu": "pressurecpu", "disk": "pressureio"}
# ProxLB's documented example thresholds, used for a resource the configuration leaves out
DEFAULT_LIMITS = {"pressure_some": 0.20, "pressure_full": 0.20, "pressure_spikes": 1.00}
DEFAULT_MAX_MOVES = 1


def require_pve9(snapshot):
    """PlanError naming the nodes when any online node runs PVE older than 9 (no PSI there)."""
    old = sorted("%s (%s)" % (n["node"], n["pve_version"]) for n in snapshot["nodes"]
                 if n["status"] == "online" and version_tuple(n["pve_version"]) < (9,))
    if old:
        raise PlanError("balancing.mode psi needs Proxmox VE 9 on every node (PVE 8 reports no pressure); "
                        "%s: use balancing.mode used or assigned" % ", ".join(old))


def limits(psi, scope):
    """{resource: {pressure_some, pressure_full, pressure_spikes}} for ``nodes`` or ``guests``."""
    given = (psi or {}).get(scope)
    if given is None:
        given = dict((r, {}) for r in FIELDS)
    out = {}
    for resource, values in given.items():
        if resource not in FIELDS:
            raise ConfigError("balancing.psi.%s.%s: unknown resource (known: %s)" % (scope, resource, ", ".join(FIELDS)))
        entry = dict(DEFAULT_LIMITS)
        entry.update(values or {})
        out[resource] = entry
    return out


def over(psi_values, resource_limits, spikes=None):
    """Reasons a record's pressure exceeds its limits, worst first, as [(excess, text)].

    ``spikes``: the highest short-term pressure seen (the window's MAX) or None to use avg10 ``some``."""
    found = []
    values = psi_values or {}
    for resource in sorted(resource_limits):
        stem, limit = FIELDS[resource], resource_limits[resource]
        some = values.get(stem + "some")
        full = values.get(stem + "full")
        peak = (spikes or {}).get(stem + "some", some)
        for name, value, key in (("some", some, "pressure_some"), ("full", full, "pressure_full"),
                                 ("spikes", peak, "pressure_spikes")):
            if value is not None and value > limit[key]:
                found.append((value - limit[key], "%s pressure %s %.2f%% > %.2f%%" % (resource, name, value, limit[key])))
    return sorted(found, key=lambda item: (-item[0], item[1]))


def _pressured(items, state, item_limits):
    """[(item, over() answer)] for the ``items`` in ``state`` above ``item_limits``."""
    out = []
    for item in items:
        if item["status"] == state:
            reasons = over(item.get("psi"), item_limits, item.get("psi_max"))
            if reasons:
                out.append((item, reasons))
    return out


def pressured_nodes(snapshot, psi):
    """{node: [reasons]} for online nodes above the node thresholds."""
    return dict((node["node"], [text for _e, text in reasons])
                for node, reasons in _pressured(snapshot["nodes"], "online", limits(psi, "nodes")))


def pressured_guests(snapshot, psi):
    """{vmid: (worst excess, [reasons])} for running guests above the guest thresholds."""
    return dict((guest["vmid"], (reasons[0][0], [text for _e, text in reasons]))
                for guest, reasons in _pressured(snapshot["guests"], "running", limits(psi, "guests")))


def max_moves(options):
    value = options.get("psi_max_moves", DEFAULT_MAX_MOVES)
    if value is None:
        return DEFAULT_MAX_MOVES
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ConfigError("psi_max_moves: expected an integer of at least 0, got %r" % (value,))
    return value


def psi_candidates(snapshot, options, fixed=None):
    """What the planner needs in mode psi: {nodes: {pressured node: reasons}, candidates: [(vmid, reason)],
    max_moves}. Candidates are guests on pressured nodes (the guests that stall most first, then the
    cheapest to move), then pressured guests elsewhere; ``fixed`` ({vmid: reason}) are left out. Targets
    must not be pressured nodes."""
    require_pve9(snapshot)
    psi = options["balancing"].get("psi") or {}
    nodes = pressured_nodes(snapshot, psi)
    guests = pressured_guests(snapshot, psi)
    fixed = fixed or {}
    ranked = []
    for guest in snapshot["guests"]:
        vmid = guest["vmid"]
        if vmid in fixed or guest["template"]:
            continue
        on_pressured = guest["node"] in nodes
        if not on_pressured and vmid not in guests:
            continue
        excess, own = guests.get(vmid, (0.0, []))
        memory = guest["mem"] if guest["status"] == "running" else 0
        if on_pressured:
            reason = "psi: node %s %s" % (guest["node"], nodes[guest["node"]][0])
        else:
            reason = "psi: guest %s" % own[0]
        ranked.append(((0 if on_pressured else 1, -excess, memory, vmid), (vmid, reason)))
    ranked.sort()
    return {"nodes": nodes, "candidates": [item for _k, item in ranked], "max_moves": max_moves(options)}


def relieve(ctx):
    """The planner's psi phase: move at most ``psi_max_moves`` guests off pressured nodes (or pressured
    guests elsewhere) to the node the normal objective picks; pressure cannot be predicted after a move,
    so it never plans more than that."""
    if ctx.mode != "balance" or not ctx.balancing.get("enable", True):
        return
    trigger = psi_candidates(ctx.snapshot, ctx.options, dict(ctx.fixed, **ctx.held))
    choices = [n for n in ctx.targets if n not in trigger["nodes"]]
    made = 0
    for vmid, reason in trigger["candidates"]:
        if made >= trigger["max_moves"] or not ctx.budget_left():
            break
        if vmid in ctx.moved or ctx.node_of(vmid) != ctx.origin[vmid]:
            continue
        target, _reasons = ctx.best_target([vmid], choices)
        if target:
            ctx.move([vmid], target, reason)
            made += 1
