"""Issue 14, "execution you can trust", against the simulator: each case reads the cluster back over the API
afterwards (every guest exactly once, no lock and no lease left, the reported result equal to what the
simulator's task log says happened).

Time: the simulator's clock is stopped (clock=0) wherever a migration must still be running when something
else happens; it is moved on through /_sim/clock, so no test depends on how fast the machine is."""

import json
import threading

import pytest

from ansible_collections.proxlb.balancer.plugins.module_utils.common.errors import ApiError, LockHeld
from ansible_collections.proxlb.balancer.plugins.module_utils.connect.client import ProxmoxClient
from ansible_collections.proxlb.balancer.plugins.module_utils.entry.maintenance import run_maintenance, write_marker
from ansible_collections.proxlb.balancer.plugins.module_utils.migrate import lease as lease_mod
from ansible_collections.proxlb.balancer.plugins.module_utils.entry.migrate import run_migrate

from helpers import connection, make_plan, migrations, placements, scenario, statuses, wait_until

THREE = [("pve1", "9.1.2", 64), ("pve2", "9.1.2", 64), ("pve3", "9.1.2", 64)]
POLL = 0.5   # the smallest poll_interval the modules accept


def params(sim, **extra):
    return connection(sim, **dict({"poll_interval": POLL}, **extra))


def notes(sim):
    return sim.proxmox().cluster.options.get().get("description", "") or ""


def set_notes(sim, text):
    sim.proxmox().cluster.options.put(description=text)


def assert_clean(sim, guests):
    """Every guest exactly once, none locked, no lease line left in the datacenter notes."""
    listed = sim.proxmox().cluster.resources.get(type="vm")
    vmids = [g["vmid"] for g in listed]
    assert sorted(vmids) == sorted(guests) and len(vmids) == len(set(vmids)), vmids
    assert not [g for g in listed if g.get("lock")], [g for g in listed if g.get("lock")]
    assert lease_mod.PREFIX not in notes(sim), notes(sim)


def tasks_of(sim, vmid):
    return [t for t in migrations(sim) if t["vmid"] == vmid]


class Ticker(object):
    """Moves the simulator's clock on in the background (time runs again for a stopped simulator)."""

    def __init__(self, sim, seconds=2.0, autostart=True):
        self.sim, self.seconds, self.stop, self.autostart = sim, seconds, threading.Event(), autostart
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        while not self.stop.wait(0.05):
            self.sim.admin("POST", "/clock", seconds=self.seconds)

    def start(self):
        if not self.thread.is_alive() and not self.stop.is_set():
            self.thread.start()

    def __enter__(self):
        if self.autostart:
            self.start()
        return self

    def __exit__(self, *exc):
        self.stop.set()
        if self.thread.is_alive():
            self.thread.join()


# ---------------------------------------------------------------------- fail closed
@pytest.mark.parametrize("path,words", [("/cluster/options", "maintenance marker"),
                                        ("/cluster/ha/rules", "HA rules")])
def test_an_unreadable_rule_input_stops_the_run_before_any_move(simulator, path, words):
    guests = [(101, "qemu", "pve1", "running", 2)]
    sim = simulator(scenario(THREE, guests))
    sim.admin("POST", "/faults", http_status=500, count=50, path="GET " + path, message="broken backend")
    with pytest.raises(ApiError) as err:
        run_migrate(params(sim, plan=make_plan((1, 101, "pve1", "pve2"))), environ={})
    message = str(err.value)
    assert "before any move" in message and "broken backend" in message and "\n" not in message
    assert words in message or "lease" in message
    sim.admin("DELETE", "/faults")
    assert migrations(sim) == [] and placements(sim) == {101: "pve1"}
    assert_clean(sim, [101])


def test_a_transient_5xx_on_the_rule_inputs_is_retried(simulator):
    sim = simulator(scenario(THREE, [(101, "qemu", "pve1", "running", 2)]))
    sim.admin("POST", "/faults", http_status=503, count=2, path="GET /cluster/ha/rules")
    sim.admin("POST", "/faults", http_status=503, count=2, path="GET /cluster/options")
    result = run_migrate(params(sim, plan=make_plan((1, 101, "pve1", "pve2"))), environ={})
    assert statuses(result) == {101: "done"} and placements(sim) == {101: "pve2"}
    assert_clean(sim, [101])


