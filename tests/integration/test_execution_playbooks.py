"""Issue 14 through ansible-playbook: the play's exit code when a move fails (the rebalance role fails after
writing its report; rebalance_fail_task: false keeps it green), and a controller killed with SIGKILL while
its worker runs on: the worker starts no further migration, releases the lease and leaves the journal for the
next run, which follows the migration in flight instead of posting it again."""

import json
import os
import signal
import subprocess
import sys
import textwrap
import threading

from ansible_run import ROOT, save_task, saved, sim_env
from helpers import journal_events, make_plan, migrations, placements, process_tree, scenario, statuses, wait_until

from ansible_collections.proxlb.balancer.plugins.module_utils.migrate import lease as lease_mod

THREE = [("pve1", "9.1.2", 64), ("pve2", "9.1.2", 64), ("pve3", "9.1.2", 64)]
BINARY = os.path.join(os.path.dirname(sys.executable), "ansible-playbook")


def notes(sim):
    return sim.proxmox().cluster.options.get().get("description", "") or ""


def recap(proc):
    line = [ln for ln in proc.stdout.splitlines() if ln.startswith("localhost")][-1]
    return dict((k, int(v)) for k, v in (item.split("=") for item in line.split()[2:]))


def report_plan(*moves):
    plan = make_plan(*moves)
    plan.update(nodes_before={}, nodes_after={})
    return plan


def run_rebalance(sim, tmp_path, **extra_vars):
    extra_vars.setdefault("rebalance_report_dir", str(tmp_path / "reports"))
    return subprocess.run([BINARY, str(ROOT / "playbooks" / "rebalance.yml"), "-e", json.dumps(extra_vars)],
                          env=sim_env(sim), cwd=tmp_path, capture_output=True, text=True, timeout=300)


def test_a_failed_move_fails_the_rebalance_play_after_the_report(simulator, tmp_path):
    sim = simulator(scenario(THREE, [(101, "qemu", "pve1", "running", 2), (102, "qemu", "pve1", "running", 2)]))
    sim.admin("POST", "/faults", fail_vmid=101, message="disk copy broke")
    plan = report_plan((1, 101, "pve1", "pve2"), (1, 102, "pve1", "pve3"))
    failed = run_rebalance(sim, tmp_path, rebalance_execute_plan=plan, rebalance_report_name="failing")
    assert failed.returncode == 2, failed.stdout[-3000:] + failed.stderr[-2000:]
    assert recap(failed)["failed"] == 1
    assert "guest 101" in failed.stdout and "Traceback" not in failed.stdout + failed.stderr
    results = json.loads((tmp_path / "reports" / "failing-results.json").read_text())   # written before failing
    assert statuses({"results": results}) == {101: "failed", 102: "done"}
    assert (tmp_path / "reports" / "failing.html").exists()
    assert placements(sim) == {101: "pve1", 102: "pve3"}
    assert sorted(t["vmid"] for t in migrations(sim)) == [101, 102]
    assert lease_mod.PREFIX not in notes(sim)

    sim.admin("POST", "/faults", fail_vmid=101)
    green = run_rebalance(sim, tmp_path, rebalance_execute_plan=report_plan((1, 101, "pve1", "pve2")),
                          rebalance_fail_task=False, rebalance_report_name="report-only")
    assert green.returncode == 0, green.stdout[-3000:] + green.stderr[-2000:]
    results = json.loads((tmp_path / "reports" / "report-only-results.json").read_text())
    assert statuses({"results": results}) == {101: "failed"}
    assert placements(sim) == {101: "pve1", 102: "pve3"}




def alive(pid):
    try:
        with open("/proc/%d/stat" % pid) as handle:
            return handle.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False




