"""The simulator's read endpoints, auth and transport, through proxmoxer as a client would use them."""

import os
import socket
import ssl
import subprocess
import sys

import pytest
import requests
from proxmoxer import ProxmoxAPI
from proxmoxer.core import AuthenticationError, ResourceException

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


@pytest.fixture(scope="module")
def demo(sim_demo):
    return sim_demo


def test_token_with_ca_and_password_without_verification(sim_small):
    # PVE: pve-access-control /access/ticket and PVEAPIToken headers (pve-http-server AnyEvent.pm)
    with_token = sim_small.proxmox()
    assert with_token.version.get()["version"] == "9.1.2"
    with_password = ProxmoxAPI(sim_small.host, port=sim_small.port, user=sim_small.user,
                               password=sim_small.password, verify_ssl=False)
    assert [n["node"] for n in with_password.nodes.get()] == ["pve1", "pve2", "pve3"]
    # the ticket path needs CSRF on writes; proxmoxer sends it, so a write must pass auth
    with pytest.raises(ResourceException) as err:
        with_password.nodes("pve1").qemu(100).migrate.post(target="pve1")
    assert err.value.status_code == 400 and err.value.errors == {"target": "target is local node."}


def test_certificate_is_verified_against_the_ca(sim_small):
    # PVE: pveproxy serves HTTPS with a cluster-CA-signed node certificate (pve-cluster Cluster/Setup.pm)
    context = ssl.create_default_context(cafile=sim_small.ca_path)
    with socket.create_connection((sim_small.host, sim_small.port)) as raw:
        with context.wrap_socket(raw, server_hostname="localhost") as tls:
            assert tls.getpeercert()["subjectAltName"]
    with pytest.raises(requests.exceptions.SSLError):
        requests.get(sim_small.url + "/api2/json/version", timeout=10)  # the system store does not know our CA


def test_bad_credentials_get_401(sim_small):
    # PVE: pve-http-server AnyEvent.pm auth_handler (401, empty JSON body)
    with pytest.raises(AuthenticationError):
        ProxmoxAPI(sim_small.host, port=sim_small.port, user="root@pam", password="wrong", verify_ssl=False)
    bad = sim_small.proxmox(token_value="not-the-secret")
    with pytest.raises(ResourceException) as err:
        bad.version.get()
    assert err.value.status_code == 401
    response = requests.get(sim_small.url + "/api2/json/nodes", verify=sim_small.ca_path, timeout=10)
    assert (response.status_code, response.reason) == (401, "No ticket")


def test_ticket_write_without_csrf_is_refused(sim_small):
    # PVE: pve-manager PVE/HTTPServer.pm CSRF check for ticket writes ('invalid csrf token')
    ticket = requests.post(sim_small.url + "/api2/json/access/ticket", verify=sim_small.ca_path, timeout=10,
                           data={"username": sim_small.user, "password": sim_small.password}).json()["data"]
    cookies = {"PVEAuthCookie": ticket["ticket"]}
    url = sim_small.url + "/api2/json/nodes/pve1/qemu/100/config"
    assert requests.get(url, cookies=cookies, verify=sim_small.ca_path, timeout=10).status_code == 200
    response = requests.put(url, data={"tags": "x"}, cookies=cookies, verify=sim_small.ca_path, timeout=10)
    assert (response.status_code, response.reason) == (401, "Permission denied - invalid csrf token")


def test_unknown_path_is_501_with_pve_message(sim_small):
    # PVE: pve-http-server AnyEvent.pm: 501 "Method '<M> <path>' not implemented"
    with pytest.raises(ResourceException) as err:
        sim_small.proxmox().nodes("pve1").frobnicate.get()
    assert err.value.status_code == 501
    assert err.value.content == "Method 'GET /nodes/pve1/frobnicate' not implemented"


