# -*- coding: utf-8 -*-
# Copyright: (c) 2026, proxlb.balancer contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Make room: when a mandatory move's allowed targets are all full (memory, cores, local storage) or hold
an anti-affine member, move other guests off one of them first.

For each candidate target (the rules allow it; only capacity or anti-affinity blocks it) the guests
are placed there in a trial, then the fewest and cheapest other guests leave it for nodes that take
them (the guests' own source counts as freed, so two guests may trade places); ``plan.order`` must find
an order for them, parks allowed. The cheapest successful target wins; trials are undone.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.proxlb.balancer.plugins.module_utils.placement import filter_chain
from ansible_collections.proxlb.balancer.plugins.module_utils.plan import order
from ansible_collections.proxlb.balancer.plugins.module_utils.plan.document import move_cost

NO_ORDER = "target placement exists, no executable order"
# blocks that moving other guests away can lift
ROOM_FILTERS = ("anti_affinity", "memory", "cpu", "local_storage")
MAX_TARGETS = 6      # candidate targets tried per guest
MAX_CHAIN = 4        # guests moved away from one target at most
MAX_EVICTEES = 16    # guests on the target considered


def make_room(ctx, vmids, reason, rule, choices=None):
    """Place ``vmids`` on a target after moving the fewest, cheapest guests off it: (target, None), or
    (None, why) where why says when a target placement exists that no order can reach (else None)."""
    best, stuck = None, None
    for target in _candidates(ctx, vmids, choices):
        evictions = _trial(ctx, vmids, target)
        if evictions is None:
            continue
        hops = order.executable(ctx, evictions + [(v, target) for v in vmids])
        if hops is None:
            stuck = stuck or _no_order(ctx, vmids, target, evictions)
            continue
        cost = (len(evictions), sum(move_cost(ctx.guests[v]) for v, _d in evictions), ctx.rank[target])
        if best is None or cost < best[0]:
            best = (cost, target, evictions, hops)
    if best is None or not ctx.budget_left(len(best[2]) + len(vmids)):
        return None, stuck
    _cost, target, _evictions, hops = best
    names = ", ".join(str(v) for v in vmids)
    for vmid, _source, dest in hops:   # in the order found, so the plan's sequence stays runnable
        text = reason if vmid in vmids else "make room on %s for %s (%s)" % (target, names, reason)
        ctx.place(vmid, dest, text, rule=rule)
    return target, None


def _no_order(ctx, vmids, target, evictions):
    """The reason a target placement cannot be reached: every guest waits for another, and no third node
    may hold one of them for a step."""
    waits = ", ".join("%d to %s" % (v, d) for v, d in [(v, target) for v in vmids] + evictions)
    block = filter_chain.refusal(ctx.state, list(vmids), target, skip=("affinity", "precondition"))
    return "%s: %s wait for each other (%s), and no other node may hold one of them meanwhile" % (
        NO_ORDER, waits, block or "no room")


def _candidates(ctx, vmids, choices):
    """Targets where only capacity or anti-affinity blocks the guests, least loaded first."""
    out = []
    for node in choices if choices is not None else ctx.targets:
        if node not in ctx.target_set or all(ctx.node_of(v) == node for v in vmids):
            continue
        moving = [v for v in vmids if ctx.node_of(v) != node]
        name, _why = filter_chain.first_refusal(ctx.state, moving, node, skip=("affinity",))
        if name in ROOM_FILTERS:
            out.append((ctx.composite(node) + ctx.delta(moving, node), ctx.rank[node], node))
    return [node for _a, _r, node in sorted(out)[:MAX_TARGETS]]


def _trial(ctx, vmids, target):
    """[(vmid, destination)] that frees ``target`` for ``vmids``, or None; the state is left unchanged."""
    undo = [(v, ctx.node_of(v)) for v in vmids if ctx.node_of(v) != target]
    for vmid, _source in undo:
        ctx.state.move(vmid, target)
    evictions = []
    try:
        while _blocked(ctx, vmids, target):
            if len(evictions) >= MAX_CHAIN:
                return None
            found = _evict_one(ctx, vmids, target, undo)
            if found is None:
                return None
            evictions.append(found)
        return evictions
    finally:
        for vmid, source in reversed(undo):
            ctx.state.move(vmid, source)


def _blocked(ctx, vmids, target):
    if ctx.state.capacity.overrun(target):
        return True
    for vmid in vmids:
        for rid in ctx.view.anti_of.get(vmid, ()):
            if len(ctx.state.anti_members_on(rid, target)) > ctx.view.anti_limit[rid]:
                return True
    return False


def _evict_one(ctx, vmids, target, undo, extra=0):
    """Move the guest whose leaving helps most (the cheapest that suffices, else the largest) somewhere
    it may go; record it in ``undo``. ``extra``: memory still to arrive on ``target`` (a new guest)."""
    choices = [n for n in ctx.targets if n != target]
    for vmid in _evictees(ctx, vmids, target, extra):
        dest, _reasons = ctx.best_target([vmid], choices)
        if dest is not None:
            undo.append((vmid, target))
            ctx.state.move(vmid, dest)
            return vmid, dest
    return None


def _evictees(ctx, vmids, target, extra=0):
    anti = set(r for v in vmids for r in ctx.view.anti_of.get(v, ()))
    over = ctx.state.capacity.used[target][0] + extra - ctx.state.capacity.limit[target][0]
    ranked = []
    for vmid in ctx.guests_on(target):
        if vmid in vmids or ctx.node_of(vmid) != target or not ctx.movable(vmid) or vmid in ctx.held or len(ctx.view.bundle_of[vmid]) > 1:
            continue
        blocks = bool(anti & set(ctx.view.anti_of.get(vmid, ())))
        need = ctx.state.capacity.need[vmid][0]
        enough = need >= over
        ranked.append((not blocks, not enough, move_cost(ctx.guests[vmid]) if enough else -need, vmid))
    ranked.sort()
    return [item[-1] for item in ranked[:MAX_EVICTEES]]


def room_for_new(ctx, vmid):
    """For a guest not placed yet (best node): the node that takes it after the fewest, cheapest moves of
    other guests, as (node, [(vmid, destination)]), or (None, []). The moves are placed in ``ctx``."""
    best = None
    for node in _candidates(ctx, [vmid], None):
        moves = _free_for_new(ctx, vmid, node)
        hops = order.executable(ctx, moves) if moves else None
        if hops is not None:
            cost = (len(moves), sum(move_cost(ctx.guests[v]) for v, _d in moves), ctx.rank[node])
            if best is None or cost < best[0]:
                best = (cost, node, moves, hops)
    if best is None:
        return None, []
    _cost, node, moves, hops = best
    for other, _source, dest in hops:
        ctx.place(other, dest, "make room on %s for a new guest" % node)
    return node, moves


def _free_for_new(ctx, vmid, node):
    """[(vmid, destination)] after which ``node`` takes the new guest, or None; the state is unchanged."""
    undo = []
    try:
        while True:
            name, _why = filter_chain.first_refusal(ctx.state, [vmid], node, skip=("precondition",))
            if name is None:
                return [(v, ctx.node_of(v)) for v, _home in undo]
            if name not in ROOM_FILTERS or len(undo) >= MAX_CHAIN or _evict_one(
                    ctx, [vmid], node, undo, ctx.state.capacity.need[vmid][0]) is None:
                return None
    finally:
        for other, home in reversed(undo):
            ctx.state.move(other, home)
