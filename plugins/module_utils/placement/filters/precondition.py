# -*- coding: utf-8 -*-
# Copyright: (c) 2026, proxlb.balancer contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filter: PVE's own migrate precondition allows the node (local devices, CD-ROMs, storages missing on
the target, HA blockers). Asked last and lazily, since it costs an API call per guest."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

NAME = "precondition"


def check(state, vmids, node):
    for vmid in vmids:
        if state.node_of(vmid) == node:
            continue
        reason = state.ask_precondition(vmid, node)
        if reason:
            return "%s: PVE refuses guest %d: %s" % (node, vmid, reason)
    return None
