# -*- coding: utf-8 -*-
# Copyright: (c) 2026, proxlb.balancer contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Mandatory moves, in the rules' precedence: guests off their strict pins and off nodes to drain,
anti-affinity members apart, affinity groups joined, capacity already overrun repaired, and (with
``enforce_pinning``) preferred pins. They happen in every mode, whatever the balance; when a target is
full they make room first (plan.make_room). What cannot be done is reported with the cause on each
candidate node."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.proxlb.balancer.plugins.module_utils.plan.document import move_cost
from ansible_collections.proxlb.balancer.plugins.module_utils.plan.make_room import make_room


def run(ctx):
    relocate(ctx)
    repair_anti_affinity(ctx)
    repair_affinity(ctx)
    repair_overruns(ctx)
    if ctx.balancing.get("enforce_pinning"):
        repair_preferences(ctx)


def misplaced(ctx, vmid):
    """Why the guest must leave its node (drain or strict pin), as (rule id, text, check) or None."""
    node = ctx.node_of(vmid)
    pin = ctx.view.pin.get(vmid)
    if pin and node not in pin[0]:
        text = "pin: %s allows %s" % (", ".join(pin[1]), ", ".join(sorted(pin[0])))
        return pin[1][0], text, ("pin", vmid)
    if node in ctx.drain:
        kind, source = ctx.drain[node]
        return source, "%s: drain %s" % (kind, node), ("drain", vmid)
    return None


def relocate(ctx):
    """Guests off their strict pins and off drained nodes; a whole affinity bundle when it can go."""
    suspects = [v for v, pin in ctx.view.pin.items() if ctx.node_of(v) not in pin[0]]
    for node in sorted(ctx.drain):
        suspects.extend(ctx.guests_on(node))
    bundles = set(ctx.view.bundle_of[v] for v in suspects)
    order = sorted(bundles, key=lambda b: (-sum(ctx.loads.guest[v][0] for v in b), b))
    for bundle in order:
        needing = [(v, misplaced(ctx, v)) for v in bundle]
        needing = [(v, m) for v, m in needing if m]
        if not needing:
            continue
        for vmid, (rule, _text, check) in needing:
            if vmid in ctx.fixed:
                ctx.fail(rule, [vmid], "cannot move: %s" % ctx.fixed[vmid], check=check)
        movable = [v for v, _m in needing if ctx.movable(v)]
        if movable and not _move_bundle(ctx, bundle, needing[0][1][1], needing[0][1][0]):
            for vmid in movable:
                _relocate_one(ctx, vmid)


def _move_bundle(ctx, bundle, text, rule):
    if len(bundle) < 2 or not all(ctx.movable(v) for v in bundle):
        return False
    target, _r = ctx.best_target(list(bundle))
    if not target or not ctx.budget_left(sum(1 for v in bundle if ctx.node_of(v) != target)):
        return False
    ctx.move(list(bundle), target, "%s (affinity %s moves along)" % (text, ctx.view.affinity_name.get(bundle, "group")),
             rule=rule)
    return True


def _relocate_one(ctx, vmid):
    rule, text, check = misplaced(ctx, vmid)
    if not ctx.budget_left():
        ctx.fail(rule, [vmid], "balancing.max_migrations reached", check=check)
        return
    target, reasons = ctx.best_target([vmid], mandatory=True)
    if target:
        ctx.move([vmid], target, text, rule=rule)
        return
    pin = ctx.view.pin.get(vmid)
    if pin and ctx.node_of(vmid) in pin[0] and not pin[0] & ctx.target_set:
        # a strict pin outranks maintenance (CONTRACTS.md precedence): the guest stays and the pin is why
        rule, why = pin[1][0], "pinned to %s (%s), which takes no guests now: the pin outranks the drain" % (
            ", ".join(sorted(pin[0])), ", ".join(pin[1]))
        ctx.fail(rule, [vmid], why, reasons, check=check)
        ctx.stuck[vmid] = "stays on %s: %s" % (ctx.node_of(vmid), why)
        return
    placed, stuck = make_room(ctx, [vmid], text, rule, sorted(pin[0]) if pin else None)
    if placed:
        return
    why = stuck or "no node can take it: %s" % reasons.summary()
    ctx.fail(rule, [vmid], why, reasons, check=check)
    ctx.stuck[vmid] = "stays on %s: %s" % (ctx.node_of(vmid), why)


def repair_anti_affinity(ctx):
    for rid in sorted(ctx.view.anti):
        members, limit = ctx.view.anti[rid], ctx.view.anti_limit[rid]
        if limit > 1:
            room = ctx.view.anti_room[rid]
            ctx.fail(rid, members, "%d members, %d node(s) they may use (%s): at most %d per node" % (
                len(members), len(room), ", ".join(room), limit), check=("static", rid))
        for node in sorted(set(ctx.node_of(v) for v in members)):
            while len(ctx.state.anti_members_on(rid, node)) > limit:
                if not _separate_one(ctx, rid, node):
                    break


def _separate_one(ctx, rid, node):
    """Move one member of ``rid`` off ``node`` (the cheapest that can go); False when none can."""
    members = [v for v in ctx.view.anti[rid] if ctx.node_of(v) == node]
    candidates = sorted((v for v in members if ctx.movable(v) and len(ctx.view.bundle_of[v]) == 1),
                        key=lambda v: (move_cost(ctx.guests[v]), v))
    reasons = {}
    text = "anti-affinity: %s" % rid
    for vmid in candidates:
        if not ctx.budget_left():
            ctx.fail(rid, members, "balancing.max_migrations reached", check=("rule", rid))
            return False
        target, reasons = ctx.best_target([vmid])
        if target:
            ctx.move([vmid], target, text, rule=rid)
            return True
    stuck = None
    for vmid in candidates:
        placed, note = make_room(ctx, [vmid], text, rid, [n for n in ctx.targets if n != node])
        if placed:
            return True
        stuck = stuck or note
    if stuck:
        summary = stuck
    elif candidates:
        summary = reasons.summary("members cannot move")
    else:
        summary = "members cannot move: %s" % "; ".join(
            "%d %s" % (v, ctx.fixed.get(v) or "moves already") for v in members)
    ctx.fail(rid, members, "cannot separate on %s: %s" % (node, summary), reasons, check=("rule", rid))
    return False


