"""Balancing windows and blackouts (common/windows.py), the plan's age (common/clock.py) and their option
checks (common/config.py)."""

import calendar
import datetime

import pytest

from ansible_collections.proxlb.balancer.plugins.module_utils.common import clock, config, windows
from ansible_collections.proxlb.balancer.plugins.module_utils.common.errors import ConfigError, PlanError


def at(text, tz="UTC"):
    """Epoch seconds of a local wall time 'YYYY-MM-DD HH:MM' in ``tz``."""
    from zoneinfo import ZoneInfo
    naive = datetime.datetime.strptime(text, "%Y-%m-%d %H:%M")
    return naive.replace(tzinfo=ZoneInfo(tz)).timestamp()


# 2026-06-01 is a Monday
NIGHTS = windows.Schedule(["mon-fri 22:00-06:00"], [], "UTC")


@pytest.mark.parametrize("when, expected", [
    ("2026-06-01 21:59", False),   # Monday, before the window
    ("2026-06-01 22:00", True),    # Monday, it opens
    ("2026-06-02 03:00", True),    # Tuesday 03:00 belongs to Monday's window (past midnight)
    ("2026-06-02 06:00", False),   # the end is not inside
    ("2026-06-06 03:00", True),    # Saturday 03:00 is Friday night's window
    ("2026-06-06 22:30", False),   # Saturday night: no window starts on Saturday
    ("2026-06-01 03:00", False),   # Monday 03:00 would be Sunday night's: Sunday is not listed
])
def test_a_window_past_midnight_belongs_to_the_day_it_starts(when, expected):
    ok, reason = NIGHTS.allowed(at(when))
    assert ok is expected, reason
    if not ok:
        assert "outside the balancing windows 'mon-fri 22:00-06:00'" in reason


def test_a_blackout_wins_over_a_window_and_says_which_and_when_moves_resume():
    schedule = windows.Schedule(["* 00:00-24:00"], ["sat,sun 01:00-05:00", "wed 12:00-13:00"], "UTC")
    ok, reason = schedule.allowed(at("2026-06-06 02:00"))   # Saturday
    assert not ok
    assert reason.startswith("blackout 'sat,sun 01:00-05:00' (now Sat 02:00 UTC; moves may run Sat 05:00 UTC")
    assert schedule.allowed(at("2026-06-06 05:00"))[0]
    assert not schedule.allowed(at("2026-06-03 12:30"))[0]
    assert schedule.allowed(at("2026-06-04 12:30"))[0]      # Thursday: no blackout


def test_without_windows_only_blackouts_hold_moves_back():
    schedule = windows.Schedule([], ["mon-fri 08:00-18:00"], "UTC")
    assert schedule.allowed(at("2026-06-01 07:59"))[0]
    assert not schedule.allowed(at("2026-06-01 08:00"))[0]
    assert schedule.allowed(at("2026-06-06 12:00"))[0]      # the weekend is open
    assert windows.Schedule.from_balancing({"windows": [], "blackouts": []}) is None


def test_closes_at_is_the_next_window_end_or_blackout_start():
    assert NIGHTS.closes_at(at("2026-06-01 23:00")) == at("2026-06-02 06:00")
    assert NIGHTS.closes_at(at("2026-06-01 12:00")) == at("2026-06-01 12:00")   # closed now: now
    assert NIGHTS.opens_at(at("2026-06-01 12:00")) == at("2026-06-01 22:00")
    # a blackout starting inside the window cuts it short
    cut = windows.Schedule(["mon-fri 22:00-06:00"], ["* 02:00-03:00"], "UTC")
    assert cut.closes_at(at("2026-06-01 23:00")) == at("2026-06-02 02:00")
    # two windows back to back are one open stretch
    joined = windows.Schedule(["mon 20:00-22:00", "mon 22:00-23:00"], [], "UTC")
    assert joined.closes_at(at("2026-06-01 20:30")) == at("2026-06-01 23:00")
    # nothing ever closes: None
    assert windows.Schedule([], ["sat 01:00-02:00"], "UTC").closes_at(at("2026-06-01 12:00")) == at("2026-06-06 01:00")
    assert windows.Schedule(["* 00:00-24:00"], [], "UTC").closes_at(at("2026-06-01 12:00")) is None


