"""The rebalance role through ansible-playbook against the simulator: auto, manual then approved, check mode,
reports, webhook and the systemd units."""

import http.server
import json
import pathlib
import subprocess
import sys
import threading

from ansible_run import ROOT, sim_env
from helpers import placements

PLAYBOOK = ROOT / "playbooks" / "rebalance.yml"


def run_rebalance(sim, tmp_path, *args, **extra_vars):
    """ansible-playbook playbooks/rebalance.yml with role variables as one JSON extra-vars document."""
    extra_vars.setdefault("rebalance_report_dir", str(tmp_path / "reports"))
    binary = pathlib.Path(sys.executable).with_name("ansible-playbook")
    env = sim_env(sim) if sim is not None else sim_env_free()
    return subprocess.run([str(binary), str(PLAYBOOK), "-e", json.dumps(extra_vars)] + list(args),
                          env=env, cwd=tmp_path, capture_output=True, text=True, timeout=300)


def sim_env_free():
    import os
    from ansible_run import collections_path
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=collections_path(), ANSIBLE_NOCOLOR="1",
               ANSIBLE_LOCALHOST_WARNING="0", ANSIBLE_INVENTORY_UNPARSED_WARNING="0",
               ANSIBLE_PYTHON_INTERPRETER=sys.executable)
    return dict((k, v) for k, v in env.items() if not k.startswith("PROXMOX_"))


def recap(proc):
    """The PLAY RECAP counters of localhost, e.g. {'ok': 7, 'changed': 1, ...}."""
    line = [ln for ln in proc.stdout.splitlines() if ln.startswith("localhost")][-1]
    return dict((k, int(v)) for k, v in (item.split("=") for item in line.split()[2:]))


def ok(proc):
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-3000:]
    return recap(proc)


def reports(tmp_path, suffix):
    return sorted((tmp_path / "reports").glob("*" + suffix))


def mem_spread(sim):
    """Largest minus smallest memory use in percent over the online nodes not in maintenance."""
    nodes = [n for n in sim.admin("GET", "/state")["nodes"] if n["status"] == "online" and n["hastate"] != "maintenance"]
    pcts = [100.0 * n["mem"] / n["maxmem"] for n in nodes]
    return max(pcts) - min(pcts)


def test_auto_balances_the_demo_cluster(simulator, tmp_path):
    sim = simulator("demo.json")
    before, spread_before = placements(sim), mem_spread(sim)
    first = run_rebalance(sim, tmp_path, rebalance_report_name="first")
    assert ok(first)["changed"] == 1, "only the migrate task changes something"
    after = placements(sim)
    moved = dict((v, n) for v, n in after.items() if before[v] != n)
    results = json.loads((tmp_path / "reports" / "first-results.json").read_text())
    done = dict((r["vmid"], r["target"]) for r in results["results"] if r["status"] == "done")
    assert len(done) >= 5, results["totals"]
    assert done == moved, "exactly the moves reported done happened on the cluster"
    assert mem_spread(sim) < spread_before - 10
    markdown = (tmp_path / "reports" / "first.md").read_text()
    for result in results["results"]:
        if result["status"] == "done":
            assert "| %s | %s | done |" % (result["source"], result["target"]) in markdown
    assert "report: %s" % (tmp_path / "reports" / "first.html") in first.stdout



def test_a_second_run_changes_nothing(simulator, tmp_path):
    sim = simulator("small.json")
    before = placements(sim)
    assert ok(run_rebalance(sim, tmp_path, rebalance_report_name="first"))["changed"] == 1
    after = placements(sim)
    assert after != before
    second = run_rebalance(sim, tmp_path, rebalance_report_name="second")
    assert ok(second)["changed"] == 0
    assert placements(sim) == after
    assert json.loads((tmp_path / "reports" / "second-plan.json").read_text())["moves"] == []
    assert "No moves" in (tmp_path / "reports" / "second.md").read_text()


def html_counts(path):
    """Bar groups per node and rows per move in an HTML report, read with the standard HTML parser."""
    from html.parser import HTMLParser

    class Counter(HTMLParser):
        def __init__(self):
            HTMLParser.__init__(self)
            self.nodes, self.moves, self.bars = [], [], 0

        def handle_starttag(self, tag, attrs):
            attrs = dict(attrs)
            classes = (attrs.get("class") or "").split()
            if tag == "div" and "node" in classes:
                self.nodes.append(attrs["data-node"])
            if tag == "tr" and "move" in classes:
                self.moves.append(int(attrs["data-vmid"]))
            if tag == "rect" and "bar" in classes:
                self.bars += 1

    counter = Counter()
    counter.feed(pathlib.Path(path).read_text())
    return counter


