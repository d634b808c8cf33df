"""The Proxmox that bites: privileges and privilege separation, mixed PVE versions, history and pressure."""

import pytest
from proxmoxer.core import ResourceException


@pytest.fixture(scope="module")
def mixed(module_simulator):
    return module_simulator("mixed-ha.json", clock=0)


def as_token(sim, user, name, secret):
    return sim.proxmox(user=user, token_name=name, token_value=secret)


def test_privsep_token_without_acl_sees_an_empty_cluster(mixed):
    # PVE: pve-access-control AccessControl.pm: a privsep token gets user ACL intersected with its own
    empty = as_token(mixed, "ops@pve", "empty", "empty-secret")
    assert empty.cluster.resources.get() == []
    assert empty.nodes("pve1").qemu.get() == []
    assert empty.access.permissions.get() == {}
    with pytest.raises(ResourceException) as err:
        empty.nodes("pve1").qemu(100).migrate.post(target="pve2", online=1)
    assert (err.value.status_code, err.value.content) == (403, "Permission check failed (/vms/100, VM.Migrate)")
    # the same user's token without privilege separation sees everything the user may
    full = as_token(mixed, "ops@pve", "balancer", "balancer-secret")
    assert len(full.cluster.resources.get(type="vm")) == 8
    assert full.access.permissions.get()["/vms"]["VM.Migrate"] == 1


def test_token_acl_on_a_pool(mixed):
    # PVE: pve-access-control RPCEnvironment.pm: /vms/<id> privileges through the guest's pool
    team = as_token(mixed, "ops@pve", "team", "team-secret")
    assert sorted(e["vmid"] for e in team.cluster.resources.get(type="vm")) == [102, 105]
    assert len(team.cluster.resources.get(type="node")) == 4
    assert team.nodes("pve1").qemu(102).migrate.get()["running"] == 1
    with pytest.raises(ResourceException) as err:
        team.nodes("pve1").qemu(101).migrate.get()
    assert err.value.status_code == 403


def test_auditor_reads_but_cannot_migrate(mixed):
    # PVE: qemu-server Qemu.pm migrate_vm needs VM.Migrate; Cluster.pm set_options needs Sys.Modify
    ro = as_token(mixed, "auditor@pve", "ro", "ro-secret")
    assert len(ro.cluster.resources.get(type="vm")) == 8
    assert ro.cluster.options.get()["crs"]["ha"] == "static"
    with pytest.raises(ResourceException) as err:
        ro.nodes("pve1").qemu(100).migrate.post(target="pve2", online=1)
    assert err.value.status_code == 403
    with pytest.raises(ResourceException) as err:
        ro.cluster.options.put(description="x")
    assert err.value.status_code == 403


def test_mixed_versions_answer_per_node(mixed):
    # PVE: requests to /nodes/{node} are proxied to that node and answered by its version
    api = mixed.proxmox()
    assert api.nodes("pve1").version.get()["release"] == "9.1"
    assert api.nodes("pve3").version.get()["release"] == "8.4"
    with pytest.raises(ResourceException) as err:
        api.nodes("pve3").qemu(104).migrate.post(target="pve4", online=1, **{"with-conntrack-state": 1})
    assert err.value.status_code == 400 and "with-conntrack-state" in err.value.errors
    assert "has-dbus-vmstate" not in api.nodes("pve3").qemu(104).migrate.get()
    assert api.nodes("pve1").qemu(102).migrate.get()["has-dbus-vmstate"] == 1
    with pytest.raises(ResourceException):
        api.nodes("pve3").lxc(200).migrate.get()
    pve9_list = api.nodes("pve1").qemu.get()
    assert next(g for g in pve9_list if g["vmid"] == 100)["pressurecpusome"] == 12.5
    assert all("pressurecpusome" not in g for g in api.nodes("pve3").qemu.get())


