"""proxlb_migrate's guarantees from issue 8, checked against the simulator with the state read back over the
API and the simulator's task log: parallel moves that really run 5 at a time without overloading a node, a
token without VM.Migrate stopped before any move, and a controller killed mid-run resumed from its journal
without posting a guest twice."""

import json
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time

import pytest

from ansible_collections.proxlb.balancer.plugins.module_utils.common.errors import PermissionDenied
from ansible_collections.proxlb.balancer.plugins.module_utils.entry.migrate import run_migrate

from ansible_run import save_task, saved, sim_env
from helpers import journal_events, make_plan, migrations, params, placements, process_tree, scenario, statuses

GIB = 1024 ** 3
NODE_BASE = 1  # GiB of node memory outside guests: what helpers.scenario() puts on every node


# ---------------------------------------------------------------------- 1. a large parallel plan
HOT = ["pve%02d" % i for i in range(1, 9)]
COLD = ["pve%02d" % i for i in range(9, 17)]
CAP = 40
HOT_SIZES = [6, 5, 4, 4, 3, 4, 3, 3]   # the first five leave in step 1
COLD_SIZES = [4, 3, 3, 2]              # the first three leave in step 2


def big_cluster():
    """16 nodes of 40 GiB, a 64-move plan in two steps that is only safe in the executor's order.

    Step 1 moves five guests off each hot node (33 GiB used) onto the cold nodes (13 -> 35 GiB); step 2
    moves three guests from each cold node into the hot nodes. Step 2 fits a hot node only once its own
    step-1 guests have left (11 + 10 <= 40, but 33 + 10 > 40), so starting moves early would overload it."""
    nodes = [(name, "9.1.2", CAP) for name in HOT + COLD]
    guests, moves = [], []
    vmid = 1000
    where = {}
    for i, hot in enumerate(HOT):
        for k, size in enumerate(HOT_SIZES):
            guests.append((vmid, "qemu", hot, "running", size))
            if k < 5:
                where[vmid] = (1, hot, COLD[(i + k) % len(COLD)])
            vmid += 1
    for j, cold in enumerate(COLD):
        for k, size in enumerate(COLD_SIZES):
            guests.append((vmid, "qemu", cold, "running", size))
            if k < 3:
                where[vmid] = (2, cold, HOT[(j + 3 * k + 1) % len(HOT)])
            vmid += 1
    moves = [(step, v, source, target) for v, (step, source, target) in sorted(where.items())]
    return scenario(nodes, guests), make_plan(*moves)


def usage_over_time(doc, tasks):
    """Replay the task log: [(time, {node: GiB})] after every event. A migrating guest holds its memory on
    its source and its target from its start to its end; then it stays on one of them only."""
    mem = dict((g["vmid"], g["mem"] / GIB) for g in doc["guests"] if g["status"] == "running")
    used = dict((n["node"], n["mem"] / GIB) for n in doc["nodes"])
    events = []
    for task in tasks:
        events.append((task["started"], 1, task))
        events.append((task["finished"], 0, task))   # an end frees room before a start at the same instant
    timeline = []
    for when, is_start, task in sorted(events, key=lambda e: (e[0], e[1])):
        size = mem.get(task["vmid"], 0)
        if is_start:
            used[task["target"]] += size
        elif task["exitstatus"] == "OK":
            used[task["source"]] -= size
        else:
            used[task["target"]] -= size
        timeline.append((when, dict(used)))
    return timeline


def concurrency_while_work_remains(tasks, remaining_at_least=5):
    """(peak in flight, time-weighted mean in flight) from the first start until fewer than
    ``remaining_at_least`` moves are still not started or running."""
    total = len(tasks)
    finishes = sorted(t["finished"] for t in tasks)
    begin = min(t["started"] for t in tasks)
    # remaining = total - finished; it drops below the threshold at this finish
    end = finishes[total - remaining_at_least]
    edges = sorted(set([begin, end] + [t["started"] for t in tasks] + finishes))
    area, peak = 0.0, 0
    for left, right in zip(edges, edges[1:]):
        if right <= begin or left >= end:
            continue
        running = sum(1 for t in tasks if t["started"] <= left and t["finished"] >= right)
        peak = max(peak, running)
        area += running * (right - left)
    for t in tasks:
        peak = max(peak, sum(1 for o in tasks if o["started"] <= t["started"] < o["finished"]))
    return peak, area / (end - begin)


