# -*- coding: utf-8 -*-
# Copyright: (c) 2026, proxlb.balancer contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Hard capacity: what a node can take without running out, and the step order that keeps it so.

Limits: memory minus ``node_resource_reserve`` (the guests' used memory, or their assigned memory in mode
``assigned`` unless ``overprovisioning`` allows more), free space on each node-local storage a guest's
local disks need, and CPU only when ``cpu_overcommit`` sets a ratio of assigned cores to real cores.
During a migration the guest holds memory on both nodes, so within one step inflows count from the
step's start and outflows only after it.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.proxlb.balancer.plugins.module_utils.placement.load import reserve_bytes, GIB


class Capacity(object):
    """Hard limits and current hard load per node; ``fits`` says why a node cannot take guests."""

    def __init__(self, snapshot, options):
        balancing = options["balancing"]
        assigned = (balancing.get("mode") == "assigned"
                    and not options["proxmox_cluster"].get("overprovisioning"))
        self.memory_kind = "assigned" if assigned else "used"
        ratio = balancing.get("cpu_overcommit")
        self.cpu_ratio = float(ratio) if ratio else None
        self.limit = {}
        self.used = {}
        for node in snapshot["nodes"]:
            name = node["node"]
            cpu_limit = self.cpu_ratio * node["maxcpu"] if self.cpu_ratio else None
            self.limit[name] = (node["maxmem"] - reserve_bytes(balancing, name), cpu_limit)
            self.used[name] = [0 if assigned else node["mem"], 0.0]
        self.storage_known = bool(snapshot.get("storages"))
        self.storage_free = {}
        for storage in snapshot.get("storages", []):
            if not storage["shared"]:
                self.storage_free[(storage["node"], storage["storage"])] = storage["maxdisk"] - storage["disk"]
        self.need = {}
        self.node_of = {}
        for guest in snapshot["guests"]:
            running = guest["status"] == "running"
            memory = (guest["maxmem"] if assigned else guest["mem"]) if running else 0
            cores = float(guest["maxcpu"]) if running else 0.0
            disks = {}
            for disk in guest["local_disks"]:
                disks[disk["storage"]] = disks.get(disk["storage"], 0) + disk["size"]
            self.need[guest["vmid"]] = (memory, cores, tuple(sorted(disks.items())))
            self.node_of[guest["vmid"]] = guest["node"]
            if assigned:
                self.used[guest["node"]][0] += memory
            self.used[guest["node"]][1] += cores

    def fits(self, node, vmids):
        """None when ``node`` can take the guests ``vmids`` now, else the reason it cannot."""
        memory = sum(self.need[v][0] for v in vmids)
        cores = sum(self.need[v][1] for v in vmids)
        used = self.used[node]
        mem_limit, cpu_limit = self.limit[node]
        if memory and used[0] + memory > mem_limit:
            return "%s memory: %.1f GiB free, %.1f GiB needed" % (
                node, max(mem_limit - used[0], 0) / GIB, memory / GIB)
        if cpu_limit is not None and cores and used[1] + cores > cpu_limit:
            return "%s cpu: %.1f of %.1f cores (cpu_overcommit %.2f) already assigned" % (
                node, used[1], cpu_limit, self.cpu_ratio)
        if self.storage_known:
            wanted = {}
            for vmid in vmids:
                for storage, size in self.need[vmid][2]:
                    wanted[storage] = wanted.get(storage, 0) + size
            for storage in sorted(wanted):
                free = self.storage_free.get((node, storage))
                if free is None:
                    return "%s has no local storage %s for the guest's disks" % (node, storage)
                if wanted[storage] > free:
                    return "%s storage %s: %.1f GiB free, %.1f GiB needed" % (
                        node, storage, free / GIB, wanted[storage] / GIB)
        return None

    def move(self, vmid, target):
        source = self.node_of[vmid]
        memory, cores, disks = self.need[vmid]
        self.used[source][0] -= memory
        self.used[source][1] -= cores
        self.used[target][0] += memory
        self.used[target][1] += cores
        for storage, size in disks:
            if (source, storage) in self.storage_free:
                self.storage_free[(source, storage)] += size
            if (target, storage) in self.storage_free:
                self.storage_free[(target, storage)] -= size
        self.node_of[vmid] = target

    def copy(self):
        other = Capacity.__new__(Capacity)
        other.__dict__.update(self.__dict__)
        other.used = dict((k, list(v)) for k, v in self.used.items())
        other.storage_free = dict(self.storage_free)
        other.node_of = dict(self.node_of)
        return other


def assign_steps(capacity, moves):
    """Give each move (dicts with vmid, target, in a capacity-safe sequential order) a ``step``.

    A move joins the current step when its target can take it with the step's earlier inflows counted
    and the step's outflows not yet freed; otherwise it opens the next step, whose start state is the
    sequential state that was checked when the move was chosen, so it always fits there."""
    state = capacity.copy()
    step, pending, inflow = 1, [], {}
    for move in moves:
        target = move["target"]
        if pending and state.fits(target, inflow.get(target, []) + [move["vmid"]]) is not None:
            for done in pending:
                state.move(done["vmid"], done["target"])
            step, pending, inflow = step + 1, [], {}
        move["step"] = step
        inflow.setdefault(target, []).append(move["vmid"])
        pending.append(move)
    return moves


def step_violations(snapshot, options, moves):
    """Every (step, node, reason) where a node would exceed a hard limit during the given plan's moves.

    Independent of how the steps were built: replay steps in order, counting a step's inflows from its
    start and its outflows after it."""
    state = Capacity(snapshot, options)
    problems = []
    steps = {}
    for move in moves:
        steps.setdefault(move["step"], []).append(move)
    for step in sorted(steps):
        by_target = {}
        for move in steps[step]:
            by_target.setdefault(move["target"], []).append(move["vmid"])
        for target in sorted(by_target):
            reason = state.fits(target, by_target[target])
            if reason is not None:
                problems.append((step, target, reason))
        for move in steps[step]:
            state.move(move["vmid"], move["target"])
    return problems