def test_manual_publishes_the_plan_and_a_later_run_carries_it_out(simulator, tmp_path):
    sim = simulator("small.json")
    before = placements(sim)
    proc = run_rebalance(sim, tmp_path, rebalance_approve="manual", rebalance_report_name="review")
    assert ok(proc)["changed"] == 0
    assert placements(sim) == before
    assert sim.admin("GET", "/tasks")["tasks"] == []
    plan_file = tmp_path / "reports" / "review-plan.json"
    plan = json.loads(plan_file.read_text())
    assert plan["schema"] == "proxlb.balancer/plan/1" and plan["moves"]
    assert not (tmp_path / "reports" / "review-results.json").exists()
    assert "rebalance_execute_plan_file=%s" % plan_file in proc.stdout
    assert "# Rebalance: awaiting approval" in (tmp_path / "reports" / "review.md").read_text()
    counts = html_counts(tmp_path / "reports" / "review.html")
    assert sorted(counts.nodes) == sorted(set(before.values()) | set(m["target"] for m in plan["moves"]))
    assert counts.moves == [m["vmid"] for m in plan["moves"]]
    assert counts.bars == 6 * len(counts.nodes), "before and after bars for memory, cpu, disk"

    # the approval: the same manual template, given the published plan, carries it out
    approved = run_rebalance(sim, tmp_path, rebalance_approve="manual", rebalance_report_name="approved",
                             rebalance_execute_plan_file=str(plan_file))
    assert ok(approved)["changed"] == 1
    after = placements(sim)
    assert all(after[m["vmid"]] == m["target"] for m in plan["moves"])
    assert "# Rebalance: executed" in (tmp_path / "reports" / "approved.md").read_text()


def test_manual_publishes_the_plan_with_set_stats(simulator, tmp_path):
    sim = simulator("small.json")
    import os
    proc = subprocess.run(
        [str(pathlib.Path(sys.executable).with_name("ansible-playbook")), str(PLAYBOOK), "-e",
         json.dumps({"rebalance_approve": "manual", "rebalance_report_dir": str(tmp_path / "r")})],
        env=dict(sim_env(sim), ANSIBLE_SHOW_CUSTOM_STATS="1"), cwd=tmp_path, capture_output=True, text=True,
        timeout=300)
    assert proc.returncode == 0, proc.stdout[-3000:]
    stats = proc.stdout[proc.stdout.index("CUSTOM STATS"):]
    assert "rebalance_execute_plan" in stats and "proxlb.balancer/plan/1" in stats
    assert os.path.basename(str(next((tmp_path / "r").glob("*-plan.json")))) in stats


def test_check_mode_moves_nothing_and_reports_what_would_run(simulator, tmp_path):
    sim = simulator("small.json")
    before = placements(sim)
    proc = run_rebalance(sim, tmp_path, "--check", rebalance_report_name="dry")
    ok(proc)
    assert placements(sim) == before
    assert sim.admin("GET", "/tasks")["tasks"] == []
    assert "# Rebalance: check mode" in (tmp_path / "reports" / "dry.md").read_text()
    plan = json.loads((tmp_path / "reports" / "dry-plan.json").read_text())
    assert html_counts(tmp_path / "reports" / "dry.html").moves == [m["vmid"] for m in plan["moves"]]


def test_webhook_receives_the_summary(simulator, tmp_path):
    received = []

    class Hook(http.server.BaseHTTPRequestHandler):
        def do_POST(self):
            body = self.rfile.read(int(self.headers["Content-Length"]))
            received.append((self.headers.get("X-Token"), json.loads(body)))
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = http.server.HTTPServer(("127.0.0.1", 0), Hook)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        sim = simulator("small.json")
        proc = run_rebalance(sim, tmp_path, rebalance_approve="manual", rebalance_report_name="hooked",
                             rebalance_webhook="http://127.0.0.1:%d/hook" % server.server_port,
                             rebalance_webhook_headers={"X-Token": "abc"})
        assert ok(proc)["changed"] == 0, "posting the summary is not a change"
    finally:
        server.shutdown()
    assert len(received) == 1
    token, summary = received[0]
    plan = json.loads((tmp_path / "reports" / "hooked-plan.json").read_text())
    assert token == "abc"
    assert summary["schema"] == "proxlb.balancer/report/1"
    assert summary["status"] == "awaiting approval"
    assert [m["vmid"] for m in summary["moves"]] == [m["vmid"] for m in plan["moves"]]
    assert summary["report"]["html"] == str(tmp_path / "reports" / "hooked.html")


def units(tmp_path, **role_vars):
    role_vars.update(rebalance_schedule=True, rebalance_systemd_dir=str(tmp_path / "units"),
                     rebalance_schedule_vars_file=str(tmp_path / "etc" / "rebalance-vars.yml"),
                     # an existing system user, nothing created outside tmp_path (test_hardening_role.py)
                     rebalance_schedule_user="daemon", rebalance_schedule_group="daemon",
                     rebalance_schedule_create_user=False, rebalance_schedule_working_dir=str(tmp_path / "work"),
                     rebalance_schedule_environment_file=str(tmp_path / "etc" / "rebalance.env"))
    proc = run_rebalance(None, tmp_path, **role_vars)
    counts = ok(proc)
    service = (tmp_path / "units" / "proxlb-rebalance.service").read_text()
    timer = (tmp_path / "units" / "proxlb-rebalance.timer").read_text()
    return counts, service, timer, proc


