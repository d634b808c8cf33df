# -*- coding: utf-8 -*-
# Copyright: (c) 2026, proxlb.balancer contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filter: no migration to a node running an older major PVE version than the guest's node (PVE refuses
it: the guest's machine and config may use what the older version does not know)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.proxlb.balancer.plugins.module_utils.facts.snapshot import version_tuple

NAME = "pve_version"
_PARSED = {}


def _major(text):
    """version_tuple, parsed once per version string (the planner asks this thousands of times)."""
    if text not in _PARSED:
        _PARSED[text] = version_tuple(text)
    return _PARSED[text]


def check(state, vmids, node):
    target = state.nodes.get(node, {}).get("pve_version") or ""
    wanted = _major(target)
    for vmid in vmids:
        source = state.node_of(vmid)
        if source is None or source == node:
            continue
        have = state.nodes.get(source, {}).get("pve_version") or ""
        mine = _major(have)
        if mine and wanted and wanted[0] < mine[0]:
            return "%s: runs PVE %s, older than the source's %s (%s)" % (node, target, have, source)
    return None
