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

import bisect
import copy

from ansible_collections.proxlb.balancer.plugins.module_utils.facts import history
from ansible_collections.proxlb.balancer.plugins.module_utils.placement import objective
from ansible_collections.proxlb.balancer.plugins.module_utils.plan import pressure
from ansible_collections.proxlb.balancer.plugins.module_utils.placement.capacity import Capacity, assign_steps
from ansible_collections.proxlb.balancer.plugins.module_utils.common.config import behaviour
from ansible_collections.proxlb.balancer.plugins.module_utils.common.errors import ConfigError, PlanError
from ansible_collections.proxlb.balancer.plugins.module_utils.common.natural import natural_key
from ansible_collections.proxlb.balancer.plugins.module_utils.common.constants import GIB
from ansible_collections.proxlb.balancer.plugins.module_utils.placement.load import RESOURCES
from ansible_collections.proxlb.balancer.plugins.module_utils.placement import filter_chain
from ansible_collections.proxlb.balancer.plugins.module_utils.placement.state import PlacementState
from ansible_collections.proxlb.balancer.plugins.module_utils.plan.document import move_cost, node_table, plan_document
from ansible_collections.proxlb.balancer.plugins.module_utils.rules.build import rules_for
from ansible_collections.proxlb.balancer.plugins.module_utils.facts.snapshot import normalize, fingerprint

MODES = ("balance", "enforce", "evacuate")
# how many best-matching guests one node offers before the band phase gives up on it
CANDIDATES_PER_NODE = 40
LOCAL_TARGETS = 4


