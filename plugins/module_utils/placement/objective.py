# -*- coding: utf-8 -*-
# Copyright: (c) 2026, proxlb.balancer contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What makes one placement better than another, and the fluid bounds that say how good it can get.

The objective is lexicographic (DESIGN.md): hard-rule violations, then guests left on nodes to drain,
then balance, then the cost of the moves. Balance is the weighted sum of each resource's spread (the
highest minus the lowest node, in percent of each node's capacity); ProxLB's ``method`` is one weight.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.proxlb.balancer.plugins.module_utils.common.errors import ConfigError
from ansible_collections.proxlb.balancer.plugins.module_utils.placement.load import RESOURCES


def weights(balancing):
    """Resource weights as a tuple in RESOURCES order, summing to 1."""
    given = balancing.get("weights")
    if not given:
        method = balancing.get("method") or "memory"
        if method not in RESOURCES:
            raise ConfigError("balancing.method: must be one of %s, got %r" % (", ".join(RESOURCES), method))
        given = {method: 1.0}
    if not isinstance(given, dict):
        raise ConfigError("balancing.weights: expected a mapping like {memory: 0.6, cpu: 0.4}, got %r" % (given,))
    for key, value in given.items():
        if key not in RESOURCES:
            raise ConfigError("balancing.weights.%s: unknown resource (use %s)" % (key, ", ".join(RESOURCES)))
        if not isinstance(value, (int, float)) or isinstance(value, bool) or value < 0:
            raise ConfigError("balancing.weights.%s: expected a number >= 0, got %r" % (key, value))
    total = float(sum(given.values()))
    if total <= 0:
        raise ConfigError("balancing.weights: at least one weight must be above 0")
    return tuple(given.get(r, 0) / total for r in RESOURCES)


def spreads(percents, nodes):
    """Per resource, the highest minus the lowest percentage over ``nodes`` ({node: (m, c, d)})."""
    if not nodes:
        return (0.0, 0.0, 0.0)
    columns = list(zip(*[percents[n] for n in nodes]))
    return tuple(max(col) - min(col) for col in columns)


def weighted_spread(spread, weight):
    return sum(s * w for s, w in zip(spread, weight))


def anti_affinity_limit(members, eligible_nodes):
    """Most members of one anti-affinity rule a node may hold: 1, or an even share when there are more
    members than nodes (then the largest number on one node is kept minimal)."""
    nodes = max(eligible_nodes, 1)
    return max(1, -(-members // nodes))


def violations(placement, rules, node_names, eligible_nodes, limits=None):
    """Hard rules the placement ({vmid: node}) breaks, as [{rule, guests, reason}], sorted by rule id.

    ``node_names``: nodes that exist (a pin to an unknown node is ignored, as ProxLB does);
    ``eligible_nodes``: how many nodes may hold guests (for anti-affinity with more members than nodes);
    ``limits``: {anti-affinity rule id: members per node} as ``RuleView.anti_limit`` says (pins counted)."""
    found = []
    for rule in sorted(rules, key=lambda r: r["id"]):
        members = [v for v in sorted(rule["guests"]) if v in placement]
        kind = rule["kind"]
        if kind == "pin" and rule.get("strict", True):
            allowed = set(n for n in rule["nodes"] if n in node_names)
            wrong = [v for v in members if allowed and placement[v] not in allowed]
            if wrong:
                found.append({"rule": rule["id"], "guests": wrong,
                              "reason": "pinned to %s" % ", ".join(sorted(allowed))})
        elif kind == "anti_affinity" and len(members) > 1:
            limit = (limits or {}).get(rule["id"]) or anti_affinity_limit(len(members), eligible_nodes)
            count = {}
            for v in members:
                count.setdefault(placement[v], []).append(v)
            crowded = [n for n in sorted(count) if len(count[n]) > limit]
            if crowded:
                found.append({"rule": rule["id"], "guests": sorted(v for n in crowded for v in count[n]),
                              "reason": "more than %d member(s) on %s" % (limit, ", ".join(crowded))})
        elif kind == "affinity" and len(members) > 1:
            nodes = sorted(set(placement[v] for v in members))
            if len(nodes) > 1:
                found.append({"rule": rule["id"], "guests": members,
                              "reason": "split over %s" % ", ".join(nodes)})
    return found


def on_nodes(placement, nodes):
    """Guests (vmids) placed on any of ``nodes`` (the nodes to drain)."""
    nodes = set(nodes)
    return sorted(v for v, n in placement.items() if n in nodes)


def water_level(loads, caps, fixed):
    """The common fill fraction w if movable load were liquid: sum(max(fixed_i, w * cap_i)) = total."""
    total = float(sum(loads))
    lo, hi = 0.0, max(max(l / c for l, c in zip(loads, caps)), 0.0) + 1e-9
    for _step in range(60):
        mid = (lo + hi) / 2
        if sum(max(f, mid * c) for f, c in zip(fixed, caps)) > total:
            hi = mid
        else:
            lo = mid
    return lo


def fluid_min_spread(loads, caps, fixed):
    """Least spread (fraction of capacity) reachable if every movable byte could go anywhere."""
    if not loads:
        return 0.0
    level = water_level(loads, caps, fixed)
    return max(0.0, max(f / c for f, c in zip(fixed, caps)) - level)


def fluid_band(loads, caps, fixed, width):
    """The band [low, low + width] (fractions) that needs the least load moved to bring every node into
    it, and that least amount: max(load above the band, room below it), minimised over ``low``."""
    width = max(width, fluid_min_spread(loads, caps, fixed))

    def excess(low):
        return sum(max(0.0, l - (low + width) * c) for l, c in zip(loads, caps))

    def deficit(low):
        return sum(max(0.0, low * c - l) for l, c in zip(loads, caps))

    floor = max(f / c for f, c in zip(fixed, caps)) - width
    lo = max(floor, min(l / c for l, c in zip(loads, caps)) - width)
    hi = max(lo, max(l / c for l, c in zip(loads, caps)))
    # excess falls and deficit rises with ``low``: the best band is where they cross
    for _step in range(60):
        mid = (lo + hi) / 2
        if excess(mid) > deficit(mid):
            lo = mid
        else:
            hi = mid
    low = max(lo, floor)
    return low, low + width, max(excess(low), deficit(low))
