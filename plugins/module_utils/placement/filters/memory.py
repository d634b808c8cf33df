# -*- coding: utf-8 -*-
# Copyright: (c) 2026, proxlb.balancer contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filter: the node has the memory the guests need, after its reserve, with migrations already on their
way to it counted (a migrating guest holds memory on both nodes)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

NAME = "memory"


def check(state, vmids, node):
    return state.capacity.memory_refusal(node, [v for v in vmids if state.node_of(v) != node])
