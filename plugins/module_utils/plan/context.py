# -*- coding: utf-8 -*-
# Copyright: (c) 2026, proxlb.balancer contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What every planner phase shares: the placement state, the weighted objective, and the record of where
each guest started and where the plan puts it.

The phases change a *target placement*: a guest may be placed again by a later pass (its move then goes
from where it started to where it ends, or disappears when it ends where it started), so a plan is one
move per guest. ``plan.order`` turns the target placement into steps that are safe at every point.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.proxlb.balancer.plugins.module_utils.common.errors import ConfigError
from ansible_collections.proxlb.balancer.plugins.module_utils.common.natural import natural_key
from ansible_collections.proxlb.balancer.plugins.module_utils.facts import history
from ansible_collections.proxlb.balancer.plugins.module_utils.placement import filter_chain, objective
from ansible_collections.proxlb.balancer.plugins.module_utils.placement.state import PlacementState

MODES = ("balance", "enforce", "evacuate")
EPSILON = 1e-9


class Causes(dict):
    """{node: reason} a node refused guests for, and which filter refused (to name the nearest miss)."""

    def __init__(self):
        dict.__init__(self)
        self.kinds = {}

    def add(self, node, kind, reason):
        self[node] = reason
        self.kinds[node] = kind

    def summary(self, default="no eligible node"):
        """The most telling cause: from the node that passed the most filters (the nearest miss), so a
        full pinned node says it is full rather than that other nodes are not the pin."""
        if not self:
            return default
        order = dict((name, i) for i, name in enumerate(filter_chain.NAMES))
        node = min(self, key=lambda n: (-order.get(self.kinds.get(n), -1), natural_key(n)))
        return self[node]


