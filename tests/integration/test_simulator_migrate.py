"""Migrations as PVE runs them: refusals, asynchronous tasks on the simulated clock, state read back."""

import pytest
from proxmoxer.core import ResourceException


@pytest.fixture
def sim(simulator):
    return simulator("demo.json", clock=0)  # time moves only when a test advances it


def status(api, upid):
    node = upid.split(":")[1]
    return api.nodes(node).tasks(upid).status.get()


def vm_entry(api, vmid):
    return next(e for e in api.cluster.resources.get(type="vm") if e["vmid"] == vmid)


def refused(call, **params):
    with pytest.raises(ResourceException) as err:
        call(**params)
    return err.value


def test_live_migration_runs_as_task_and_moves_the_guest(sim):
    # PVE: qemu-server Qemu.pm migrate_vm (UPID on the source, lock 'migrate'), pve-manager Tasks.pm
    api = sim.proxmox()
    upid = api.nodes("pve1").qemu(100).migrate.post(target="pve3", online=1)
    assert upid.startswith("UPID:pve1:") and ":qmigrate:100:root@pam!ci:" in upid and upid.endswith(":")
    assert status(api, upid)["status"] == "running"
    entry = vm_entry(api, 100)
    assert entry["lock"] == "migrate" and entry["node"] == "pve1"
    assert api.nodes("pve1").qemu(100).config.get()["lock"] == "migrate"
    running = api.nodes("pve1").tasks.get(source="active")
    assert [t["upid"] for t in running] == [upid] and running[0]["status"] == "RUNNING"
    assert api.nodes("pve1").tasks.get() == []  # archive: finished tasks only
    mem_before = {n["node"]: n["mem"] for n in api.cluster.resources.get(type="node")}

    sim.admin("POST", "clock", seconds=3600)
    done = status(api, upid)
    assert (done["status"], done["exitstatus"]) == ("stopped", "OK")
    entry = vm_entry(api, 100)
    assert entry["node"] == "pve3" and "lock" not in entry
    assert 100 in {g["vmid"] for g in api.nodes("pve3").qemu.get()}
    assert 100 not in {g["vmid"] for g in api.nodes("pve1").qemu.get()}
    mem_after = {n["node"]: n["mem"] for n in api.cluster.resources.get(type="node")}
    assert mem_after["pve1"] < mem_before["pve1"] and mem_after["pve3"] > mem_before["pve3"]
    log = [line["t"] for line in api.nodes("pve1").tasks(upid).log.get()]
    assert log[-1] == "TASK OK" and any("migration finished successfully" in t for t in log)
    archived = api.nodes("pve1").tasks.get(typefilter="qmigrate", vmid=100)
    assert archived[0]["status"] == "OK" and archived[0]["endtime"] >= archived[0]["starttime"]
    assert api.nodes("pve1").tasks.get(typefilter="vzmigrate") == []
    assert api.nodes("pve1").tasks.get(since=archived[0]["starttime"] + 1) == []
    assert [t["upid"] for t in api.cluster.tasks.get()] == [upid]

    tasks = sim.admin("GET", "tasks")
    assert tasks["max_concurrent"] == 1
    (task,) = tasks["tasks"]
    assert (task["source"], task["target"], task["vmid"], task["exitstatus"]) == ("pve1", "pve3", 100, "OK")
    assert task["finished"] > task["started"]
    state = sim.admin("GET", "state")
    assert next(g for g in state["guests"] if g["vmid"] == 100)["node"] == "pve3"


def test_duration_grows_with_memory_and_copied_disks(sim):
    # PVE: qemu-server QemuMigrate.pm phase2 (RAM copy) and storage migration of local disks
    api = sim.proxmox()
    small = api.nodes("pve1").qemu(100).migrate.post(target="pve3", online=1)       # 3 GiB used
    big = api.nodes("pve1").qemu(120).migrate.post(target="pve3", online=1)         # 28 GiB used (HA: hamigrate)
    disks = api.nodes("pve1").qemu(140).migrate.post(target="pve3", online=1, **{"with-local-disks": 1})
    sim.admin("POST", "clock", seconds=3600)
    tasks = dict((t["upid"], t) for t in sim.admin("GET", "tasks")["tasks"])
    seconds = dict((u, tasks[u]["finished"] - tasks[u]["started"]) for u in (small, disks))
    assert seconds[disks] > seconds[small]
    assert tasks[big]["type"] == "hamigrate"
    follow = [t for t in tasks.values() if t["type"] == "qmigrate" and t["vmid"] == 120]
    assert len(follow) == 1 and follow[0]["user"] == "root@pam" and follow[0]["exitstatus"] == "OK"
    assert follow[0]["finished"] - follow[0]["started"] > seconds[small]
    assert vm_entry(api, 120)["node"] == "pve3" and vm_entry(api, 120)["hastate"] == "started"
    assert sim.admin("GET", "tasks")["max_concurrent"] >= 2


