# -*- coding: utf-8 -*-
# Copyright: (c) 2026, proxlb.balancer contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The order of the moves: from where the guests are to the target placement, in steps that keep every
node within hard capacity and every anti-affinity rule at every point.

A step begins every pending move whose target takes it now, counting the step's migrations on both
nodes (a migrating guest holds memory on its source and its target until it ends); moves are tried in
the order the plan chose them. A move that must wait is woken when a guest leaves its target. When no
move can begin (guests that must trade places on full nodes, or anti-affine guests that swap), a guest
on a blocked target is parked on a third node the filters allow (a ``kind: park`` step) and moves on
from there later. When no park node exists, the moves left are reported: the target placement exists,
but no executable order does.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import heapq

from ansible_collections.proxlb.balancer.plugins.module_utils.placement import filter_chain
from ansible_collections.proxlb.balancer.plugins.module_utils.plan.document import move_cost

# during the order the guests go to targets the plan already checked: only what changes step by step
STEP_SKIP = ("affinity", "precondition")


def schedule(ctx):
    """Moves in steps (CONTRACTS.md "Plan" entries) and the moves no order allows, as
    [(vmid, target, reason)]. Leaves the state at the placement the steps reach.

    First each guest goes straight to where the plan puts it. When that leaves a move without an order
    (a guest placed again by a later pass may need the room an earlier placement had), the plan's own
    sequence of placements is used instead: each was checked against the state the ones before it left,
    so it runs in that order; a guest placed twice makes its first move a park step."""
    final = dict((v, ctx.node_of(v)) for v in ctx.priority if ctx.node_of(v) != ctx.origin[v])
    _reset(ctx)
    run = _Run(ctx, final, ctx.priority)
    run.until_done()
    blocked = [(vmid, final[vmid], run.why.get(vmid, "")) for _p, vmid in sorted(run.left())]
    if not blocked:
        return run.entries, blocked
    _reset(ctx)
    entries, stuck = _replay(ctx)
    limit = ctx.balancing.get("max_migrations")
    if stuck or (limit is not None and len(entries) > int(limit)):
        _reset(ctx)
        run = _Run(ctx, final, ctx.priority)
        run.until_done()
        return run.entries, blocked
    return entries, []


def _reset(ctx):
    for vmid in sorted(v for v in ctx.origin if ctx.node_of(v) != ctx.origin[v]):
        ctx.state.move(vmid, ctx.origin[vmid])


def _replay(ctx):
    """The plan's placements in the order they were made, grouped into steps; (entries, refused hops)."""
    last = dict((vmid, i) for i, (vmid, _s, _t) in enumerate(ctx.log))
    final = dict((vmid, target) for vmid, _s, target in ctx.log)
    entries, begun, stuck, step = [], [], [], 1
    for i, (vmid, source, target) in enumerate(ctx.log):
        if ctx.node_of(vmid) != source:
            stuck.append(vmid)
            continue
        if any(v == vmid for v, _s in begun) or filter_chain.refusal(ctx.state, [vmid], target, skip=STEP_SKIP):
            _complete(ctx, begun)
            begun, step = [], step + 1
            if filter_chain.refusal(ctx.state, [vmid], target, skip=STEP_SKIP):
                stuck.append(vmid)
                continue
        ctx.state.begin(vmid, target)
        begun.append((vmid, source))
        entries.append(_hop(ctx, step, vmid, source, target, None if i == last[vmid] else final[vmid]))
    _complete(ctx, begun)
    return entries, stuck


def _complete(ctx, begun):
    for vmid, _source in begun:
        ctx.state.complete(vmid)


def _hop(ctx, step, vmid, source, target, onward):
    guest = ctx.guests[vmid]
    why, gain, _rule = ctx.why[vmid]
    entry = {"step": step, "vmid": vmid, "name": guest["name"], "type": guest["type"], "source": source,
             "target": target, "reason": why, "gain": gain, "cost": move_cost(guest)}
    if onward is not None:
        entry.update(kind="park", gain=0.0, reason="park: on its way to %s, while room is made there (%s)" % (onward, why))
    return entry


