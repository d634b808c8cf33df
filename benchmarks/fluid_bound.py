"""Fluid lower bounds for a snapshot: what no planner can beat if memory were liquid.

Movable load may flow anywhere in any amount; everything else (immovable guests, host overhead, guests
on nodes that take no part) stays. From that: the least spread reachable, and the least load that must
move to bring every node into a band of a given width. Pins and affinity are ignored (liquid memory obeys
no rules), so these are bounds, not targets.
"""

from ansible_collections.proxlb.balancer.plugins.module_utils.common import config
from ansible_collections.proxlb.balancer.plugins.module_utils.placement import objective
from ansible_collections.proxlb.balancer.plugins.module_utils.placement.load import LoadModel
from ansible_collections.proxlb.balancer.plugins.module_utils.placement.movability import ignored_guests, immovable_reason


def _columns(snapshot, options, rules, resource=0):
    options = config.behaviour(options)
    balancing = options["balancing"]
    skip = set(options["proxmox_cluster"]["ignore_nodes"]) | set(options["proxmox_cluster"]["maintenance_nodes"])
    skip |= set(n for r in rules if r["kind"] in ("maintenance", "exclude_node") for n in r["nodes"])
    nodes = sorted(n["node"] for n in snapshot["nodes"] if n["status"] == "online" and n["node"] not in skip)
    model = LoadModel(snapshot, balancing)
    ignored = ignored_guests(rules)
    movable = dict((n, 0) for n in nodes)
    for guest in snapshot["guests"]:
        if guest["node"] in movable and not immovable_reason(guest, balancing, ignored, {}):
            movable[guest["node"]] += model.guest[guest["vmid"]][resource]
    loads = [model.load[n][resource] for n in nodes]
    caps = [model.capacity[n][resource] for n in nodes]
    fixed = [model.load[n][resource] - movable[n] for n in nodes]
    return loads, caps, fixed


def min_spread(snapshot, options, rules):
    """Least memory spread (pp) reachable with liquid movable memory."""
    loads, caps, fixed = _columns(snapshot, options, rules)
    return 100.0 * objective.fluid_min_spread(loads, caps, fixed)


def min_moved(snapshot, options, rules, spread_pp):
    """Least memory (bytes) that must move for a memory spread of ``spread_pp``."""
    loads, caps, fixed = _columns(snapshot, options, rules)
    return objective.fluid_band(loads, caps, fixed, spread_pp / 100.0)[2]