def test_times_are_local_to_the_time_zone_across_daylight_saving():
    berlin = windows.Schedule(["* 22:00-06:00"], [], "Europe/Berlin")
    # 21:30 UTC is 23:30 in Berlin in summer (CEST) and 22:30 in winter (CET): inside both times
    assert berlin.allowed(at("2026-07-01 21:30"))[0]
    assert berlin.allowed(at("2026-01-14 21:30"))[0]
    # 20:30 UTC is 22:30 in summer (inside) but 21:30 in winter (outside)
    assert berlin.allowed(at("2026-07-01 20:30"))[0]
    assert not berlin.allowed(at("2026-01-14 20:30"))[0]
    # the night the clocks go back (25 October 2026): the window still ends at 06:00 local time
    assert berlin.closes_at(at("2026-10-24 23:00", "Europe/Berlin")) == at("2026-10-25 06:00", "Europe/Berlin")
    assert "Europe/Berlin" in berlin.allowed(at("2026-01-14 12:00"))[1]


@pytest.mark.parametrize("entry, message", [
    ("mon-fry 22:00-06:00", "balancing.windows[0]: 'mon-fry 22:00-06:00': unknown day 'fry'"),
    ("mon-fri 22:00", "balancing.windows[0]: 'mon-fri 22:00': expected \"DAYS HH:MM-HH:MM\""),
    ("mon 25:00-26:00", "25:00 is not a time of day"),
    ("mon 10:60-11:00", "10:60 is not a time of day"),
    ("mon 24:00-06:00", "24:00 is not a time of day (00:00 to 23:59)"),
    ("mon 10:00-10:00", "start and end are the same time; for a whole day write 00:00-24:00"),
    ("sat,,sun 01:00-02:00", "an empty day"),
    (42, "expected \"DAYS HH:MM-HH:MM\""),
])
def test_a_bad_entry_is_one_clear_error_naming_it(entry, message):
    with pytest.raises(ConfigError) as err:
        config.validate_behaviour({"balancing": {"windows": ["* 01:00-02:00", entry][1:]}})
    assert message in str(err.value)
    assert "\n" not in str(err.value)


def test_config_fills_and_checks_the_time_options():
    options, _warnings = config.validate_behaviour({"balancing": {
        "windows": "mon-fri  22:00-06:00", "blackouts": ["Saturday-Sunday 00:00-24:00"], "timezone": "Europe/Berlin"}})
    assert options["balancing"]["windows"] == ["mon-fri 22:00-06:00"]
    assert options["balancing"]["blackouts"] == ["Saturday-Sunday 00:00-24:00"]
    assert options["balancing"]["timezone"] == "Europe/Berlin"
    defaults = config.behaviour({})["balancing"]
    assert defaults["windows"] == [] and defaults["blackouts"] == [] and defaults["timezone"] is None
    with pytest.raises(ConfigError, match=r"balancing.timezone: unknown time zone 'Mars/Olympus'"):
        config.validate_behaviour({"balancing": {"timezone": "Mars/Olympus"}})
    # a range that wraps the week
    schedule = windows.Schedule(["fri-mon 10:00-11:00"], [], "UTC")
    assert [schedule.allowed(at("2026-06-%02d 10:30" % d))[0] for d in range(1, 8)] == [
        True, False, False, False, True, True, True]


def test_the_injected_clock_is_what_now_means():
    with clock.use(lambda: at("2026-06-01 23:00")):
        assert windows.closed_reason({"windows": ["mon-fri 22:00-06:00"], "timezone": "UTC"}) is None
    with clock.use(lambda: at("2026-06-01 12:00")):
        assert "outside the balancing windows" in windows.closed_reason(
            {"windows": ["mon-fri 22:00-06:00"], "timezone": "UTC"})
    assert windows.closed_reason({"windows": [], "blackouts": []}) is None


