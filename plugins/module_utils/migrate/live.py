# -*- coding: utf-8 -*-
# Copyright: (c) 2026, proxlb.balancer contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The cluster as the executor reads it while a plan runs: the live view, whether a planned move is still
what the plan expected, and the loads measured after the run."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.proxlb.balancer.plugins.module_utils.common.constants import utc_stamp


def stale_reason(move, guest):
    """('already_done'|'skipped'|'busy'|None, reason) for a planned move given the guest's live record.

    ``busy``: someone else migrates the guest now; the move waits for that migration to end."""
    if guest is None:
        return "skipped", "guest %d no longer exists" % move["vmid"]
    lock = guest.get("lock") or ""
    if guest.get("node") == move["target"]:
        # placement is what the plan asked for; a lock there (a finishing migration, a backup) changes nothing
        return "already_done", None
    if guest.get("node") != move["source"]:
        return "skipped", "stale plan: guest is on %s, the plan expected %s" % (guest.get("node"), move["source"])
    if lock == "migrate":
        return "busy", "guest is being migrated by someone else (lock: migrate)"
    if lock:
        return "skipped", "guest is locked (%s)" % lock
    return None, None


class Live(object):
    """The cluster as ``/cluster/resources`` shows it now, and the memory each node can still take.

    Node memory is taken once at the start (what is not guests' memory stays fixed), guests' memory is
    summed where they are now: placements show up at once, while PVE's node figures lag by seconds."""

    def __init__(self, balancing, proxmox_cluster):
        self.balancing = balancing
        self.assigned = balancing.get("mode") == "assigned" and not proxmox_cluster.get("overprovisioning")
        self.nodes = {}
        self.guests = {}
        self.base = None
        self.moved = {}         # vmid -> target of our moves whose task ended OK, until a read shows them there
        self.marker = []        # nodes the maintenance marker in the datacenter notes names
        self.ha = {}            # ha_resources, ha_rules (PVE 9) or ha_groups (PVE 8), as PVE returns them

    def load(self, resources):
        self.nodes = dict((e["node"], e) for e in resources if e.get("type") == "node")
        self.guests = dict((int(e["vmid"]), dict(e)) for e in resources if e.get("type") in ("qemu", "lxc"))
        if self.base is None:
            self.base = {}
            for name, node in self.nodes.items():
                on_node = sum(self.need(g) for g in self.guests.values() if g.get("node") == name)
                self.base[name] = 0 if self.assigned else max(0, int(node.get("mem") or 0) - on_node)

    def need(self, guest):
        if guest.get("status") != "running":
            return 0
        return int(guest.get("maxmem") or 0) if self.assigned else int(guest.get("mem") or 0)

    def node_of(self, vmid):
        """Where the guest is: our finished moves count at their target before a read confirms them."""
        return self.moved.get(vmid) or (self.guests.get(vmid) or {}).get("node")

    def node_problem(self, name):
        """Why a node cannot send (or follow) a migration now: gone or not online. Whether a node may
        take guests is the placement core's question (live_check)."""
        node = self.nodes.get(name)
        if node is None:
            return "node %s is not in the cluster" % name
        if node.get("status") != "online":
            return "node %s is %s" % (name, node.get("status") or "offline")
        return None


def measure(live, balancing):
    """Per-node loads (percent of capacity less reserves, as the plan's ``nodes_after``) and their spread
    over the online nodes, from a read of ``/cluster/resources``."""
    from ansible_collections.proxlb.balancer.plugins.module_utils.placement.load import LoadModel
    from ansible_collections.proxlb.balancer.plugins.module_utils.placement.objective import spreads
    nodes, guests = [], []
    for name, entry in sorted(live.nodes.items()):
        node = dict((k, entry.get(k) or 0) for k in ("maxmem", "mem", "maxcpu", "cpu", "maxdisk", "disk"))
        node.update(node=name, status=entry.get("status"))
        nodes.append(node)
    for vmid, entry in sorted(live.guests.items()):
        guest = dict((k, entry.get(k) or 0) for k in ("maxmem", "mem", "maxcpu", "cpu"))
        guest.update(vmid=vmid, node=entry.get("node"), status=entry.get("status"), local_disks=[])
        guests.append(guest)
    model = LoadModel({"nodes": nodes, "guests": guests, "storages": []}, balancing)
    counts = {}
    for guest in guests:
        counts[guest["node"]] = counts.get(guest["node"], 0) + 1
    table, percents = {}, {}
    for node in nodes:
        name = node["node"]
        p = percents[name] = model.percents(name)
        table[name] = {"mem_pct": round(p[0], 2), "cpu_pct": round(p[1], 2), "disk_pct": round(p[2], 2),
                       "guests": counts.get(name, 0), "status": node["status"]}
    online = [n["node"] for n in nodes if n["status"] == "online"]
    spread = spreads(percents, online)
    return {"at": utc_stamp(), "nodes": table,
            "spread": dict((k, round(v, 2)) for k, v in zip(("memory", "cpu", "disk"), spread))}
