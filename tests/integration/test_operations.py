"""Living with a cluster over weeks (issue 20), on the simulator's clock: balancing windows and blackouts, the
adaptive cooldown with ping-pong, plans that expire, plb_manual recommendations and PVE's imbalance.

Time is the simulator's: it is started with ``clock=0`` (time stands still) at a known weekday, the engine's
wall clock is pointed at it (``common/clock.use``), and tests advance it through ``/_sim/clock``; nothing
depends on how fast the machine runs."""

import calendar

import pytest

from ansible_collections.proxlb.balancer.plugins.module_utils.common import clock
from ansible_collections.proxlb.balancer.plugins.module_utils.common.errors import PlanError
from ansible_collections.proxlb.balancer.plugins.module_utils.entry import runner
from ansible_collections.proxlb.balancer.plugins.module_utils.entry.migrate import run_migrate

from helpers import connection, make_plan, migrations, placements, scenario, statuses
from helpers import params as sim_params


def params(sim, **extra):
    """run_migrate parameters; the poll interval is real time while the simulator's clock stands still."""
    return sim_params(sim, **dict({"poll_interval": 0.5}, **extra))

THREE = [("pve1", "9.1.2", 64), ("pve2", "9.1.2", 64), ("pve3", "9.1.2", 64)]
# Wednesday 3 June 2026, 05:58:00 UTC: two minutes before a night window closes
WED_0558 = calendar.timegm((2026, 6, 3, 5, 58, 0))
# Saturday 6 June 2026, 02:00 UTC: inside a weekend backup blackout
SAT_0200 = calendar.timegm((2026, 6, 6, 2, 0, 0))
NIGHTS = {"windows": ["mon-fri 22:00-06:00"], "timezone": "UTC"}


@pytest.fixture
def sim_clock():
    """Start a simulator on a stopped clock and make it the engine's clock: ``sim_clock(scenario)``."""
    started = []

    def start(simulator, doc):
        sim = simulator(doc, clock=0)
        clock.set_clock(lambda: float(sim.admin("GET", "/clock")["now"]))
        started.append(sim)
        return sim
    yield start
    clock.set_clock(None)


def advance(sim, seconds):
    return sim.admin("POST", "/clock", seconds=seconds)["now"]


def test_a_window_closing_mid_run_stops_new_moves_and_the_run_reports_what_is_left(simulator, sim_clock):
    sim = sim_clock(simulator, scenario(THREE, [(101, "qemu", "pve1", "running", 2), (102, "qemu", "pve1", "running", 2),
                                                (103, "qemu", "pve1", "running", 2), (104, "qemu", "pve2", "running", 2)],
                                        start_time=WED_0558))
    plan = make_plan((1, 101, "pve1", "pve2"), (1, 102, "pve1", "pve3"), (1, 103, "pve1", "pve3"),
                     (1, 104, "pve2", "pve3"))
    lines = []

    def progress(line):
        lines.append(line)
        if line.startswith("101 ") and ": started" in line:
            advance(sim, 30)      # 101 runs from 05:58:00 and ends inside the window
        elif line.startswith("102 ") and ": started" in line:
            advance(sim, 300)     # 102 started at 05:58:30 and runs past 06:00, when the window closes

    result = run_migrate(params(sim, plan=plan, balancing=NIGHTS), environ={}, progress=progress)
    got = dict((r["vmid"], r) for r in result["results"]["results"])
    assert got[101]["status"] == "done" and got[102]["status"] == "done", (got, lines)   # what ran, finished
    for vmid in (103, 104):
        assert got[vmid]["status"] == "skipped", got
        assert got[vmid]["error"].startswith("not started: outside the balancing windows 'mon-fri 22:00-06:00' "
                                             "(now Wed 06:03 UTC; next opens Wed 22:00 UTC)"), got[vmid]
    assert any("2 planned move(s) left for a later run" in w for w in result["warnings"]), result["warnings"]
    assert [t["vmid"] for t in migrations(sim)] == [101, 102]
    assert placements(sim) == {101: "pve2", 102: "pve3", 103: "pve1", 104: "pve2"}
    # the next night the rest runs: 22:00 is inside the window again
    advance(sim, (22 - 6) * 3600)
    rest = run_migrate(params(sim, plan=make_plan((1, 103, "pve1", "pve3"), (1, 104, "pve2", "pve3")),
                              balancing=NIGHTS), environ={},
                       progress=lambda line: ": started" in line and advance(sim, 30))
    assert statuses(rest) == {103: "done", 104: "done"}


