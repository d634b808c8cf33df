"""proxlb_best_node and the best_node lookup against the simulator, through ansible-playbook."""

import json
import pathlib
import subprocess
import sys

from ansible_collections.proxlb.balancer.plugins.module_utils.entry.runner import run_best_node

from ansible_run import run_playbook, save_task, saved, sim_env

ROOT = pathlib.Path(__file__).resolve().parents[2]
SCENARIO = ROOT / "tests" / "scenarios" / "best_anti_affinity.json"


def scenario():
    doc = json.loads(SCENARIO.read_text())["snapshot"]
    return dict(doc, cluster={"name": "best"})


def params(sim, **extra):
    base = dict(api_host=[sim.api_host], api_user=sim.user, api_token_id=sim.token_name,
                api_token_secret=sim.token_secret, ca_path=sim.ca_path)
    base.update(extra)
    return base


def test_module_and_lookup_agree_and_respect_anti_affinity(simulator, tmp_path):
    sim = simulator(scenario())
    direct = run_best_node(params(sim, memory=4096, tags=["plb_anti_affinity_web"]), environ={})
    assert direct["node"] == "pve3"  # pve1 and pve2 hold the other web members, although pve3 is busiest
    plain = run_best_node(params(sim, memory=4096), environ={})
    assert plain["node"] == "pve1"
    proc = run_playbook(tmp_path, """
        - name: Rank with the module
          proxlb.balancer.proxlb_best_node:
            memory: 4096
            tags: "{{ web_tags }}"
          register: module_answer
        - name: Ask the lookup once
          ansible.builtin.set_fact:
            lookup_answer: "{{ lookup('proxlb.balancer.best_node', memory=4096, tags=web_tags) }}"
            plain_answer: "{{ lookup('proxlb.balancer.best_node', memory=4096) }}"
        - name: Collect
          ansible.builtin.set_fact:
            answers: {module: "{{ module_answer }}", lookup: "{{ lookup_answer }}", plain: "{{ plain_answer }}"}
        """ + save_task("answers", tmp_path / "out.json"), sim_env(sim), vars_={"web_tags": ["plb_anti_affinity_web"]})
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    answers = saved(tmp_path / "out.json")
    assert answers["module"]["node"] == answers["lookup"] == direct["node"]
    assert answers["plain"] == plain["node"]
    assert answers["module"]["ranking"] == direct["ranking"]
    assert answers["module"]["changed"] is False
    assert sim.token_secret not in proc.stdout + proc.stderr


def test_nothing_fits_is_one_line_without_traceback(simulator, tmp_path):
    sim = simulator(scenario())
    proc = run_playbook(tmp_path, """
        - name: Too big for any node
          proxlb.balancer.proxlb_best_node:
            memory: 1048576
        """, sim_env(sim))
    assert proc.returncode != 0
    out = proc.stdout + proc.stderr
    assert "no node can take the new qemu" in out and "pve3: needs 1024.0 GiB memory" in out
    assert "Traceback" not in out


def test_best_node_playbook_runs_against_the_simulator(simulator, tmp_path):
    sim = simulator(scenario())
    expected = run_best_node(params(sim, memory=2048, cores=2, disk=0), environ={})["node"]
    binary = pathlib.Path(sys.executable).with_name("ansible-playbook")
    proc = subprocess.run([str(binary), str(ROOT / "playbooks" / "best_node.yml"), "-e",
                           json.dumps({"best_node_memory": 2048, "best_node_disk": 0})],
                          env=sim_env(sim), cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert "best node %s" % expected in proc.stdout
    assert "Create the guest on the chosen node" in proc.stdout and "skipping" in proc.stdout
