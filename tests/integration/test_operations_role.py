"""The rebalance role with the operations options (issue 20), through ansible-playbook against the simulator:
a blackout run that moves nothing and says why, then a run with the adaptive cooldown that moves, measures,
and both kept in the run history the report draws."""

import json
import pathlib
import subprocess
import sys

from ansible_run import ROOT, sim_env
from helpers import migrations, placements

PLAYBOOK = ROOT / "playbooks" / "rebalance.yml"


def run_role(sim, tmp_path, **extra_vars):
    extra_vars.setdefault("rebalance_report_dir", str(tmp_path / "reports"))
    binary = pathlib.Path(sys.executable).with_name("ansible-playbook")
    proc = subprocess.run([str(binary), str(PLAYBOOK), "-e", json.dumps(extra_vars)], env=sim_env(sim),
                          cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-3000:]
    return proc


def test_a_blackout_run_moves_nothing_and_the_history_keeps_both_runs(simulator, tmp_path):
    sim = simulator("demo.json")
    before = placements(sim)
    # a blackout that always holds: whatever the controller's clock says, this run may not move guests
    run_role(sim, tmp_path, rebalance_report_name="held",
             rebalance_balancing={"blackouts": ["* 00:00-24:00"], "timezone": "UTC"})
    reports = tmp_path / "reports"
    held = (reports / "held.md").read_text()
    assert "No moves: blackout '* 00:00-24:00' (now " in held, held
    assert placements(sim) == before and migrations(sim) == []
    plan = json.loads((reports / "held-plan.json").read_text())
    assert plan["schedule"]["allowed"] is False and plan["moves"] == []

    run_role(sim, tmp_path, rebalance_report_name="moved", rebalance_cooldown="adaptive")
    assert placements(sim) != before
    runs = [json.loads(line) for line in (reports / "history.jsonl").read_text().splitlines()]
    assert [r["moves"] for r in runs][0] == 0 and runs[1]["moves"] == len(migrations(sim)) > 0
    assert runs[0]["predicted"] == runs[0]["before"]          # held: the prediction is the cluster as it was
    assert runs[1]["measured"] is not None and runs[1]["predicted"] < runs[1]["before"]
    page = (reports / "moved.html").read_text()
    assert "<h2>Last 2 run(s)</h2>" in page and '<circle class="measured"' in page
    assert "| measured |" in (reports / "moved.md").read_text()