def test_a_blackout_yields_a_plan_with_zero_moves_and_the_reason(simulator, sim_clock):
    sim = sim_clock(simulator, scenario(THREE, [(101, "qemu", "pve1", "running", 20), (102, "qemu", "pve1", "running", 16),
                                                (103, "qemu", "pve1", "running", 8)], start_time=SAT_0200))
    balancing = {"balanciness": 5, "blackouts": ["sat,sun 01:00-05:00"], "timezone": "UTC"}
    held = runner.run_plan(connection(sim, balancing=balancing), environ={})["plan"]
    assert held["moves"] == [] and held["metrics"]["after"]["moves"] == 0
    assert held["schedule"]["allowed"] is False
    assert held["schedule"]["reason"] == ("blackout 'sat,sun 01:00-05:00' (now Sat 02:00 UTC; moves may run "
                                          "Sat 05:00 UTC)")
    assert held["schedule"]["opens_at"] == "2026-06-06T05:00:00Z"
    assert "no moves: blackout 'sat,sun 01:00-05:00'" in held["warnings"][-1]
    assert held["nodes_after"] == held["nodes_before"]
    assert held["metrics"]["before"]["weighted_spread"] > 5          # it is unbalanced: only the blackout holds it
    # and a migrate run in the blackout starts nothing, whatever plan it is given
    refused = run_migrate(params(sim, plan=make_plan((1, 101, "pve1", "pve2")), balancing=balancing), environ={})
    assert statuses(refused) == {101: "skipped"} and migrations(sim) == []
    # at 05:00 the blackout is over: the same cluster gets its moves
    advance(sim, 3 * 3600)
    free = runner.run_plan(connection(sim, balancing=balancing), environ={})["plan"]
    assert free["schedule"]["allowed"] is True and len(free["moves"]) >= 1
    assert free["schedule"]["closes_at"] == "2026-06-07T01:00:00Z"


def test_adaptive_cooldown_blocks_a_second_move_within_the_backoff_and_reports_ping_pong(simulator, sim_clock):
    sim = sim_clock(simulator, scenario(THREE, [(101, "qemu", "pve1", "running", 8), (102, "qemu", "pve1", "running", 8),
                                                (103, "qemu", "pve1", "running", 8), (104, "qemu", "pve1", "running", 4)],
                                        start_time=WED_0558))

    def moved(vmid, source, target):
        result = run_migrate(params(sim, plan=make_plan((1, vmid, source, target))), environ={},
                             progress=lambda line: ": started" in line and advance(sim, 60))
        assert statuses(result) == {vmid: "done"}

    moved(101, "pve1", "pve2")
    advance(sim, 5 * 60)
    options = connection(sim, balancing={"balanciness": 5}, cooldown="adaptive")
    first = runner.run_plan(options, environ={})["plan"]
    skipped = dict((s["vmid"], s["reason"]) for s in first["skipped"])
    assert 101 not in [m["vmid"] for m in first["moves"]]
    # one move within 24 h: the 15-minute floor (the move took about a minute); 5 minutes ago
    assert skipped[101].startswith("cooldown (adaptive): 1 migration(s) within 24h00"), skipped
    assert "backoff 15 min" in skipped[101] and "ping-pong" not in skipped[101]

    moved(101, "pve2", "pve1")      # and back: pve1 -> pve2 -> pve1
    advance(sim, 20 * 60)
    second = runner.run_plan(options, environ={})["plan"]
    skipped = dict((s["vmid"], s["reason"]) for s in second["skipped"])
    # two moves within 24 h: 30 minutes, 20 of them gone; a fixed 15-minute cooldown would have let it go
    assert "2 migration(s) within 24h00" in skipped[101] and "backoff 30 min" in skipped[101], skipped
    assert skipped[101].endswith("ping-pong pve1 -> pve2 -> pve1")
    assert second["ping_pong"] == [{"vmid": 101, "path": ["pve1", "pve2", "pve1"]}]
    assert any(w.startswith("ping-pong: guest 101 went pve1 -> pve2 -> pve1 within 24 h") for w in second["warnings"])
    assert 101 not in [m["vmid"] for m in second["moves"]]
    fixed = runner.run_plan(connection(sim, balancing={"balanciness": 5}, cooldown="15m"), environ={})["plan"]
    assert 101 not in [s["vmid"] for s in fixed["skipped"]]
    # once the backoff is over the guest is free again
    advance(sim, 11 * 60)
    later = runner.run_plan(options, environ={})["plan"]
    assert 101 not in [s["vmid"] for s in later["skipped"]]


