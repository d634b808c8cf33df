# -*- coding: utf-8 -*-
# Copyright: (c) 2026, proxlb.balancer contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Why a guest cannot move at all, from the snapshot and the options alone.

Target-specific refusals (a storage missing on one node, PVE's migrate precondition) are asked later and
only for candidate moves; this file answers the question that needs no target, once per guest.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

TYPE_NAMES = {"qemu": "vm", "lxc": "ct"}


def ignored_guests(rules, balancing):
    """{vmid: reason} for guests the rules or the exclude/include options keep where they are."""
    out = {}
    for rule in sorted(rules, key=lambda r: r["id"]):
        if rule["kind"] == "ignore":
            for vmid in rule["guests"]:
                out.setdefault(vmid, "ignored (%s)" % (rule.get("source") or rule["id"]))
    for vmid in balancing.get("exclude_vmids") or []:
        out.setdefault(int(vmid), "ignored (balancing.exclude_vmids)")
    return out


def immovable_reason(guest, balancing, ignored, unusable_nodes):
    """The reason ``guest`` cannot be migrated by a plan, or None.

    ``ignored``: {vmid: reason} from ``ignored_guests``; ``unusable_nodes``: {node: reason} for nodes
    whose guests stay put (offline, ignored by the options or an exclude_node rule)."""
    vmid = guest["vmid"]
    if vmid in ignored:
        return ignored[vmid]
    if guest["name"] and guest["name"] in (balancing.get("exclude_names") or []):
        return "ignored (balancing.exclude_names)"
    include = balancing.get("include_vmids") or []
    if include and vmid not in include:
        return "not in balancing.include_vmids"
    if guest["template"]:
        return "template"
    if guest["lock"]:
        return "locked (%s)" % guest["lock"]
    if guest["node"] in unusable_nodes:
        return "on %s" % unusable_nodes[guest["node"]]
    kind = TYPE_NAMES.get(guest["type"], guest["type"])
    if kind not in (balancing.get("balance_types") or ["vm", "ct"]):
        return "type %s is not in balancing.balance_types" % kind
    if guest["local_resources"]:
        return "local resources: %s" % ", ".join(sorted(guest["local_resources"]))
    if guest["local_disks"] and not balancing.get("with_local_disks", True):
        return "local disks and balancing.with_local_disks is off"
    if guest["type"] == "lxc" and guest["status"] == "running" and balancing.get("running_ct") == "skip":
        return "running container and balancing.running_ct is skip"
    return None
