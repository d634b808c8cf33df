"""The simulator answers as real Proxmox VE does where a simulator easily gets it wrong (issue 16).

Each test names the PVE source whose behaviour it reproduces; docs/pve-answers.md lists them all.
"""

import re

import pytest
import requests
from proxmoxer import ProxmoxAPI
from proxmoxer.core import ResourceException

from helpers import GIB, scenario

STAMPED = re.compile(r"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2} ")
THREE = [("pve1", "9.1.2", 64), ("pve2", "9.1.2", 64), ("pve3", "9.1.2", 64)]


def as_token(sim, tokenid, secret):
    user, name = tokenid.split("!", 1)
    return ProxmoxAPI(sim.host, port=sim.port, user=user, token_name=name, token_value=secret,
                      verify_ssl=sim.ca_path, timeout=30)


def refused(call, **params):
    with pytest.raises(ResourceException) as err:
        call(**params)
    return err.value


def log_of(api, upid):
    return [line["t"] for line in api.nodes(upid.split(":")[1]).tasks(upid).log.get(limit=0)]


def status(api, upid):
    return api.nodes(upid.split(":")[1]).tasks(upid).status.get()


def restricted(**extra):
    """A cluster with a token that may audit and migrate guests but holds nothing on / itself."""
    tokens = {"ops@pve!vmonly": {"secret": "vm-secret", "privsep": True,
                                 "acl": {"/vms": "PVEVMAdmin", "/nodes": ["Sys.Audit"]}},
              "ops@pve!audit": {"secret": "audit-secret", "privsep": True, "acl": {"/vms": ["VM.Audit"]}}}
    return scenario(THREE, [(101, "qemu", "pve1", "running", 2), (102, "qemu", "pve1", "stopped", 1),
                            (200, "lxc", "pve1", "running", 1), (201, "lxc", "pve1", "stopped", 1)],
                    users={"ops@pve": {"password": "pw"}}, tokens=tokens, **extra)


# ------------------------------------------------------------------------------------ /cluster/options
def test_options_answer_objects_no_digest_and_a_subset_without_sys_audit(simulator):
    sim = simulator(dict(restricted(), cluster={"name": "t", "crs": {"ha": "static", "auto_rebalance": True}},
                         guests=[dict(g, tags=["web"]) for g in restricted()["guests"]]), clock=0)
    api = sim.proxmox()
    options = api.cluster.options.get()
    # pve-cluster DataCenterConfig.pm parse_datacenter_config: crs and migration are parsed objects, the
    # notes are always there (a comment in datacenter.cfg), mac_prefix defaults
    assert options["crs"] == {"ha": "static", "ha-auto-rebalance": 1}
    assert options["migration"] == {"type": "secure"} and options["description"] == ""
    # pve-common JSONSchema.pm parse_config gives datacenter.cfg no digest, unlike guest configs
    assert "digest" not in options and options["allowed-tags"] == ["web"]
    # pve-manager Cluster.pm get_options: 'user => all'; without Sys.Audit on / a 200 with a subset
    subset = as_token(sim, "ops@pve!vmonly", "vm-secret").cluster.options.get()
    assert subset == {"allowed-tags": ["web"]}


def test_put_options_refuses_a_digest_it_does_not_define(simulator):
    # pve-manager Cluster.pm set_options: additionalProperties 0 and no digest among the properties
    api = simulator(restricted(), clock=0).proxmox()
    err = refused(api.cluster.options.put, description="x", digest="0" * 40)
    assert err.status_code == 400 and "digest" in err.errors
    assert api.cluster.options.get()["description"] == ""


