# -*- coding: utf-8 -*-
# Copyright: (c) 2026, proxlb.balancer contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Which nodes may take guests, which must be drained, and why: the one definition of "usable node".

Everything comes from the rules (``rules.build.build_rules`` turns ``ignore_nodes``, ``maintenance_nodes``,
``evacuate_nodes``, the cluster marker and HA maintenance into ``exclude_node`` and ``maintenance`` rules)
and from each node's online status. A node in maintenance is drained; an ignored or offline node is left
alone: its guests stay, and it takes none.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

# how people name the places a maintenance rule comes from
_MAINTENANCE_SOURCES = {
    "option:maintenance_nodes": ("maintenance", "proxmox_cluster.maintenance_nodes"),
    "option:evacuate_nodes": ("evacuate", "evacuate_nodes"),
    "cluster:maintenance": ("maintenance", "cluster marker"),
    "ha:maintenance": ("maintenance", "HA maintenance mode"),
}


class NodeSets(object):
    """``targets``: nodes that may take guests; ``drain``: {node: (kind, source)} to empty;
    ``excluded``: {node: source} left alone; ``offline``: {node: status}."""

    def __init__(self, nodes, rules):
        self.names = sorted(n["node"] for n in nodes)
        known = set(self.names)
        self.offline = dict((n["node"], n.get("status") or "unknown") for n in nodes
                            if n.get("status") != "online")
        self.excluded = {}
        self.drain = {}
        for rule in sorted(rules, key=lambda r: r["id"]):
            for name in rule.get("nodes") or []:
                if name not in known:
                    continue
                if rule["kind"] == "exclude_node":
                    self.excluded.setdefault(name, rule.get("source") or rule["id"])
                elif rule["kind"] == "maintenance":
                    kind, source = _MAINTENANCE_SOURCES.get(rule["id"], ("maintenance", rule.get("source") or rule["id"]))
                    # evacuation asked for this run is named as such even when the node is also marked
                    if kind == "evacuate" or name not in self.drain:
                        self.drain[name] = (kind, source)
        self.targets = [n for n in self.names if n not in self.offline and n not in self.excluded
                        and n not in self.drain]
        self.target_set = frozenset(self.targets)

    def refusal(self, name):
        """Why ``name`` cannot take guests (None when it can), in the words a person acts on."""
        if name in self.target_set:
            return None
        if name not in self.names:
            return "%s: not a node of this cluster" % name
        if name in self.offline:
            return "%s: offline (status %s)" % (name, self.offline[name])
        if name in self.excluded:
            return "%s: ignored (%s)" % (name, self.excluded[name])
        kind, source = self.drain[name]
        return "%s: %s (%s)" % (name, "being evacuated" if kind == "evacuate" else "in maintenance", source)

    def unusable(self):
        """{node: reason} for nodes whose guests stay where they are (offline or ignored)."""
        out = {}
        for name in sorted(self.offline):
            out[name] = "offline node %s" % name
        for name in sorted(self.excluded):
            out.setdefault(name, "ignored node %s (%s)" % (name, self.excluded[name]))
        return out
