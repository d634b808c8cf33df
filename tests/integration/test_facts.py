"""proxlb_facts end to end: proxmoxer over HTTPS to the simulator, in-process and through ansible-playbook."""

import json
import socket

import pytest

from ansible_collections.proxlb.balancer.plugins.module_utils.entry import runner
from ansible_collections.proxlb.balancer.plugins.module_utils.facts import snapshot as snapshot_schema
from ansible_collections.proxlb.balancer.plugins.module_utils.common.errors import ApiError, AuthError

from ansible_run import run_playbook, save_task, saved, sim_env

SCENARIOS = __import__("pathlib").Path(__file__).resolve().parents[2] / "simulator" / "scenarios"
COMPARED_NODE_FIELDS = ("status", "maxcpu", "maxmem", "mem", "maxdisk", "disk", "pve_version")
COMPARED_GUEST_FIELDS = ("type", "name", "node", "status", "template", "tags", "pool", "maxcpu", "maxmem",
                         "mem", "lock")


def params(sim, **extra):
    base = dict(api_host=[sim.api_host], api_user=sim.user, api_token_id=sim.token_id.split("!", 1)[1],
                api_token_secret=sim.token_secret, ca_path=sim.ca_path)
    base.update(extra)
    return base


def closed_port():
    """A local port nobody listens on: the first API host that refuses connections."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    return port


@pytest.mark.parametrize("scenario", ["small.json", "demo.json"])
def test_facts_match_the_scenario_field_by_field(simulator, scenario):
    sim = simulator(scenario)
    expected = snapshot_schema.load(str(SCENARIOS / scenario))
    result = runner.run_facts(params(sim), environ={})
    got = result["snapshot"]
    assert got["fingerprint"] == expected["fingerprint"]
    exp_nodes, exp_guests = snapshot_schema.index(expected)
    got_nodes, got_guests = snapshot_schema.index(got)
    assert sorted(got_nodes) == sorted(exp_nodes)
    assert sorted(got_guests) == sorted(exp_guests)
    for name, node in exp_nodes.items():
        for field in COMPARED_NODE_FIELDS:
            assert got_nodes[name][field] == node[field], (name, field)
    for vmid, guest in exp_guests.items():
        for field in COMPARED_GUEST_FIELDS:
            assert got_guests[vmid][field] == guest[field], (vmid, field)
    assert sorted(p["poolid"] for p in got["pools"]) == sorted(p["poolid"] for p in expected["pools"])
    summary = result["nodes"]
    for name, node in exp_nodes.items():
        assert summary[name]["guests"] == sum(1 for g in expected["guests"] if g["node"] == name)
    assert result["changed"] is False


def test_guest_config_fills_local_disks_and_devices(simulator):
    sim = simulator("demo.json")
    expected = snapshot_schema.load(str(SCENARIOS / "demo.json"))
    got = runner.run_facts(params(sim, guest_config=True), environ={})["snapshot"]
    _, exp_guests = snapshot_schema.index(expected)
    _, got_guests = snapshot_schema.index(got)
    for vmid, guest in exp_guests.items():
        assert sorted(d["volume"] for d in got_guests[vmid]["local_disks"]) == \
            sorted(d["volume"] for d in guest["local_disks"]), vmid
        assert sorted(got_guests[vmid]["local_resources"]) == sorted(guest["local_resources"]), vmid


def test_calls_grow_with_nodes_not_guests(simulator, tmp_path):
    from simulator.generate import generate
    nodes = 64
    scenario = generate(nodes, 8000, seed=7, pve="9.1")
    sim = simulator(scenario)
    sim.admin("POST", "/requests/reset")
    result = runner.run_facts(params(sim), environ={})
    counted = sim.admin("GET", "/requests")
    assert len(result["snapshot"]["guests"]) == 8000
    online = sum(1 for n in result["snapshot"]["nodes"] if n["status"] == "online")
    assert counted["total"] <= 2 * nodes + 10, counted
    assert counted["total"] <= online + 10
    assert result["api_calls"] == counted["total"]


def test_first_host_refusing_connections_fails_over(simulator):
    sim = simulator("small.json")
    dead = "127.0.0.1:%d" % closed_port()
    result = runner.run_facts(params(sim, api_host=[dead, sim.api_host]), environ={})
    assert result["api_host_used"] == sim.api_host
    assert any(dead in w and "did not answer" in w for w in result["warnings"])


def test_ipv6_host_with_port(simulator):
    sim = simulator("small.json", bind="::1")
    result = runner.run_facts(params(sim, api_host=["[::1]:%d" % sim.port]), environ={})
    assert result["api_host_used"] == "[::1]:%d" % sim.port


def test_all_hosts_down_is_one_clear_error():
    with pytest.raises(ApiError) as err:
        runner.run_facts(dict(api_host=["127.0.0.1:%d" % closed_port()], api_user="root@pam",
                              api_token_id="x", api_token_secret="y"), environ={})
    assert "no Proxmox VE API host reachable" in str(err.value)
    assert "connection refused" in str(err.value)


def test_bad_token_is_refused_without_echoing_the_secret(simulator):
    sim = simulator("small.json")
    with pytest.raises(AuthError) as err:
        runner.run_facts(params(sim, api_token_secret="wrong-secret-123"), environ={})
    assert "authentication failed" in str(err.value)
    assert "wrong-secret-123" not in str(err.value)


def test_password_login_and_certificate_checks(simulator):
    sim = simulator("small.json")
    login = dict(api_host=[sim.api_host], api_user=sim.user, api_password=sim.password)
    assert runner.run_facts(dict(login, ca_path=sim.ca_path), environ={})["snapshot"]["nodes"]
    with pytest.raises(ApiError, match="certificate verify failed"):
        runner.run_facts(login, environ={})  # the simulator's CA is not in the system store
    assert runner.run_facts(dict(login, validate_certs=False), environ={})["snapshot"]["nodes"]


def test_playbook_reads_facts_and_never_shows_the_secret(simulator, tmp_path):
    sim = simulator("demo.json")
    snapshot_file = tmp_path / "snap.json"
    env = sim_env(sim)
    proc = run_playbook(tmp_path, """
        - name: Read the cluster
          proxlb.balancer.proxlb_facts:
            snapshot_file: %s
          register: cluster
        """ % snapshot_file + save_task("cluster", tmp_path / "out.json"), env, "-vvv")
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    cluster = saved(tmp_path / "out.json")
    assert cluster["changed"] is False
    assert len(cluster["snapshot"]["guests"]) == len(json.loads(snapshot_file.read_text())["guests"])
    assert sim.token_secret not in proc.stdout + proc.stderr
    assert sim.token_secret not in snapshot_file.read_text()


def test_playbook_bad_token_one_line_no_traceback(simulator, tmp_path):
    sim = simulator("small.json")
    env = sim_env(sim, PROXMOX_TOKEN_SECRET="not-the-secret-0000")
    proc = run_playbook(tmp_path, """
        - name: Read the cluster
          proxlb.balancer.proxlb_facts:
        """, env, "-vvv")
    assert proc.returncode != 0
    out = proc.stdout + proc.stderr
    assert "authentication failed" in out
    assert "Traceback" not in out
    assert "not-the-secret-0000" not in out