def test_put_options_crs_property_string_and_digest(simulator):
    # options_digest: the simulator's opt-in token, for the clients' digest path (no PVE counterpart)
    sim = simulator(restricted(options_digest=True), clock=0)
    api = sim.proxmox()
    digest = api.cluster.options.get()["digest"]
    # pve-manager Cluster.pm set_options: crs is a property string (datacenter.cfg format)
    api.cluster.options.put(crs="ha=dynamic,ha-auto-rebalance=1,ha-auto-rebalance-threshold=30", digest=digest)
    after = api.cluster.options.get()
    assert after["crs"] == {"ha": "dynamic", "ha-auto-rebalance": 1, "ha-auto-rebalance-threshold": 30}
    assert after["digest"] != digest
    # a stale digest: PVE's 'detected modified configuration' (pve-common Tools.pm assert_if_modified)
    err = refused(api.cluster.options.put, description="late writer", digest=digest)
    assert err.status_code == 500 and "detected modified configuration" in err.content
    assert api.cluster.options.get()["description"] == ""
    err = refused(api.cluster.options.put, crs="ha=fastest")
    assert err.status_code == 400 and "crs" in err.errors
    state = sim.admin("GET", "state")
    assert state["cluster"]["crs"]["ha"] == "dynamic" and state["cluster"]["crs"]["auto_rebalance"] is True


# ------------------------------------------------------------------------------------ tasks
def test_warnings_fault_ends_the_task_with_warnings_as_a_success(simulator):
    sim = simulator(restricted(), clock=0)
    api = sim.proxmox()
    sim.admin("POST", "faults", warn_vmid=101, warnings=2, message="mirror-scsi1: bandwidth limit reached")
    upid = api.nodes("pve1").qemu(101).migrate.post(target="pve2", online=1)
    sim.admin("POST", "clock", seconds=600)
    # pve-common RESTEnvironment.pm: warn() logs 'WARN: <msg>', the worker ends 'TASK WARNINGS: <n>'
    assert status(api, upid)["exitstatus"] == "WARNINGS: 2"
    log = log_of(api, upid)
    assert log[-1] == "TASK WARNINGS: 2" and log.count("WARN: mirror-scsi1: bandwidth limit reached") == 2
    assert api.nodes("pve1").tasks.get(typefilter="qmigrate")[0]["status"] == "WARNINGS: 2"
    assert next(g for g in api.cluster.resources.get(type="vm") if g["vmid"] == 101)["node"] == "pve2"


def test_migration_log_lines_carry_timestamps_and_the_cause(simulator):
    sim = simulator(restricted(), clock=0)
    api = sim.proxmox()
    ok = api.nodes("pve1").qemu(102).migrate.post(target="pve2")
    sim.admin("POST", "faults", fail_vmid=101, exitstatus="migration aborted", message="can't connect to pve3")
    bad = api.nodes("pve1").qemu(101).migrate.post(target="pve3", online=1)
    sim.admin("POST", "clock", seconds=600)
    # pve-guest-common AbstractMigrate.pm: '%F %H:%M:%S' before every line, 'ERROR: ' for errors; the
    # worker's own last line has none (pve-common RESTEnvironment.pm fork_worker)
    good = log_of(api, ok)
    assert all(STAMPED.match(line) for line in good[:-1]) and good[-1] == "TASK OK"
    assert re.search(r"migration finished successfully \(duration \d\d:\d\d:\d\d\)$", good[-2])
    failed = log_of(api, bad)
    assert status(api, bad)["exitstatus"] == "migration aborted"
    assert re.match(r"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2} ERROR: migration aborted \(duration 00:00:\d\d\): "
                    r"can't connect to pve3$", failed[-2])
    assert failed[-1] == "TASK ERROR: migration aborted"