def test_killing_only_the_controller_stops_its_worker_and_the_rerun_follows(simulator, tmp_path):
    guests = [(101, "qemu", "pve1", "running", 2), (102, "qemu", "pve1", "running", 2),
              (103, "qemu", "pve2", "running", 2)]
    sim = simulator(scenario(THREE, guests), clock=0)   # stopped time: the first migration stays in flight
    plan = make_plan((1, 101, "pve1", "pve2"), (1, 102, "pve1", "pve3"), (1, 103, "pve2", "pve3"))
    plan_file, journal, out = tmp_path / "plan.json", tmp_path / "journal.jsonl", tmp_path / "out.json"
    plan_file.write_text(json.dumps(plan))
    play = tmp_path / "play.yml"
    tasks = textwrap.dedent("""\
        - name: migrate
          proxlb.balancer.proxlb_migrate:
            plan_file: %s
            journal: %s
            poll_interval: 0.5
          register: out
        """ % (plan_file, journal)) + textwrap.dedent(save_task("out", out))
    play.write_text("- hosts: localhost\n  gather_facts: false\n  connection: local\n  tasks:\n"
                    + textwrap.indent(tasks, "    "))
    env = sim_env(sim)
    controller = subprocess.Popen([BINARY, str(play)], env=env, cwd=tmp_path, stdout=subprocess.DEVNULL,
                                  stderr=subprocess.DEVNULL)
    workers = []
    try:
        wait_until(lambda: any(e.get("event") == "posted" for e in journal_events(journal)) or
                   controller.poll() is not None, "the first migrate request in the journal", timeout=120)
        assert controller.poll() is None, "the playbook ended before its first migrate request"
        workers = [p for p in process_tree(controller.pid) if p != controller.pid]
        assert workers
        os.kill(controller.pid, signal.SIGKILL)   # the controller only: its worker left the session
        controller.wait(30)
        # the worker notices within a poll round, starts nothing more and releases the cluster lease
        wait_until(lambda: lease_mod.PREFIX not in notes(sim), "the worker to release the lease", timeout=60)
        wait_until(lambda: not [p for p in workers if alive(p)], "the worker to end", timeout=60)
    finally:
        for pid in workers + [controller.pid]:
            try:
                os.kill(pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
    [task] = migrations(sim)   # one POST, then nothing more
    assert task["finished"] is None
    events = journal_events(journal)
    assert [e["event"] for e in events if e.get("vmid") == task["vmid"]] == ["intent", "posted"]
    assert not out.exists()

    ticking = threading.Event()

    def tick():   # time runs again for the rerun: the migration in flight ends, the others run
        while not ticking.wait(0.05):
            sim.admin("POST", "/clock", seconds=2)
    ticker = threading.Thread(target=tick, daemon=True)
    ticker.start()
    try:
        rerun = subprocess.run([BINARY, str(play)], env=env, cwd=tmp_path, capture_output=True, text=True,
                               timeout=300)
    finally:
        ticking.set()
        ticker.join()
    assert rerun.returncode == 0, rerun.stdout[-3000:] + rerun.stderr[-2000:]
    result = saved(out)
    got = dict((r["vmid"], r) for r in result["results"]["results"])
    assert got[task["vmid"]]["status"] == "done" and got[task["vmid"]]["upid"] == task["upid"]
    assert set(statuses(result).values()) == {"done"}
    assert sorted(t["vmid"] for t in migrations(sim)) == [101, 102, 103]   # none posted twice
    assert placements(sim) == {101: "pve2", 102: "pve3", 103: "pve3"}
    assert lease_mod.PREFIX not in notes(sim)
    assert not [g for g in sim.proxmox().cluster.resources.get(type="vm") if g.get("lock")]


def test_a_failed_drain_move_fails_the_maintenance_play_after_the_report(simulator, tmp_path):
    from ansible_run import run_playbook
    guests = [(101, "qemu", "pve1", "running", 2), (102, "qemu", "pve1", "running", 2)]
    sim = simulator(scenario(THREE, guests))
    sim.admin("POST", "/faults", fail_vmid=101, message="disk copy broke")
    reports = tmp_path / "reports"
    proc = run_playbook(tmp_path, """
        - name: Maintenance
          ansible.builtin.include_role:
            name: proxlb.balancer.maintenance
          vars:
            maintenance_nodes: [pve1]
            maintenance_state: present
            maintenance_poll_interval: 0.5
            maintenance_report_dir: "%s"
        """ % reports, sim_env(sim))
    assert proc.returncode == 2, proc.stdout[-3000:] + proc.stderr[-2000:]
    assert recap(proc)["failed"] == 1
    assert "drain of pve1" in proc.stdout and "guest 101" in proc.stdout
    written = [json.loads(p.read_text()) for p in reports.glob("*-results.json")]   # the report came first
    assert len(written) == 1 and statuses({"results": written[0]})[101] == "failed"
    placed = placements(sim)
    assert placed[101] == "pve1" and placed[102] != "pve1"
    assert sorted(t["vmid"] for t in migrations(sim)) == [101, 102]
    assert "proxlb.balancer maintenance: pve1" in notes(sim) and lease_mod.PREFIX not in notes(sim)
