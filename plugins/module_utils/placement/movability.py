# -*- coding: utf-8 -*-
# Copyright: (c) 2026, proxlb.balancer contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Why a guest cannot move at all, from the snapshot, the rules and the options alone.

Which guests are ignored is decided once, by the rules: ``plb_ignore`` tags and the option exclusions
(``exclude_vmids``, ``exclude_names``, ``balance_types``, with ``include_vmids`` taking guests back out
of those three) all become ``ignore`` rules in ``rules.build`` (docs/rules.md). This file adds what
needs no rule: templates, locks, guests on nodes left alone, local devices and the local-disk and
running-container policies. Target-specific refusals are the filters' business.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

TYPE_NAMES = {"qemu": "vm", "lxc": "ct"}


def ignored_guests(rules):
    """{vmid: reason} for guests an ``ignore`` or ``manual`` rule keeps where they are."""
    out = {}
    for rule in sorted(rules, key=lambda r: r["id"]):
        if rule["kind"] == "ignore":
            for vmid in rule["guests"]:
                out.setdefault(vmid, "ignored (%s)" % (rule.get("source") or rule["id"]))
        elif rule["kind"] == "manual":   # plb_manual: its moves are recommended, never made (docs/rules.md)
            for vmid in rule["guests"]:
                out.setdefault(vmid, "manual (%s): moves are recommended, not made" % (rule.get("source") or rule["id"]))
    return out


def immovable_reason(guest, balancing, ignored, unusable_nodes):
    """The reason ``guest`` cannot be migrated by a plan, or None.

    ``ignored``: {vmid: reason} from ``ignored_guests``; ``unusable_nodes``: {node: reason} for nodes
    whose guests stay put (offline, ignored by the options or an exclude_node rule)."""
    vmid = guest["vmid"]
    if vmid in ignored:
        return ignored[vmid]
    if guest["template"]:
        return "template"
    if guest["lock"]:
        return "locked (%s)" % guest["lock"]
    if guest["node"] in unusable_nodes:
        return "on %s" % unusable_nodes[guest["node"]]
    if guest["local_resources"]:
        return "local resources: %s" % ", ".join(sorted(guest["local_resources"]))
    if guest["local_disks"] and not balancing.get("with_local_disks", True):
        return "local disks and balancing.with_local_disks is off"
    if guest["type"] == "lxc" and guest["status"] == "running" and balancing.get("running_ct") == "skip":
        return "running container and balancing.running_ct is skip"
    return None
