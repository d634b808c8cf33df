"""The cooldown that learns (facts/cooldown.py) and how the planner holds guests with it (facts/history.py)."""

import pytest

from ansible_collections.proxlb.balancer.plugins.module_utils.common.errors import ConfigError
from ansible_collections.proxlb.balancer.plugins.module_utils.facts import cooldown, history

NOW = 1_780_000_000
MIN = 60
H = 3600


def task(vmid, node, start, end, kind="qmigrate", status="OK"):
    entry = {"type": kind, "id": str(vmid), "node": node, "starttime": start, "status": status}
    if end is not None:
        entry["endtime"] = end
    return entry


def snapshot(guests, recent):
    return {"guests": [{"vmid": v, "node": n} for v, n in guests], "recent_migrations": recent}


def test_the_adaptive_form_parses_and_a_bad_one_names_the_key():
    assert cooldown.parse("adaptive") == {"base": 900, "cap": 21600, "window": 86400}
    assert cooldown.parse({"adaptive": True, "base": "10m", "cap": "2h"}) == {"base": 600, "cap": 7200, "window": 86400}
    assert cooldown.is_adaptive("Adaptive") and cooldown.is_adaptive({"adaptive": True})
    assert not cooldown.is_adaptive("30m") and not cooldown.is_adaptive(None) and not cooldown.is_adaptive(1800)
    with pytest.raises(ConfigError, match=r"cooldown.bse: unknown key \(known: adaptive, base, cap, window\)"):
        cooldown.parse({"adaptive": True, "bse": "10m"})
    with pytest.raises(ConfigError, match="cooldown.cap: expected a duration like 15m"):
        cooldown.parse({"adaptive": True, "cap": "soon"})
    with pytest.raises(ConfigError, match="base .* must be above 0 and at most cap"):
        cooldown.parse({"adaptive": True, "base": "7h"})
    with pytest.raises(ConfigError, match="must say adaptive: true"):
        cooldown.parse({"base": "10m"})
    # a mapping without adaptive: true is refused where the plan reads it, in one line
    with pytest.raises(ConfigError, match=r"^cooldown: a mapping must say adaptive: true"):
        history.held_guests({"guests": []}, {"cooldown": {"adaptive": False, "base": "10m"}}, now=NOW)


def test_backoff_is_the_longer_of_15_min_and_the_last_move_doubled_per_repeat_and_capped():
    quick = [{"node": "a", "starttime": NOW - 100, "endtime": NOW - 40}]
    assert cooldown.backoff(quick) == 15 * MIN                              # a 1-minute move: the 15-min floor
    slow = [{"node": "a", "starttime": NOW - 40 * MIN, "endtime": NOW - 10}]
    assert cooldown.backoff(slow) == 40 * MIN - 10                # a 40-min move: its own duration
    twice = quick + [{"node": "b", "starttime": NOW - 30, "endtime": NOW - 20}]
    assert cooldown.backoff(twice) == 30 * MIN                               # second move within 24 h: doubled
    many = [{"node": "ab"[i % 2], "starttime": NOW - 100 + i, "endtime": NOW - 90 + i} for i in range(6)]
    assert cooldown.backoff(many) == 6 * H                                   # 15 min x 32 > 6 h: capped


def test_migrations_keep_successful_and_running_moves_and_count_an_ha_move_once():
    tasks = [
        task(101, "pve1", NOW - 3 * H, NOW - 3 * H + 120),
        task(101, "pve2", NOW - H, NOW - H + 60),
        task(102, "pve1", NOW - 2 * H, NOW - 2 * H + 30, status="migration aborted"),   # failed: not counted
        task(103, "pve3", NOW - 25 * H, NOW - 25 * H + 60),                             # outside 24 h
        task(104, "pve1", NOW - 5 * MIN, None, status="RUNNING"),                       # still running
        task(105, "pve2", NOW - 2 * H, NOW - 2 * H + 5, kind="hamigrate"),
        task(105, "pve2", NOW - 2 * H + 3, NOW - 2 * H + 300),                         # the real one
        task(106, "pve2", NOW - 2 * H, NOW - 2 * H + 5, kind="hamigrate"),              # HA only: counts
    ]
    found = cooldown.migrations(tasks, NOW)
    assert [(e["vmid"], e["node"]) for e in found] == [(101, "pve1"), (106, "pve2"), (105, "pve2"), (101, "pve2"),
                                                       (104, "pve1")]
    assert found[-1]["endtime"] == NOW                                      # running: ends now


def test_a_guest_inside_its_backoff_is_held_and_ping_pong_is_named():
    recent = [{"vmid": 101, "node": "pve1", "starttime": NOW - 50 * MIN, "endtime": NOW - 48 * MIN},
              {"vmid": 101, "node": "pve2", "starttime": NOW - 20 * MIN, "endtime": NOW - 19 * MIN},
              {"vmid": 102, "node": "pve1", "starttime": NOW - 20 * MIN, "endtime": NOW - 19 * MIN},
              {"vmid": 103, "node": "pve1", "starttime": NOW - 3 * H, "endtime": NOW - 3 * H + 60}]
    snap = snapshot([(101, "pve1"), (102, "pve3"), (103, "pve2")], recent)
    held = history.held_guests(snap, {"cooldown": "adaptive"}, now=NOW)
    # 101: twice within 24 h -> 30 min backoff, 19 min ago: held; back where it started: ping-pong
    assert held[101].startswith("cooldown (adaptive): 2 migration(s) within 24h00, the last took 1 min and ended "
                                "19 min ago; backoff 30 min, 11 min left")
    assert held[101].endswith("ping-pong pve1 -> pve2 -> pve1")
    # 102: once, 19 min ago: the 15-min floor is over; 103: 3 h ago: free
    assert 102 not in held and 103 not in held
    # the same history with a fixed 10-minute cooldown holds nobody (the last moves ended 19 min ago)
    assert history.held_guests(snap, {"cooldown": "10m"}, now=NOW) == {}
    assert cooldown.ping_pongs(snap, now=NOW) == [{"vmid": 101, "path": ["pve1", "pve2", "pve1"]}]
    # a move on to a third node is no ping-pong
    assert cooldown.ping_pong([{"node": "a"}, {"node": "b"}], "c") is None


def test_collect_history_reads_the_whole_window_for_the_adaptive_form():
    class Client(object):
        def __init__(self):
            self.asked = []

        def get(self, path, **params):
            self.asked.append((path, params))
            if path == "/nodes/pve1/tasks":
                return [task(101, "pve1", NOW - 30 * MIN, NOW - 29 * MIN)]
            return []
    snap = {"nodes": [{"node": "pve1", "status": "online"}, {"node": "pve2", "status": "online"}],
            "guests": [{"vmid": 101, "node": "pve2", "type": "qemu"}]}
    client = Client()
    history.collect_history(client, snap, cooldown={"adaptive": True}, now=NOW)
    assert snap["recent_migrations"] == [{"vmid": 101, "node": "pve1", "starttime": NOW - 30 * MIN,
                                          "endtime": NOW - 29 * MIN}]
    since = set(p["since"] for _path, p in client.asked)
    assert since == {NOW - 86400 - history.LONGEST_MIGRATION}
