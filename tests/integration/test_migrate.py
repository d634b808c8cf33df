"""proxlb_migrate end to end: plans executed through proxmoxer over HTTPS against the simulator, the cluster
state read back over the API after each run."""

import json

import pytest

from ansible_collections.proxlb.balancer.plugins.module_utils.common.errors import PlanError
from ansible_collections.proxlb.balancer.plugins.module_utils.entry.migrate import run_migrate

from ansible_run import run_playbook, save_task, saved, sim_env
from helpers import GIB, make_plan, migrations, params, placements, scenario, statuses


THREE = [("pve1", "9.1.2", 64), ("pve2", "9.1.2", 64), ("pve3", "9.1.2", 64)]


def test_a_plan_is_executed_and_a_second_run_is_a_no_op(simulator):
    sim = simulator(scenario(THREE, [(101, "qemu", "pve1", "running", 4), (102, "qemu", "pve1", "stopped", 2),
                                     (103, "qemu", "pve2", "running", 2), (200, "lxc", "pve1", "running", 1)]))
    plan = make_plan((1, 101, "pve1", "pve2"), (1, 102, "pve1", "pve3"), (2, 103, "pve2", "pve3"),
                     (2, 200, "pve1", "pve2"))
    lines = []
    first = run_migrate(params(sim, plan=plan), environ={}, progress=lines.append)
    assert statuses(first) == {101: "done", 102: "done", 103: "done", 200: "done"}
    assert first["changed"] is True
    assert placements(sim) == {101: "pve2", 102: "pve3", 103: "pve3", 200: "pve2"}
    for item in first["results"]["results"]:
        assert item["upid"].startswith("UPID:%s:" % item["source"]) and item["started"] and item["finished"]
    assert first["diff"]["after"] == {"101": "pve2", "102": "pve3", "103": "pve3", "200": "pve2"}
    assert sum(1 for line in lines if "started" in line) == 4
    assert all(not g.get("lock") for g in sim.proxmox().cluster.resources.get(type="vm"))
    posted = len(migrations(sim))
    second = run_migrate(params(sim, plan=plan), environ={})
    assert set(statuses(second).values()) == {"already_done"}
    assert second["changed"] is False
    assert len(migrations(sim)) == posted


def test_check_mode_posts_nothing_and_predicts_change(simulator):
    sim = simulator(scenario(THREE, [(101, "qemu", "pve1", "running", 4), (102, "qemu", "pve2", "running", 4)]))
    plan = make_plan((1, 101, "pve1", "pve2"), (1, 102, "pve3", "pve1"))
    result = run_migrate(params(sim, plan=plan), environ={}, check_mode=True)
    assert result["changed"] is True
    assert statuses(result) == {101: "done", 102: "skipped"}
    assert "is on pve2" in result["results"]["results"][1]["error"]
    assert migrations(sim) == []
    assert placements(sim) == {101: "pve1", 102: "pve2"}


def test_mixed_versions_pve84_never_gets_conntrack_and_never_moves_to_an_older_major(simulator):
    # the simulator refuses (400) any parameter the source node's version does not know
    nodes = [("old1", "8.4.1", 64), ("old2", "8.4.1", 64), ("new1", "9.1.2", 64), ("new2", "9.1.2", 64)]
    sim = simulator(scenario(nodes, [(101, "qemu", "old1", "running", 2), (102, "qemu", "new1", "running", 2),
                                     (103, "qemu", "new2", "running", 2), (104, "qemu", "old2", "running", 2)]))
    plan = make_plan((1, 101, "old1", "new1"), (1, 102, "new1", "new2"), (1, 103, "new2", "old1"),
                     (1, 104, "old2", "old1"))
    result = run_migrate(params(sim, plan=plan, balancing={"parallel": True}), environ={})
    got = statuses(result)
    assert got[101] == "done" and got[102] == "done" and got[104] == "done"
    assert got[103] == "skipped" and "older" in result["results"]["results"][2]["error"]
    assert placements(sim) == {101: "new1", 102: "new2", 103: "new2", 104: "old1"}


