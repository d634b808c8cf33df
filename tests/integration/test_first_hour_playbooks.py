"""Issue 19 through ansible-playbook: one default balanciness for plan.yml and the rebalance role, true connection
defaults that still lose to config_file and PROXMOX_*, one-line errors for typos in module options and lookup
keys, failover without a success warning, maintenance reports that a check run does not overwrite."""

import json
import os
import pathlib
import re
import subprocess
import sys

from ansible_run import collections_path, run_playbook, save_task, saved, sim_env

ROOT = pathlib.Path(__file__).resolve().parents[2]
BIN = pathlib.Path(sys.executable).parent
MODULES = sorted(p.stem for p in (ROOT / "plugins" / "modules").glob("proxlb_*.py"))


def _ok(proc):
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-3000:]


def _playbook(name, env, tmp_path, *args):
    return subprocess.run([str(BIN / "ansible-playbook"), "proxlb.balancer.%s" % name] + list(args), env=env,
                          cwd=tmp_path, capture_output=True, text=True, timeout=300)


def test_plan_playbook_shows_the_plan_the_rebalance_role_makes(simulator, tmp_path):
    sim = simulator("demo.json")
    env = sim_env(sim, PROXLB_PLAN_FILE=str(tmp_path / "plan.json"), PROXLB_REPORT_DIR=str(tmp_path / "reports"))
    _ok(_playbook("plan", env, tmp_path))
    _ok(_playbook("rebalance", env, tmp_path, "-e", "rebalance_approve=manual", "-e", "rebalance_report_name=r"))
    from_playbook = json.loads((tmp_path / "plan.json").read_text())
    from_role = json.loads((tmp_path / "reports" / "r-plan.json").read_text())
    assert from_playbook["options"]["balancing"]["balanciness"] == from_role["options"]["balancing"]["balanciness"]
    assert [(m["vmid"], m["target"]) for m in from_playbook["moves"]] == \
        [(m["vmid"], m["target"]) for m in from_role["moves"]]
    # one knob for both
    _ok(_playbook("plan", env, tmp_path, "-e", '{"rebalance_balancing": {"balanciness": 3}}'))
    assert json.loads((tmp_path / "plan.json").read_text())["options"]["balancing"]["balanciness"] == 3


def test_documented_defaults_are_the_argument_spec_defaults():
    """What validate-modules checks (doc-default-does-not-match-spec), for every option of every module."""
    import importlib
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=collections_path())
    proc = subprocess.run([str(BIN / "ansible-doc"), "-j"] + ["proxlb.balancer.%s" % m for m in MODULES],
                          env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    docs = json.loads(proc.stdout)
    for module in MODULES:
        options = docs["proxlb.balancer.%s" % module]["doc"]["options"]
        spec = importlib.import_module("ansible_collections.proxlb.balancer.plugins.modules.%s" % module)
        for name, arg in spec.argument_spec().items():
            assert options[name].get("default") == arg.get("default"), (module, name)
        assert options["validate_certs"]["default"] is True and options["api_port"]["default"] == 8006


def test_environment_and_config_file_still_win_over_the_connection_defaults(simulator, tmp_path):
    sim = simulator("small.json")
    # the port only in PROXMOX_PORT: the argument spec's 8006 must not replace it
    env = sim_env(sim, PROXMOX_HOST=sim.host, PROXMOX_PORT=str(sim.port))
    proc = run_playbook(tmp_path, """
        - name: Facts
          proxlb.balancer.proxlb_facts:
          register: result
        """ + save_task("result", tmp_path / "out.json"), env)
    _ok(proc)
    assert saved(tmp_path / "out.json")["api_host_used"] == sim.api_host
    # verification off in a ProxLB file (a lab) and no CA anywhere: the file must win over validate_certs' true
    config = tmp_path / "proxlb.yaml"
    config.write_text("proxmox_api:\n  hosts: ['%s']\n  ssl_verification: false\n" % sim.api_host)
    env = sim_env(sim, PROXMOX_HOST="", PROXMOX_CA_PATH="")
    proc = run_playbook(tmp_path, """
        - name: Facts from the config file
          proxlb.balancer.proxlb_facts:
            config_file: %s
          register: result
        """ % config + save_task("result", tmp_path / "out2.json"), env)
    _ok(proc)
    assert saved(tmp_path / "out2.json")["api_host_used"] == sim.api_host


def test_a_misspelt_top_level_option_fails_with_unsupported_parameters(tmp_path):
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=collections_path(), ANSIBLE_NOCOLOR="1")
    proc = run_playbook(tmp_path, """
        - name: Typo
          proxlb.balancer.proxlb_plan:
            balancng: {balanciness: 3}
        """, env)
    assert proc.returncode != 0
    assert "Unsupported parameters for (proxlb.balancer.proxlb_plan) module: balancng." in proc.stdout


