# -*- coding: utf-8 -*-
# Copyright: (c) 2026, proxlb.balancer contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The executor's question before each POST, asked of the placement core against the live cluster.

A plan may be run long after it was made. Right before a move starts, the cluster as it is now (the last
``/cluster/resources`` read, the maintenance marker and the HA configuration read at the start of the run,
the node versions) becomes a placement state with the same rules and filters the planner used: pins,
ignore, maintenance (option, HA state, marker), anti-affinity, affinity, capacity, PVE version. Migrations
in flight (ours and anyone's whose target is known) hold memory on both nodes; guests the plan moves to the
same node count as on their way there for affinity only.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.proxlb.balancer.plugins.module_utils.facts import snapshot as snapshot_schema
from ansible_collections.proxlb.balancer.plugins.module_utils.facts.collect import (
    guest_record, node_record, storage_record)
from ansible_collections.proxlb.balancer.plugins.module_utils.placement import filter_chain
from ansible_collections.proxlb.balancer.plugins.module_utils.placement.state import PlacementState
from ansible_collections.proxlb.balancer.plugins.module_utils.rules.build import rules_for

# PVE's own precondition is asked by the executor itself (its answer also shapes the POST)
_SKIP = ("precondition",)
CAPACITY_FILTERS = ("memory", "cpu", "local_storage")


def live_snapshot(resources, base_memory, marker, ha, versions):
    """A snapshot of the cluster now. ``base_memory``: {node: bytes not used by guests}, fixed at the start
    of the run, since PVE's node memory figures lag behind placements by seconds."""
    nodes, guests, storages = [], [], []
    for entry in resources:
        kind = entry.get("type")
        if kind == "node":
            nodes.append(node_record(entry))
        elif kind in ("qemu", "lxc") and entry.get("vmid") is not None:
            guests.append(guest_record(entry))
        elif kind == "storage":
            storages.append(storage_record(entry))
    on_node = {}
    for guest in guests:
        if guest["status"] == "running":
            on_node[guest["node"]] = on_node.get(guest["node"], 0) + (guest.get("mem") or 0)
    for node in nodes:
        node["pve_version"] = versions.get(node["node"], "")
        if base_memory and node["node"] in base_memory:
            node["mem"] = base_memory[node["node"]] + on_node.get(node["node"], 0)
    cluster = {"maintenance_nodes": list(marker or [])}
    return snapshot_schema.new(cluster, nodes, guests, storages=storages, **ha)


class LivePlacement(object):
    """The placement state of the live cluster, kept in step with each read; answers ``refusal``."""

    def __init__(self, behaviour, plan_options):
        # the plan's own mode and evacuation belong to the rules it was made under
        self.options = dict(behaviour)
        for key in ("mode", "evacuate_nodes"):
            if key in (plan_options or {}):
                self.options[key] = plan_options[key]
        self.key = None
        self.state = None
        self.warnings = []

    def update(self, key, snapshot):
        """Build the state from ``snapshot``, the cluster as read under ``key``."""
        rules, warnings = rules_for(snapshot, self.options)
        self.warnings = warnings
        self.state = PlacementState(snapshot, self.options, rules)
        self.key = key

    def sync(self, nodes, placements, marker, versions, build):
        """Bring the state to the cluster now. What the rules and node sets depend on (node status and HA
        state, the marker, versions) changing is rare and rebuilds it from ``build()`` (a live snapshot,
        seconds on thousands of guests); otherwise guests are moved to where ``placements`` {vmid: node}
        shows them, which keeps a long run's checks cheap."""
        key = (tuple(sorted((name, e.get("status"), e.get("hastate")) for name, e in nodes.items())),
               tuple(marker or ()), tuple(sorted(versions.items())))
        if self.state is None or key != self.key:
            self.update(key, build())
            return
        state = self.state
        for vmid, node in placements.items():
            if vmid in state.guests and node in state.nodes and state.node_of(vmid) != node:
                state.move(vmid, node)

    def refusal(self, move, in_flight, planned):
        """(filter name, reason) why ``move`` must not start now, or (None, None).

        ``in_flight``: [(vmid, target)] of migrations running now (they hold room on their targets);
        ``planned``: {vmid: target} of the plan's moves not started yet."""
        state = self.state
        saved = dict(state.heading), dict(state.planned)
        try:
            for vmid, target in in_flight:
                if vmid in state.guests and target in state.nodes and vmid != move["vmid"] \
                        and state.node_of(vmid) != target:
                    state.begin(vmid, target)
            state.planned = dict((v, t) for v, t in planned.items() if v != move["vmid"])
            return filter_chain.first_refusal(state, [move["vmid"]], move["target"], skip=_SKIP)
        finally:
            for vmid in list(state.heading):
                if vmid not in saved[0]:
                    state.abandon(vmid)
            state.planned = saved[1]