def test_running_container_restarts_or_is_skipped(simulator):
    sim = simulator(scenario(THREE, [(200, "lxc", "pve1", "running", 1), (201, "lxc", "pve1", "running", 1)]))
    skip = run_migrate(params(sim, plan=make_plan((1, 200, "pve1", "pve2")), balancing={"running_ct": "skip"}),
                       environ={})
    assert statuses(skip) == {200: "skipped"} and "running_ct" in skip["results"]["results"][0]["error"]
    assert skip["changed"] is False and migrations(sim) == []
    moved = run_migrate(params(sim, plan=make_plan((1, 201, "pve1", "pve3"))), environ={})
    assert statuses(moved) == {201: "done"}
    assert placements(sim)[201] == "pve3"
    status = sim.proxmox().nodes("pve3").lxc(201).status.current.get()
    assert status["status"] == "running"


def test_a_failing_task_is_failed_with_pves_exit_status_and_stops_what_depends_on_it(simulator):
    sim = simulator(scenario(THREE, [(101, "qemu", "pve1", "running", 4), (102, "qemu", "pve2", "running", 4),
                                     (103, "qemu", "pve3", "running", 4)]))
    sim.admin("POST", "/faults", fail_vmid=102, exitstatus="migration problems", message="disk copy broke")
    plan = make_plan((1, 102, "pve2", "pve3"), (2, 101, "pve1", "pve2"), (2, 103, "pve3", "pve1"))
    result = run_migrate(params(sim, plan=plan), environ={})
    got = dict((r["vmid"], r) for r in result["results"]["results"])
    assert got[102]["status"] == "failed" and "migration problems" in got[102]["error"]
    assert "disk copy broke" in got[102]["error"]
    assert got[101]["status"] == "skipped" and "102" in got[101]["error"]   # needed the room 102 frees
    assert got[103]["status"] == "done"                                     # independent: continues
    # a failed move fails the task (fail_task defaults to true); on_failure only let 103 go on
    assert "did not succeed" in result["msg"] and result.get("failed") is True
    assert placements(sim) == {101: "pve1", 102: "pve2", 103: "pve1"}
    assert all(not g.get("lock") for g in sim.proxmox().cluster.resources.get(type="vm"))


def test_on_failure_stop_starts_nothing_after_a_failure(simulator):
    sim = simulator(scenario(THREE, [(101, "qemu", "pve1", "running", 4), (103, "qemu", "pve3", "running", 4)]))
    sim.admin("POST", "/faults", fail_vmid=101)
    plan = make_plan((1, 101, "pve1", "pve2"), (2, 103, "pve3", "pve1"))
    result = run_migrate(params(sim, plan=plan, on_failure="stop"), environ={})
    assert statuses(result) == {101: "failed", 103: "skipped"}
    assert "on_failure" in result["results"]["results"][1]["error"]


def test_target_going_offline_mid_run_fails_that_move_clearly(simulator):
    # stopped time: the outage happens 4 simulated seconds after the start, however slow the machine is
    sim = simulator(scenario(THREE, [(101, "qemu", "pve1", "running", 16), (102, "qemu", "pve1", "running", 2)]),
                    clock=0)
    now = sim.admin("GET", "/clock")["now"]
    sim.admin("POST", "/faults", node_offline="pve2", at=now + 4)
    plan = make_plan((1, 101, "pve1", "pve2"), (2, 102, "pve1", "pve2"))
    lines = []

    def progress(line):
        lines.append(line)
        if line.startswith("101 ") and ": started " in line:   # right after the POST, before the first poll
            sim.admin("POST", "/clock", seconds=10)           # the 16 GiB move (about 21 s) is cut at +4

    result = run_migrate(params(sim, plan=plan), environ={}, progress=progress)
    got = dict((r["vmid"], r) for r in result["results"]["results"])
    assert got[101]["status"] == "failed" and "offline" in got[101]["error"], (got, lines)
    assert got[102]["status"] == "skipped" and "pve2" in got[102]["error"], got
    assert placements(sim) == {101: "pve1", 102: "pve1"}
    [task] = migrations(sim)
    assert task["vmid"] == 101 and task["started"] == now and task["finished"] == now + 4, task


