"""Hardening through ansible-playbook (issue 17): the TLS warning names where verification was turned off, a
URL copied from the browser works with a note, user-info in api_host is refused without echoing it, bad
numbers stop before any API request, and a symlinked plan_file is refused before the cluster is read."""

import os

from ansible_run import run_playbook, save_task, saved, sim_env

FACTS = """
        - name: Read the cluster
          proxlb.balancer.proxlb_facts: %s
          register: facts
          ignore_errors: true
"""


def facts_play(tmp_path, env, options):
    import json
    proc = run_playbook(tmp_path, FACTS % json.dumps(options) + save_task("facts", tmp_path / "facts.json"), env)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-2000:]
    return proc, saved(tmp_path / "facts.json")


def test_tls_off_warns_naming_the_option_or_the_environment(simulator, tmp_path):
    sim = simulator("small.json")
    proc, facts = facts_play(tmp_path, sim_env(sim), {"validate_certs": False})
    assert not facts.get("failed"), facts.get("msg")
    tls = [w for w in facts["warnings"] if "certificate verification" in w]
    assert len(tls) == 1 and "(option validate_certs)" in tls[0]
    assert "[WARNING]: TLS certificate verification of the Proxmox VE API is off (option validate_certs)" in \
        " ".join(proc.stdout.split()) + " ".join(proc.stderr.split())
    _proc, facts = facts_play(tmp_path, sim_env(sim, PROXMOX_VALIDATE_CERTS="false"), {})
    assert [w for w in facts["warnings"] if "(environment PROXMOX_VALIDATE_CERTS)" in w]
    _proc, facts = facts_play(tmp_path, sim_env(sim), {})
    assert not [w for w in facts.get("warnings", []) if "certificate" in w], "verification on: no warning"


def test_a_browser_url_works_and_user_info_is_refused_unechoed(simulator, tmp_path):
    sim = simulator("small.json")
    _proc, facts = facts_play(tmp_path, sim_env(sim), {"api_host": "https://%s/#v1:0:18:4" % sim.api_host})
    assert not facts.get("failed"), facts.get("msg")
    assert facts["api_host_used"] == sim.api_host
    assert [w for w in facts["warnings"] if "scheme and path dropped" in w]
    proc, facts = facts_play(tmp_path, sim_env(sim), {"api_host": "https://root:Sup3rS3cret@%s/" % sim.api_host})
    assert facts["failed"] and "api_host" in facts["msg"] and "\n" not in facts["msg"]
    assert "Sup3rS3cret" not in proc.stdout + proc.stderr + str(facts)


def test_bad_numbers_stop_before_any_request(simulator, tmp_path):
    sim = simulator("small.json")
    sim.admin("POST", "requests/reset")
    plan_play = """
        - name: Migrate with a poll interval of 0
          proxlb.balancer.proxlb_migrate:
            poll_interval: 0
            balancing: {margin: .nan}
          register: migrated
          ignore_errors: true
""" + save_task("migrated", tmp_path / "migrated.json")
    proc = run_playbook(tmp_path, plan_play, sim_env(sim))
    assert proc.returncode == 0, proc.stdout[-3000:]
    result = saved(tmp_path / "migrated.json")
    assert result["failed"] and result["msg"].startswith("poll_interval: must be at least 0.5")
    counts = sim.admin("GET", "requests")["by_endpoint"]
    assert not [k for k in counts if "_sim" not in k], counts


def test_a_symlink_at_plan_file_is_refused(simulator, tmp_path):
    sim = simulator("small.json")
    sim.admin("POST", "requests/reset")
    victim = tmp_path / "victim"
    victim.write_text("keep me\n")
    os.symlink(str(victim), str(tmp_path / "plan.json"))
    play = """
        - name: Plan into a planted link
          proxlb.balancer.proxlb_plan:
            plan_file: %s
          register: planned
          ignore_errors: true
""" % (tmp_path / "plan.json") + save_task("planned", tmp_path / "planned.json")
    proc = run_playbook(tmp_path, play, sim_env(sim))
    assert proc.returncode == 0, proc.stdout[-3000:]
    result = saved(tmp_path / "planned.json")
    assert result["failed"]
    assert result["msg"] == ("plan_file %s: is a symbolic link; refusing to write through it (remove it or choose "
                             "another path)" % (tmp_path / "plan.json"))
    assert victim.read_text() == "keep me\n"
    counts = sim.admin("GET", "requests")["by_endpoint"]
    assert not [k for k in counts if "_sim" not in k], "refused before the cluster is read: %s" % counts
