# -*- coding: utf-8 -*-
# Copyright: (c) 2026, proxlb.balancer contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filter: the node has each node-local storage the guests' local disks live on, with room for them."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

NAME = "local_storage"


def check(state, vmids, node):
    return state.capacity.storage_refusal(node, [v for v in vmids if state.node_of(v) != node])