def directives(text):
    return dict(line.split("=", 1) for line in text.splitlines() if "=" in line and not line.startswith("#"))


def test_schedule_renders_timer_and_service_from_proxlb_semantics(tmp_path):
    import yaml
    service_vars = {"schedule": {"interval": 30, "format": "minutes"},
                    "delay": {"enable": True, "time": 2, "format": "hours"}}
    counts, service, timer, _proc = units(tmp_path, rebalance_service=service_vars, rebalance_approve="manual",
                                         rebalance_balancing={"balanciness": 7})
    assert counts["changed"] >= 3
    t = directives(timer)
    assert t["OnUnitActiveSec"] == "30min" and t["OnActiveSec"] == "2h"
    assert t["Unit"] == "proxlb-rebalance.service" and t["WantedBy"] == "timers.target"
    s = directives(service)
    assert s["Type"] == "oneshot"
    assert s["ExecStart"] == "/usr/bin/ansible-playbook proxlb.balancer.rebalance -e @%s" % (
        tmp_path / "etc" / "rebalance-vars.yml")
    assert s["EnvironmentFile"] == "-%s" % (tmp_path / "etc" / "rebalance.env")
    scheduled = yaml.safe_load((tmp_path / "etc" / "rebalance-vars.yml").read_text())
    assert scheduled["rebalance_schedule"] is False, "the scheduled run rebalances, it does not reinstall"
    assert scheduled["rebalance_approve"] == "manual"
    assert scheduled["rebalance_balancing"] == {"balanciness": 7}
    assert not [k for k in scheduled if "token" in k or "password" in k]
    # same variables again: nothing changes
    again, _s, _t, _p = units(tmp_path, rebalance_service=service_vars, rebalance_approve="manual",
                              rebalance_balancing={"balanciness": 7})
    assert again["changed"] == 0


def test_schedule_from_a_proxlb_config_file_and_a_calendar(tmp_path):
    config = tmp_path / "proxlb.yaml"
    config.write_text("proxmox_api:\n  hosts: ['pve1.example.com']\nservice:\n  daemon: true\n  schedule: 6\n")
    _c, _s, timer, _p = units(tmp_path, rebalance_config_file=str(config))
    t = directives(timer)
    assert t["OnUnitActiveSec"] == "6h", "ProxLB 1.1.0's schedule: 6 means hours"
    assert t["OnActiveSec"] == "0", "no delay: the first run when the timer starts, like ProxLB's daemon"
    _c, _s, timer, _p = units(tmp_path, rebalance_schedule_calendar="*-*-* 02:30")
    t = directives(timer)
    assert t["OnCalendar"] == "*-*-* 02:30" and t["Persistent"] == "true" and "OnUnitActiveSec" not in t


def test_schedule_rejects_a_bad_interval_in_one_line(tmp_path):
    proc = run_rebalance(None, tmp_path, rebalance_schedule=True, rebalance_systemd_dir=str(tmp_path / "u"),
                         rebalance_schedule_vars_file=str(tmp_path / "v.yml"),
                         rebalance_service={"schedule": {"interval": 0, "format": "days"}})
    assert proc.returncode != 0
    assert "rebalance_service: schedule.interval must be a whole number >= 1" in proc.stdout
    assert not (tmp_path / "u" / "proxlb-rebalance.timer").exists()


def test_report_task_under_the_group_module_defaults(tmp_path):
    from ansible_run import run_playbook
    from ansible_collections.proxlb.balancer.plugins.module_utils.facts import snapshot
    from ansible_collections.proxlb.balancer.plugins.module_utils.plan.planner import plan as make_plan
    plan = make_plan(snapshot.load(str(ROOT / "simulator" / "scenarios" / "small.json")), {})
    (tmp_path / "plan.json").write_text(json.dumps(plan))
    play = """
        - name: Report with the group's connection defaults set
          proxlb.balancer.proxlb_report:
            plan_file: %s
            dest: %s
          module_defaults:
            group/proxlb.balancer.proxlb:
              api_host: pve1.example.com
              api_token_secret: s3cr3t-value
        """ % (tmp_path / "plan.json", tmp_path / "out")
    proc = run_playbook(tmp_path, play, sim_env_free())
    assert ok(proc)["changed"] == 0
    assert html_counts(tmp_path / "out" / "report.html").moves == [m["vmid"] for m in plan["moves"]]
    assert "s3cr3t-value" not in proc.stdout