def test_cluster_tasks_holds_25_per_node_and_needs_sys_audit_on_root(simulator):
    guests = [(300 + i, "qemu", "pve1", "stopped", 1) for i in range(30)]
    tokens = {"ops@pve!nodes": {"secret": "n-secret", "privsep": True,
                                "acl": {"/vms": "PVEVMAdmin", "/nodes": ["Sys.Audit"]}}}
    sim = simulator(scenario(THREE, guests, users={"ops@pve": {"password": "pw"}}, tokens=tokens), clock=0)
    api = sim.proxmox()
    first = api.nodes("pve1").qemu(300).migrate.post(target="pve2")
    sim.admin("POST", "clock", seconds=60)
    for vmid in range(301, 330):
        api.nodes("pve1").qemu(vmid).migrate.post(target="pve3")
        sim.admin("POST", "clock", seconds=30)
    running = api.nodes("pve2").qemu(300).migrate.post(target="pve3")
    # pve-common RESTEnvironment.pm active_workers: running tasks plus the newest finished up to 25
    listed = api.cluster.tasks.get()
    on_pve1 = [t for t in listed if t["node"] == "pve1"]
    assert len(on_pve1) == 25 and first not in {t["upid"] for t in listed}
    assert running in {t["upid"] for t in listed}
    # the node's own list (pve-manager Tasks.pm node_tasks) still has it
    assert first in {t["upid"] for t in api.nodes("pve1").tasks.get(limit=100)}
    # pve-manager Cluster.pm tasks: without Sys.Audit on / a caller sees only its own tasks
    own = as_token(sim, "ops@pve!nodes", "n-secret")
    assert own.cluster.tasks.get() == []
    mine = own.nodes("pve3").qemu(329).migrate.post(target="pve2")
    assert [t["upid"] for t in own.cluster.tasks.get()] == [mine]


def test_node_task_list_filters(simulator):
    sim = simulator(restricted(), clock=0)
    api = sim.proxmox()
    start = int(sim.admin("GET", "clock")["now"])
    a = api.nodes("pve1").qemu(102).migrate.post(target="pve2")
    sim.admin("POST", "clock", seconds=100)
    sim.admin("POST", "faults", fail_vmid=201, exitstatus="migration aborted", message="x")
    b = api.nodes("pve1").lxc(201).migrate.post(target="pve2")
    sim.admin("POST", "clock", seconds=100)
    c = api.nodes("pve1").qemu(101).migrate.post(target="pve3", online=1)
    tasks = api.nodes("pve1").tasks
    # pve-manager Tasks.pm node_tasks: typefilter, vmid, since/until on the start time, errors, source,
    # start/limit paging with 'total'
    assert [t["upid"] for t in tasks.get(typefilter="vzmigrate")] == [b]
    assert [t["upid"] for t in tasks.get(vmid=102)] == [a]
    assert [t["upid"] for t in tasks.get(since=start + 50)] == [b]
    assert [t["upid"] for t in tasks.get(until=start + 50)] == [a]
    assert [t["upid"] for t in tasks.get(errors=1)] == [b]
    assert [t["upid"] for t in tasks.get(statusfilter="ok")] == [a]
    assert [t["upid"] for t in tasks.get(statusfilter="warning,error")] == [b]
    assert [t["upid"] for t in tasks.get(source="active")] == [c]
    assert [t["upid"] for t in tasks.get(source="all", start=1, limit=1)] == [b]
    raw = requests.get(sim.url + "/api2/json/nodes/pve1/tasks", params={"limit": 1}, verify=sim.ca_path,
                       headers={"Authorization": "PVEAPIToken=%s=%s" % (sim.token_id, sim.token_secret)})
    assert raw.json()["total"] == 2 and len(raw.json()["data"]) == 1


# ------------------------------------------------------------------------------------ timing
def test_cluster_resources_usage_lags_like_rrd(simulator):
    sim = simulator(restricted(rrd_interval=10, start_time=1_000_000_005), clock=0)
    api = sim.proxmox()

    def mem(node):
        return next(n for n in api.cluster.resources.get(type="node") if n["node"] == node)["mem"]

    before = mem("pve2")
    upid = api.nodes("pve1").qemu(101).migrate.post(target="pve2", online=1)
    # pvestatd samples every 10 s (pve-manager PVE/Service/pvestatd.pm); /cluster/resources reads that
    # RRD dump while placement and locks are current (pve-manager PVE/API2/Cluster.pm resources)
    sim.admin("POST", "clock", seconds=4.4)   # the migration (2 s + 2 GiB * 1.2 / 1 GiB/s) ends at ...09.4
    assert status(api, upid)["exitstatus"] == "OK"
    entry = next(g for g in api.cluster.resources.get(type="vm") if g["vmid"] == 101)
    assert entry["node"] == "pve2" and "lock" not in entry
    assert mem("pve2") == before               # the next sample is at ...10
    sim.admin("POST", "clock", seconds=1)
    assert mem("pve2") == before + 2 * GIB
    assert api.nodes("pve2").status.get()["memory"]["used"] == before + 2 * GIB  # node status is live


