# -*- coding: utf-8 -*-
# Copyright: (c) 2026, proxlb.balancer contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filter: with ``cpu_overcommit`` set, assigned cores stay within ratio x (cores - reserved cores)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

NAME = "cpu"


def check(state, vmids, node):
    return state.capacity.cpu_refusal(node, [v for v in vmids if state.node_of(v) != node])
