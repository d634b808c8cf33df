# -*- coding: utf-8 -*-
# Copyright: (c) 2026, proxlb.balancer contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filter: the node takes guests at all: online, not ignored, not in maintenance (config option, HA
maintenance, the cluster marker), not being evacuated. The sets are defined once in placement.nodes."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

NAME = "node_usable"


def check(state, vmids, node):
    return state.node_sets.refusal(node)
