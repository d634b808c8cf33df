# -*- coding: utf-8 -*-
# Copyright: (c) 2026, proxlb.balancer contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filter: a node never holds more members of one anti-affinity rule than its limit (1, or an even share
when a rule has more members than there are nodes). Members on their way to the node count as there."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

NAME = "anti_affinity"


def check(state, vmids, node):
    incoming = {}
    for vmid in vmids:
        if state.node_of(vmid) == node:
            continue
        for rid in state.rules.anti_of.get(vmid, ()):
            incoming.setdefault(rid, []).append(vmid)
    for rid in sorted(incoming):
        there = state.anti_members_on(rid, node)
        if len(there) + len(incoming[rid]) > state.rules.anti_limit[rid]:
            return "%s: anti-affinity %s already has %s there" % (
                node, rid, ", ".join(str(v) for v in there) or "its limit")
    return None
