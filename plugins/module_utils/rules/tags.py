# -*- coding: utf-8 -*-
# Copyright: (c) 2026, proxlb.balancer contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""ProxLB's guest tags, read exactly as ProxLB documents them.

- ``plb_ignore`` or any tag starting with it (``plb_ignore_dev``): never move the guest.
- ``plb_affinity_<group>``: keep the guests with the same tag on one node.
- ``plb_anti_affinity_<group>``: keep the guests with the same tag on different nodes.
- ``plb_pin_<node>``: the guest may only run on that node; several pin tags give several allowed nodes.
- ``plb_manual`` (ours, DRS's "partially automated"): never moved automatically; the plan recommends its
  moves in ``recommended`` instead (plan/operations.py).

PVE compares tags case-insensitively by default, so the prefixes are matched in lower case; the node
name in a pin tag is matched against the cluster's node names the same way (by the rules).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

IGNORE = "plb_ignore"
AFFINITY = "plb_affinity_"
ANTI_AFFINITY = "plb_anti_affinity_"
PIN = "plb_pin_"
MANUAL = "plb_manual"


def classify(tag):
    """Return (kind, value) for one tag: kind in ignore, manual, affinity, anti_affinity, pin, or None.

    ``value`` is the tag itself for groups (the group's identity) and the node name for pins."""
    lowered = tag.lower()
    if lowered.startswith(IGNORE):
        return "ignore", tag
    if lowered == MANUAL:
        return "manual", lowered
    # anti first: "plb_anti_affinity_x" does not start with "plb_affinity_", but be explicit
    if lowered.startswith(ANTI_AFFINITY) and len(tag) > len(ANTI_AFFINITY):
        return "anti_affinity", lowered
    if lowered.startswith(AFFINITY) and len(tag) > len(AFFINITY):
        return "affinity", lowered
    if lowered.startswith(PIN) and len(tag) > len(PIN):
        return "pin", tag[len(PIN):]
    return None, None


def guest_tags(tags):
    """Group one guest's tags: {"ignore": [tags], "affinity": [tags], "anti_affinity": [tags], "pin": [nodes]}.

    Tags that are not ProxLB's are left out."""
    found = {"ignore": [], "manual": [], "affinity": [], "anti_affinity": [], "pin": []}
    for tag in tags or ():
        kind, value = classify(tag)
        if kind and value not in found[kind]:
            found[kind].append(value)
    return found