def test_a_plan_older_than_its_ttl_is_refused_in_one_line():
    created = "2026-06-01T10:00:00Z"
    start = calendar.timegm((2026, 6, 1, 10, 0, 0))
    plan = {"created": created}
    assert clock.check_plan_age(plan, 86400, at=start + 86400) == 86400      # a day old: still valid
    with pytest.raises(PlanError) as err:
        clock.check_plan_age(plan, 86400, at=start + 86401)
    assert str(err.value).startswith("plan expired, nothing was migrated: created 2026-06-01T10:00:00Z")
    assert "plan_ttl is 24 h (86400 s)" in str(err.value)
    assert clock.check_plan_age(plan, 0, at=start + 10 ** 8) is None          # 0: never expires
    assert clock.check_plan_age({}, 60, at=start) is None                     # no created: no age to judge
    with pytest.raises(PlanError, match="plan.created: 'yesterday' is not an ISO 8601 UTC time"):
        clock.check_plan_age({"created": "yesterday"}, 60)
    with pytest.raises(PlanError, match="plan_ttl: expected seconds >= 0"):
        clock.check_plan_age(plan, -1)
    with pytest.raises(ConfigError, match="plan_ttl: must be at least 0"):
        config.check_run_options({"plan_ttl": -5})


def test_windows_govern_balancing_not_a_maintenance_drain_or_return():
    from ansible_collections.proxlb.balancer.plugins.module_utils.plan.planner import plan
    assert windows.governs({"mode": "balance"}) and windows.governs({"mode": "enforce"}) and windows.governs(None)
    assert not windows.governs({"mode": "evacuate", "evacuate_nodes": ["pve1"]})
    assert not windows.governs({"proxmox_cluster": {}, "balancing": {}})      # proxlb_maintenance's return plan
    gib = 1024 ** 3
    snapshot = {"schema": "proxlb.balancer/snapshot/1", "cluster": {"name": "t"},
                "nodes": [{"node": n, "status": "online", "maxcpu": 8, "cpu": 0.1, "maxmem": 64 * gib, "mem": 8 * gib,
                           "maxdisk": 0, "disk": 0} for n in ("pve1", "pve2")],
                "guests": [{"vmid": 101, "type": "qemu", "name": "a", "node": "pve1", "status": "running", "maxcpu": 2,
                            "cpu": 0.1, "maxmem": 4 * gib, "mem": 4 * gib, "maxdisk": 0, "disk": 0}]}
    always = {"blackouts": ["* 00:00-24:00"], "timezone": "UTC"}
    held = plan(snapshot, {"mode": "enforce", "evacuate_nodes": [], "balancing": always,
                           "proxmox_cluster": {"maintenance_nodes": ["pve1"]}})
    assert held["moves"] == [] and held["schedule"]["allowed"] is False
    # the compliance run waits for the blackout too: the guest stays on the maintenance node for now
    assert held["warnings"][-1].startswith("no moves: blackout") and held["metrics"]["after"]["on_drain_nodes"] == 1
    drained = plan(snapshot, {"mode": "evacuate", "evacuate_nodes": ["pve1"], "balancing": always})
    assert [m["vmid"] for m in drained["moves"]] == [101] and "schedule" not in drained
    with clock.use(lambda: at("2026-06-01 12:00")):
        assert windows.executor_stop(always, 3, [], {"options": {"mode": "evacuate"}}) is None
        warnings = []
        assert windows.executor_stop(always, 3, warnings, {"moves": []}).startswith("blackout '* 00:00-24:00'")
        assert warnings == ["no more moves started: blackout '* 00:00-24:00' (now Mon 12:00 UTC); 3 planned move(s) "
                            "left for a later run"]