def test_synchronous_refusals(sim):
    # PVE: qemu-server Qemu.pm / pve-container LXC.pm migrate_vm checks before the worker starts
    api = sim.proxmox()
    vm = api.nodes("pve1").qemu(100).migrate.post
    err = refused(vm, target="pve3")
    assert (err.status_code, err.content) == (500, "can't migrate running VM without --online")
    err = refused(vm, target="pve1", online=1)
    assert err.status_code == 400 and err.errors == {"target": "target is local node."}
    err = refused(vm, target="pve9", online=1)
    assert err.status_code == 500 and "no such cluster node 'pve9'" in err.content
    err = refused(vm, target="pve3", online="True")  # what proxmoxer sends for a Python True
    assert err.status_code == 400 and "online" in err.errors
    err = refused(vm, target="pve3", online=1, nonsense=1)
    assert err.status_code == 400 and "nonsense" in err.errors
    err = refused(api.nodes("pve2").qemu(100).migrate.post, target="pve3", online=1)  # wrong node
    assert "does not exist" in err.content
    ct = api.nodes("pve1").lxc(200).migrate.post
    err = refused(ct, target="pve3")
    assert err.content == "can't migrate running container without --online or --restart"

    api.nodes("pve1").qemu(101).migrate.post(target="pve3", online=1)
    err = refused(api.nodes("pve1").qemu(101).migrate.post, target="pve4", online=1)
    assert (err.status_code, err.content) == (500, "VM is locked (migrate)")
    err = refused(api.nodes("pve1").qemu(101).migrate.get)
    assert err.content == "VM is locked (migrate)"


def run_to_end(sim, api, upid):
    sim.admin("POST", "clock", seconds=3600)
    return status(api, upid)


def test_refusals_inside_the_task(sim):
    # PVE: qemu-server QemuMigrate.pm prepare, pve-container LXC/Migrate.pm prepare (exit 'migration aborted')
    api = sim.proxmox()
    # local disk of a running VM without with-local-disks
    upid = api.nodes("pve1").qemu(140).migrate.post(target="pve3", online=1)
    assert run_to_end(sim, api, upid)["exitstatus"] == "migration aborted"
    log = [line["t"] for line in api.nodes("pve1").tasks(upid).log.get()]
    assert any("with-local-disks" in t for t in log)
    assert vm_entry(api, 140)["node"] == "pve1" and "lock" not in vm_entry(api, 140)
    # passthrough device
    upid = api.nodes("pve2").qemu(141).migrate.post(target="pve3", online=1)
    assert run_to_end(sim, api, upid)["exitstatus"] == "migration aborted"
    assert any("local devices: hostpci0" in line["t"] for line in api.nodes("pve2").tasks(upid).log.get())
    # running container with online but without restart
    upid = api.nodes("pve1").lxc(200).migrate.post(target="pve3", online=1)
    assert run_to_end(sim, api, upid)["exitstatus"] == "migration aborted"
    # offline target
    sim.admin("POST", "nodes/pve4", status="offline")
    upid = api.nodes("pve1").qemu(102).migrate.post(target="pve4", online=1)
    assert run_to_end(sim, api, upid)["exitstatus"] == "migration aborted"
    assert vm_entry(api, 102)["node"] == "pve1"
    # and the ones that work: container in restart mode, stopped VM offline, template
    for node, kind, vmid, params in (("pve1", "lxc", 200, {"restart": 1}), ("pve1", "qemu", 151, {}),
                                     ("pve1", "qemu", 150, {})):
        upid = getattr(api.nodes(node), kind)(vmid).migrate.post(target="pve3", **params)
        assert run_to_end(sim, api, upid)["exitstatus"] == "OK"
        assert vm_entry(api, vmid)["node"] == "pve3"
    tasks = sim.admin("GET", "tasks")["tasks"]
    assert next(t for t in tasks if t["vmid"] == 200 and t["exitstatus"] == "OK")["type"] == "vzmigrate"


