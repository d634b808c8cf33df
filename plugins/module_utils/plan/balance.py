# -*- coding: utf-8 -*-
# Copyright: (c) 2026, proxlb.balancer contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Balance: bring the weighted spread within ``balanciness`` with few, cheap moves (docs/planner.md).

Every move is accepted on the objective the plan reports: the weighted spread must not grow, and the
move must close the weighted gap between its two nodes by at least ``margin`` pp. Two searches: the
*band* (the fluid band of the heaviest-weighted resource that needs the least load moved, filled with
best-matching guests) and *local improvement* (the best single move from any of the fullest nodes of
each weighted resource to any of the emptiest, ranked by the weighted spread after it, then the sum of
squares, then the target's load, then its name).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import bisect

from ansible_collections.proxlb.balancer.plugins.module_utils.placement import objective
from ansible_collections.proxlb.balancer.plugins.module_utils.placement.load import RESOURCES
from ansible_collections.proxlb.balancer.plugins.module_utils.plan.context import EPSILON

# how many best-matching guests one node offers before the band phase gives up on it
CANDIDATES_PER_NODE = 40
LOCAL_SOURCES = 3
LOCAL_TARGETS = 4
SMALL = 8            # clusters of up to this many nodes: local improvement looks at every node as a source
THRESHOLDS = (("memory_threshold", 0), ("cpu_threshold", 1), ("disk_threshold", 2))


def balanciness(ctx):
    return float(ctx.balancing.get("balanciness") or 0)


def margin(ctx):
    return float(ctx.balancing.get("margin") or 0)


def balanced(ctx):
    return ctx.wspread() <= balanciness(ctx) + EPSILON


def should_balance(ctx):
    """Mode balance, enabled, two targets or more, above balanciness, and a threshold trigger (memory,
    cpu or disk percent on some node at or above it) when one is set."""
    if ctx.mode != "balance" or not ctx.balancing.get("enable", True) or len(ctx.targets) < 2:
        return False
    if balanced(ctx):
        return False
    triggers = [(float(ctx.balancing[key]), i) for key, i in THRESHOLDS if ctx.balancing.get(key) is not None]
    if triggers and not any(ctx.loads.percent(n, i) >= limit for limit, i in triggers for n in ctx.targets):
        return False
    return True


def run(ctx):
    if should_balance(ctx):
        band_phase(ctx)
        local_phase(ctx)


def free_bundles(ctx, nodes=None):
    """Bundles balance may move: every member movable, not held, unmoved in this pass, on one target."""
    out = []
    seen = set()
    for node in nodes if nodes is not None else ctx.targets:
        for vmid in ctx.guests_on(node):
            bundle = ctx.view.bundle_of[vmid]
            if bundle in seen:
                continue
            seen.add(bundle)
            if all(ctx.movable(v) and v not in ctx.held and ctx.node_of(v) == node for v in bundle):
                out.append(bundle)
    return out


def _prefers(ctx, bundle, target):
    for vmid in bundle:
        pref = ctx.view.prefer.get(vmid)
        if pref and ctx.node_of(vmid) in pref[0] and target not in pref[0]:
            return False
    return True


def closure(ctx, bundle, source, target):
    """Weighted pp by which moving ``bundle`` closes the gap between ``source`` and ``target``."""
    load, cap, guest = ctx.loads.load, ctx.loads.capacity, ctx.loads.guest
    gain = 0.0
    for i, w in ctx.weighted:
        moved = sum(guest[v][i] for v in bundle)
        s, t = load[source][i] / cap[source][i], load[target][i] / cap[target][i]
        s_new, t_new = s - moved / cap[source][i], t + moved / cap[target][i]
        gain += w * 100.0 * (abs(s - t) - abs(s_new - t_new))
    return gain


def try_move(ctx, bundle, target):
    """Make the balance move if it is worth it on the weighted objective; whether it was made."""
    source = ctx.node_of(bundle[0])
    gain = closure(ctx, bundle, source, target)
    if gain < margin(ctx) or gain <= EPSILON or not _prefers(ctx, bundle, target):
        return False
    if not ctx.budget_left(len(bundle)) or ctx.refusal(list(bundle), target):
        return False
    before = ctx.wspread()
    after = ctx.wspread(bundle, source, target)
    if after > before + EPSILON:
        return False
    label = RESOURCES[ctx.primary] if max(ctx.weight) == 1 else "weighted"
    reason = "balance: %s spread %.1f -> %.1f pp" % (label, before, after)
    if len(bundle) > 1:
        reason += " (affinity %s moves together)" % ctx.view.affinity_name.get(bundle, "group")
    ctx.move(list(bundle), target, reason, gain)
    return True


def band_phase(ctx):
    r = ctx.primary
    band = _Band(ctx, r)
    current = band.current
    cap = band.cap
    # shed: every node above the band gives its excess to nodes with room, deepest deficit first
    for node in sorted((n for n in ctx.targets if current(n) > band.high * cap[n]),
                       key=lambda n: (-round(current(n) - band.high * cap[n], 3), ctx.rank[n])):
        while ctx.budget_left() and not balanced(ctx):
            excess = current(node) - band.high * cap[node]
            if excess <= 0:
                break
            receivers = sorted((n for n in ctx.targets if n != node),
                               key=lambda n: (-round(band.low * cap[n] - current(n), 3), ctx.rank[n]))
            tries = ((bundle, target)
                     for size, bundle in band.candidates(node, excess, current(node) - band.low * cap[node])
                     for target in receivers if current(target) + size <= band.high * cap[target])
            if not any(try_move(ctx, b, t) for b, t in tries):
                break
    # fill: nodes still below the band take from the fullest nodes that stay inside it
    for node in sorted((n for n in ctx.targets if current(n) < band.low * cap[n]),
                       key=lambda n: (-round(band.low * cap[n] - current(n), 3), ctx.rank[n])):
        while ctx.budget_left() and not balanced(ctx):
            deficit = band.low * cap[node] - current(node)
            if deficit <= 0:
                break
            room = band.high * cap[node] - current(node)
            donors = sorted((n for n in ctx.targets if n != node and current(n) > band.low * cap[n]),
                            key=lambda n: (-round(current(n) / cap[n], 9), ctx.rank[n]))
            tries = ((bundle, node) for donor in donors
                     for _s, bundle in band.candidates(donor, deficit, min(room, current(donor) - band.low * cap[donor])))
            if not any(try_move(ctx, b, t) for b, t in tries):
                break


class _Band(object):
    """The fluid band of one resource and, per node, its free bundles sorted by size (for bisect)."""

    def __init__(self, ctx, r):
        self.ctx = ctx
        self.r = r
        targets = ctx.targets
        self.cap = dict((n, ctx.loads.capacity[n][r]) for n in targets)
        self.per_node = dict((n, []) for n in targets)
        for bundle in free_bundles(ctx):
            size = sum(ctx.loads.guest[v][r] for v in bundle)
            if size > 0:
                self.per_node[ctx.node_of(bundle[0])].append((size, bundle))
        for node in targets:
            self.per_node[node].sort()
        load = dict((n, ctx.loads.load[n][r]) for n in targets)
        fixed = dict((n, load[n] - sum(s for s, _b in self.per_node[n])) for n in targets)
        width = max(balanciness(ctx) / 100.0 / max(ctx.weight[r], 1e-9) * 0.98, 0.0)
        self.low, self.high, _moved = objective.fluid_band(
            [load[n] for n in targets], [self.cap[n] for n in targets], [fixed[n] for n in targets], width)
        self.larger_first = bool(ctx.balancing.get("balance_larger_guests_first"))

    def current(self, node):
        return self.ctx.loads.load[node][self.r]

    def candidates(self, node, want, most):
        """Bundles on ``node`` with size <= most, best match for ``want`` first."""
        items = [it for it in self.per_node[node] if it[1][0] not in self.ctx.moved]
        self.per_node[node] = items
        sizes = [s for s, _b in items]
        cut = bisect.bisect_right(sizes, most)
        at = bisect.bisect_left(sizes, want, 0, cut)
        if self.larger_first:
            order = list(range(cut - 1, -1, -1))
        else:
            order = list(range(at, cut)) + list(range(at - 1, -1, -1))
        return [items[i] for i in order[:CANDIDATES_PER_NODE]]


def local_phase(ctx):
    """Best single moves between the fullest and the emptiest nodes of each weighted resource, until the
    weighted spread is within balanciness or no move improves it by the margin."""
    guard = 4 * len(ctx.guests) + 10
    while ctx.budget_left() and guard > 0:
        guard -= 1
        if balanced(ctx):
            return
        scored = _local_candidates(ctx)
        if not any(try_move(ctx, bundle, dest) for _k, bundle, dest in scored):
            return


def _local_candidates(ctx):
    percents = dict((n, ctx.loads.percents(n)) for n in ctx.targets)
    current = objective.weighted_spread(objective.spreads(percents, ctx.targets), ctx.weight)
    sources, dests = set(), set()
    for i, _w in ctx.weighted:
        # rounded, so that a tie stays a tie whatever the float noise of the arithmetic that led here
        ranked = sorted(ctx.targets, key=lambda n: (-round(percents[n][i], 6), ctx.rank[n]))
        sources.update(ranked if len(ranked) <= SMALL else ranked[:LOCAL_SOURCES])
        dests.update(ranked[-LOCAL_TARGETS:])
    bundles = dict((s, free_bundles(ctx, [s])) for s in sources)
    scored = []
    for source in sorted(sources, key=ctx.rank.get):
        for dest in sorted(dests, key=ctx.rank.get):
            if dest != source:
                scored.extend(_score_pair(ctx, percents, current, source, dest, bundles[source]))
    scored.sort(key=lambda x: x[0])
    return scored


def _score_pair(ctx, percents, current, source, dest, bundles):
    others = [n for n in ctx.targets if n not in (source, dest)]
    top = [max(percents[n][i] for n in others) if others else None for i in range(3)]
    bottom = [min(percents[n][i] for n in others) if others else None for i in range(3)]
    out = []
    for bundle in bundles:
        s_new, d_new = list(percents[source]), list(percents[dest])
        for i in range(3):
            for vmid in bundle:
                s_new[i] -= ctx.loads.delta_pct(vmid, source, i)
                d_new[i] += ctx.loads.delta_pct(vmid, dest, i)
        value, square = 0.0, 0.0
        for i, w in ctx.weighted:
            high = max([s_new[i], d_new[i]] + ([top[i]] if top[i] is not None else []))
            low = min([s_new[i], d_new[i]] + ([bottom[i]] if bottom[i] is not None else []))
            value += w * (high - low)
            square += w * (s_new[i] ** 2 + d_new[i] ** 2 - percents[source][i] ** 2 - percents[dest][i] ** 2)
        if value < current - EPSILON or (value <= current + EPSILON and square < -EPSILON):
            key = (round(value, 9), round(square, 9), round(ctx.composite(dest), 9), ctx.rank[dest], bundle)
            out.append((key, bundle, dest))
    return out