def ha_cluster(storages=()):
    return scenario(THREE, [(101, "qemu", "pve1", "running", 2), (102, "qemu", "pve1", "stopped", 1),
                            (200, "lxc", "pve1", "running", 1)],
                    ha_resources=[{"sid": "vm:101", "state": "started"}, {"sid": "vm:102", "state": "disabled"},
                                  {"sid": "ct:200", "state": "started"}], storages=storages)


def test_ha_migrate_starts_the_real_migration_after_the_crm_rounds(simulator):
    sim = simulator(ha_cluster(), clock=0)
    api = sim.proxmox()
    upid = api.nodes("pve1").qemu(101).migrate.post(target="pve2", online=1)
    assert ":hamigrate:101:" in upid
    sim.admin("POST", "clock", seconds=10)
    # qemu-server migrate_vm hands HA guests to 'ha-manager migrate'; the CRM and then the LRM take the
    # command in their next 10 s rounds (pve-ha-manager Manager.pm, LRM.pm)
    assert status(api, upid)["exitstatus"] == "OK"
    assert api.nodes("pve1").tasks.get(typefilter="qmigrate", source="all") == []
    sim.admin("POST", "clock", seconds=10)
    real = api.nodes("pve1").tasks.get(typefilter="qmigrate", source="all")
    assert len(real) == 1 and real[0]["user"] == "root@pam"
    assert 10 <= real[0]["starttime"] - int(upid.split(":")[4], 16) <= 20


def test_disabled_ha_resource_still_goes_through_hamigrate(simulator):
    sim = simulator(ha_cluster(), clock=0)
    api = sim.proxmox()
    # only 'ignored' resources are left out of HA (pve-ha-manager Config.pm; Manager.pm next_state_stopped
    # carries out migrate commands of stopped/disabled services)
    upid = api.nodes("pve1").qemu(102).migrate.post(target="pve3")
    assert ":hamigrate:102:" in upid
    sim.admin("POST", "clock", seconds=120)
    assert next(g for g in api.cluster.resources.get(type="vm") if g["vmid"] == 102)["node"] == "pve3"


# ------------------------------------------------------------------------------------ containers
def test_container_refusals_happen_inside_the_task(simulator):
    sim = simulator(restricted(), clock=0)
    api = sim.proxmox()
    live = api.nodes("pve1").lxc(200).migrate.post(target="pve2", online=1, restart=1)
    sim.admin("POST", "clock", seconds=60)
    # pve-container src/PVE/LXC/Migrate.pm prepare: 'online' dies for a running CT, restart or not
    assert status(api, live)["exitstatus"] == "migration aborted"
    assert log_of(api, live)[-2].endswith("lxc live migration is currently not implemented")
    # check_lock runs in the worker too (pve-guest-common AbstractConfig.pm: '<CT|VM> is locked (<lock>)')
    state = sim.admin("GET", "state")
    assert next(g for g in state["guests"] if g["vmid"] == 201)["lock"] == ""
    sim2 = simulator(dict(restricted(), guests=[dict(g, lock="backup") if g["vmid"] in (102, 201) else g
                                                for g in restricted()["guests"]]), clock=0)
    api2 = sim2.proxmox()
    locked = api2.nodes("pve1").lxc(201).migrate.post(target="pve2")
    sim2.admin("POST", "clock", seconds=60)
    assert status(api2, locked)["exitstatus"] == "migration aborted"
    assert log_of(api2, locked)[-2].endswith(": CT is locked (backup)")
    assert next(g for g in api2.cluster.resources.get(type="vm") if g["vmid"] == 201)["lock"] == "backup"
    # a VM's lock is refused by the API call itself (qemu-server API2/Qemu.pm migrate_vm)
    err = refused(api2.nodes("pve1").qemu(102).migrate.post, target="pve2")
    assert (err.status_code, err.content) == (500, "VM is locked (backup)")