def test_a_node_marked_after_planning_receives_nothing(simulator):
    sim = simulator(scenario(THREE, [(101, "qemu", "pve1", "running", 2), (102, "qemu", "pve1", "running", 2)]))
    plan = make_plan((1, 101, "pve1", "pve2"), (1, 102, "pve1", "pve3"))
    set_notes(sim, "ops notes\nproxlb.balancer maintenance: pve2")   # marked after the plan was made
    result = run_migrate(params(sim, plan=plan), environ={})
    got = dict((r["vmid"], r) for r in result["results"]["results"])
    assert got[101]["status"] == "skipped" and "maintenance" in got[101]["error"]
    assert got[102]["status"] == "done"
    assert placements(sim) == {101: "pve1", 102: "pve3"}
    assert [t["vmid"] for t in migrations(sim)] == [102]
    assert notes(sim) == "ops notes\nproxlb.balancer maintenance: pve2"   # the marker is left as it was
    assert_clean(sim, [101, 102])


# ---------------------------------------------------------------------- concurrent marker writers
class _Gate(object):
    """A client whose first read of /cluster/options waits until the other writer has read too: both
    then write what they read plus their node, so the second write drops the first writer's node."""

    def __init__(self, client, barrier):
        self.client, self.barrier, self.first = client, barrier, True

    def get(self, path, **params):
        answer = self.client.get(path, **params)
        if path == "/cluster/options" and self.first:
            self.first = False
            self.barrier.wait(30)
        return answer

    def put(self, path, **data):
        return self.client.put(path, **data)


