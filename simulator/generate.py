"""Seeded, realistic clusters for benchmarks and large tests: ``generate(nodes, guests, seed, pve)``.

Mixed node sizes; guest sizes skewed like real fleets (many small, few large); guests placed unevenly so
there is something to balance, but never beyond a node's memory; tags for affinity, anti-affinity, pins and
ignores; pools; HA resources with rules (PVE 9) or groups (PVE 8); and guests that cannot migrate live
(local disks, passthrough devices, templates, containers).
"""

import random

GIB = 1024 ** 3
MIB = 1024 ** 2

# (cores, memory GiB, weight): a fleet bought in generations
NODE_CLASSES = [(32, 256, 4), (64, 512, 3), (96, 768, 2), (128, 1024, 1)]
# (vCPUs, memory GiB, weight): most guests are small
GUEST_CLASSES = [(1, 1, 20), (1, 2, 25), (2, 4, 25), (4, 8, 15), (8, 16, 8), (8, 32, 4), (16, 64, 2), (32, 128, 1)]
VERSIONS = {"9.1": "9.1.2", "8.4": "8.4.1"}


def _pick(rng, classes):
    return rng.choices(classes, weights=[c[-1] for c in classes])[0]


def generate(nodes, guests, seed, pve="9.1"):
    """A scenario dict (snapshot schema) with ``nodes`` nodes and ``guests`` guests, the same for the same seed."""
    if nodes < 1 or guests < 0:
        raise ValueError("need at least one node and a non-negative number of guests")
    if pve not in VERSIONS:
        raise ValueError("pve must be one of %s" % ", ".join(sorted(VERSIONS)))
    rng = random.Random(seed)
    version = VERSIONS[pve]
    names = ["pve%d" % (i + 1) for i in range(nodes)]

    # memory per node sized so guests fill about 60% of the cluster, whatever the guest count
    node_specs = [_pick(rng, NODE_CLASSES) for _ in names]
    guest_specs = [_pick(rng, GUEST_CLASSES) for _ in range(guests)]
    wanted = sum(g[1] for g in guest_specs) * GIB / 0.6
    raw = sum(n[1] for n in node_specs) * GIB
    scale = max(1.0, wanted / raw) if raw else 1.0
    node_list = []
    for name, (cores, mem, _) in zip(names, node_specs):
        maxmem = int(mem * scale) * GIB
        node_list.append({"node": name, "status": "online", "pve_version": version, "maxcpu": cores, "cpu": 0.0,
                          "maxmem": maxmem, "mem": 4 * GIB, "maxdisk": 200 * GIB, "disk": 30 * GIB,
                          "hastate": "online", "uptime": rng.randint(86400, 90 * 86400)})

    # uneven placement: a few "hot" nodes attract more guests (recently added nodes are empty-ish)
    weights = [rng.choice([1, 1, 1, 2, 4]) for _ in names]
    free = dict((n["node"], n["maxmem"] * 0.9 - n["mem"]) for n in node_list)
    used_cores = dict((n, 0.0) for n in names)
    by_name = dict((n["node"], n) for n in node_list)
    guest_list = []
    pools = ["prod", "staging", "dev", "infra"]
    affinity_groups = max(1, guests // 200)
    anti_groups = max(1, guests // 300)
    for i, (cpus, mem, _) in enumerate(guest_specs):
        vmid = 100 + i
        kind = "lxc" if rng.random() < 0.2 else "qemu"
        maxmem = mem * GIB
        order = rng.choices(names, weights=weights, k=3) + names
        node = next((n for n in order if free[n] >= maxmem), None)
        if node is None:
            node = max(names, key=lambda n: free[n])
        template = kind == "qemu" and rng.random() < 0.01
        running = not template and rng.random() < 0.92
        mem_used = int(maxmem * rng.uniform(0.3, 0.95)) if running else 0
        cpu = round(min(1.0, rng.lognormvariate(-2.0, 0.9)), 4) if running else 0.0
        guest = {"vmid": vmid, "type": kind, "name": "%s%d" % ("ct" if kind == "lxc" else "vm", vmid), "node": node,
                 "status": "running" if running else "stopped", "template": template, "maxcpu": cpus,
                 "cpu": cpu, "maxmem": maxmem, "mem": mem_used,
                 "maxdisk": rng.choice([8, 16, 32, 64, 128]) * GIB, "disk": 0, "tags": [],
                 "uptime": rng.randint(60, 60 * 86400) if running else 0}
        if kind == "lxc":
            guest["disk"] = int(guest["maxdisk"] * rng.uniform(0.1, 0.7))
        roll = rng.random()
        if roll < 0.05:
            guest["local_disks"] = [{"volume": "local-lvm:vm-%d-disk-0" % vmid, "storage": "local-lvm",
                                     "size": guest["maxdisk"]}]
        elif roll < 0.06 and kind == "qemu":
            guest["local_resources"] = [rng.choice(["hostpci0", "usb0"])]
        tag_roll = rng.random()
        if tag_roll < 0.08:
            guest["tags"].append("plb_affinity_grp%d" % rng.randrange(affinity_groups))
        elif tag_roll < 0.14:
            guest["tags"].append("plb_anti_affinity_grp%d" % rng.randrange(anti_groups))
        elif tag_roll < 0.16:
            guest["tags"].append("plb_pin_%s" % rng.choice(names))
        elif tag_roll < 0.17:
            guest["tags"].append("plb_ignore_vm")
        if rng.random() < 0.3:
            guest["tags"].append(rng.choice(["web", "db", "batch", "monitoring"]))
        if rng.random() < 0.5:
            guest["pool"] = rng.choice(pools)
        free[node] -= maxmem
        if running:
            by_name[node]["mem"] += mem_used
            used_cores[node] += cpu * cpus
        guest_list.append(guest)
    for node in node_list:
        node["cpu"] = round(min(1.0, used_cores[node["node"]] / node["maxcpu"] * 0.5 + 0.02), 4)

    storages = []
    for name in names:
        storages.append({"storage": "local-lvm", "node": name, "type": "lvmthin", "shared": False,
                         "content": "images,rootdir", "maxdisk": 2048 * GIB, "disk": rng.randint(100, 900) * GIB})
        storages.append({"storage": "ceph", "node": name, "type": "rbd", "shared": True,
                         "content": "images,rootdir", "maxdisk": 100 * 1024 * GIB, "disk": 40 * 1024 * GIB})

    # HA: about 10% of running VMs, a few rules/groups over them
    ha_candidates = [g for g in guest_list if g["type"] == "qemu" and g["status"] == "running"
                     and not g.get("local_disks") and not g.get("local_resources")]
    ha_guests = rng.sample(ha_candidates, min(len(ha_candidates), max(0, guests // 10)))
    ha_resources, ha_groups, ha_rules = [], [], []
    for index, guest in enumerate(ha_guests):
        guest["hastate"] = "started"
        entry = {"sid": "vm:%d" % guest["vmid"], "type": "vm", "state": "started", "max_restart": 1,
                 "max_relocate": 1}
        if pve == "8.4" and index % 4 == 0:
            entry["group"] = "ha-grp%d" % (index // 4 % 4)
        ha_resources.append(entry)
    if pve == "8.4":
        for g in range(min(4, len(ha_guests))):
            members = rng.sample(names, min(len(names), 2))
            ha_groups.append({"group": "ha-grp%d" % g, "nodes": ",".join(members), "restricted": False,
                              "nofailback": g % 2 == 1, "type": "group"})
    else:
        for r in range(min(4, len(ha_guests) // 4)):
            chosen = ha_guests[r * 4:r * 4 + 2]
            sids = ",".join("vm:%d" % g["vmid"] for g in chosen)
            if r % 2 == 0:
                ha_rules.append({"rule": "ha-node-%d" % r, "type": "node-affinity", "resources": sids,
                                 "nodes": ",".join(rng.sample(names, min(len(names), 2))), "strict": r % 4 == 0,
                                 "disable": False})
            else:
                ha_rules.append({"rule": "ha-res-%d" % r, "type": "resource-affinity", "resources": sids,
                                 "affinity": "negative", "disable": False})

    return {"schema": "proxlb.balancer/snapshot/1",
            "cluster": {"name": "gen-%dx%d-s%d" % (nodes, guests, seed),
                        "crs": {"ha": "static", "auto_rebalance": False}},
            "nodes": node_list, "guests": guest_list, "storages": storages,
            "pools": [{"poolid": p, "comment": "%s guests" % p, "members": []} for p in pools],
            "ha_groups": ha_groups, "ha_rules": ha_rules, "ha_resources": ha_resources}