def test_precondition_answers(sim):
    # PVE: qemu-server Qemu.pm migrate_vm_precondition (allowed_nodes, not_allowed_nodes, local_disks)
    api = sim.proxmox()
    check = api.nodes("pve1").qemu(140).migrate.get()
    assert check["running"] == 1 and check["has-dbus-vmstate"] == 1
    assert sorted(check["allowed_nodes"]) == ["pve2", "pve3", "pve4", "pve5"]
    assert check["not_allowed_nodes"]["pve2"] == {}  # PVE >= 8.4 lists every node, {} when allowed
    assert check["local_disks"][0]["volid"] == "local-zfs:vm-140-disk-0"
    assert api.nodes("pve2").qemu(141).migrate.get()["local_resources"] == ["hostpci0"]
    ct = api.nodes("pve1").lxc(200).migrate.get()
    assert set(ct) >= {"running", "allowed-nodes", "not-allowed-nodes"}


def test_conntrack_only_on_pve9(simulator, sim):
    # PVE: 'with-conntrack-state' exists from the 9.0 schema on (pve-docs apidata.js)
    api = sim.proxmox()
    upid = api.nodes("pve1").qemu(100).migrate.post(target="pve3", online=1, **{"with-conntrack-state": 1})
    assert upid.startswith("UPID:")
    old = simulator("pve84.json", clock=0).proxmox()
    err = refused(old.nodes("node1").qemu(102).migrate.post, target="node4", online=1,
                  **{"with-conntrack-state": 1})
    assert err.status_code == 400 and err.content == "Parameter verification failed."
    assert "with-conntrack-state" in err.errors
    check = old.nodes("node1").qemu(102).migrate.get()
    # 8.4 lists the nodes for running VMs too, but knows nothing of dbus-vmstate (9.0)
    assert "allowed_nodes" in check and "has-dbus-vmstate" not in check


def test_node_offline_admin_reboot_and_fault_injection(sim):
    # PVE: pve-manager Nodes.pm status command=reboot; 595 'No route to host' from the proxy
    api = sim.proxmox()
    api.nodes("pve4").status.post(command="reboot")
    err = refused(api.nodes("pve4").status.get)
    assert err.status_code == 595
    assert {n["node"]: n["status"] for n in api.cluster.resources.get(type="node")}["pve4"] == "offline"
    sim.admin("POST", "clock", seconds=600)
    assert api.nodes("pve4").status.get()["uptime"] >= 0
    sim.admin("POST", "nodes/pve3", hastate="maintenance")
    assert {n["node"]: n["hastate"] for n in api.cluster.resources.get(type="node")}["pve3"] == "maintenance"

    sim.admin("POST", "faults", fail_vmid=101, exitstatus="migration problems", after=5)
    upid = api.nodes("pve1").qemu(101).migrate.post(target="pve2", online=1)
    assert run_to_end(sim, api, upid)["exitstatus"] == "migration problems"
    assert vm_entry(api, 101)["node"] == "pve1"

    sim.admin("POST", "faults", http_status=503, count=2, path="/nodes/{node}/status", message="busy")
    for _ in range(2):
        err = refused(api.nodes("pve1").status.get)
        assert (err.status_code, err.content) == (503, "busy")
    assert api.nodes("pve1").status.get()["cpuinfo"]["cpus"] == 32

    # a node lost during a migration: the task fails, the guest stays on the source, the lock clears
    upid = api.nodes("pve1").qemu(102).migrate.post(target="pve2", online=1)
    sim.admin("POST", "nodes/pve2", status="offline")
    assert run_to_end(sim, api, upid)["exitstatus"] == "migration problems"
    assert vm_entry(api, 102)["node"] == "pve1" and "lock" not in vm_entry(api, 102)
    sim.admin("POST", "faults", node_offline="pve3", **{"in": 10})
    sim.admin("POST", "clock", seconds=11)
    assert {n["node"]: n["status"] for n in api.cluster.resources.get(type="node")}["pve3"] == "offline"
    assert sim.admin("DELETE", "faults")["http_errors"] == []


def test_request_counter(sim):
    # simulator admin API, no PVE counterpart
    api = sim.proxmox()
    sim.admin("POST", "requests/reset")
    api.cluster.resources.get(type="vm")
    api.cluster.resources.get()
    api.nodes("pve1").qemu.get()
    counts = sim.admin("GET", "requests")
    assert counts["total"] == 3
    assert counts["by_endpoint"] == {"GET /cluster/resources": 2, "GET /nodes/{node}/qemu": 1}


def test_task_status_errors(sim):
    # PVE: pve-manager PVE/API2/Tasks.pm read_task_status ('unable to parse worker upid', 'no such task')
    api = sim.proxmox()
    err = refused(api.nodes("pve1").tasks("garbage").status.get)
    assert err.status_code == 400 and "upid" in err.errors
    upid = api.nodes("pve1").qemu(100).migrate.post(target="pve3", online=1)
    err = refused(api.nodes("pve2").tasks(upid).status.get)  # asked on the wrong node
    assert err.errors == {"upid": "no such task"}