def test_cluster_resources_shapes(demo):
    # PVE: pve-manager PVE/API2/Cluster.pm resources, PVE/API2Tools.pm extract_{vm,node,storage}_stats
    api = demo.proxmox()
    everything = api.cluster.resources.get()
    kinds = set(e["type"] for e in everything)
    assert kinds == {"node", "qemu", "lxc", "storage", "pool"}
    vms = api.cluster.resources.get(type="vm")
    assert set(e["type"] for e in vms) == {"qemu", "lxc"}
    web1 = next(e for e in vms if e["vmid"] == 100)
    assert web1["tags"] == "plb_anti_affinity_web" and web1["pool"] == "prod" and web1["template"] == 0
    assert 0 <= web1["cpu"] <= 1 and web1["maxmem"] == 4 * 1024 ** 3 and "hastate" not in web1
    assert "lock" not in web1
    assert next(e for e in vms if e["vmid"] == 150)["template"] == 1
    assert next(e for e in vms if e["vmid"] == 120)["hastate"] == "started"
    nodes = api.cluster.resources.get(type="node")
    assert {n["node"]: n["hastate"] for n in nodes}["pve5"] == "maintenance"
    storages = api.cluster.resources.get(type="storage")
    assert {(s["storage"], s["shared"]) for s in storages} == {("local-zfs", 0), ("ceph", 1)}
    with pytest.raises(ResourceException) as err:
        api.cluster.resources.get(type="bogus")
    assert err.value.status_code == 400 and "type" in err.value.errors


def test_node_endpoints(demo):
    # PVE: pve-manager PVE/API2/Nodes.pm (index, status, version) and Cluster.pm (status, options)
    api = demo.proxmox()
    status = api.nodes("pve1").status.get()
    assert status["cpuinfo"]["cpus"] == 32 and status["memory"]["total"] == 128 * 1024 ** 3
    assert status["pveversion"].startswith("pve-manager/9.1.2/")
    assert api.nodes("pve2").version.get()["release"] == "9.1"
    listed = api.nodes.get()
    assert {n["node"] for n in listed} == {"pve1", "pve2", "pve3", "pve4", "pve5"}
    assert all("ssl_fingerprint" in n for n in listed)
    cluster = api.cluster.status.get()
    assert cluster[0]["type"] == "cluster" and cluster[0]["quorate"] == 1 and cluster[0]["nodes"] == 5
    assert sum(e.get("local", 0) for e in cluster) == 1
    assert api.cluster.options.get()["crs"] == {"ha": "static"}  # an object, as DataCenterConfig.pm parses it
    storage = api.nodes("pve1").storage.get()
    assert {s["storage"] for s in storage} == {"local-zfs", "ceph"}
    assert [s["storage"] for s in api.nodes("pve1").storage.get(target="pve2")] == ["ceph"]
    with pytest.raises(ResourceException) as err:
        api.nodes("nosuchnode").status.get()
    assert err.value.status_code == 500 and "hostname lookup 'nosuchnode' failed" in err.value.content


def test_guest_lists_config_and_status(demo):
    # PVE: qemu-server PVE/API2/Qemu.pm and pve-container src/PVE/API2/LXC.pm (list, config, status/current)
    api = demo.proxmox()
    qemu = api.nodes("pve1").qemu.get()
    assert {g["vmid"] for g in qemu} >= {100, 101, 102, 140, 150}
    assert all("pressurecpufull" in g for g in qemu)  # PSI on PVE 9
    lxc = api.nodes("pve1").lxc.get()
    assert {g["vmid"] for g in lxc} == {200, 201} and all("pressurecpufull" not in g for g in lxc)
    config = api.nodes("pve1").qemu(140).config.get()
    assert config["cores"] == 8 and config["memory"] == 16384
    assert any(v.startswith("local-zfs:vm-140-disk-0") for k, v in config.items() if k.startswith("scsi"))
    assert "digest" in config
    gpu = api.nodes("pve2").qemu(141).config.get()
    assert gpu["hostpci0"].startswith("0000:")
    assert "rootfs" in api.nodes("pve1").lxc(200).config.get()
    current = api.nodes("pve1").qemu(100).status.current.get()
    assert current["status"] == "running" and current["ha"] == {"managed": 0}
    assert api.nodes("pve1").qemu(120).status.current.get()["ha"]["managed"] == 1
    with pytest.raises(ResourceException) as err:
        api.nodes("pve2").qemu(100).config.get()
    assert err.value.content == "Configuration file 'nodes/pve2/qemu-server/100.conf' does not exist"


def test_config_put_tags_with_digest(simulator):
    # PVE: pve-guest-common AbstractConfig.pm / pve-common Tools.pm assert_if_modified (digest)
    sim = simulator("small.json", clock=0)
    api = sim.proxmox()
    digest = api.nodes("pve1").qemu(100).config.get()["digest"]
    api.nodes("pve1").qemu(100).config.put(tags="plb_pin_pve2;web", digest=digest)
    assert api.nodes("pve1").qemu(100).config.get()["tags"] == "plb_pin_pve2;web"
    entry = next(e for e in api.cluster.resources.get(type="vm") if e["vmid"] == 100)
    assert entry["tags"] == "plb_pin_pve2;web"  # the cached answer was invalidated
    with pytest.raises(ResourceException) as err:
        api.nodes("pve1").qemu(100).config.put(tags="x", digest=digest)  # stale digest
    assert err.value.status_code == 500 and "detected modified configuration" in err.value.content
    api.nodes("pve1").qemu(100).config.put(delete="tags")
    assert "tags" not in api.nodes("pve1").qemu(100).config.get()