def test_64_moves_on_16_nodes_run_5_at_a_time_within_capacity_and_a_rerun_is_a_no_op(simulator):
    doc, plan = big_cluster()
    assert len(plan["moves"]) >= 50
    # a slow enough clock that polling (every 0.5 s, the smallest poll_interval accepted; an end may be seen
    # up to 4 rounds late while nothing else ends) stays small against a move (2 + 1.2 s per GiB, 6-9 s here)
    sim = simulator(doc, clock=1)
    balancing = {"parallel": True, "parallel_jobs": 5}
    first = run_migrate(params(sim, plan=plan, balancing=balancing, poll_interval=0.5), environ={})
    assert first["results"]["totals"]["done"] == len(plan["moves"]), first["results"]["totals"]
    assert first["changed"] is True and "msg" not in first

    tasks = migrations(sim)
    assert sorted(t["vmid"] for t in tasks) == sorted(m["vmid"] for m in plan["moves"])   # each once
    assert all(t["exitstatus"] == "OK" and t["finished"] is not None for t in tasks)
    peak, mean = concurrency_while_work_remains(tasks)
    assert peak <= 5 and sim.admin("GET", "/tasks")["max_concurrent"] <= 5
    assert mean >= 4.0, "time-weighted mean in flight %.2f while >= 5 moves remained" % mean
    wanted = dict((g["vmid"], g["node"]) for g in doc["guests"])
    wanted.update((m["vmid"], m["target"]) for m in plan["moves"])
    assert placements(sim) == wanted

    for when, used in usage_over_time(doc, tasks):
        over = dict((node, gib) for node, gib in used.items() if gib > CAP + 1e-9)
        assert not over, "over capacity at t=%s: %s" % (when, over)
    # the check above is only worth something if starting step 2 early would have overloaded a hot node
    size = dict((g["vmid"], g["mem"] / GIB) for g in doc["guests"])
    step2_into = dict((h, sum(size[m["vmid"]] for m in plan["moves"] if m["step"] == 2 and m["target"] == h))
                      for h in HOT)
    assert all(NODE_BASE + sum(HOT_SIZES) + step2_into[h] > CAP for h in HOT)

    assert all(not g.get("lock") for g in sim.proxmox().cluster.resources.get(type="vm"))
    second = run_migrate(params(sim, plan=plan, balancing=balancing, poll_interval=0.5), environ={})
    assert second["changed"] is False
    assert set(statuses(second).values()) == {"already_done"}
    assert len(migrations(sim)) == len(tasks)


# ---------------------------------------------------------------------- 2. a token without VM.Migrate
NO_MIGRATE = {
    # a privilege-separated token of an admin, given only an auditor role
    "users": {"ops@pve": {"password": "ops-pass"},
              "auditor@pve": {"password": "audit-pass", "acl": {"/": "PVEAuditor"}}},
    "tokens": {"ops@pve!readonly": {"secret": "ro-secret", "privsep": True, "acl": {"/": "PVEAuditor"}},
               # a token without privilege separation of a user who may only audit
               "auditor@pve!ro": {"secret": "audit-secret", "privsep": False}},
}
SMALL = [("pve1", "9.1.2", 64), ("pve2", "9.1.2", 64), ("pve3", "9.1.2", 64)]
SMALL_GUESTS = [(101, "qemu", "pve1", "running", 2), (102, "qemu", "pve1", "running", 2)]
SMALL_PLAN = ((1, 101, "pve1", "pve2"), (1, 102, "pve1", "pve3"))


@pytest.mark.parametrize("user,token,secret", [("ops@pve", "readonly", "ro-secret"),
                                               ("auditor@pve", "ro", "audit-secret")])
def test_a_token_without_vm_migrate_gets_one_clear_error_before_any_move(simulator, user, token, secret):
    sim = simulator(scenario(SMALL, SMALL_GUESTS, **NO_MIGRATE))
    before = placements(sim)
    options = params(sim, plan=make_plan(*SMALL_PLAN), api_user=user, api_token_id=token, api_token_secret=secret)
    with pytest.raises(PermissionDenied) as err:
        run_migrate(options, environ={})
    message = str(err.value)
    assert "VM.Migrate" in message and "%s!%s" % (user, token) in message and "\n" not in message
    assert secret not in message
    assert sim.admin("GET", "/tasks")["tasks"] == []
    assert placements(sim) == before