def test_two_concurrent_marker_writes_keep_both_nodes(simulator):
    sim = simulator(scenario(THREE, []))
    set_notes(sim, "keep this line")
    barrier = threading.Barrier(2)
    out, errors = {}, []

    def mark(node):
        try:
            client = ProxmoxClient(connection(sim)).connect()
            out[node] = write_marker(_Gate(client, barrier), add=[node])
        except Exception as exc:   # reported below, with the thread's node
            errors.append((node, exc))
    threads = [threading.Thread(target=mark, args=(n,)) for n in ("pve2", "pve3")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert not errors, errors
    assert notes(sim).splitlines() == ["keep this line", "proxlb.balancer maintenance: pve2, pve3"]
    # PVE gives datacenter.cfg no digest: each writer reads its line back after a pause and writes again
    # when the other one overwrote it; each ends seeing its own node
    assert all(node in nodes for node, nodes in out.items()), out


def test_two_maintenance_runs_at_once_both_stay_marked(simulator):
    sim = simulator(scenario(THREE, [(101, "qemu", "pve2", "stopped", 1), (102, "qemu", "pve3", "stopped", 1)]))
    results, errors = {}, []

    def present(node):
        try:
            results[node] = run_maintenance(dict(connection(sim), nodes=[node], state="present"), environ={})
        except Exception as exc:
            errors.append((node, exc))
    threads = [threading.Thread(target=present, args=(n,)) for n in ("pve2", "pve3")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert not errors, errors
    assert "proxlb.balancer maintenance: pve2, pve3" in notes(sim)
    assert all(r["changed"] for r in results.values())


# ---------------------------------------------------------------------- one run per cluster
def test_a_lease_held_by_another_run_fails_naming_it_and_is_left_alone(simulator):
    sim = simulator(scenario(THREE, [(101, "qemu", "pve1", "running", 2)]))
    held = "proxlb.balancer lease: owner=ctl9:4242:abcd1234 since=2026-11-28T08:00:00Z until=2999-01-01T00:00:00Z"
    set_notes(sim, "ops\n" + held)
    with pytest.raises(LockHeld) as err:
        run_migrate(params(sim, plan=make_plan((1, 101, "pve1", "pve2")), lock_timeout=0), environ={})
    assert "ctl9:4242:abcd1234" in str(err.value) and "lock_timeout" in str(err.value)
    assert notes(sim) == "ops\n" + held
    assert migrations(sim) == [] and placements(sim) == {101: "pve1"}


def test_an_expired_lease_is_taken_over_with_a_warning_and_released(simulator):
    sim = simulator(scenario(THREE, [(101, "qemu", "pve1", "running", 2)]))
    set_notes(sim, "ops\nproxlb.balancer lease: owner=ctl9:4242:dead0001 since=2020-01-01T00:00:00Z "
                   "until=2020-01-01T00:10:00Z")
    result = run_migrate(params(sim, plan=make_plan((1, 101, "pve1", "pve2")), lock_timeout=0), environ={})
    assert statuses(result) == {101: "done"}
    assert any("took over" in w and "ctl9:4242:dead0001" in w for w in result["warnings"]), result["warnings"]
    assert notes(sim) == "ops"
    assert_clean(sim, [101])


def _run_in_thread(sim, **options):
    box = {}

    def target():
        try:
            box["result"] = run_migrate(params(sim, **options), environ={})
        except Exception as exc:
            box["error"] = exc
    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    return thread, box


@pytest.mark.parametrize("same_journal", [False, True])
def test_a_second_run_waits_then_fails_naming_the_first(simulator, tmp_path, same_journal):
    sim = simulator(scenario(THREE, [(101, "qemu", "pve1", "running", 2), (102, "qemu", "pve2", "running", 2)]),
                    clock=0)
    journal = str(tmp_path / "journal.jsonl")
    first, box = _run_in_thread(sim, plan=make_plan((1, 101, "pve1", "pve3")), journal=journal)
    wait_until(lambda: tasks_of(sim, 101), "the first run's migration")   # stopped clock: it stays running
    owner = lease_mod.parse(notes(sim))["owner"]
    second = params(sim, plan=make_plan((1, 102, "pve2", "pve3")), lock_timeout=1,
                    journal=journal if same_journal else str(tmp_path / "other.jsonl"))
    with pytest.raises(LockHeld) as err:
        run_migrate(second, environ={})
    message = str(err.value)
    assert ("journal" in message) == same_journal and owner in message, message
    assert tasks_of(sim, 102) == []
    with Ticker(sim):
        first.join(120)
    assert statuses(box["result"]) == {101: "done"}
    assert placements(sim) == {101: "pve3", 102: "pve2"}
    assert_clean(sim, [101, 102])
    with Ticker(sim):
        again = run_migrate(second, environ={})   # the lease and the lock are free again
    assert statuses(again) == {102: "done"}
    assert_clean(sim, [101, 102])


# ---------------------------------------------------------------------- migrations by others
def test_migrations_by_others_count_and_are_waited_for(simulator):
    guests = [(101, "qemu", "pve1", "running", 2), (102, "qemu", "pve1", "running", 2),
              (103, "qemu", "pve1", "running", 2), (104, "qemu", "pve2", "running", 2)]
    sim = simulator(scenario(THREE, guests), clock=0)
    api = sim.proxmox()
    api.nodes("pve1").qemu(101).migrate.post(target="pve2", online=1)   # an admin drains pve1 by hand
    api.nodes("pve1").qemu(102).migrate.post(target="pve3", online=1)
    plan = make_plan((1, 103, "pve1", "pve3"), (1, 104, "pve2", "pve1"))
    lines = []
    ticker = Ticker(sim, autostart=False)   # simulated time stands still until 103 says it waits

    def progress(line):
        lines.append(line)
        if ": waiting: " in line and line.startswith("103 "):
            sim.admin("POST", "/clock", seconds=60)   # the admin's migrations end while 103 waits
            ticker.start()                             # and time runs on for ours
    with ticker:
        result = run_migrate(params(sim, plan=plan, balancing={"parallel": True, "per_node_jobs": 2}),
                             environ={}, progress=progress)
    assert statuses(result) == {103: "done", 104: "done"}, result["results"]
    assert any(line.startswith("103 ") and "per_node_jobs" in line for line in lines), lines
    log = dict((t["vmid"], t) for t in migrations(sim))
    # 103 started only when fewer than two migrations left pve1
    assert log[103]["started"] >= min(log[101]["finished"], log[102]["finished"])
    assert placements(sim) == {101: "pve2", 102: "pve3", 103: "pve3", 104: "pve1"}
    assert_clean(sim, [101, 102, 103, 104])


def test_a_guest_migrated_by_someone_else_is_waited_for_not_skipped(simulator):
    sim = simulator(scenario(THREE, [(101, "qemu", "pve1", "running", 2)]), clock=0)
    sim.proxmox().nodes("pve1").qemu(101).migrate.post(target="pve2", online=1)
    lines = []

    def progress(line):
        lines.append(line)
        if line.startswith("101 ") and ": waiting: " in line:
            sim.admin("POST", "/clock", seconds=60)   # the admin's migration ends while ours waits
    result = run_migrate(params(sim, plan=make_plan((1, 101, "pve1", "pve2"))), environ={}, progress=progress)
    assert statuses(result) == {101: "already_done"} and result["changed"] is False
    assert any("lock: migrate" in line for line in lines), lines
    assert len(tasks_of(sim, 101)) == 1
    assert_clean(sim, [101])


def test_waiting_for_others_is_bounded_by_max_job_validation(simulator):
    sim = simulator(scenario(THREE, [(101, "qemu", "pve1", "running", 2), (102, "qemu", "pve1", "running", 2),
                                     (103, "qemu", "pve1", "running", 2)]), clock=0)
    api = sim.proxmox()
    api.nodes("pve1").qemu(101).migrate.post(target="pve2", online=1)
    api.nodes("pve1").qemu(102).migrate.post(target="pve3", online=1)
    result = run_migrate(params(sim, plan=make_plan((1, 103, "pve1", "pve2")),
                                balancing={"max_job_validation": 1}), environ={})
    item = result["results"]["results"][0]
    assert item["status"] == "skipped" and "max_job_validation" in item["error"], item
    assert tasks_of(sim, 103) == []
    sim.admin("POST", "/clock", seconds=60)
    assert_clean(sim, [101, 102, 103])


def test_a_stale_migrate_lock_neither_blocks_the_node_nor_waits_forever(simulator):
    doc = scenario(THREE, [(101, "qemu", "pve1", "running", 2), (102, "qemu", "pve1", "running", 2),
                           (103, "qemu", "pve1", "running", 2)])
    doc["guests"][0]["lock"] = "migrate"   # left behind by a crashed migration: no task runs
    sim = simulator(doc)
    plan = make_plan((1, 101, "pve1", "pve2"), (1, 102, "pve1", "pve2"), (1, 103, "pve1", "pve3"))
    result = run_migrate(params(sim, plan=plan, balancing={"per_node_jobs": 1}), environ={})
    got = dict((r["vmid"], r) for r in result["results"]["results"])
    assert got[101]["status"] == "skipped" and "stale lock" in got[101]["error"], got[101]
    assert got[102]["status"] == "done" and got[103]["status"] == "done"
    assert any("qm unlock 101" in w for w in result["warnings"]), result["warnings"]
    assert placements(sim) == {101: "pve1", 102: "pve2", 103: "pve3"}
    assert tasks_of(sim, 101) == []


# ---------------------------------------------------------------------- a lost POST answer
def test_a_lost_post_answer_is_reconciled_from_the_task_list_never_posted_twice(simulator):
    sim = simulator(scenario(THREE, [(101, "qemu", "pve1", "running", 2)]))
    # the answer comes after the client gave up (api_timeout 1 s); PVE starts the migration anyway
    sim.admin("POST", "/faults", latency_ms=2500, path="POST /nodes/{node}/qemu/{vmid}/migrate")
    sim.admin("POST", "/requests/reset")
    lines = []
    result = run_migrate(params(sim, plan=make_plan((1, 101, "pve1", "pve2")), api_timeout=1), environ={},
                         progress=lines.append)
    item = result["results"]["results"][0]
    assert item["status"] == "done" and result["changed"] is True, (item, lines)
    [task] = tasks_of(sim, 101)
    assert item["upid"] == task["upid"] and task["exitstatus"] == "OK"
    posts = sim.admin("GET", "/requests")["by_endpoint"].get("POST /nodes/{node}/qemu/{vmid}/migrate")
    assert posts == 1
    assert any("no answer" in line for line in lines)
    sim.admin("DELETE", "/faults")
    assert placements(sim) == {101: "pve2"}
    assert_clean(sim, [101])


# ---------------------------------------------------------------------- the controller dies
def test_a_worker_whose_controller_died_starts_nothing_more_and_the_next_run_follows(simulator, tmp_path):
    guests = [(101, "qemu", "pve1", "running", 2), (102, "qemu", "pve1", "running", 2),
              (103, "qemu", "pve2", "running", 2)]
    sim = simulator(scenario(THREE, guests), clock=0)
    plan = make_plan((1, 101, "pve1", "pve2"), (1, 102, "pve1", "pve3"), (1, 103, "pve2", "pve3"))
    journal = tmp_path / "journal.jsonl"
    controller = {"alive": True}

    def progress(line):
        if ": started " in line:
            controller["alive"] = False   # the controller is killed right after the first POST
    result = run_migrate(params(sim, plan=plan, journal=str(journal)), environ={}, progress=progress,
                         alive=lambda: controller["alive"])
    assert result["failed"] is True and "controller" in result["msg"]
    [task] = migrations(sim)
    events = [json.loads(line) for line in journal.read_text().splitlines()]
    moved = [e for e in events if e.get("vmid") == task["vmid"]]
    assert [e["event"] for e in moved] == ["intent", "posted"]   # no end: the next run follows it
    assert not [e for e in events if e.get("vmid") not in (None, task["vmid"])]
    assert lease_mod.PREFIX not in notes(sim)

    with Ticker(sim):
        rerun = run_migrate(params(sim, plan=plan, journal=str(journal)), environ={})
    got = dict((r["vmid"], r) for r in rerun["results"]["results"])
    assert got[task["vmid"]]["status"] == "done" and got[task["vmid"]]["upid"] == task["upid"]
    assert set(statuses(rerun).values()) == {"done"}
    assert sorted(t["vmid"] for t in migrations(sim)) == [101, 102, 103]   # none posted twice
    assert placements(sim) == {101: "pve2", 102: "pve3", 103: "pve3"}
    assert_clean(sim, [101, 102, 103])


# ---------------------------------------------------------------------- failures fail, measured state
def test_a_failed_move_fails_the_task_unless_fail_task_is_false_and_measured_is_read_back(simulator):
    guests = [(101, "qemu", "pve1", "running", 4), (102, "qemu", "pve1", "running", 4)]
    sim = simulator(scenario(THREE, guests))
    sim.admin("POST", "/faults", fail_vmid=101)
    plan = make_plan((1, 101, "pve1", "pve2"), (1, 102, "pve1", "pve3"))
    failed = run_migrate(params(sim, plan=plan), environ={})
    assert failed["failed"] is True and "guest 101" in failed["msg"]
    assert statuses(failed) == {101: "failed", 102: "done"}
    measured = failed["results"]["measured"]
    assert measured == failed["measured"]
    state = dict((n["node"], n) for n in sim.admin("GET", "/state")["nodes"])
    assert set(measured["nodes"]) == set(state)
    assert dict((n, v["guests"]) for n, v in measured["nodes"].items()) == {"pve1": 1, "pve2": 0, "pve3": 1}
    pcts = [v["mem_pct"] for v in measured["nodes"].values()]
    assert measured["spread"]["memory"] == pytest.approx(max(pcts) - min(pcts), abs=0.02)

    sim.admin("POST", "/faults", fail_vmid=101)   # a fault fails one migration
    report_only = run_migrate(params(sim, plan=make_plan((1, 101, "pve1", "pve2")), fail_task=False), environ={})
    assert not report_only.get("failed") and "did not succeed" in report_only["msg"]
    assert statuses(report_only) == {101: "failed"}
    assert placements(sim) == {101: "pve1", 102: "pve3"}
    assert_clean(sim, [101, 102])