def test_the_lookup_refuses_an_unknown_key_in_one_line(tmp_path):
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=collections_path(), ANSIBLE_NOCOLOR="1")
    proc = run_playbook(tmp_path, """
        - name: Typo in a lookup key
          ansible.builtin.debug:
            msg: "{{ lookup('proxlb.balancer.best_node', memmory=8192, cores=2) }}"
        """, env)
    assert proc.returncode != 0
    line = [x for x in proc.stdout.splitlines() if "unknown option(s) memmory;" in x]
    assert line, proc.stdout[-3000:]
    assert "cores" not in line[0].split(";")[0]


def test_failover_prints_the_dead_host_as_a_warning_and_no_success_warning(simulator, tmp_path):
    sim = simulator("small.json")
    env = sim_env(sim, PROXMOX_HOST="%s,%s" % (sim.down_api_host, sim.api_host))
    proc = run_playbook(tmp_path, """
        - name: Facts
          proxlb.balancer.proxlb_facts:
          register: result
        """ + save_task("result", tmp_path / "out.json"), env)
    _ok(proc)
    warnings = re.findall(r"\[WARNING\]: (.*)", proc.stdout + proc.stderr)
    assert any(sim.down_api_host in w and "did not answer" in w for w in warnings), warnings
    assert not [w for w in warnings if "answered" in w], warnings
    assert "proxlb: API host %s answered" % sim.api_host in proc.stdout
    assert saved(tmp_path / "out.json")["api_host_used"] == sim.api_host


def test_a_check_run_of_maintenance_does_not_overwrite_the_real_report(simulator, tmp_path):
    sim = simulator("small.json")
    reports = tmp_path / "reports"
    tasks = """
        - name: Maintenance
          ansible.builtin.include_role:
            name: proxlb.balancer.maintenance
          vars:
            maintenance_nodes: [pve1]
            maintenance_poll_interval: 0.5
            maintenance_report_dir: "%s"
        """ % reports
    _ok(run_playbook(tmp_path, tasks, sim_env(sim)))
    real = sorted(reports.glob("maintenance-pve1-present-*.md"))
    assert len(real) == 1 and "-check" not in real[0].name
    before = real[0].read_text()
    _ok(run_playbook(tmp_path, tasks, sim_env(sim), "--check"))
    checks = sorted(reports.glob("maintenance-pve1-present-*-check.md"))
    assert len(checks) == 1 and "check mode" in checks[0].read_text()
    assert real[0].read_text() == before


def test_best_node_playbook_prints_one_readable_line_per_node(simulator, tmp_path):
    sim = simulator("demo.json")
    proc = _playbook("best_node", sim_env(sim), tmp_path, "-e", '{"best_node_memory": 2048}')
    _ok(proc)
    shown = proc.stdout.split("Show the choice and why")[1].split("TASK [")[0]
    lines = re.findall(r'^\s+"(pve\d+) +(score +[\d.]+|no fit) +(.*)",?$', shown, re.M)
    assert sorted(n for n, _s, _r in lines) == ["pve1", "pve2", "pve3", "pve4", "pve5"], shown
    assert "['" not in shown and "[\\'" not in shown
    # pve5 is in HA maintenance: it says so instead of a score
    assert [r for n, s, r in lines if n == "pve5" and s == "no fit" and "maintenance" in r]


def _diff_block(text, task):
    """The '--- before' ... block printed under a task's banner."""
    section = text.split("TASK [%s]" % task)[1].split("TASK [")[0]
    start = section.index("--- before")
    return "\n".join(line for line in section[start:].splitlines()
                     if line[:1] in ("-", "+", " ", "@") and line.strip())


def test_plan_and_migrate_print_one_diff_format_and_check_mode_says_would(simulator, tmp_path):
    sim = simulator("small.json")
    before = sim.admin("GET", "/state")["fingerprint"]
    proc = run_playbook(tmp_path, """
        - name: Plan
          proxlb.balancer.proxlb_plan:
          register: planned
        - name: Migrate
          proxlb.balancer.proxlb_migrate:
            plan: "{{ planned.plan }}"
        """, sim_env(sim), "--check", "--diff")
    _ok(proc)
    plan_diff, migrate_diff = _diff_block(proc.stdout, "Plan"), _diff_block(proc.stdout, "Migrate")
    assert plan_diff == migrate_diff and plan_diff.startswith("--- before\n+++ after\n@@")
    moves = re.search(r"proxlb: (\d+) move\(s\) planned", proc.stdout).group(1)
    assert "proxlb: %s move(s) would be made" % moves in proc.stdout
    assert " done" not in proc.stdout.split("TASK [Migrate]")[1]
    assert sim.admin("GET", "/state")["fingerprint"] == before
