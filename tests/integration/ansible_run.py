"""Run real ansible-playbook processes against the simulator, the way users do."""

import json
import os
import pathlib
import subprocess
import sys
import textwrap

ROOT = pathlib.Path(__file__).resolve().parents[2]
COLLECTIONS = ROOT / ".build" / "collections"
LINK = COLLECTIONS / "ansible_collections" / "proxlb" / "balancer"


def collections_path():
    """Ansible finds the collection by name: link the checkout into a collections path once."""
    if not LINK.exists():
        LINK.parent.mkdir(parents=True, exist_ok=True)
        try:
            LINK.symlink_to(ROOT)
        except FileExistsError:
            pass
    return str(COLLECTIONS)


def sim_env(sim, **extra):
    """PROXMOX_* variables for a simulator fixture, as an AWX credential would inject them."""
    env = dict(os.environ)
    env.update(PROXMOX_HOST=sim.api_host, PROXMOX_USER=sim.user, PROXMOX_TOKEN_ID=sim.token_id.split("!", 1)[1],
               PROXMOX_TOKEN_SECRET=sim.token_secret, PROXMOX_CA_PATH=sim.ca_path,
               ANSIBLE_COLLECTIONS_PATH=collections_path(), ANSIBLE_NOCOLOR="1",
               ANSIBLE_STDOUT_CALLBACK="ansible.builtin.default", ANSIBLE_LOCALHOST_WARNING="0",
               ANSIBLE_INVENTORY_UNPARSED_WARNING="0", ANSIBLE_PYTHON_INTERPRETER=sys.executable)
    env.update(extra)
    return env


def run_playbook(tmp_path, tasks, env, *args, vars_=None):
    """Write a localhost play with ``tasks`` (YAML text) and run it; returns the CompletedProcess."""
    play = textwrap.dedent("""\
        - hosts: localhost
          gather_facts: false
          connection: local
          vars: %s
          tasks:
        """) % json.dumps(vars_ or {})
    play += textwrap.indent(textwrap.dedent(tasks), "    ")
    path = tmp_path / "play.yml"
    path.write_text(play)
    binary = pathlib.Path(sys.executable).with_name("ansible-playbook")
    return subprocess.run([str(binary), str(path)] + list(args), env=env, cwd=tmp_path,
                          capture_output=True, text=True, timeout=300)


def save_task(var, path):
    """A task that writes a registered variable as JSON (the json callback is not in ansible-core)."""
    return """
        - name: Save %s
          ansible.builtin.copy:
            content: "{{ %s | to_json }}"
            dest: %s
            mode: "0600"
          check_mode: false
          diff: false
        """ % (var, var, path)


def saved(path):
    return json.loads(pathlib.Path(path).read_text())
