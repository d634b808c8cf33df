"""Many clusters in one run: three simulators as three inventory hosts of proxmox_clusters, each with its own
connection in host variables; `ansible-playbook -i clusters.yml proxlb.balancer.rebalance` plans and rebalances
all three at once (forks), each with its own plan, results, report and settings."""

import json
import pathlib
import subprocess
import sys

import yaml

from ansible_run import sim_env

BIN = pathlib.Path(sys.executable).parent
CLUSTERS = {"fra": "demo.json", "ams": "small.json", "lab": "pve84.json"}


def inventory(sims):
    hosts = {}
    for name, sim in sims.items():
        hosts[name] = {"proxlb_api_host": [sim.api_host], "proxlb_api_user": sim.user,
                       "proxlb_api_token_id": sim.token_name, "proxlb_api_token_secret": sim.token_secret,
                       "proxlb_ca_path": sim.ca_path}
    # a setting of one cluster only
    hosts["lab"]["rebalance_balancing"] = {"balanciness": 3}
    return {"proxmox_clusters": {"vars": {"ansible_connection": "local",
                                          "ansible_python_interpreter": sys.executable},
                                 "hosts": hosts}}


def placement(sim):
    return dict((int(g["vmid"]), g["node"]) for g in sim.proxmox().cluster.resources.get(type="vm"))


def test_three_clusters_rebalanced_in_one_run_with_their_own_results(simulator, tmp_path):
    sims = dict((name, simulator(scenario)) for name, scenario in CLUSTERS.items())
    before = dict((name, placement(sim)) for name, sim in sims.items())
    (tmp_path / "clusters.yml").write_text(yaml.safe_dump(inventory(sims)))
    reports = tmp_path / "reports"
    # no PROXMOX_* at all: each cluster's connection comes from its host variables only
    env = dict((k, v) for k, v in sim_env(sims["fra"], PROXLB_REPORT_DIR=str(reports)).items()
               if not k.startswith("PROXMOX_"))
    proc = subprocess.run([str(BIN / "ansible-playbook"), "-i", "clusters.yml", "proxlb.balancer.rebalance",
                           "--forks", "3"], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout[-5000:] + proc.stderr[-3000:]
    recap = proc.stdout.split("PLAY RECAP")[-1]
    for name in CLUSTERS:
        assert "%s " % name in recap and "failed=0" in recap.split(name, 1)[1].splitlines()[0]
    assert "localhost" not in recap
    # each cluster's progress lines carry its name
    ended = set(line.split("]", 1)[0][len("proxlb ["):] for line in proc.stdout.splitlines()
                if line.startswith("proxlb [") and " -> " in line and ": done" in line)
    assert ended == set(CLUSTERS), ended

    spans = {}
    for name, sim in sims.items():
        plans = list(reports.glob("rebalance-%s-*-plan.json" % name))
        results = list(reports.glob("rebalance-%s-*-results.json" % name))
        assert len(plans) == 1 and len(results) == 1, sorted(p.name for p in reports.iterdir())
        plan, result = json.loads(plans[0].read_text()), json.loads(results[0].read_text())
        # its own cluster: the plan was made from this simulator's guests, and carried out there
        assert plan["moves"], name
        assert set(m["vmid"] for m in plan["moves"]) <= set(before[name])
        assert result["fingerprint"] == plan["fingerprint"]
        assert result["totals"]["done"] == len(plan["moves"]), result["totals"]
        after = placement(sim)
        for move in plan["moves"]:
            assert before[name][move["vmid"]] == move["source"] and after[move["vmid"]] == move["target"]
        markdown = next(reports.glob("rebalance-%s-*.md" % name)).read_text()
        assert "# Rebalance: executed" in markdown
        expected = 3 if name == "lab" else 10
        assert plan["options"]["balancing"]["balanciness"] == expected, name
        spans[name] = (min(r["started"] for r in result["results"]), max(r["finished"] for r in result["results"]))
    # side by side (forks): the clusters' migrations overlap in time (controller clock, ISO 8601 UTC)
    first_end = min(end for _start, end in spans.values())
    last_start = max(start for start, _end in spans.values())
    assert last_start < first_end, spans


def test_each_cluster_saves_its_own_snapshot_and_plan(simulator, tmp_path):
    sims = dict((name, simulator(scenario)) for name, scenario in CLUSTERS.items())
    (tmp_path / "clusters.yml").write_text(yaml.safe_dump(inventory(sims)))
    env = dict((k, v) for k, v in sim_env(sims["fra"], PROXLB_PLAN_FILE=str(tmp_path / "out" / "plan.json"),
                                           PROXLB_SNAPSHOT_FILE=str(tmp_path / "out" / "snap.json")).items()
               if not k.startswith("PROXMOX_"))
    (tmp_path / "out").mkdir()
    for playbook in ("proxlb.balancer.facts", "proxlb.balancer.plan"):
        proc = subprocess.run([str(BIN / "ansible-playbook"), "-i", "clusters.yml", playbook, "--forks", "3"],
                              cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600)
        assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
    saved = sorted(p.name for p in (tmp_path / "out").iterdir())
    assert saved == sorted(["%s-%s.json" % (kind, name) for kind in ("plan", "snap") for name in CLUSTERS])
    for name, sim in sims.items():
        snap = json.loads((tmp_path / "out" / ("snap-%s.json" % name)).read_text())
        plan = json.loads((tmp_path / "out" / ("plan-%s.json" % name)).read_text())
        assert set(g["vmid"] for g in snap["guests"]) == set(placement(sim)), name
        assert plan["fingerprint"] == snap["fingerprint"], name
