# -*- coding: utf-8 -*-
# Copyright: (c) 2026, proxlb.balancer contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Node and guest load per resource (memory, cpu, disk) in ProxLB's modes ``used`` and ``assigned``.

Loads are absolute (bytes, cores) so that moving a guest is a subtraction on one node and an addition on
another; percentages are taken against each node's capacity, whose memory is reduced by
``node_resource_reserve`` (what the admin keeps back is not there to balance into).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.proxlb.balancer.plugins.module_utils.common.constants import GIB

RESOURCES = ("memory", "cpu", "disk")


def load_mode(balancing):
    """The load mode the numbers use: ``psi`` is a trigger mode, its balancing arithmetic is ``used``."""
    mode = balancing.get("mode") or "used"
    return "assigned" if mode == "assigned" else "used"


def local_disk_bytes(guest):
    """Bytes on node-local storage that travel with the guest."""
    return sum(d["size"] for d in guest["local_disks"])


def guest_load(guest, mode):
    """(memory bytes, cpu cores, local disk bytes) the guest puts on its node.

    ``used``: what it uses now (a stopped guest uses no memory or CPU). ``assigned``: what its
    configuration gives it, counted for running guests only, since a stopped guest holds neither."""
    running = guest["status"] == "running"
    disk = local_disk_bytes(guest)
    if mode == "assigned":
        if not running:
            return (0, 0.0, disk)
        return (guest["maxmem"], float(guest["maxcpu"]), disk)
    if not running:
        return (0, 0.0, disk)
    return (guest["mem"], guest["cpu"] * guest["maxcpu"], disk)


def _reserve_entry(balancing, node_name):
    reserve = balancing.get("node_resource_reserve") or {}
    entry = reserve.get(node_name)
    if not isinstance(entry, dict):
        entry = reserve.get("defaults") or reserve.get("default") or {}
    return entry


def reserve_bytes(balancing, node_name):
    """Memory the admin reserves on a node (ProxLB ``node_resource_reserve``, GiB) in bytes."""
    return int(float(_reserve_entry(balancing, node_name).get("memory") or 0) * GIB)


def reserve_cores(balancing, node_name):
    """CPU cores the admin reserves on a node (``node_resource_reserve.<node>.cpu``)."""
    return float(_reserve_entry(balancing, node_name).get("cpu") or 0)


def local_storage(snapshot):
    """{node: (used bytes, total bytes)} over each node's non-shared storages."""
    out = {}
    for storage in snapshot.get("storages", []):
        if storage["shared"]:
            continue
        used, total = out.get(storage["node"], (0, 0))
        out[storage["node"]] = (used + storage["disk"], total + storage["maxdisk"])
    return out


class LoadModel(object):
    """Capacity and load per node, load per guest, in one mode; updated in place as guests move."""

    def __init__(self, snapshot, balancing):
        self.mode = load_mode(balancing)
        storage = local_storage(snapshot)
        self.capacity = {}
        self.load = {}
        self.guest = {}
        self.node_of = {}
        for node in snapshot["nodes"]:
            name = node["node"]
            mem_cap = max(node["maxmem"] - reserve_bytes(balancing, name), 1)
            cpu_cap = max(float(node["maxcpu"]) - reserve_cores(balancing, name), 0.0) or 1.0
            disk_used, disk_cap = storage.get(name, (node["disk"], node["maxdisk"]))
            self.capacity[name] = (mem_cap, cpu_cap, disk_cap or 1)
            self.load[name] = [node["mem"], node["cpu"] * node["maxcpu"], disk_used]
        sums = {}
        for guest in snapshot["guests"]:
            vmid = guest["vmid"]
            self.guest[vmid] = guest_load(guest, self.mode)
            self.node_of[vmid] = guest["node"]
            load = sums.setdefault(guest["node"], [0, 0.0, 0])
            for i, value in enumerate(self.guest[vmid]):
                load[i] += value
        for name in self.load:
            total = sums.get(name, (0, 0.0, 0))
            # a node never uses less than its guests do; a lagging node figure would go negative
            load = [max(a, b) for a, b in zip(self.load[name], total)]
            if self.mode == "assigned":
                load[0], load[1] = total[0], total[1]
            self.load[name] = load

    def move(self, vmid, target):
        source = self.node_of[vmid]
        values = self.guest[vmid]
        src, dst = self.load[source], self.load[target]
        for i, value in enumerate(values):
            src[i] -= value
            dst[i] += value
        self.node_of[vmid] = target

    def percent(self, node, resource_index):
        return 100.0 * self.load[node][resource_index] / self.capacity[node][resource_index]

    def percents(self, node):
        load, cap = self.load[node], self.capacity[node]
        return tuple(100.0 * load[i] / cap[i] for i in range(3))

    def delta_pct(self, vmid, node, resource_index):
        """Percentage points the guest adds to (or frees on) ``node`` for one resource."""
        return 100.0 * self.guest[vmid][resource_index] / self.capacity[node][resource_index]

    def copy(self):
        other = LoadModel.__new__(LoadModel)
        other.mode = self.mode
        other.capacity = self.capacity
        other.guest = self.guest
        other.load = dict((k, list(v)) for k, v in self.load.items())
        other.node_of = dict(self.node_of)
        return other
