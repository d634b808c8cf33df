# -*- coding: utf-8 -*-
# Copyright: (c) 2026, proxlb.balancer contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filter: every guest may be migrated at all: not ignored (tag, option), not a template, not locked,
no local devices, type and running-CT policy allow it (the reasons come from placement.movability)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

NAME = "guest_movable"


def check(state, vmids, node):
    for vmid in vmids:
        reason = state.fixed.get(vmid)
        if reason:
            return "guest %d cannot move: %s" % (vmid, reason)
    return None