def test_an_expired_plan_is_refused_before_anything_moves(simulator, sim_clock):
    sim = sim_clock(simulator, scenario(THREE, [(101, "qemu", "pve1", "running", 20), (102, "qemu", "pve1", "running", 16)],
                                        start_time=WED_0558))
    plan = runner.run_plan(connection(sim, balancing={"balanciness": 5}), environ={})["plan"]
    assert plan["created"] == "2026-06-03T05:58:00Z" and plan["moves"]
    advance(sim, 86400 + 60)
    with pytest.raises(PlanError) as err:
        run_migrate(params(sim, plan=plan), environ={})
    assert str(err.value) == ("plan expired, nothing was migrated: created 2026-06-03T05:58:00Z, 24 h ago, plan_ttl "
                              "is 24 h (86400 s); plan again or raise plan_ttl")
    assert migrations(sim) == []
    # a longer time to live (or 0, never) carries the same plan out
    result = run_migrate(params(sim, plan=plan, plan_ttl=0), environ={},
                         progress=lambda line: ": started" in line and advance(sim, 60))
    assert set(statuses(result).values()) == {"done"}


def test_plb_manual_guests_are_recommended_not_moved_and_pve_imbalance_is_reported(simulator, sim_clock):
    doc = scenario(THREE, [(101, "qemu", "pve1", "running", 16), (102, "qemu", "pve1", "running", 16),
                           (103, "qemu", "pve2", "running", 4), (104, "qemu", "pve3", "running", 4)],
                   start_time=WED_0558)
    doc["guests"][0]["tags"] = ["plb_manual"]
    doc["guests"][1]["tags"] = ["plb_manual"]
    sim = sim_clock(simulator, doc)
    plan = runner.run_plan(connection(sim, balancing={"balanciness": 5}), environ={})["plan"]
    skipped = dict((s["vmid"], s["reason"]) for s in plan["skipped"])
    for vmid in (101, 102):
        assert vmid not in [m["vmid"] for m in plan["moves"]]
        assert skipped[vmid] == "manual (tag plb_manual): moves are recommended, not made"
    # pve1 holds both at 51 %, the others 8 %: moving one of them is what would help, so it is recommended
    assert plan["recommended"], plan
    first = plan["recommended"][0]
    assert first["vmid"] in (101, 102) and first["source"] == "pve1" and first["target"] in ("pve2", "pve3")
    assert first["reason"].startswith("plb_manual, recommended: balance")
    before, after = plan["metrics"]["before"]["pve_imbalance"], plan["metrics"]["after"]["pve_imbalance"]
    assert 0 < after <= before < 1
    # the executor carries out moves only: a plan with nothing but a recommendation moves nothing
    result = run_migrate(params(sim, plan=dict(plan, moves=[])), environ={})
    assert result["changed"] is False and migrations(sim) == []
    assert placements(sim)[101] == "pve1"


@pytest.mark.parametrize("loads, expected", [
    ([0.5, 0.5, 0.5], 0.0),            # even
    ([0.9, 0.0, 0.0], 1.0),            # all load on one node: the upper bound
    ([0.6, 0.2], 0.5),                 # mean 0.4, sd 0.2, cv 0.5, sqrt(2 - 1) = 1
    ([0.3], 0.0), ([0.0, 0.0], 0.0),   # one node, no load: 0, as PVE answers
])
def test_pve_imbalance_is_the_normalised_coefficient_of_variation(loads, expected):
    from ansible_collections.proxlb.balancer.plugins.module_utils.plan.operations import pve_imbalance, table_imbalance
    assert abs(pve_imbalance(loads) - expected) < 1e-9
    # from a node table: (cpu + mem) / 2 per node, offline nodes left out
    table = {"a": {"mem_pct": 80.0, "cpu_pct": 40.0, "status": "online"},
             "b": {"mem_pct": 20.0, "cpu_pct": 20.0, "status": "online"},
             "c": {"mem_pct": 0.0, "cpu_pct": 0.0, "status": "offline"}}
    assert table_imbalance(table) == 0.5