def test_migrating_to_an_older_major_version_is_refused(simulator):
    # PVE: qemu-server QemuMigrate.pm refuses an older target version inside the worker
    sim = simulator("mixed-ha.json", clock=0)
    api = sim.proxmox()
    upid = api.nodes("pve1").qemu(102).migrate.post(target="pve3", online=1)
    sim.admin("POST", "clock", seconds=600)
    assert api.nodes("pve1").tasks(upid).status.get()["exitstatus"] == "migration aborted"
    upid = api.nodes("pve3").qemu(105).migrate.post(target="pve2", online=1)  # 8.4 -> 9.1 is an upgrade path
    sim.admin("POST", "clock", seconds=600)
    assert api.nodes("pve3").tasks(upid).status.get()["exitstatus"] == "OK"


def test_rrddata_per_version_and_consistent_with_usage(mixed):
    # PVE: pve-cluster src/PVE/RRD.pm create_rrd_data (resolutions, pve-*-9.0 fields)
    api = mixed.proxmox()
    rows = api.nodes("pve1").rrddata.get(timeframe="hour")
    assert len(rows) == 60 and rows[-1]["time"] > rows[0]["time"]
    assert "pressurememorysome" in rows[-1] and "pressurecpufull" not in rows[-1]
    live = next(n for n in api.cluster.resources.get(type="node") if n["node"] == "pve1")
    assert rows[-1]["memused"] == live["mem"] and abs(rows[-1]["cpu"] - live["cpu"]) < 1e-9
    old = api.nodes("pve3").rrddata.get(timeframe="day", cf="MAX")
    assert len(old) == 70 and "pressurecpusome" not in old[0]
    guest = api.nodes("pve1").qemu(100).rrddata.get(timeframe="hour")
    assert guest[-1]["pressurecpusome"] == 12.5 and "memhost" in guest[-1]
    ct = api.nodes("pve1").lxc(200).rrddata.get(timeframe="hour")
    assert "pressurecpufull" not in ct[-1]
    with pytest.raises(ResourceException) as err:
        api.nodes("pve1").qemu(100).rrddata.get(timeframe="decade")  # nodes only
    assert err.value.status_code == 400


def test_cluster_options_notes_and_storage_config(simulator):
    # PVE: pve-cluster DataCenterConfig.pm (notes as comment) and pve-storage API2/Storage/Config.pm
    sim = simulator("mixed-ha.json", clock=0)
    api = sim.proxmox()
    # pve-cluster DataCenterConfig.pm parse_datacenter_config: crs parsed into an object, the notes always there
    assert api.cluster.options.get()["crs"] == {"ha": "static", "ha-auto-rebalance": 1}
    api.cluster.options.put(description="proxlb-maintenance: pve2")
    assert api.cluster.options.get()["description"] == "proxlb-maintenance: pve2"
    api.cluster.options.put(delete="description")
    assert api.cluster.options.get()["description"] == ""
    assert api.storage.get() == [{"storage": "ceph", "type": "rbd", "content": "images,rootdir", "shared": 1,
                                  "digest": "0" * 40}]


def node_of(api, vmid):
    return next(e for e in api.cluster.resources.get(type="vm") if e["vmid"] == vmid)["node"]


def test_ha_positive_affinity_partner_moves_along(simulator):
    # PVE: pve-ha-manager 9.x resource-affinity rules (Rules/ResourceAffinity.pm)
    sim = simulator("mixed-ha.json", clock=0)
    api = sim.proxmox()
    check = api.nodes("pve1").qemu(100).migrate.get()
    assert check["dependent-ha-resources"] == ["vm:103"]
    upid = api.nodes("pve1").qemu(100).migrate.post(target="pve2", online=1)
    assert ":hamigrate:100:" in upid
    sim.admin("POST", "clock", seconds=1)
    assert api.nodes("pve1").tasks(upid).status.get()["exitstatus"] == "OK"
    assert next(e for e in api.cluster.resources.get(type="vm") if e["vmid"] == 100)["hastate"] == "migrate"
    sim.admin("POST", "clock", seconds=600)
    assert (node_of(api, 100), node_of(api, 103)) == ("pve2", "pve2")
    follow = api.nodes("pve1").tasks.get(typefilter="qmigrate", source="all")
    assert sorted(int(t["id"]) for t in follow) == [100, 103] and {t["user"] for t in follow} == {"root@pam"}


