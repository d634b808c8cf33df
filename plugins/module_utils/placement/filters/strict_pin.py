# -*- coding: utf-8 -*-
# Copyright: (c) 2026, proxlb.balancer contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filter: a strictly pinned guest goes only to a node its pins allow (tags plb_pin_<node>, pool pins,
HA node-affinity rules and PVE 8 HA groups that fail back)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

NAME = "strict_pin"


def check(state, vmids, node):
    for vmid in vmids:
        pin = state.rules.pin.get(vmid)
        if pin and node not in pin[0]:
            return "%s: guest %d is pinned to %s (%s)" % (node, vmid, ", ".join(sorted(pin[0])), ", ".join(pin[1]))
    return None
