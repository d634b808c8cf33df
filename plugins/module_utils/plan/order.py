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
    [(vmid, target, reason)]. Leaves the state at the placement the steps reach."""
    final = dict((v, ctx.node_of(v)) for v in ctx.priority if ctx.node_of(v) != ctx.origin[v])
    for vmid in sorted(final, key=ctx.priority.get):
        ctx.state.move(vmid, ctx.origin[vmid])
    run = _Run(ctx, final, ctx.priority)
    run.until_done()
    blocked = [(vmid, final[vmid], run.why.get(vmid, "")) for _p, vmid in sorted(run.left())]
    return run.entries, blocked


def executable(ctx, moves):
    """Whether ``moves`` ([(vmid, target)], in the order wanted) can run from the current state in some
    order, parks allowed; the state is left as it was."""
    start = dict((v, ctx.node_of(v)) for v, _t in moves)
    run = _Run(ctx, dict(moves), dict((v, i) for i, (v, _t) in enumerate(moves)), record=False)
    try:
        run.until_done()
        return not run.left()
    finally:
        for vmid in run.touched:
            ctx.state.move(vmid, start[vmid])


class _Run(object):

    def __init__(self, ctx, final, priority, record=True):
        self.ctx = ctx
        self.state = ctx.state
        self.final = final
        self.record = record
        self.touched = []
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
        self.touched.append(vmid)
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
        for other, node in self.final.items():
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
