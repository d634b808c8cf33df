# -*- coding: utf-8 -*-
# Copyright: (c) 2026, proxlb.balancer contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The plan document (CONTRACTS.md "Plan"), built in one place for every planner: balance, drain and the
return from maintenance."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import copy

from ansible_collections.proxlb.balancer.plugins.module_utils.common import clock
from ansible_collections.proxlb.balancer.plugins.module_utils.common.constants import PLAN_SCHEMA, utc_stamp
from ansible_collections.proxlb.balancer.plugins.module_utils.common.natural import natural_key
from ansible_collections.proxlb.balancer.plugins.module_utils.facts.snapshot import fingerprint

# the options a plan carries (never connection options)
BEHAVIOUR_KEYS = ("mode", "evacuate_nodes", "level", "window", "cooldown", "ha_guests", "psi_max_moves",
                  "proxmox_cluster", "balancing", "service")
MOVE_KEYS = ("step", "vmid", "name", "type", "source", "target", "reason", "gain", "cost")


def move_cost(guest):
    """What a move costs: the memory a live migration copies plus the local disks that travel."""
    memory = guest["mem"] if guest["status"] == "running" else 0
    return int(memory + sum(d["size"] for d in guest["local_disks"]))


def move_entry(guest, target, reason, gain=0.0):
    return {"vmid": guest["vmid"], "name": guest["name"], "type": guest["type"], "source": guest["node"],
            "target": target, "reason": reason, "gain": gain, "cost": move_cost(guest)}


def node_table(loads):
    """{node: {mem_pct, cpu_pct, disk_pct, guests}} from a LoadModel, nodes in natural order."""
    counts = dict((n, 0) for n in loads.capacity)
    for node in loads.node_of.values():
        if node in counts:
            counts[node] += 1
    out = {}
    for name in sorted(loads.capacity, key=natural_key):
        p = loads.percents(name)
        out[name] = {"mem_pct": round(p[0], 2), "cpu_pct": round(p[1], 2), "disk_pct": round(p[2], 2),
                     "guests": counts[name]}
    return out


def _move(move):
    """A move with the contract's keys, and ``kind: park`` for a temporary step that makes a swap possible."""
    out = dict((k, move[k]) for k in MOVE_KEYS)
    if move.get("kind"):
        out["kind"] = move["kind"]
    return out


def plan_document(snapshot, options, moves, skipped=(), unsatisfiable=(), nodes_before=None, nodes_after=None,
                  metrics=None, warnings=()):
    """The plan as every consumer reads it; moves keep their order, lists are sorted for stable output."""
    return {
        "schema": PLAN_SCHEMA,
        "fingerprint": snapshot.get("fingerprint") or fingerprint(snapshot),
        "created": utc_stamp(clock.now()),   # the injectable clock (common/clock.py): plan_ttl counts from it
        "options": dict((k, copy.deepcopy(options[k])) for k in BEHAVIOUR_KEYS if k in options),
        "moves": [_move(m) for m in moves],
        "skipped": sorted(skipped, key=lambda s: s["vmid"]),
        "unsatisfiable": sorted(unsatisfiable, key=lambda u: (u["rule"], u["guests"])),
        "nodes_before": nodes_before or {},
        "nodes_after": nodes_after or {},
        "metrics": metrics or {"before": {}, "after": {}},
        "warnings": list(warnings),
    }
