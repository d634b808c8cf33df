"""history: window values from rrddata rows, cooldown from /cluster/tasks, the CRS auto-rebalance hold."""

import pytest

from ansible_collections.proxlb.balancer.plugins.module_utils.facts import history
from ansible_collections.proxlb.balancer.plugins.module_utils.common.errors import ConfigError
from ansible_collections.proxlb.balancer.plugins.module_utils.facts.snapshot import normalize

GIB = 1024 ** 3
NOW = 1760000000


def test_window_average_and_max_skip_missing_sources():
    rows = [{"time": 1, "cpu": 0.2, "memused": 10}, {"time": 2}, {"time": 3, "cpu": 0.6, "memused": 30}]
    assert history.window_value(rows, "cpu", "AVERAGE") == pytest.approx(0.4)
    assert history.window_value(rows, "cpu", "MAX") == 0.6
    assert history.window_value(rows, "pressurecpusome", "MAX") is None
    node = {"cpu": 0.9, "mem": 99}
    assert history.apply_window(node, rows, "AVERAGE", "memused") == {"cpu": pytest.approx(0.4), "mem": 20}
    assert history.check_window("day") == {"timeframe": "day", "cf": "AVERAGE"}
    with pytest.raises(ConfigError, match="window.cf"):
        history.check_window({"cf": "MIN"})


def task(vmid, end=None, status="OK", type_="qmigrate", node="pve1"):
    entry = {"upid": "UPID:x", "node": node, "type": type_, "id": str(vmid), "starttime": (end or NOW) - 30}
    if end is not None:
        entry.update(endtime=end, status=status)
    return entry


def test_recent_migrations_from_cluster_tasks():
    tasks = [task(101, NOW - 600), task(102, NOW - 7200), task(103, NOW - 60, status="migration aborted"),
             task(104), task(105, NOW - 60, type_="qmstart"), task(106, NOW - 100, type_="hamigrate"),
             task(101, NOW - 1000, node="pve2")]
    found = history.recent_migrations(tasks, NOW, 3600)
    assert sorted(found) == [101, 104, 106]
    assert found[101] == ("pve1", NOW - 600)  # the latest migration wins


@pytest.mark.parametrize("text, seconds", [("30m", 1800), ("2h", 7200), ("1d", 86400), (90, 90), (None, 0)])
def test_durations(text, seconds):
    assert history.duration_seconds(text, "cooldown") == seconds


def snapshot(auto_rebalance):
    return normalize({
        "cluster": {"crs": {"ha": "dynamic", "auto_rebalance": auto_rebalance}},
        "nodes": [{"node": "a", "maxcpu": 8, "maxmem": 64 * GIB}],
        "guests": [{"vmid": 100, "type": "qemu", "node": "a", "maxmem": GIB, "hastate": "started"},
                   {"vmid": 101, "type": "qemu", "node": "a", "maxmem": GIB},
                   {"vmid": 102, "type": "lxc", "node": "a", "maxmem": GIB}],
        "ha_resources": [{"sid": "ct:102", "state": "started"}],
        "recent_migrations": [{"vmid": 101, "node": "b", "endtime": NOW - 600}]})


def test_cooldown_and_ha_hold():
    held = history.held_guests(snapshot(True), {"cooldown": "1h"}, now=NOW)
    assert sorted(held) == [100, 101, 102]
    assert held[101].startswith("cooldown")
    assert "auto-rebalance" in held[100]
    assert history.held_guests(snapshot(False), {"cooldown": "5m"}, now=NOW) == {}
    assert sorted(history.held_guests(snapshot(True), {"ha_guests": "include", "cooldown": "1h"}, now=NOW)) == [101]
    with pytest.raises(ConfigError, match="ha_guests"):
        history.held_guests(snapshot(True), {"ha_guests": "maybe"})


def test_collect_history_against_the_simulator(simulator):
    from ansible_collections.proxlb.balancer.plugins.module_utils.connect.client import ProxmoxClient
    from ansible_collections.proxlb.balancer.plugins.module_utils.facts.collect import collect_snapshot
    sim = simulator("small.json", clock=0)   # stopped time: the migration ends when the test says so
    client = ProxmoxClient(dict(api_host=[sim.api_host], api_port=8006, api_user=sim.user,
                                api_token_id=sim.token_name, api_token_secret=sim.token_secret,
                                validate_certs=True, ca_path=sim.ca_path, api_timeout=10, api_retries=1,
                                api_wait_time=0, api_password=None)).connect()
    snap, _w = collect_snapshot(client)
    vmid = next(g["vmid"] for g in snap["guests"] if g["node"] == "pve1" and g["status"] == "running"
                and not g["local_resources"])
    upid = sim.proxmox().nodes("pve1").qemu(vmid).migrate.post(target="pve2", online=1)
    assert upid.startswith("UPID:")
    sim.admin("POST", "/clock", seconds=300)   # far longer than any migration of small.json takes
    status = sim.proxmox().nodes("pve1").tasks(upid).status.get()
    assert (status["status"], status.get("exitstatus")) == ("stopped", "OK"), status
    history.collect_history(client, snap, cooldown="1h")
    assert [e["vmid"] for e in snap["recent_migrations"]] == [vmid]
    assert vmid in history.held_guests(snap, {"cooldown": "1h"})