def executable(ctx, moves):
    """An order in which ``moves`` ([(vmid, target)], in the order wanted) can run from the current state,
    parks allowed, as hops [(vmid, source, target)]; None when there is none. The state is left as it was."""
    start = dict((v, ctx.node_of(v)) for v, _t in moves)
    run = _Run(ctx, dict(moves), dict((v, i) for i, (v, _t) in enumerate(moves)), record=False)
    try:
        run.until_done()
        return None if run.left() else list(run.hops)
    finally:
        for vmid in reversed([h[0] for h in run.hops]):
            ctx.state.move(vmid, start[vmid])


class _Run(object):

    def __init__(self, ctx, final, priority, record=True):
        self.ctx = ctx
        self.state = ctx.state
        self.final = final
        self.record = record
        self.hops = []
        self.pending = [(priority[v], v) for v in final]
        heapq.heapify(self.pending)
        self.waiting = {}
        self.why = {}
        self.entries = []
        self.step = 0
        self.parked = set()

    def until_done(self):
        while self.pending or self.waiting:
            begun = self.begin_step()
            if begun:
                self.complete(begun)
            elif not self.park():
                break

    def left(self):
        return list(self.pending) + [item for items in self.waiting.values() for item in items]

    def begin_step(self):
        self.step += 1
        begun = []
        while self.pending:
            item = heapq.heappop(self.pending)
            vmid = item[1]
            target = self.final[vmid]
            why = filter_chain.refusal(self.state, [vmid], target, skip=STEP_SKIP)
            if why:
                self.why[vmid] = why
                self.waiting.setdefault(target, []).append(item)
                continue
            begun.append((vmid, self.state.node_of(vmid)))
            self.state.begin(vmid, target)
            self._entry(vmid, self.state.node_of(vmid), target)
        if not begun:
            self.step -= 1
        return begun

    def complete(self, begun):
        for vmid, source in begun:
            self.state.complete(vmid)
            for item in self.waiting.pop(source, []):
                heapq.heappush(self.pending, item)

    def _entry(self, vmid, source, target, kind=None, reason=None):
        self.hops.append((vmid, source, target))
        if not self.record:
            return
        guest = self.ctx.guests[vmid]
        why, gain, _rule = self.ctx.why[vmid]
        entry = {"step": self.step, "vmid": vmid, "name": guest["name"], "type": guest["type"],
                 "source": source, "target": target, "reason": reason or why, "gain": gain if not kind else 0.0,
                 "cost": move_cost(guest)}
        if kind:
            entry["kind"] = kind
        self.entries.append(entry)

    def park(self):
        """Park one guest that blocks the first waiting move it can unblock; whether one was parked."""
        limit = self.ctx.balancing.get("max_migrations")
        if limit is not None and len(self.entries) + len(self.left()) + 1 > int(limit):
            return False
        for _prio, vmid in sorted(self.left()):
            target = self.final[vmid]
            for other in self._blockers(vmid, target):
                place = self._park_node(vmid, target, other)
                if place:
                    self.step += 1
                    source = self.state.node_of(other)
                    self.state.move(other, place)
                    self.parked.add(other)
                    self._entry(other, source, place, "park", "park: makes room on %s for %d (%s)" % (
                        target, vmid, self.ctx.why[vmid][0] if self.record else ""))
                    for item in self.waiting.pop(target, []):
                        heapq.heappush(self.pending, item)
                    return True
        return False

    def _blockers(self, vmid, target):
        """Guests on ``target`` that move on later anyway, cheapest first."""
        found = []
        for _prio, other in self.left():
            if other != vmid and other not in self.parked and self.state.node_of(other) == target:
                found.append(other)
        return sorted(found, key=lambda v: (move_cost(self.ctx.guests[v]), v))

    def _park_node(self, vmid, target, other):
        """A third node that takes ``other`` now and after which ``vmid`` fits on ``target``, or None."""
        ctx = self.ctx
        home = self.state.node_of(other)
        ranked = sorted((n for n in ctx.targets if n not in (target, self.final[other])),
                        key=lambda n: (ctx.composite(n), ctx.rank[n]))
        for place in ranked:
            if filter_chain.refusal(self.state, [other], place, skip=("affinity",)):
                continue
            self.state.move(other, place)
            fits = filter_chain.refusal(self.state, [vmid], target, skip=STEP_SKIP) is None
            self.state.move(other, home)
            if fits:
                return place
        return None
