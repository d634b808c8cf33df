# -*- coding: utf-8 -*-
# Copyright: (c) 2026, proxlb.balancer contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The cluster as placement sees it while a plan is made or carried out.

Where each guest is, the load per resource and the hard capacity per node (with reserves), the rules as
placement asks them, the guests that cannot move, and the guests on their way somewhere (a migration in
flight holds memory on both nodes until it ends). The filters (placement.filter_chain) read this state
and nothing else, so the planner, best node, the maintenance return and the executor ask the same
question the same way.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.proxlb.balancer.plugins.module_utils.placement.capacity import Capacity
from ansible_collections.proxlb.balancer.plugins.module_utils.placement.load import LoadModel
from ansible_collections.proxlb.balancer.plugins.module_utils.placement.movability import ignored_guests, immovable_reason
from ansible_collections.proxlb.balancer.plugins.module_utils.placement.nodes import NodeSets
from ansible_collections.proxlb.balancer.plugins.module_utils.placement.rule_view import RuleView


class PlacementState(object):
    """``precondition``: optional callable (guest, target) -> None | reason, PVE's migrate precondition."""

    def __init__(self, snapshot, options, rules, precondition=None):
        balancing = options["balancing"]
        self.nodes = dict((n["node"], n) for n in snapshot["nodes"])
        self.guests = dict((g["vmid"], g) for g in snapshot["guests"])
        self.node_sets = NodeSets(snapshot["nodes"], rules)
        self.rules = RuleView(rules, self.guests, set(self.nodes), self.node_sets.targets)
        self.loads = LoadModel(snapshot, balancing)
        self.capacity = Capacity(snapshot, options)
        ignored = ignored_guests(rules)
        unusable = self.node_sets.unusable()
        self.fixed = {}
        for vmid in sorted(self.guests):
            reason = immovable_reason(self.guests[vmid], balancing, ignored, unusable)
            if reason:
                self.fixed[vmid] = reason
        self.heading = {}      # vmid -> target of migrations in flight
        self.planned = {}      # vmid -> target of moves still to come (the executor's plan)
        self.precondition = precondition
        self.asked = {}
        self.refused = {}

    # ---- questions the filters ask ---------------------------------------------------------------
    def node_of(self, vmid):
        return self.loads.node_of.get(vmid)

    def may_stay(self, vmid, node):
        """Whether the rules let ``vmid`` stay on ``node`` (not drained, within its strict pin)."""
        if node in self.node_sets.drain:
            return False
        pin = self.rules.pin.get(vmid)
        return not pin or node in pin[0]

    def anti_members_on(self, rule_id, node):
        """Members of an anti-affinity rule on ``node`` or on their way to it."""
        return [v for v in self.rules.anti[rule_id] if self.heading.get(v) == node or self.node_of(v) == node]

    def affinity_rule_of(self, vmid):
        return self.rules.affinity_name.get(self.rules.bundle_of.get(vmid), "group")

    def ask_precondition(self, vmid, node):
        if self.precondition is None:
            return None
        key = (vmid, node)
        if key not in self.asked:
            self.asked[key] = self.precondition(self.guests[vmid], node)
            if self.asked[key]:
                self.refused.setdefault(vmid, []).append("%s: %s" % (node, self.asked[key]))
        return self.asked[key]

    # ---- changes ---------------------------------------------------------------------------------
    def move(self, vmid, target):
        """The guest is on ``target`` now (a planned move, or one seen in the live cluster)."""
        if self.heading.get(vmid) is not None:
            self.complete(vmid)
            if self.node_of(vmid) == target:
                return
        if self.node_of(vmid) == target:
            return
        self.capacity.move(vmid, target)
        self.loads.move(vmid, target)

    def begin(self, vmid, target):
        """A migration to ``target`` starts: the guest occupies both nodes until ``complete``."""
        if self.heading.get(vmid) == target:
            return
        self.heading[vmid] = target
        self.capacity.arrive(vmid, target)

    def abandon(self, vmid):
        """A migration ``begin`` announced did not happen: the target's room is free again."""
        self.capacity.arrive(vmid, self.heading.pop(vmid), sign=-1)

    def complete(self, vmid):
        """The migration ``begin`` announced has ended with the guest on its target."""
        target = self.heading.pop(vmid)
        self.capacity.leave(vmid, target)
        self.loads.move(vmid, target)