def test_a_token_without_vm_migrate_fails_the_playbook_task_without_a_traceback(simulator, tmp_path):
    sim = simulator(scenario(SMALL, SMALL_GUESTS, **NO_MIGRATE))
    plan_file = tmp_path / "plan.json"
    plan_file.write_text(json.dumps(make_plan(*SMALL_PLAN)))
    env = sim_env(sim, PROXMOX_USER="ops@pve", PROXMOX_TOKEN_ID="readonly", PROXMOX_TOKEN_SECRET="ro-secret")
    done = subprocess.run(playbook(tmp_path, """\
        - name: migrate
          proxlb.balancer.proxlb_migrate:
            plan_file: %s
            poll_interval: 0.5
        """ % plan_file), env=env, cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert done.returncode != 0
    failed = [line for line in done.stdout.splitlines() if line.startswith("fatal:")]
    assert len(failed) == 1 and "VM.Migrate" in failed[0], done.stdout[-3000:]
    assert "Traceback" not in done.stdout + done.stderr
    assert "ro-secret" not in done.stdout + done.stderr
    assert sim.admin("GET", "/tasks")["tasks"] == []


# ---------------------------------------------------------------------- 3. the controller killed mid-run
def playbook(tmp_path, tasks):
    """Write a localhost play running ``tasks`` (YAML text); returns the ansible-playbook command."""
    play = textwrap.dedent("""\
        - hosts: localhost
          gather_facts: false
          connection: local
          tasks:
        """) + textwrap.indent(textwrap.dedent(tasks), "    ")
    path = tmp_path / "play.yml"
    path.write_text(play)
    return [os.path.join(os.path.dirname(sys.executable), "ansible-playbook"), str(path)]




def kill_controller(process):
    """SIGKILL ansible-playbook and its workers at once, as a crash or an OOM kill of the controller would."""
    for pid in process_tree(process.pid):
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


def test_a_controller_killed_mid_run_resumes_from_the_journal_without_posting_twice(simulator, tmp_path):
    guests = [(100 + i, "qemu", "pve%d" % (i % 3 + 1), "running", 4) for i in range(6)]
    sim = simulator(scenario(SMALL, guests), clock=0)   # stopped time: what the kill interrupts stays running
    plan = make_plan(*[(1, vmid, node, "pve%d" % (int(node[3:]) % 3 + 1)) for vmid, _k, node, _s, _m in guests])
    wanted = dict((m["vmid"], m["target"]) for m in plan["moves"])
    plan_file, journal, out = tmp_path / "plan.json", tmp_path / "journal.jsonl", tmp_path / "out.json"
    plan_file.write_text(json.dumps(plan))
    command = playbook(tmp_path, """\
        - name: migrate
          proxlb.balancer.proxlb_migrate:
            plan_file: %s
            journal: %s
            poll_interval: 0.5
            balancing: {parallel: true, parallel_jobs: 2}
          register: out
        """ % (plan_file, journal) + save_task("out", out))
    env = sim_env(sim)

    controller = subprocess.Popen(command, env=env, cwd=tmp_path, stdout=subprocess.DEVNULL,
                                  stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 120
        while not any(e.get("event") == "posted" for e in journal_events(journal)):
            assert controller.poll() is None, "the playbook ended before its first migrate request"
            assert time.monotonic() < deadline, "no migrate request recorded in the journal"
            time.sleep(0.01)
    finally:
        if controller.poll() is None:
            kill_controller(controller)
        controller.wait(30)
    assert controller.returncode == -signal.SIGKILL and not out.exists()

    killed = migrations(sim)
    assert killed and all(t["finished"] is None for t in killed)   # interrupted: still running on PVE
    posted = dict((e["vmid"], e["upid"]) for e in journal_events(journal) if e.get("event") == "posted")
    assert set(posted) <= set(t["vmid"] for t in killed)
    locked = dict((g["vmid"], g.get("lock")) for g in sim.proxmox().cluster.resources.get(type="vm"))
    assert all(locked[t["vmid"]] == "migrate" for t in killed)

    ticking = threading.Event()

    def tick():   # time runs again for the rerun, so the interrupted tasks end while it follows them
        while not ticking.wait(0.05):
            sim.admin("POST", "/clock", seconds=2)
    ticker = threading.Thread(target=tick, daemon=True)
    ticker.start()
    try:
        rerun = subprocess.run(command, env=env, cwd=tmp_path, capture_output=True, text=True, timeout=300)
    finally:
        ticking.set()
        ticker.join()
    assert rerun.returncode == 0, rerun.stdout[-3000:] + rerun.stderr[-3000:]
    assert "Traceback" not in rerun.stdout + rerun.stderr
    result = saved(out)
    got = statuses(result)
    followed = dict((r["vmid"], r["upid"]) for r in result["results"]["results"])
    assert all(got[vmid] == "done" and followed[vmid] == upid for vmid, upid in posted.items())   # recorded task
    # killed between a POST and its journal line, the guest's task may end before the rerun looks for it:
    # then the guest is simply found on its target
    assert all(got[t["vmid"]] in ("done", "already_done") for t in killed)
    assert all(got[vmid] == "done" for vmid in wanted if vmid not in set(t["vmid"] for t in killed))

    assert placements(sim) == wanted
    log = migrations(sim)
    assert sorted(t["vmid"] for t in log) == sorted(wanted)   # one migrate task per guest: none posted twice
    assert all(t["exitstatus"] == "OK" for t in log)
    assert all(not g.get("lock") for g in sim.proxmox().cluster.resources.get(type="vm"))
    assert [e["event"] for e in journal_events(journal)].count("run") == 2
