# -*- coding: utf-8 -*-
# Copyright: (c) 2026, proxlb.balancer contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filter: a move never splits guests that a strict affinity rule keeps together.

A guest may leave partners it shares a node with only when they come along (in the same move, or on
their way to the same node). Where the guest may not stay (its node is drained, or its pin forbids the
node) affinity does not hold it: pins and maintenance outrank affinity. A guest not placed yet (a new
guest) goes to a node where its partners run."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

NAME = "affinity"


def check(state, vmids, node):
    moving = set(vmids)
    for vmid in vmids:
        partners = state.rules.partners.get(vmid)
        if not partners:
            continue
        here = state.node_of(vmid)
        if here is None:
            homes = sorted(set(state.node_of(p) for p in partners if state.node_of(p) is not None))
            if homes and node not in homes:
                return "%s: affinity keeps guest %d with %s, which run on %s" % (
                    node, vmid, ", ".join(str(p) for p in sorted(partners)), ", ".join(homes))
            continue
        if here == node or not state.may_stay(vmid, here):
            continue
        left = sorted(p for p in partners if p not in moving and state.node_of(p) == here
                      and state.heading.get(p) != node and state.planned.get(p) != node)
        if left:
            return "%s: affinity %s keeps guest %d with %s on %s" % (
                node, state.affinity_rule_of(vmid), vmid, ", ".join(str(p) for p in left), here)
    return None