class PlanContext(object):
    """The state one plan works on, and the questions every phase asks about it."""

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
        self.view = self.state.rules
        self.warnings.extend(self.view.warnings)
        self.guests = self.state.guests
        self.loads = self.state.loads
        self.drain = self.state.node_sets.drain
        self.targets = sorted(self.state.node_sets.targets, key=natural_key)
        self.target_set = self.state.node_sets.target_set
        self.rank = dict((n, i) for i, n in enumerate(self.targets))
        if self.mode == "evacuate" and not self.drain:
            raise ConfigError("mode evacuate: set evacuate_nodes to the node(s) to drain")
        self.fixed = self.state.fixed
        # held back from balancing only (cooldown, HA guests left to PVE's CRS); rules still move them
        self.held = history.held_guests(snapshot, options)
        self.origin = dict(self.loads.node_of)
        self.priority = {}      # vmid -> order in which the plan first placed it (the order's preference)
        self.why = {}           # vmid -> (reason, gain) of its latest placement
        self.changed = 0        # guests away from where they started
        self.log = []           # (vmid, source, target) of every placement, in order: a sequence safe to run
        self.on_node = {}
        for vmid, node in self.origin.items():
            self.on_node.setdefault(node, set()).add(vmid)
        self.new_pass()

    def new_pass(self):
        """A fresh look at the current placement: nothing counts as moved, failures are found again."""
        self.moved = set()
        self.unsatisfiable = []
        self.stuck = {}
        self.pass_moves = 0

    # ---- placement ---------------------------------------------------------------------------------
    def node_of(self, vmid):
        return self.loads.node_of[vmid]

    def movable(self, vmid):
        return vmid not in self.fixed and vmid not in self.moved

    def budget_left(self, needed=1):
        limit = self.balancing.get("max_migrations")
        return limit is None or self.changed + needed <= int(limit)

    def guests_on(self, node):
        """The guests the target placement has on ``node``, by vmid."""
        return sorted(self.on_node.get(node, ()))

    def place(self, vmid, target, reason, gain=0.0, rule=None):
        """Put ``vmid`` on ``target`` in the target placement (no check: the caller asked the filters).
        ``rule``: the rule the move repairs (None for balance)."""
        source = self.node_of(vmid)
        if source == target:
            return False
        self.changed += (target != self.origin[vmid]) - (source != self.origin[vmid])
        self.state.move(vmid, target)
        self.log.append((vmid, source, target))
        self.on_node[source].discard(vmid)
        self.on_node.setdefault(target, set()).add(vmid)
        self.priority.setdefault(vmid, len(self.priority))
        self.why[vmid] = (reason, round(gain, 2), rule)
        self.moved.add(vmid)
        self.pass_moves += 1
        return True

    def move(self, vmids, target, reason, gain=0.0, rule=None):
        """Place every guest of ``vmids`` on ``target``; the guests that moved."""
        return [v for v in vmids if self.place(v, target, reason, gain, rule)]

    def refusal(self, vmids, target, mandatory=False):
        """The placement core's answer; a mandatory move (pin, drain) outranks affinity, so it may split."""
        return filter_chain.refusal(self.state, vmids, target, skip=("affinity",) if mandatory else ())

    # ---- the weighted objective --------------------------------------------------------------------
    def composite(self, node):
        load, cap = self.loads.load[node], self.loads.capacity[node]
        return sum(w * 100.0 * load[i] / cap[i] for i, w in self.weighted)

    def delta(self, vmids, node):
        """Weighted percentage points ``vmids`` add to (or free on) ``node``."""
        cap = self.loads.capacity[node]
        guest = self.loads.guest
        return sum(w * 100.0 * sum(guest[v][i] for v in vmids) / cap[i] for i, w in self.weighted)

    def wspread(self, bundle=(), source=None, target=None):
        """The weighted spread the plan reports; with ``bundle`` moved from ``source`` to ``target`` if given."""
        load, cap, guest = self.loads.load, self.loads.capacity, self.loads.guest
        total = 0.0
        for i, w in self.weighted:
            column = dict((n, load[n][i]) for n in self.targets)
            moved = sum(guest[v][i] for v in bundle)
            if source in column:
                column[source] -= moved
            if target in column:
                column[target] += moved
            ratios = [column[n] / cap[n][i] for n in self.targets]
            total += w * 100.0 * (max(ratios) - min(ratios)) if ratios else 0.0
        return total

    def spread(self):
        percents = dict((n, self.loads.percents(n)) for n in self.targets)
        return objective.spreads(percents, self.targets)

    def mean_composite(self):
        """The weighted load every target would carry if load were liquid (capacity-weighted mean)."""
        total = 0.0
        for i, w in self.weighted:
            load = sum(self.loads.load[n][i] for n in self.targets)
            cap = sum(self.loads.capacity[n][i] for n in self.targets)
            total += w * 100.0 * load / cap
        return total

    def best_target(self, vmids, choices=None, mandatory=False):
        """The allowed node with the lowest weighted load after taking ``vmids``, ties by its load now,
        then by name; or (None, {node: reason}) with the cause on every candidate when none can."""
        load, cap, guest = self.loads.load, self.loads.capacity, self.loads.guest
        need = [(i, w, sum(guest[v][i] for v in vmids)) for i, w in self.weighted]
        where = [self.loads.node_of[v] for v in vmids]
        ranked = []
        for node in self._candidates(vmids, choices):
            here = [v for v, at in zip(vmids, where) if at == node] if node in where else ()
            if len(here) == len(vmids):
                continue
            now = after = 0.0
            for i, w, amount in need:
                base = load[node][i] / cap[node][i]
                now += w * base
                after += w * (base + (amount - sum(guest[v][i] for v in here)) / cap[node][i])
            ranked.append((round(100.0 * after, 9), now, self.rank.get(node, 0), node))
        ranked.sort()
        reasons = Causes()
        skip = ("affinity",) if mandatory else ()
        for _after, _now, _rank, node in ranked:
            name, why = filter_chain.first_refusal(self.state, [v for v in vmids if self.node_of(v) != node],
                                                   node, skip)
            if not why:
                return node, reasons
            reasons.add(node, name, why)
        return None, reasons

    def _candidates(self, vmids, choices):
        """The nodes to ask: ``choices`` (default every target), only those a strict pin allows when one
        applies (with the pinned nodes that take no guests, so their own reason is the cause)."""
        nodes = choices if choices is not None else self.targets
        allowed = None
        for vmid in vmids:
            pin = self.view.pin.get(vmid)
            if pin:
                allowed = pin[0] if allowed is None else allowed & pin[0]
        if allowed is None:
            return nodes
        out = [n for n in nodes if n in allowed]
        if choices is None:
            out += [n for n in sorted(allowed, key=natural_key) if n not in self.target_set and n in self.state.nodes]
        return out

    # ---- what cannot be done -----------------------------------------------------------------------
    def fail(self, rule, vmids, reason, causes=None, check=None):
        """Report ``rule`` as not met for ``vmids``; ``check`` (kind, subject) lets the output drop the
        entry when a later phase met it after all."""
        self.unsatisfiable.append({"rule": rule, "guests": sorted(vmids), "reason": reason,
                                   "causes": dict(causes or {}), "check": check})
