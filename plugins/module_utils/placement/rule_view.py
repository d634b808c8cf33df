# -*- coding: utf-8 -*-
# Copyright: (c) 2026, proxlb.balancer contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The rules as placement asks them: strict and preferred pins per guest, anti-affinity members and
limits, and affinity bundles (the one definition of which guests move together).

Overlapping affinity rules merge into one bundle; an affinity rule that would put two members of one
anti-affinity rule together yields to it (precedence: anti-affinity > affinity) and is reported.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.proxlb.balancer.plugins.module_utils.placement.objective import anti_affinity_limit
from ansible_collections.proxlb.balancer.plugins.module_utils.rules.build import rule_index


class RuleView(object):

    def __init__(self, rules, guests, node_names, targets):
        self.rules = sorted(rules, key=lambda r: r["id"])
        self.warnings = []
        self.unsatisfiable = []
        self._pins(guests, node_names)
        self._anti_affinity(guests, frozenset(targets))
        self._affinity(guests)

    def _pins(self, guests, node_names):
        self.pin = {}      # vmid -> (allowed nodes, [rule ids]) for strict pins
        self.prefer = {}   # vmid -> (preferred nodes, [rule ids]) for non-strict pins
        pins = [dict(r, nodes=[n for n in r["nodes"] if n in node_names]) for r in self.rules if r["kind"] == "pin"]
        for rule in pins:
            if not rule["nodes"]:
                self.warnings.append("rule %s: pins to unknown node(s) only; ignored" % rule["id"])
        # several strict pins intersect; rules.build decides which wins when they allow no common node
        index = rule_index([r for r in pins if r["nodes"]])
        for vmid in sorted(guests):
            allowed = index.allowed_nodes(vmid)
            if allowed:
                self.pin[vmid] = (frozenset(allowed), list(index.pinned_by(vmid)))
            preferred = index.preferred_nodes(vmid)
            if preferred:
                ids = [r["id"] for r in pins if not r["strict"] and vmid in r["guests"]]
                self.prefer[vmid] = (frozenset(preferred), ids)

    def _anti_affinity(self, guests, targets):
        self.anti = {}       # rule id -> members
        self.anti_of = {}    # vmid -> [rule ids]
        for rule in self.rules:
            if rule["kind"] != "anti_affinity":
                continue
            members = sorted(v for v in rule["guests"] if v in guests)
            if len(members) < 2:
                continue
            self.anti[rule["id"]] = members
            for vmid in members:
                self.anti_of.setdefault(vmid, []).append(rule["id"])
        # the nodes a rule's members may spread over: pins outrank anti-affinity, so a member pinned to
        # some nodes only adds those (where it must stay, when none of them takes guests); PVE's own HA
        # resource-affinity rules are enforced by PVE whatever a tag says, so every target counts for them
        self.anti_limit = {}
        self.anti_room = {}  # rule id -> the nodes its members may use
        for rid, members in self.anti.items():
            room = set()
            for vmid in members:
                pin = None if rid.startswith("ha-rule:") else self.pin.get(vmid)
                room |= ((pin[0] & targets) or pin[0]) if pin else targets
            self.anti_room[rid] = sorted(room or targets)
            self.anti_limit[rid] = anti_affinity_limit(len(members), len(self.anti_room[rid]))

    def _anti_clash(self, members):
        seen = set()
        for vmid in members:
            for rid in self.anti_of.get(vmid, []):
                if rid in seen:
                    return rid
                seen.add(rid)
        return None

    def _affinity(self, guests):
        parent = {}

        def find(v):
            while parent.setdefault(v, v) != v:
                parent[v] = parent[parent[v]]
                v = parent[v]
            return v

        self.affinity_rules = []
        self.partners = {}   # vmid -> set of guests a strict affinity keeps it with
        for rule in self.rules:
            if rule["kind"] != "affinity":
                continue
            members = sorted(v for v in rule["guests"] if v in guests)
            if len(members) < 2:
                continue
            clash = self._anti_clash(members)
            if clash:
                self.unsatisfiable.append({"rule": rule["id"], "guests": members,
                                           "reason": "contradicts anti-affinity rule %s, which wins" % clash})
                continue
            self.affinity_rules.append(rule["id"])
            for vmid in members:
                self.partners.setdefault(vmid, set()).update(v for v in members if v != vmid)
            for vmid in members[1:]:
                parent[find(vmid)] = find(members[0])
        groups = {}
        for vmid in sorted(guests):
            groups.setdefault(find(vmid) if vmid in parent else vmid, []).append(vmid)
        self.bundle_of = {}
        self.bundles = []
        for members in sorted(groups.values()):
            bundle = tuple(members)
            self.bundles.append(bundle)
            for vmid in bundle:
                self.bundle_of[vmid] = bundle
        self.affinity_name = {}
        for rule in self.rules:
            if rule["id"] in self.affinity_rules:
                for vmid in rule["guests"]:
                    if vmid in self.bundle_of:
                        self.affinity_name.setdefault(self.bundle_of[vmid], rule["id"])

    def hard_rules(self):
        """The rules a placement must keep: all but the affinity rules that yield to anti-affinity."""
        return [r for r in self.rules if r["kind"] != "affinity" or r["id"] in self.affinity_rules]
