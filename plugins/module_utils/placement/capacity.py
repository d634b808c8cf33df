# -*- coding: utf-8 -*-
# Copyright: (c) 2026, proxlb.balancer contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Hard capacity: what a node can take without running out, and the step order that keeps it so.

Limits: memory minus ``node_resource_reserve`` (the guests' used memory, or their assigned memory in mode
``assigned`` unless ``overprovisioning`` allows more), free space on each node-local storage a guest's
local disks need, and CPU only when ``cpu_overcommit`` sets a ratio of assigned cores to real cores
(minus the reserved cores). During a migration the guest holds memory on both nodes: ``arrive`` counts a
guest on its target from the start, ``leave`` frees its source only when the migration ends.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.proxlb.balancer.plugins.module_utils.common.constants import GIB
from ansible_collections.proxlb.balancer.plugins.module_utils.placement.load import reserve_bytes, reserve_cores


class Capacity(object):
    """Hard limits and current hard load per node; the ``*_refusal`` methods say why a node cannot take
    guests, ``fits`` asks all three."""

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
            cores = max(float(node["maxcpu"]) - reserve_cores(balancing, name), 0.0)
            cpu_limit = self.cpu_ratio * cores if self.cpu_ratio else None
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
            if guest["node"] in self.used:
                if assigned:
                    self.used[guest["node"]][0] += memory
                self.used[guest["node"]][1] += cores

    def memory_refusal(self, node, vmids):
        memory = sum(self.need[v][0] for v in vmids)
        used, limit = self.used[node][0], self.limit[node][0]
        if memory and used + memory > limit:
            return "%s: needs %.1f GiB memory, %.1f GiB free after reserve" % (
                node, memory / GIB, max(limit - used, 0) / GIB)
        return None

    def cpu_refusal(self, node, vmids):
        limit = self.limit[node][1]
        cores = sum(self.need[v][1] for v in vmids)
        used = self.used[node][1]
        if limit is not None and cores and used + cores > limit:
            return "%s: needs %g core(s), %.1f of %.1f left (cpu_overcommit %.2f)" % (
                node, cores, max(limit - used, 0.0), limit, self.cpu_ratio)
        return None

    def storage_refusal(self, node, vmids):
        if not self.storage_known:
            return None
        wanted = {}
        for vmid in vmids:
            for storage, size in self.need[vmid][2]:
                wanted[storage] = wanted.get(storage, 0) + size
        for storage in sorted(wanted):
            free = self.storage_free.get((node, storage))
            if free is None:
                return "%s: has no local storage %s for the guest's disks" % (node, storage)
            if wanted[storage] > free:
                return "%s: storage %s needs %.1f GiB, %.1f GiB free" % (
                    node, storage, wanted[storage] / GIB, max(free, 0) / GIB)
        return None

    def fits(self, node, vmids):
        """None when ``node`` can take the guests ``vmids`` now, else the reason it cannot."""
        return (self.memory_refusal(node, vmids) or self.cpu_refusal(node, vmids)
                or self.storage_refusal(node, vmids))

    def overrun(self, node):
        """The first hard limit ``node`` is above now (memory, cores, a local storage), or None."""
        mem_limit, cpu_limit = self.limit[node]
        used = self.used[node]
        if used[0] > mem_limit:
            return "%s: memory %.1f GiB used, %.1f GiB allowed after reserve" % (node, used[0] / GIB, mem_limit / GIB)
        if cpu_limit is not None and used[1] > cpu_limit + 1e-9:
            return "%s: %g cores assigned, %.1f allowed (cpu_overcommit %.2f)" % (node, used[1], cpu_limit, self.cpu_ratio)
        for key in sorted(k for k in self.storage_free if k[0] == node):
            if self.storage_free[key] < 0:
                return "%s: storage %s %.1f GiB over its size" % (node, key[1], -self.storage_free[key] / GIB)
        return None

    def overruns(self):
        """[(node, reason)] for every node already above a hard limit (before anything moves)."""
        out = []
        for node in sorted(self.used):
            mem_limit, cpu_limit = self.limit[node]
            used = self.used[node]
            if used[0] > mem_limit:
                out.append((node, "%s: memory %.1f GiB used, %.1f GiB allowed after reserve" % (
                    node, used[0] / GIB, mem_limit / GIB)))
            if cpu_limit is not None and used[1] > cpu_limit + 1e-9:
                out.append((node, "%s: %g cores assigned, %.1f allowed (cpu_overcommit %.2f)" % (
                    node, used[1], cpu_limit, self.cpu_ratio)))
        for key in sorted(self.storage_free):
            if self.storage_free[key] < 0:
                out.append((key[0], "%s: storage %s %.1f GiB over its size" % (
                    key[0], key[1], -self.storage_free[key] / GIB)))
        return out

    def arrive(self, vmid, target, sign=1):
        """The guest starts to occupy ``target`` (a migration begins; its source stays occupied);
        ``sign`` -1 takes that back (the migration did not happen)."""
        memory, cores, disks = self.need[vmid]
        self.used[target][0] += sign * memory
        self.used[target][1] += sign * cores
        for storage, size in disks:
            if (target, storage) in self.storage_free:
                self.storage_free[(target, storage)] -= sign * size

    def leave(self, vmid, target):
        """The guest has left its source for ``target`` (the migration ended)."""
        source = self.node_of[vmid]
        memory, cores, disks = self.need[vmid]
        if source in self.used:
            self.used[source][0] -= memory
            self.used[source][1] -= cores
        for storage, size in disks:
            if (source, storage) in self.storage_free:
                self.storage_free[(source, storage)] += size
        self.node_of[vmid] = target

    def move(self, vmid, target):
        self.arrive(vmid, target)
        self.leave(vmid, target)

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
