"""The seeded generator and the simulated cluster's rules, without HTTP."""

import os

from simulator.cluster import Cluster
from simulator.generate import generate
from simulator import guestconfig

from ansible_collections.proxlb.balancer.plugins.module_utils.facts import snapshot

SCENARIOS = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))),
                         "simulator", "scenarios")


def test_generate_is_deterministic_and_valid():
    # simulator generator (CONTRACTS.md), no PVE counterpart
    a, b = generate(8, 400, seed=3), generate(8, 400, seed=3)
    assert a == b
    assert generate(8, 400, seed=4) != a
    doc = snapshot.normalize(a)
    assert len(doc["nodes"]) == 8 and len(doc["guests"]) == 400
    nodes, _ = snapshot.index(doc)
    assert len(set(n["maxmem"] for n in doc["nodes"])) > 1  # mixed node sizes
    assigned = dict((n, 0) for n in nodes)
    for guest in doc["guests"]:
        assigned[guest["node"]] += guest["maxmem"]
    assert all(assigned[n] <= nodes[n]["maxmem"] for n in nodes)
    tags = set(t for g in doc["guests"] for t in g["tags"])
    assert any(t.startswith("plb_affinity_") for t in tags) and any(t.startswith("plb_anti_affinity_") for t in tags)
    assert any(g["local_disks"] for g in doc["guests"]) and any(g["local_resources"] for g in doc["guests"])
    assert any(g["type"] == "lxc" for g in doc["guests"]) and doc["ha_rules"] and doc["ha_resources"]
    assert doc["pools"]
    counts = sorted(sum(1 for g in doc["guests"] if g["node"] == n) for n in nodes)
    assert counts[-1] > counts[0] * 1.2  # uneven on purpose


def test_generate_pve84_has_groups_not_rules():
    # PVE: HA groups before 9.0, rules from 9.0 (pve-ha-manager)
    doc = snapshot.normalize(generate(4, 200, seed=1, pve="8.4"))
    assert doc["ha_groups"] and not doc["ha_rules"]
    assert set(n["pve_version"] for n in doc["nodes"]) == {"8.4.1"}


def test_large_generation_is_complete():
    # simulator generator, no PVE counterpart; how fast it is belongs to the benchmarks, not a unit test
    doc = snapshot.normalize(generate(64, 8000, seed=1))
    assert len(doc["nodes"]) == 64 and len(doc["guests"]) == 8000
    assert len(set(g["vmid"] for g in doc["guests"])) == 8000


def test_guest_config_reflects_the_record():
    # PVE: qemu-server/pve-container config keys (disks, mount points, hostpci)
    cluster = Cluster(os.path.join(SCENARIOS, "demo.json"), clock_factor=0)
    config = guestconfig.build_config(cluster, cluster.guests[140])
    assert config["cores"] == 8 and config["memory"] == 16384
    assert "local-zfs:vm-140-disk-0" in " ".join(str(v) for v in config.values())
    assert config["digest"] == guestconfig.digest(config)
    assert guestconfig.build_config(cluster, cluster.guests[141])["hostpci0"].startswith("0000:")
    shared = guestconfig.build_config(cluster, cluster.guests[100])["scsi0"]
    assert shared.startswith("ceph:vm-100-disk-0")


def test_clock_drives_tasks_and_dump_roundtrips():
    # simulator clock, no PVE counterpart
    cluster = Cluster(os.path.join(SCENARIOS, "small.json"), clock_factor=0)
    guest = cluster.guests[100]
    upid = cluster.migrate(guest, {"target": "pve2", "online": True}, "root@pam")
    cluster.tick()
    assert guest["lock"] == "migrate" and guest["node"] == "pve1"
    cluster.clock.advance(3600)
    cluster.tick()
    task = cluster.tasks_by_upid[upid]
    assert (task.status, task.exitstatus, guest["node"], guest["lock"]) == ("stopped", "OK", "pve2", "")
    dumped = cluster.dump()
    assert snapshot.normalize(dumped)["fingerprint"] == dumped["fingerprint"]
    assert next(g for g in dumped["guests"] if g["vmid"] == 100)["node"] == "pve2"