def test_parallel_limits_hold_and_migrations_really_overlap(simulator):
    nodes = [("pve%d" % i, "9.1.2", 128) for i in range(1, 7)]
    guests = [(100 + i, "qemu", "pve%d" % (i % 3 + 1), "running", 4) for i in range(18)]
    sim = simulator(scenario(nodes, guests))
    plan = make_plan(*[(1, vmid, node, "pve%d" % (int(node[3:]) + 3)) for vmid, _k, node, _s, _m in guests])
    result = run_migrate(params(sim, plan=plan, balancing={"parallel": True, "parallel_jobs": 4,
                                                           "per_node_jobs": 2}), environ={})
    assert set(statuses(result).values()) == {"done"}
    log = sim.admin("GET", "/tasks")
    assert 2 <= log["max_concurrent"] <= 4
    tasks = migrations(sim)
    for task in tasks:
        # at the moment each task starts, count what runs beside it out of its source and into its target
        running = [t for t in tasks if t["started"] <= task["started"] < t["finished"]]
        assert sum(1 for t in running if t["node"] == task["node"]) <= 2
        assert sum(1 for t in running if t["target"] == task["target"]) <= 2
    assert placements(sim) == dict((m["vmid"], m["target"]) for m in plan["moves"])


def test_sequential_by_default(simulator):
    sim = simulator(scenario(THREE, [(101, "qemu", "pve1", "running", 2), (102, "qemu", "pve2", "running", 2)]))
    result = run_migrate(params(sim, plan=make_plan((1, 101, "pve1", "pve3"), (1, 102, "pve2", "pve3"))),
                         environ={})
    assert set(statuses(result).values()) == {"done"}
    assert sim.admin("GET", "/tasks")["max_concurrent"] == 1


def test_stale_plan_skip_fail_and_manual_move(simulator):
    sim = simulator(scenario(THREE, [(101, "qemu", "pve1", "running", 2), (102, "qemu", "pve1", "running", 2)]))
    plan = make_plan((1, 101, "pve1", "pve2"), (1, 102, "pve1", "pve2"))
    api = sim.proxmox()
    api.nodes("pve1").qemu(101).migrate.post(target="pve3", online=1)   # someone moves 101 by hand
    sim.admin("POST", "/clock", seconds=60)
    assert placements(sim)[101] == "pve3"
    with pytest.raises(PlanError) as err:
        run_migrate(params(sim, plan=plan, on_stale="fail"), environ={})
    assert "101" in str(err.value) and "pve3" in str(err.value)
    assert len(migrations(sim)) == 1
    result = run_migrate(params(sim, plan=plan), environ={})
    assert statuses(result) == {101: "skipped", 102: "done"}
    assert "stale" in result["results"]["results"][0]["error"]
    assert placements(sim) == {101: "pve3", 102: "pve2"}


def test_a_locked_guest_is_skipped_with_the_lock(simulator):
    doc = scenario(THREE, [(101, "qemu", "pve1", "running", 2)])
    doc["guests"][0]["lock"] = "backup"
    sim = simulator(doc)
    result = run_migrate(params(sim, plan=make_plan((1, 101, "pve1", "pve2"))), environ={})
    assert statuses(result) == {101: "skipped"} and "backup" in result["results"]["results"][0]["error"]
    assert migrations(sim) == []


def test_resume_from_the_journal_follows_the_running_task_instead_of_posting(simulator, tmp_path):
    sim = simulator(scenario(THREE, [(101, "qemu", "pve1", "running", 8), (102, "qemu", "pve1", "running", 2)]),
                    clock=0)
    plan = make_plan((1, 101, "pve1", "pve2"), (1, 102, "pve1", "pve3"))
    journal = tmp_path / "journal.jsonl"
    # a run killed right after its first POST: the task runs on, the journal holds intent and UPID
    upid = sim.proxmox().nodes("pve1").qemu(101).migrate.post(target="pve2", online=1)
    move = {"vmid": 101, "source": "pve1", "target": "pve2"}
    journal.write_text(json.dumps(dict(move, event="intent")) + "\n" + json.dumps(dict(move, event="posted", upid=upid))
                  + "\n")
    sim.admin("POST", "/clock", seconds=5)
    import threading
    ticking = threading.Event()

    def tick():
        while not ticking.wait(0.05):
            sim.admin("POST", "/clock", seconds=2)
    ticker = threading.Thread(target=tick, daemon=True)
    ticker.start()
    try:
        result = run_migrate(params(sim, plan=plan, journal=str(journal)), environ={})
    finally:
        ticking.set()
        ticker.join()
    got = dict((r["vmid"], r) for r in result["results"]["results"])
    assert got[101]["status"] == "done" and got[101]["upid"] == upid
    assert got[102]["status"] == "done"
    assert [t["vmid"] for t in migrations(sim)].count(101) == 1
    assert placements(sim) == {101: "pve2", 102: "pve3"}
    events = [json.loads(line)["event"] for line in journal.read_text().splitlines()]
    assert events.count("end") == 2 and "run" in events