def test_pools(demo):
    # PVE: pve-manager PVE/API2/Pool.pm (index with poolid, deprecated /pools/{poolid})
    api = demo.proxmox()
    assert {p["poolid"] for p in api.pools.get()} == {"prod", "staging", "dev"}
    prod = api.pools.get(poolid="prod")[0]
    assert {m["vmid"] for m in prod["members"]} >= {100, 101, 102, 110, 111, 120, 121, 160, 202}
    assert {m["vmid"] for m in api.pools("prod").get()["members"]} == {m["vmid"] for m in prod["members"]}
    with pytest.raises(ResourceException):
        api.pools("nope").get()


def test_ha_endpoints_pve9(demo):
    # PVE: pve-ha-manager src/PVE/API2/HA/{Resources,Rules,Status}.pm (9.x)
    api = demo.proxmox()
    assert [r["sid"] for r in api.cluster.ha.resources.get()] == ["vm:120", "vm:121"]
    rules = api.cluster.ha.rules.get()
    assert rules[0]["type"] == "resource-affinity" and rules[0]["affinity"] == "negative"
    assert api.cluster.ha.groups.get() == []
    status = api.cluster.ha.status.current.get()
    lrm = {e["node"]: e["status"] for e in status if e["type"] == "lrm"}
    assert "maintenance mode" in lrm["pve5"] and "maintenance" not in lrm["pve1"]
    assert {e["sid"] for e in status if e["type"] == "service"} == {"vm:120", "vm:121"}


def test_pve84_answers_as_pve8(simulator):
    # PVE: the 8.4 API schema (pve-docs apidata.js): no HA rules, groups instead
    sim = simulator("pve84.json", clock=0)
    api = sim.proxmox()
    assert api.version.get()["version"] == "8.4.1"
    groups = api.cluster.ha.groups.get()
    assert {g["group"] for g in groups} == {"prefer-12", "only-34"}
    assert {g["group"]: g["nofailback"] for g in groups} == {"prefer-12": 0, "only-34": 1}
    with pytest.raises(ResourceException) as err:
        api.cluster.ha.rules.get()
    assert err.value.status_code == 501
    assert all("pressurecpusome" not in g for g in api.nodes("node1").qemu.get())
    with pytest.raises(ResourceException) as err:
        api.nodes("node1").lxc(300).migrate.get()  # the container precondition came with PVE 9.0
    assert err.value.status_code == 501


def test_ipv6_bind(simulator):
    # PVE: pveproxy listens on IPv6 too (pve-http-server AnyEvent.pm)
    if not socket.has_ipv6:
        pytest.skip("no IPv6 here")
    try:
        probe = socket.socket(socket.AF_INET6)
        probe.bind(("::1", 0))
        probe.close()
    except OSError:
        pytest.skip("::1 is not available")
    sim = simulator("small.json", bind="::1")
    assert sim.url.startswith("https://[::1]:")
    assert sim.host == "::1"
    response = requests.get(sim.url + "/api2/json/version", verify=sim.ca_path, timeout=10,
                            headers={"Authorization": "PVEAPIToken=%s=%s" % (sim.token_id, sim.token_secret)})
    assert response.json()["data"]["release"] == "9.1"


def test_sigterm_ends_cleanly_and_bad_scenario_is_one_line(tmp_path):
    # simulator command line (CONTRACTS.md), no PVE counterpart
    bad = tmp_path / "bad.json"
    bad.write_text('{"nodes": []}')
    result = subprocess.run([sys.executable, "-m", "simulator", "serve", "--scenario", str(bad), "--port", "0",
                             "--token", "root@pam!x=y"], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "nodes" in result.stderr and len(result.stderr.strip().splitlines()) == 1
    proc = subprocess.Popen([sys.executable, "-m", "simulator", "serve", "--scenario",
                             os.path.join(ROOT, "simulator", "scenarios", "small.json"), "--port", "0",
                             "--token", "root@pam!x=y"], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)
    assert proc.stdout.readline().startswith("ready https://127.0.0.1:")
    proc.terminate()
    assert proc.wait(10) == 0
    assert "Traceback" not in proc.stderr.read()
    proc.stdout.close()
    proc.stderr.close()
