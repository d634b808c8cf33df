"""proxlb_plan through ansible-playbook: live against the simulator, check and diff mode, what-if, saved plans."""

import json
import os

from ansible_run import collections_path, run_playbook, save_task, saved, sim_env

SCENARIOS = os.path.join(os.path.dirname(__file__), "..", "..", "simulator", "scenarios")


def test_live_plan_in_check_and_diff_mode_changes_nothing(simulator, tmp_path):
    sim = simulator("small.json")
    before = sim.admin("GET", "/state")
    plan_file = tmp_path / "plan.json"
    proc = run_playbook(tmp_path, """
        - name: Plan
          proxlb.balancer.proxlb_plan:
            balancing: {balanciness: 5}
            plan_file: %s
          register: result
        """ % plan_file + save_task("result", tmp_path / "out.json"), sim_env(sim), "--check", "--diff")
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    result = saved(tmp_path / "out.json")
    plan = json.loads(plan_file.read_text())
    assert result["changed"] is False
    assert plan == result["plan"]
    assert plan["schema"] == "proxlb.balancer/plan/1"
    assert plan["fingerprint"] == before["fingerprint"]
    assert plan["moves"], "the small cluster is unbalanced"
    # --diff shows the placement change of every move
    for move in plan["moves"]:
        assert result["diff"]["before"][str(move["vmid"])] == move["source"]
        assert result["diff"]["after"][str(move["vmid"])] == move["target"]
        # printed as Ansible prints proxlb_migrate's diff (one format for both)
        assert '-    "%d": "%s"' % (move["vmid"], move["source"]) in proc.stdout
        assert '+    "%d": "%s"' % (move["vmid"], move["target"]) in proc.stdout
    # nothing moved on the cluster
    after = sim.admin("GET", "/state")
    assert after["fingerprint"] == before["fingerprint"]
    assert sim.admin("GET", "/tasks")["tasks"] == []


def test_what_if_from_a_snapshot_needs_no_connection(tmp_path):
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=collections_path(), ANSIBLE_NOCOLOR="1")
    for key in [k for k in env if k.startswith("PROXMOX_")]:
        del env[key]
    proc = run_playbook(tmp_path, """
        - name: Drain pve1 on paper
          proxlb.balancer.proxlb_plan:
            snapshot_file: %s
            mode: evacuate
            evacuate_nodes: [pve1]
          register: result
        """ % os.path.join(SCENARIOS, "small.json") + save_task("result", tmp_path / "out.json"), env)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    plan = saved(tmp_path / "out.json")["plan"]
    moved = set(m["vmid"] for m in plan["moves"])
    skipped = set(s["vmid"] for s in plan["skipped"])
    snapshot = json.load(open(os.path.join(SCENARIOS, "small.json")))
    on_pve1 = set(g["vmid"] for g in snapshot["guests"] if g["node"] == "pve1")
    assert on_pve1 <= moved | skipped, "every guest of the drained node moves or is reported"
    assert all(m["target"] != "pve1" for m in plan["moves"])


def test_saved_plan_loads_back_and_is_deterministic(simulator, tmp_path):
    sim = simulator("demo.json")
    proc = run_playbook(tmp_path, """
        - name: Snapshot
          proxlb.balancer.proxlb_facts:
          register: facts
        - name: Plan twice from the registered snapshot
          proxlb.balancer.proxlb_plan:
            snapshot: "{{ facts.snapshot }}"
          register: again
          loop: [1, 2]
        """ + save_task("again", tmp_path / "out.json"), sim_env(sim))
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    runs = saved(tmp_path / "out.json")["results"]
    # the same plan both times; only when it was made may differ
    first, second = (dict(r["plan"]) for r in runs)
    assert first.pop("created") and second.pop("created")
    assert first == second


def test_broken_snapshot_file_is_one_clear_error(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"nodes": [{"node": "a", "maxcpu": 4, "maxmem": 1}],
                               "guests": [{"vmid": 1, "type": "qemu", "node": "zz", "maxmem": 1}]}))
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=collections_path(), ANSIBLE_NOCOLOR="1")
    proc = run_playbook(tmp_path, """
        - name: Plan from a broken file
          proxlb.balancer.proxlb_plan:
            snapshot_file: %s
        """ % bad, env)
    assert proc.returncode != 0
    assert "guests[0].node: 'zz' is not a node of this snapshot" in proc.stdout
    assert "Traceback" not in proc.stdout + proc.stderr