def test_ha_guest_is_followed_from_hamigrate_to_the_real_task(simulator):
    doc = scenario(THREE, [(101, "qemu", "pve1", "running", 2)],
                   ha_resources=[{"sid": "vm:101", "state": "started"}])
    sim = simulator(doc)
    result = run_migrate(params(sim, plan=make_plan((1, 101, "pve1", "pve2"))), environ={})
    item = result["results"]["results"][0]
    assert item["status"] == "done"
    assert ":qmigrate:" in item["upid"]   # the real task, not the hamigrate request
    assert placements(sim) == {101: "pve2"}


def test_timed_out_when_a_move_outlasts_max_job_validation(simulator):
    sim = simulator(scenario(THREE, [(101, "qemu", "pve1", "running", 2)]), clock=0)
    result = run_migrate(params(sim, plan=make_plan((1, 101, "pve1", "pve2")),
                                balancing={"max_job_validation": 1}), environ={})
    item = result["results"]["results"][0]
    assert item["status"] == "timed_out" and item["upid"] and "max_job_validation" in item["error"]
    assert result["changed"] is False


def test_http_5xx_bursts_and_a_dead_first_api_host_do_not_break_the_run(simulator):
    sim = simulator(scenario(THREE, [(101, "qemu", "pve1", "running", 2), (102, "qemu", "pve1", "running", 2)]))
    sim.admin("POST", "/faults", http_status=503, count=2, path="/cluster/resources")
    sim.admin("POST", "/faults", http_status=503, count=1, path="POST /nodes/{node}/qemu/{vmid}/migrate")
    plan = make_plan((1, 101, "pve1", "pve2"), (1, 102, "pve1", "pve3"))
    import socket
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    dead = "127.0.0.1:%d" % sock.getsockname()[1]
    sock.close()
    result = run_migrate(params(sim, plan=plan, api_host=[dead, sim.api_host]), environ={})
    assert set(statuses(result).values()) == {"done"}
    assert placements(sim) == {101: "pve2", 102: "pve3"}
    assert [t["vmid"] for t in migrations(sim)].count(101) == 1


def test_ansible_playbook_runs_proxlb_migrate_with_check_mode_and_idempotence(simulator, tmp_path):
    sim = simulator(scenario(THREE, [(101, "qemu", "pve1", "running", 2), (102, "qemu", "pve1", "running", 2)]))
    plan_file = tmp_path / "plan.json"
    plan_file.write_text(json.dumps(make_plan((1, 101, "pve1", "pve2"), (1, 102, "pve1", "pve3"))))
    out = tmp_path / "out.json"
    tasks = """\
        - name: migrate
          proxlb.balancer.proxlb_migrate:
            plan_file: %s
            poll_interval: 0.5
            balancing: {parallel: true}
          register: out
        """ % plan_file + save_task("out", out)
    env = sim_env(sim)
    checked = run_playbook(tmp_path, tasks, env, "--check")
    assert checked.returncode == 0, checked.stdout[-3000:] + checked.stderr[-3000:]
    assert saved(out)["changed"] is True
    assert migrations(sim) == []
    first = run_playbook(tmp_path, tasks, env, "--diff")
    assert first.returncode == 0, first.stdout[-3000:] + first.stderr[-3000:]
    result = saved(out)
    assert result["changed"] is True and result["results"]["totals"]["done"] == 2
    assert "proxlb: 101 (g101) pve1 -> pve2: started" in first.stdout
    assert sim.token_secret not in first.stdout + json.dumps(result)
    assert placements(sim) == {101: "pve2", 102: "pve3"}
    second = run_playbook(tmp_path, tasks, env)
    assert second.returncode == 0, second.stdout[-3000:]
    assert saved(out)["changed"] is False
    assert "Traceback" not in first.stderr + second.stderr
