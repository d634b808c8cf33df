# -*- coding: utf-8 -*-
# Copyright: (c) 2026, proxlb.balancer contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The named filters in the order they are asked: cheap node and guest facts first, PVE's precondition
(an API call) last. ``refusal`` is the one answer to "may these guests go to that node, and if not,
why?" for the planner, best node, the maintenance return and the executor's live check."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.proxlb.balancer.plugins.module_utils.placement.filters import (
    affinity, anti_affinity, cpu, guest_movable, local_storage, memory, node_usable, precondition, pve_version,
    strict_pin)

FILTERS = (node_usable, guest_movable, strict_pin, pve_version, anti_affinity, affinity, memory, cpu,
           local_storage, precondition)
NAMES = tuple(f.NAME for f in FILTERS)


def first_refusal(state, vmids, node, skip=()):
    """(filter name, reason) of the first filter that refuses ``node`` for ``vmids``, or (None, None).

    ``skip``: filter names a caller may leave out because a rule of higher precedence is being enforced
    (e.g. a drain moves a guest away from its affinity partners)."""
    for check in FILTERS:
        if check.NAME in skip:
            continue
        reason = check.check(state, vmids, node)
        if reason:
            return check.NAME, reason
    return None, None


def refusal(state, vmids, node, skip=()):
    """The first filter's reason why ``node`` cannot take ``vmids`` now, or None when every filter passes."""
    return first_refusal(state, vmids, node, skip)[1]


def all_refusals(state, vmids, node, skip=("precondition",)):
    """Every filter's reason (not just the first): for people choosing a node, e.g. best node."""
    reasons = []
    for check in FILTERS:
        if check.NAME not in skip:
            reason = check.check(state, vmids, node)
            if reason:
                reasons.append(reason)
    return reasons