def repair_affinity(ctx):
    for bundle in ctx.view.bundles:
        if len(bundle) > 1 and len(set(ctx.node_of(v) for v in bundle)) > 1:
            _join(ctx, bundle)


def _join(ctx, bundle):
    rule = ctx.view.affinity_name.get(bundle, "affinity")
    stuck = sorted(set(ctx.node_of(v) for v in bundle if not ctx.movable(v)))
    if len(stuck) > 1:
        ctx.fail(rule, list(bundle), "members that cannot move are on %s" % ", ".join(stuck), check=("rule", rule))
        return
    # cheapest join first, but not onto a node the group would push above the balance band
    ceiling = ctx.mean_composite() + float(ctx.balancing.get("balanciness") or 0) / 2

    total = [(i, w, sum(ctx.loads.guest[v][i] for v in bundle)) for i, w in ctx.weighted]
    memory = sum(ctx.loads.guest[v][0] for v in bundle)
    homes = set(ctx.node_of(v) for v in bundle)

    def cost(node):
        here = [v for v in bundle if ctx.node_of(v) == node] if node in homes else ()
        load, cap = ctx.loads.load[node], ctx.loads.capacity[node]
        after = sum(w * 100.0 * (load[i] + amount - sum(ctx.loads.guest[v][i] for v in here)) / cap[i]
                    for i, w, amount in total)
        return (after > ceiling, memory - sum(ctx.loads.guest[v][0] for v in here), round(after, 9), ctx.rank.get(node, 0))
    reasons = {}
    for node in sorted(stuck or ctx.targets, key=cost):
        moving = [v for v in bundle if ctx.node_of(v) != node]
        if not ctx.budget_left(len(moving)):
            reasons[node] = "balancing.max_migrations reached"
            continue
        why = ctx.refusal(moving, node)
        if why:
            reasons[node] = why
            continue
        ctx.move(moving, node, "affinity: %s joins on %s" % (rule, node), rule=rule)
        return
    ctx.fail(rule, list(bundle), "cannot join: %s" % _nearest(reasons), reasons, check=("rule", rule))


def _nearest(reasons):
    return reasons.summary() if hasattr(reasons, "summary") else (
        reasons[sorted(reasons)[0]] if reasons else "no eligible node")


def repair_overruns(ctx):
    """Nodes already above a hard limit (memory after reserve, cores over cpu_overcommit, a local storage
    over its size) shed guests until they are within it; what cannot be shed is reported."""
    capacity = ctx.state.capacity
    for node in sorted(set(n for n, _r in capacity.overruns())):
        while capacity.overrun(node):
            if not _shed_one(ctx, node):
                break


def _shed_one(ctx, node):
    over = ctx.state.capacity.overrun(node)
    choices = [n for n in ctx.targets if n != node]
    ranked = _shed_candidates(ctx, node)
    reasons = {}
    for item in ranked:
        if not ctx.budget_left():
            break
        target, reasons = ctx.best_target([item[-1]], choices)
        if target:
            ctx.move([item[-1]], target, "capacity: %s" % over, rule="capacity:%s" % node)
            return True
    why = over + ("; no guest on it can move: %s" % _nearest(reasons) if ranked else "; no guest on it can move")
    ctx.fail("capacity:%s" % node, [item[-1] for item in ranked][:10], why, reasons, check=("capacity", node))
    return False


def _shed_candidates(ctx, node):
    """Guests whose leaving lowers what ``node`` is over (memory, cores, a storage), the cheapest that
    suffices first, else the largest; a guest that frees none of it would move for nothing."""
    capacity = ctx.state.capacity
    excess = capacity.used[node][0] - capacity.limit[node][0]
    cpu_limit = capacity.limit[node][1]
    cpu_over = cpu_limit is not None and capacity.used[node][1] > cpu_limit + 1e-9
    full = set(s for (n, s), free in capacity.storage_free.items() if n == node and free < 0)
    ranked = []
    for vmid in ctx.guests_on(node):
        if not ctx.movable(vmid) or vmid in ctx.held or len(ctx.view.bundle_of[vmid]) > 1:
            continue
        need = capacity.need[vmid]
        if not ((excess > 0 and need[0]) or (cpu_over and need[1]) or full & set(s for s, _z in need[2])):
            continue
        enough = need[0] >= excess
        ranked.append((not enough, move_cost(ctx.guests[vmid]) if enough else -need[0], -need[1], vmid))
    return sorted(ranked)


def repair_preferences(ctx):
    for vmid in sorted(ctx.view.prefer):
        nodes, ids = ctx.view.prefer[vmid]
        if ctx.node_of(vmid) in nodes or not ctx.movable(vmid):
            continue
        if len(ctx.view.bundle_of[vmid]) > 1 or not ctx.budget_left():
            continue
        target, _r = ctx.best_target([vmid], sorted(n for n in nodes if n in ctx.target_set))
        if target:
            ctx.move([vmid], target, "pin preference: %s prefers %s" % (", ".join(ids), target), rule=ids[0])