class _Planner(object):

    def __init__(self, snapshot, options, rules, precondition, warnings):
        self.snapshot = snapshot
        self.options = options
        self.balancing = options["balancing"]
        self.warnings = warnings
        self.mode = options["mode"]
        if self.mode not in MODES:
            raise ConfigError("mode: must be one of %s, got %r" % (", ".join(MODES), self.mode))
        self.weight = objective.weights(self.balancing)
        self.primary = max(range(3), key=lambda i: (self.weight[i], -i))
        self.weighted = [(i, w) for i, w in enumerate(self.weight) if w]
        self.state = PlacementState(snapshot, options, rules, precondition)
        self.nodes = self.state.nodes
        self.guests = self.state.guests
        self.loads = self.state.loads
        self.capacity = self.state.capacity
        view = self.state.rules
        self.rules = view.rules
        self.warnings.extend(view.warnings)
        self.drain = self.state.node_sets.drain
        self.targets = self.state.node_sets.targets
        self.target_set = self.state.node_sets.target_set
        if self.mode == "evacuate" and not self.drain:
            raise ConfigError("mode evacuate: set evacuate_nodes to the node(s) to drain")
        self.fixed = self.state.fixed
        # held back from balancing only (cooldown, HA guests left to PVE's CRS); rules still move them
        self.held = history.held_guests(snapshot, options)
        self.pin = view.pin
        self.prefer = view.prefer
        self.anti = view.anti
        self.anti_of = view.anti_of
        self.anti_limit = view.anti_limit
        self.bundles = view.bundles
        self.bundle_of = view.bundle_of
        self.affinity_name = view.affinity_name
        self.affinity_rules = view.affinity_rules
        self.moves = []
        self.moved = set()
        self.unsatisfiable = list(view.unsatisfiable)
        self.stuck = {}

    # ---- state -----------------------------------------------------------------------------------
    def node_of(self, vmid):
        return self.loads.node_of[vmid]

    def placement(self):
        return self.loads.node_of

    def composite(self, node):
        load, cap = self.loads.load[node], self.loads.capacity[node]
        return sum(w * 100.0 * load[i] / cap[i] for i, w in self.weighted)

    def spread(self):
        percents = dict((n, self.loads.percents(n)) for n in self.targets)
        return objective.spreads(percents, self.targets)

    def wspread(self):
        total = 0.0
        load, cap = self.loads.load, self.loads.capacity
        for i, w in self.weighted:
            column = [load[n][i] / cap[n][i] for n in self.targets]
            total += w * 100.0 * (max(column) - min(column)) if column else 0.0
        return total

    def _mean_composite(self):
        """The weighted load every target would carry if load were liquid (capacity-weighted mean)."""
        total = 0.0
        for i in range(3):
            if self.weight[i]:
                load = sum(self.loads.load[n][i] for n in self.targets)
                cap = sum(self.loads.capacity[n][i] for n in self.targets)
                total += self.weight[i] * 100.0 * load / cap
        return total

    def _composite_delta(self, vmids, node):
        cap = self.loads.capacity[node]
        guest = self.loads.guest
        return sum(w * 100.0 * sum(guest[v][i] for v in vmids) / cap[i] for i, w in self.weighted)

    # ---- the filters: why a node cannot take guests ---------------------------------------------
    def refusal(self, vmids, target, mandatory=False):
        """The placement core's answer; a mandatory move (pin, drain) outranks affinity, so it may split."""
        return filter_chain.refusal(self.state, vmids, target, skip=("affinity",) if mandatory else ())

    def budget_left(self, needed=1):
        limit = self.balancing.get("max_migrations")
        return limit is None or len(self.moves) + needed <= int(limit)

    def move(self, vmids, target, reason, gain=None):
        """Record moving ``vmids`` (those not on ``target``) there; returns the moves made."""
        made = []
        before = self.composite_gap(vmids, target) if gain is None else None
        for vmid in vmids:
            source = self.node_of(vmid)
            if source == target:
                continue
            self.state.move(vmid, target)
            self.moved.add(vmid)
            guest = self.guests[vmid]
            made.append({"vmid": vmid, "name": guest["name"], "type": guest["type"], "source": source,
                         "target": target, "reason": reason, "gain": 0.0, "cost": self._cost(guest)})
        if gain is None:
            gain = before[0] - abs(self._pct_gap(before[1], target))
        for entry in made:
            entry["gain"] = round(gain, 2)
        self.moves.extend(made)
        return made

    def composite_gap(self, vmids, target):
        source = self.node_of(vmids[0])
        return self.composite(source) - self.composite(target), source

    def _pct_gap(self, source, target):
        return self.composite(source) - self.composite(target)

    def _cost(self, guest):
        return move_cost(guest)

    def best_target(self, vmids, choices=None, mandatory=False):
        """The allowed node with the lowest weighted load after taking ``vmids`` (balance-aware placement),
        or (None, reasons) when none can."""
        best, reasons = None, {}
        for node in choices if choices is not None else self.targets:
            if all(self.node_of(v) == node for v in vmids):
                continue
            after = self.composite(node) + self._composite_delta(vmids, node)
            if best is not None and after >= best[0]:
                continue
            moving = [v for v in vmids if self.node_of(v) != node]
            why = self.refusal(moving, node, mandatory)
            if why:
                reasons[node] = why
                continue
            best = (after, node)
        return (best[1] if best else None), reasons

    def fail(self, rule, vmids, reason):
        self.unsatisfiable.append({"rule": rule, "guests": sorted(vmids), "reason": reason})

    # ---- mandatory moves -------------------------------------------------------------------------
    def _misplaced(self, vmid):
        """Why the guest must leave its node (drain or strict pin), as (rule id, text) or None."""
        node = self.node_of(vmid)
        pin = self.pin.get(vmid)
        if pin and node not in pin[0]:
            return pin[1][0], "pin: %s allows %s" % (", ".join(pin[1]), ", ".join(sorted(pin[0])))
        if node in self.drain:
            kind, source = self.drain[node]
            return source, "%s: drain %s" % (kind, node)
        return None

    def _movable_members(self, vmids):
        return [v for v in vmids if v not in self.fixed and v not in self.moved]

    def mandatory_relocations(self):
        order = sorted(self.bundles, key=lambda b: (-sum(self.loads.guest[v][0] for v in b), b))
        for bundle in order:
            needing = [(v, self._misplaced(v)) for v in bundle]
            needing = [(v, m) for v, m in needing if m]
            if not needing:
                continue
            for vmid, (rule, text) in needing:
                if vmid in self.fixed:
                    self.fail(rule, [vmid], "cannot move: %s" % self.fixed[vmid])
            movable = [v for v, _m in needing if v not in self.fixed]
            if not movable:
                continue
            if not self.budget_left():
                self.fail(needing[0][1][0], movable, "balancing.max_migrations reached")
                continue
            text = needing[0][1][1]
            if len(bundle) > 1 and len(self._movable_members(bundle)) == len(bundle):
                target, _r = self.best_target(list(bundle))
                if target and self.budget_left(sum(1 for v in bundle if self.node_of(v) != target)):
                    self.move(list(bundle), target, "%s (affinity %s moves along)"
                              % (text, self.affinity_name.get(bundle, "group")))
                    continue
            for vmid in movable:
                if not self.budget_left():
                    self.fail(needing[0][1][0], [vmid], "balancing.max_migrations reached")
                    continue
                rule, text = self._misplaced(vmid)
                target, reasons = self.best_target([vmid], mandatory=True)
                if target:
                    self.move([vmid], target, text)
                else:
                    why = "no node can take it: %s" % _first(reasons, "no eligible node")
                    self.fail(rule, [vmid], why)
                    self.stuck[vmid] = "stays on %s: %s" % (self.node_of(vmid), why)

    def repair_anti_affinity(self):
        for rid in sorted(self.anti):
            limit = self.anti_limit[rid]
            if limit > 1:
                self.fail(rid, self.anti[rid], "%d members, %d nodes: at most %d per node" % (
                    len(self.anti[rid]), len(self.targets), limit))
            for node in sorted(set(self.node_of(v) for v in self.anti[rid])):
                while len(self.state.anti_members_on(rid, node)) > limit:
                    members = [v for v in self.anti[rid] if self.node_of(v) == node]
                    candidates = sorted((v for v in members if v not in self.fixed and v not in self.moved
                                         and len(self.bundle_of[v]) == 1),
                                        key=lambda v: (self._cost(self.guests[v]), v))
                    done = False
                    reasons = {}
                    for vmid in candidates:
                        if not self.budget_left():
                            reasons = {"": "balancing.max_migrations reached"}
                            break
                        target, reasons = self.best_target([vmid])
                        if target:
                            self.move([vmid], target, "anti-affinity: %s" % rid)
                            done = True
                            break
                    if not done:
                        self.fail(rid, members, "cannot separate on %s: %s" % (
                            node, _first(reasons, "members cannot move")))
                        break

    def repair_affinity(self):
        for bundle in self.bundles:
            if len(bundle) < 2:
                continue
            nodes = sorted(set(self.node_of(v) for v in bundle))
            if len(nodes) < 2:
                continue
            rule = self.affinity_name.get(bundle, "affinity")
            stuck = sorted(set(self.node_of(v) for v in bundle if v in self.fixed or v in self.moved))
            if len(stuck) > 1:
                self.fail(rule, list(bundle), "members that cannot move are on %s" % ", ".join(stuck))
                continue
            choices = stuck or self.targets
            # cheapest join first, but not onto a node the group would push above the balance band
            ceiling = self._mean_composite() + float(self.balancing.get("balanciness") or 0) / 2

            def cost(node):
                moving = [v for v in bundle if self.node_of(v) != node]
                after = self.composite(node) + self._composite_delta(moving, node)
                return (after > ceiling, sum(self.loads.guest[v][0] for v in moving), after, node)
            ranked = sorted(choices, key=cost)
            done = False
            reasons = {}
            for node in ranked:
                moving = [v for v in bundle if self.node_of(v) != node]
                if not self.budget_left(len(moving)):
                    reasons[node] = "balancing.max_migrations reached"
                    continue
                why = self.refusal(moving, node)
                if why:
                    reasons[node] = why
                    continue
                self.move(moving, node, "affinity: %s joins on %s" % (rule, node))
                done = True
                break
            if not done:
                self.fail(rule, list(bundle), "cannot join: %s" % _first(reasons, "no eligible node"))

    def repair_preferences(self):
        for vmid in sorted(self.prefer):
            nodes, ids = self.prefer[vmid]
            if self.node_of(vmid) in nodes or vmid in self.fixed or vmid in self.moved:
                continue
            if len(self.bundle_of[vmid]) > 1 or not self.budget_left():
                continue
            target, _r = self.best_target([vmid], sorted(n for n in nodes if n in self.target_set))
            if target:
                self.move([vmid], target, "pin preference: %s prefers %s" % (", ".join(ids), target))

    # ---- balance ---------------------------------------------------------------------------------
    def _free_bundles(self):
        """Bundles that balance may move: every member movable, unmoved, on one target node."""
        out = []
        for bundle in self.bundles:
            node = self.node_of(bundle[0])
            if node not in self.target_set:
                continue
            if any(v in self.fixed or v in self.moved or v in self.held or self.node_of(v) != node
                   for v in bundle):
                continue
            out.append(bundle)
        return out

    def _prefers(self, bundle, target):
        for vmid in bundle:
            pref = self.prefer.get(vmid)
            if pref and self.node_of(vmid) in pref[0] and target not in pref[0]:
                return False
        return True

    def _balance_reason(self, before):
        label = RESOURCES[self.primary] if max(self.weight) == 1 else "weighted"
        text = "balance: %s spread %.1f -> %.1f pp" % (label, before, self.wspread())
        return text

    def balanced(self):
        return self.wspread() <= float(self.balancing.get("balanciness") or 0)

    def should_balance(self):
        if self.mode != "balance" or not self.balancing.get("enable", True) or len(self.targets) < 2:
            return False
        if self.balanced():
            return False
        threshold = self.balancing.get("memory_threshold")
        if threshold is not None and not any(self.loads.percent(n, 0) >= float(threshold) for n in self.targets):
            return False
        return True

    def balance(self):
        if self.balancing.get("mode") == "psi":
            self.relieve_pressure()
            return
        if not self.should_balance():
            return
        self.band_phase()
        self.local_phase()

    def relieve_pressure(self):
        """psi is a trigger, not a balance: move at most psi_max_moves guests off pressured nodes (or
        pressured guests elsewhere) to the node the normal objective picks; pressure cannot be predicted
        after a move, so it never plans more than that."""
        if self.mode != "balance" or not self.balancing.get("enable", True):
            return
        trigger = pressure.psi_candidates(self.snapshot, self.options, dict(self.fixed, **self.held))
        choices = [n for n in self.targets if n not in trigger["nodes"]]
        made = 0
        for vmid, reason in trigger["candidates"]:
            if made >= trigger["max_moves"] or not self.budget_left():
                break
            if vmid in self.moved:
                continue
            target, _reasons = self.best_target([vmid], choices)
            if target:
                self.move([vmid], target, reason)
                made += 1

    def _first_balance_move(self, tries, margin):
        """Make the first (bundle, target) of ``tries`` that is worth it; False when none is."""
        return any(self._try_balance_move(bundle, target, margin) for bundle, target in tries)

    def _try_balance_move(self, bundle, target, margin):
        source = self.node_of(bundle[0])
        gap = self.composite(source) - self.composite(target)
        after = gap - self._composite_delta(bundle, source) - self._composite_delta(bundle, target)
        gain = gap - abs(after)
        if gain < margin or not self._prefers(bundle, target) or not self.budget_left(len(bundle)):
            return False
        if self.refusal(list(bundle), target):
            return False
        before = self.wspread()
        made = self.move(list(bundle), target, "balance", gain)
        reason = self._balance_reason(before)
        if len(bundle) > 1:
            reason += " (affinity %s moves together)" % self.affinity_name.get(bundle, "group")
        for entry in made:
            entry["reason"] = reason
        return True

    def band_phase(self):
        r = self.primary
        targets = self.targets
        balanciness = float(self.balancing.get("balanciness") or 0)
        margin = float(self.balancing.get("margin") or 0)
        free = self._free_bundles()
        size = dict((b, sum(self.loads.guest[v][r] for v in b)) for b in free)
        per_node = dict((n, []) for n in targets)
        for bundle in free:
            if size[bundle] > 0:
                per_node[self.node_of(bundle[0])].append((size[bundle], bundle))
        for node in targets:
            per_node[node].sort()
        load = dict((n, self.loads.load[n][r]) for n in targets)
        cap = dict((n, self.loads.capacity[n][r]) for n in targets)
        fixed = dict((n, load[n] - sum(s for s, _b in per_node[n])) for n in targets)
        width = max(balanciness / 100.0 / max(self.weight[r], 1e-9) * 0.98, 0.0)
        low, high, _moved = objective.fluid_band([load[n] for n in targets], [cap[n] for n in targets],
                                                 [fixed[n] for n in targets], width)
        larger_first = bool(self.balancing.get("balance_larger_guests_first"))

        def current(n):
            return self.loads.load[n][r]

        def candidates(node, want, most):
            """Bundles on ``node`` with size <= most, best match for ``want`` first."""
            items = [it for it in per_node[node] if it[1][0] not in self.moved]
            per_node[node] = items
            sizes = [s for s, _b in items]
            cut = bisect.bisect_right(sizes, most)
            at = bisect.bisect_left(sizes, want, 0, cut)
            if larger_first:
                order = list(range(cut - 1, -1, -1))
            else:
                order = list(range(at, cut)) + list(range(at - 1, -1, -1))
            return [items[i] for i in order[:CANDIDATES_PER_NODE]]

        # shed: every node above the band gives its excess to nodes with room, deepest deficit first
        over = sorted((n for n in targets if current(n) > high * cap[n]),
                      key=lambda n: (-(current(n) - high * cap[n]), n))
        for node in over:
            while self.budget_left() and not self.balanced():
                excess = current(node) - high * cap[node]
                if excess <= 0:
                    break
                receivers = sorted((n for n in targets if n != node),
                                   key=lambda n: (-(low * cap[n] - current(n)), n))
                tries = ((bundle, target)
                         for item_size, bundle in candidates(node, excess, current(node) - low * cap[node])
                         for target in receivers if current(target) + item_size <= high * cap[target])
                if not self._first_balance_move(tries, margin):
                    break
        # fill: nodes still below the band take from the fullest nodes that stay inside it
        under = sorted((n for n in targets if current(n) < low * cap[n]),
                       key=lambda n: (-(low * cap[n] - current(n)), n))
        for node in under:
            while self.budget_left() and not self.balanced():
                deficit = low * cap[node] - current(node)
                if deficit <= 0:
                    break
                room = high * cap[node] - current(node)
                donors = sorted((n for n in targets if n != node and current(n) > low * cap[n]),
                                key=lambda n: (-current(n) / cap[n], n))
                tries = ((bundle, node) for donor in donors
                         for _s, bundle in candidates(donor, deficit, min(room, current(donor) - low * cap[donor])))
                if not self._first_balance_move(tries, margin):
                    break

    def local_phase(self):
        """Best single moves from the fullest node of the most unbalanced resource until the weighted
        spread is within balanciness or no move improves it by the margin."""
        balanciness = float(self.balancing.get("balanciness") or 0)
        margin = float(self.balancing.get("margin") or 0)
        w = self.weight
        guard = 4 * len(self.guests) + 10
        while self.budget_left() and guard > 0:
            guard -= 1
            percents = dict((n, self.loads.percents(n)) for n in self.targets)
            spread = objective.spreads(percents, self.targets)
            current = objective.weighted_spread(spread, w)
            if current <= balanciness:
                return
            k = max(range(3), key=lambda i: (w[i] * spread[i], -i))
            source = max(self.targets, key=lambda n: (percents[n][k], n))
            dests = sorted((n for n in self.targets if n != source), key=lambda n: (percents[n][k], n))
            dests = dests[:LOCAL_TARGETS]
            bundles = [b for b in self._free_bundles() if self.node_of(b[0]) == source]
            scored = []
            for dest in dests:
                others = [n for n in self.targets if n not in (source, dest)]
                top = [max(percents[n][i] for n in others) if others else None for i in range(3)]
                bottom = [min(percents[n][i] for n in others) if others else None for i in range(3)]
                for bundle in bundles:
                    s_new, d_new = list(percents[source]), list(percents[dest])
                    for i in range(3):
                        for vmid in bundle:
                            s_new[i] -= self.loads.delta_pct(vmid, source, i)
                            d_new[i] += self.loads.delta_pct(vmid, dest, i)
                    value, square = 0.0, 0.0
                    for i in range(3):
                        if not w[i]:
                            continue
                        hi = max(s_new[i], d_new[i]) if top[i] is None else max(top[i], s_new[i], d_new[i])
                        lo = min(s_new[i], d_new[i]) if bottom[i] is None else min(bottom[i], s_new[i], d_new[i])
                        value += w[i] * (hi - lo)
                        square += w[i] * (s_new[i] ** 2 + d_new[i] ** 2
                                          - percents[source][i] ** 2 - percents[dest][i] ** 2)
                    if value < current - 1e-9 or (value <= current + 1e-9 and square < -1e-9):
                        scored.append((round(value, 9), square, bundle, dest))
            scored.sort(key=lambda x: (x[0], x[1], x[2], x[3]))
            if not any(self._try_balance_move(bundle, dest, margin) for _v, _s, bundle, dest in scored):
                return

    # ---- output ----------------------------------------------------------------------------------
    def node_table(self):
        return node_table(self.loads)

    def metrics(self):
        spread = self.spread()
        violated = objective.violations(self.placement(), self._hard_rules(), self.nodes, len(self.targets))
        return {
            "spread": dict((RESOURCES[i], round(spread[i], 2)) for i in range(3)),
            "weighted_spread": round(objective.weighted_spread(spread, self.weight), 2),
            "violations": len(violated),
            "on_drain_nodes": len(objective.on_nodes(self.placement(), self.drain)),
        }

    def _hard_rules(self):
        return [r for r in self.rules if r["kind"] != "affinity" or r["id"] in self.affinity_rules]

    def run(self):
        nodes_before = self.node_table()
        metrics_before = self.metrics()
        self.mandatory_relocations()
        self.repair_anti_affinity()
        self.repair_affinity()
        if self.balancing.get("enforce_pinning"):
            self.repair_preferences()
        self.balance()
        if self.balancing.get("mode") != "psi" and self.should_balance():
            # say why the plan ends above balanciness, so nobody reads it as a half-done job
            why = "the move budget is spent" if not self.budget_left() else (
                "no further move gains at least the margin within the rules, pins and capacity")
            self.warnings.append("balance stops at %.1f pp, above balanciness %s: %s"
                                 % (self.wspread(), self.balancing.get("balanciness"), why))
        violated = objective.violations(self.placement(), self._hard_rules(), self.nodes, len(self.targets))
        reported = set(u["rule"] for u in self.unsatisfiable)
        for entry in violated:
            if entry["rule"] not in reported:
                self.fail(entry["rule"], entry["guests"], entry["reason"])
        moves = assign_steps(Capacity(self.snapshot, self.options), self.moves)
        metrics_after = self.metrics()
        metrics_after["moves"] = len(moves)
        metrics_after["memory_moved"] = int(sum(self.loads.guest[m["vmid"]][0] for m in moves))
        metrics_after["cost"] = int(sum(m["cost"] for m in moves))
        skipped = [{"vmid": v, "reason": self.fixed[v]} for v in sorted(self.fixed)]
        skipped.extend({"vmid": v, "reason": self.held[v]} for v in sorted(self.held)
                       if v not in self.moved and v not in self.fixed)
        skipped.extend({"vmid": v, "reason": self.stuck[v]} for v in sorted(self.stuck))
        for vmid in sorted(self.state.refused):
            if vmid not in self.moved and vmid not in self.fixed:
                skipped.append({"vmid": vmid, "reason": "precondition refused " + "; ".join(self.state.refused[vmid])})
            elif vmid in self.moved:
                self.warnings.append("vmid %d: precondition refused %s" % (vmid, "; ".join(self.state.refused[vmid])))
        skipped.sort(key=lambda s: s["vmid"])
        return plan_document(self.snapshot, self.options, moves, skipped, self.unsatisfiable, nodes_before,
                             self.node_table(), {"before": metrics_before, "after": metrics_after}, self.warnings)


def _first(reasons, default):
    for key in sorted(reasons):
        return reasons[key]
    return default


def plan(snapshot, options=None, rules=None, precondition=None):
    """Compute a plan (CONTRACTS.md "Plan") for a normalised snapshot and behaviour options.

    ``rules``: the rules list (``rules.build_rules`` when None); ``precondition``: optional callable
    (guest, target node) -> None or the reason PVE refuses that migration, asked for candidates only."""
    if "fingerprint" not in snapshot or "schema" not in snapshot:
        snapshot = normalize(snapshot)
    options = behaviour(options)
    rules, warnings = rules_for(snapshot, options, rules)
    return _Planner(snapshot, options, rules, precondition, warnings).run()


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
        lines.append("step %d: %s %d (%s) %s -> %s: %s" % (
            move["step"], move["type"], move["vmid"], move["name"] or "-", move["source"], move["target"],
            move["reason"]))
    for entry in plan_doc["unsatisfiable"]:
        lines.append("unsatisfiable %s %s: %s" % (entry["rule"], entry["guests"], entry["reason"]))
    for text in plan_doc.get("warnings", []):
        lines.append("warning: %s" % text)
    return "\n".join(lines)