# ------------------------------------------------------------------------------------ errors
def test_permission_before_parameters_bad_token_reason_and_connection_close(simulator):
    sim = simulator(restricted(), clock=0)
    audit = as_token(sim, "ops@pve!audit", "audit-secret")
    # pve-common RESTHandler: the permission check runs before the parameter verification
    err = refused(audit.nodes("pve1").qemu(101).migrate.post, target="pve2", online="yes", bogus=1)
    assert err.status_code == 403
    # pve-http-server auth_handler: a refused token reads 'Authentication failed!'
    bad = requests.get(sim.url + "/api2/json/version", verify=sim.ca_path,
                       headers={"Authorization": "PVEAPIToken=%s=wrong" % sim.token_id})
    assert (bad.status_code, bad.reason) == (401, "Authentication failed!")
    # pveproxy closes the connection after an error answer
    assert bad.headers.get("Connection", "").lower() == "close"
    ok = requests.get(sim.url + "/api2/json/version", verify=sim.ca_path,
                      headers={"Authorization": "PVEAPIToken=%s=%s" % (sim.token_id, sim.token_secret)})
    assert ok.status_code == 200 and ok.headers.get("Connection", "").lower() != "close"


# ------------------------------------------------------------------------------------ endpoints
def test_endpoints_clients_call_early(simulator):
    sim = simulator(ha_cluster(storages=[
        {"storage": "local", "node": "pve1", "type": "dir", "shared": False, "content": "images",
         "status": "available", "maxdisk": 100 * GIB, "disk": 40 * GIB}]), clock=0)
    api = sim.proxmox()
    # pve-manager Cluster.pm nextid: the lowest free VMID; a taken one is a parameter error
    assert api.cluster.nextid.get() == 100
    assert api.cluster.nextid.get(vmid=150) == 150
    assert refused(api.cluster.nextid.get, vmid=101).errors == {"vmid": "VM 101 already exists"}
    # pve-ha-manager API2/HA/Resources.pm read: a bare VMID is looked up; unknown sids die
    resource = api.cluster.ha.resources("101").get()
    assert resource["sid"] == "vm:101" and resource["state"] == "started" and "digest" in resource
    assert refused(api.cluster.ha.resources("vm:999").get).status_code == 500
    answer = api.cluster.ha.resources("vm:101").migrate.post(node="pve3")
    assert answer == {"sid": "vm:101", "requested-node": "pve3"}
    sim.admin("POST", "clock", seconds=120)
    assert next(g for g in api.cluster.resources.get(type="vm") if g["vmid"] == 101)["node"] == "pve3"
    # pve-ha-manager API2/HA/Status.pm manager_status
    manager = api.cluster.ha.status.manager_status.get()
    assert manager["manager_status"]["service_status"]["vm:101"]["node"] == "pve3"
    assert manager["manager_status"]["node_status"] == {"pve1": "online", "pve2": "online", "pve3": "online"}
    assert set(manager["lrm_status"]) == {"pve1", "pve2", "pve3"}
    # pve-storage API2/Storage/Status.pm read_status
    local = api.nodes("pve1").storage("local").status.get()
    assert (local["total"], local["used"], local["avail"], local["shared"]) == (100 * GIB, 40 * GIB, 60 * GIB, 0)
    assert refused(api.nodes("pve2").storage("local").status.get).errors == {"storage": "No such storage."}
    # pve-access-control API2/User.pm and Domains.pm (the realm list needs no credentials)
    assert "root@pam" in {u["userid"] for u in api.access.users.get()}
    realms = requests.get(sim.url + "/api2/json/access/domains", verify=sim.ca_path).json()["data"]
    assert {r["realm"] for r in realms} == {"pam", "pve"}
