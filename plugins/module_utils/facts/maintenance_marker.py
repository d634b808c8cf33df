# -*- coding: utf-8 -*-
# Copyright: (c) 2026, proxlb.balancer contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The cluster-side maintenance marker: one line in the datacenter notes (``/cluster/options``
``description``), so every controller (an ephemeral AWX execution environment too) and every plan knows
which nodes are under maintenance by this collection. Visible to admins in the PVE UI under
Datacenter > Notes; collected without an extra API call.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

PREFIX = "proxlb.balancer maintenance:"
_LINE = re.compile(r"^\s*proxlb\.balancer maintenance:\s*(.*?)\s*$", re.MULTILINE)


def parse(description):
    """Nodes the marker names (sorted, unique); [] when there is no marker."""
    nodes = set()
    for match in _LINE.finditer(description or ""):
        nodes.update(n.strip() for n in match.group(1).split(",") if n.strip())
    return sorted(nodes)


def render(description, nodes):
    """The notes with the marker set to ``nodes`` (removed when empty); other text is kept as it was."""
    kept = [line for line in (description or "").splitlines() if not _LINE.match(line)]
    while kept and not kept[-1].strip():
        kept.pop()
    if nodes:
        kept.append("%s %s" % (PREFIX, ", ".join(sorted(set(nodes)))))
    return "\n".join(kept)
