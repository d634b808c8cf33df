"""The example rulebook (extensions/eda/rulebooks/memory_pressure.yml) as ansible-rulebook loads it: schema,
rules, conditions compiled to the Drools ruleset, the throttle per cluster.

ansible-rulebook (PyPI, needs a Java 17 runtime) is not in the development requirements: the test runs with
the Python of an ansible-rulebook on PATH, or of $PROXLB_ANSIBLE_RULEBOOK, and is skipped without one."""

import json
import os
import pathlib
import shutil
import subprocess
import sys

import pytest
import yaml

ROOT = pathlib.Path(__file__).resolve().parents[2]
RULEBOOK = ROOT / "extensions" / "eda" / "rulebooks" / "memory_pressure.yml"

CHECK = r"""
import argparse, json, sys
from ansible_rulebook.app import load_rulebook
from ansible_rulebook.json_generator import visit_ruleset
rulesets = load_rulebook(argparse.Namespace(rulebook=sys.argv[1]))   # schema and rules, as at startup
ast = [visit_ruleset(rs, {"proxlb_eda_port": 5050}) for rs in rulesets]  # the conditions Drools gets
print(json.dumps({"rulesets": [rs.name for rs in rulesets], "ast": ast}, default=str))
"""


def rulebook_python():
    binary = os.environ.get("PROXLB_ANSIBLE_RULEBOOK") or shutil.which("ansible-rulebook")
    if not binary:
        pytest.skip("ansible-rulebook is not installed (pip install ansible-rulebook; needs Java 17)")
    with open(binary) as handle:
        first = handle.readline()
    return first[2:].strip() if first.startswith("#!") else binary


def test_rulebook_loads_in_ansible_rulebook_with_a_throttle_per_cluster():
    # it asks ansible-galaxy where collections are (for plugin routing): this venv's
    env = dict(os.environ, PATH="%s:%s" % (os.path.dirname(sys.executable), os.environ.get("PATH", "")))
    proc = subprocess.run([rulebook_python(), "-c", CHECK, str(RULEBOOK)], capture_output=True, text=True,
                          env=env, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    assert out["rulesets"] == ["Rebalance a Proxmox VE cluster when one of its nodes runs short of memory"]
    rule = out["ast"][0]["RuleSet"]["rules"][0]["Rule"]
    assert rule["throttle"] == {"group_by_attributes": ["event.alert.labels.cluster"], "once_within": "30 minutes"}
    assert rule["actions"][0]["Action"]["action"] == "run_workflow_template"


def test_rulebook_shape_without_ansible_rulebook():
    """What holds without the tool: one Alertmanager source, firing memory-pressure alerts, throttled per
    cluster, the workflow limited to the alert's cluster."""
    ruleset = yaml.safe_load(RULEBOOK.read_text())[0]
    assert list(ruleset["sources"][0])[-1] == "ansible.eda.alertmanager"
    rule = ruleset["rules"][0]
    assert 'event.alert.status == "firing"' in rule["condition"]
    assert rule["throttle"]["once_within"] == "30 minutes"
    assert rule["action"]["run_workflow_template"]["job_args"]["limit"] == "{{ event.alert.labels.cluster }}"