def test_ha_failback_moves_the_guest_back(simulator):
    # PVE: pve-ha-manager node-affinity 'failback' (Rules/NodeAffinity.pm, Manager.pm)
    sim = simulator("mixed-ha.json", clock=0)
    api = sim.proxmox()
    api.nodes("pve1").qemu(101).migrate.post(target="pve2", online=1)
    # hamigrate (1 s), the CRM/LRM rounds (15 s, pve-ha-manager) and the migration are done; failback not yet
    sim.admin("POST", "clock", seconds=30)
    assert node_of(api, 101) == "pve2"
    sim.admin("POST", "clock", seconds=600)  # HA prefers pve1 (priority 2) and fails back
    assert node_of(api, 101) == "pve1"
    moves = [(t["source"], t["target"]) for t in sim.admin("GET", "tasks")["tasks"]
             if t["type"] == "qmigrate" and t["vmid"] == 101]
    assert moves == [("pve1", "pve2"), ("pve2", "pve1")]


def test_ha_maintenance_evacuates_ha_guests_only_and_brings_them_back(simulator):
    # PVE: pve-ha-manager crm-command node-maintenance (Manager.pm, LRM.pm)
    sim = simulator("mixed-ha.json", clock=0)
    api = sim.proxmox()
    sim.admin("POST", "nodes/pve1", hastate="maintenance")
    sim.admin("POST", "clock", seconds=600)
    assert all(node_of(api, v) != "pve1" for v in (100, 101, 103))
    assert node_of(api, 102) == "pve1"  # not HA-managed: the balancer's job, not HA's
    status = api.cluster.ha.status.current.get()
    assert "maintenance mode" in next(e["status"] for e in status if e["id"] == "lrm:pve1")
    sim.admin("POST", "nodes/pve1", hastate="online")
    sim.admin("POST", "clock", seconds=600)
    assert all(node_of(api, v) == "pve1" for v in (100, 101, 103))
    state = sim.admin("GET", "state")
    assert sum(1 for g in state["guests"] if g["lock"]) == 0


def test_ha_negative_affinity_blocks_the_target(simulator):
    # PVE: pve-ha-manager negative resource affinity (blocking-ha-resources in the precondition)
    sim = simulator("demo.json", clock=0)
    api = sim.proxmox()
    check = api.nodes("pve1").qemu(120).migrate.get()
    assert "pve2" not in check["allowed_nodes"]
    assert check["not_allowed_nodes"]["pve2"]["blocking-ha-resources"] == [{"sid": "vm:121",
                                                                            "cause": "resource-affinity"}]
    upid = api.nodes("pve1").qemu(120).migrate.post(target="pve2", online=1)
    sim.admin("POST", "clock", seconds=600)
    assert node_of(api, 120) == "pve1"
    assert any("HA will not migrate" in line["t"] for line in api.nodes("pve1").tasks(upid).log.get())


def test_down_api_host_refuses_and_timeouts_hang(simulator):
    # simulator admin hooks for host failover tests, no PVE counterpart
    import socket
    import requests
    sim = simulator("small.json", clock=0)
    host, _, port = sim.down_api_host.rpartition(":")
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection((host, int(port)), timeout=5)
    sim.admin("POST", "faults", timeout_s=3, count=1, path="/version")
    with pytest.raises(requests.exceptions.Timeout):
        requests.get(sim.url + "/api2/json/version", verify=sim.ca_path, timeout=1,
                     headers={"Authorization": "PVEAPIToken=%s=%s" % (sim.token_id, sim.token_secret)})
    assert sim.proxmox().version.get()["release"] == "9.1"  # only the next one hung
    sim.admin("POST", "faults", latency_ms=300)
    import time
    started = time.monotonic()
    sim.proxmox().version.get()
    assert time.monotonic() - started >= 0.3
