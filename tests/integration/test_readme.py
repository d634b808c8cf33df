"""The README's commands, in order, the way a new user runs them: a fresh clone, a fresh virtual environment,
the collection built and installed into a fresh home, then connect and use it against the simulator.

Only what cannot run here is replaced, and each replacement must find its text, so a README that drifts from
this test fails it: the GitHub URL becomes this repository (its last commit), `scp` from a PVE node becomes a
copy of the simulator's CA, and the example credentials become the simulator's.
"""

import json
import os
import pathlib
import re
import subprocess
import sys
import tarfile

ROOT = pathlib.Path(__file__).resolve().parents[2]
URL = "https://github.com/proxlb/proxlb.balancer.git"
SCP = "scp root@pve1.example.com:/etc/pve/pve-root-ca.pem ~/pve-root-ca.pem"
DEVELOPMENT = ("extensions/molecule", ".ansible-lint", ".gitignore", "tools/", "benchmarks/", "simulator/",
               "Makefile", "conftest.py", "pytest.ini", "requirements-dev.txt", ".ci/")


def readme_script(readme, sim, origin):
    """The README's `sh` blocks in order, with the three replacements; fails when one finds nothing.

    ``origin``: this repository under the name the real URL ends with, so the clone gets the same name."""
    blocks = re.findall(r"^```sh\n(.*?)^```", readme, re.S | re.M)
    assert len(blocks) >= 4, "install, git install, connect and use blocks"
    script = "\n".join(blocks)
    assert URL in script and SCP in script
    script = script.replace(URL, "file://%s" % origin).replace(SCP, "cp %s ~/pve-root-ca.pem" % sim.ca_path)
    values = {"PROXMOX_HOST": sim.api_host, "PROXMOX_USER": sim.user, "PROXMOX_TOKEN_ID": sim.token_name,
              "PROXMOX_TOKEN_SECRET": sim.token_secret}
    for name, value in values.items():
        script, count = re.subn(r"\b%s=\S+" % name, "%s=%s" % (name, value), script)
        assert count == 1, name
    return script


def fresh_env(home):
    """A login without this checkout's venv, Ansible settings or Proxmox variables; pip keeps its cache."""
    env = dict((k, v) for k, v in os.environ.items()
               if not k.startswith(("ANSIBLE_", "PROXMOX_", "PROXLB_", "VIRTUAL_ENV", "PYTHON")))
    python_bin = pathlib.Path(sys.base_prefix) / "bin"
    env.update(HOME=str(home), PATH="%s:/usr/local/bin:/usr/bin:/bin" % python_bin, ANSIBLE_NOCOLOR="1",
               ANSIBLE_FORCE_COLOR="0", PIP_CACHE_DIR=os.environ.get("PIP_CACHE_DIR") or
               os.path.expanduser("~/.cache/pip"), ANSIBLE_LOCALHOST_WARNING="0",
               ANSIBLE_INVENTORY_UNPARSED_WARNING="0", GIT_CONFIG_NOSYSTEM="1")
    return env


def test_readme_commands_run_in_order_on_a_fresh_machine(simulator, tmp_path):
    sim = simulator("demo.json")
    origin = tmp_path / "origin" / URL.rsplit("/", 1)[1]
    origin.parent.mkdir()
    origin.symlink_to(ROOT)
    script = readme_script((ROOT / "README.md").read_text(), sim, origin)
    home, work = tmp_path / "home", tmp_path / "work"
    home.mkdir()
    work.mkdir()
    # the file:// clone of this checkout is trusted whoever owns it
    (home / ".gitconfig").write_text("[safe]\n\tdirectory = *\n")
    log = tmp_path / "readme.log"
    with open(log, "w") as out:
        proc = subprocess.run(["bash", "-c", "set -euxo pipefail\n" + script], cwd=work, env=fresh_env(home),
                              stdout=out, stderr=subprocess.STDOUT, text=True, timeout=1200)
    text = log.read_text()
    assert proc.returncode == 0, text[-6000:]

    # installed twice: from the tarball built in the clone, then from git
    assert text.count("proxlb.balancer:0.1.0 was installed successfully") == 2, text[-3000:]
    installed = home / ".ansible" / "collections" / "ansible_collections" / "proxlb" / "balancer"
    assert (installed / "MANIFEST.json").exists()
    tarball = next((work / "proxlb.balancer" / "dist").glob("proxlb-balancer-*.tar.gz"))
    names = tarfile.open(tarball).getnames()
    for dropping in DEVELOPMENT:
        assert not [n for n in names if n == dropping.rstrip("/") or n.startswith(dropping)], dropping
    # of the tests only ansible-test's settings ship (sanity runs on the built collection)
    assert [n for n in names if n.startswith("tests")] == ["tests", "tests/config.yml"]
    assert "playbooks/plan.yml" in names and "extensions/eda/rulebooks/memory_pressure.yml" in names

    # facts: nodes in natural order, local storage and root filesystem apart
    rows = re.findall(r'"msg": "(pve\d+) .*disk +[\d.]+%  rootfs +[\d.]+%"', text)
    assert rows == ["pve1", "pve2", "pve3", "pve4", "pve5"], text[:3000]
    # check mode says what would happen, and its report says so too
    assert re.search(r"proxlb: \d+ move\(s\) would be made", text), text[-6000:]
    assert "# Rebalance: check mode" in text
    # the manual run publishes the plan and prints the command that carries it out
    assert "-e rebalance_execute_plan_file=proxlb-reports/tonight-plan.json" in text
    reports = work / "proxlb-reports"
    plan = json.loads((reports / "tonight-plan.json").read_text())
    assert plan["moves"]
    # maintenance reports of drain and return, timestamped
    assert list(reports.glob("maintenance-pve4-present-2*.md")) and list(reports.glob("maintenance-pve4-absent-2*.md"))

    # the cluster: every move of the approved plan made, and pve4's guests home again after the maintenance
    placement = dict((int(g["vmid"]), g["node"]) for g in sim.proxmox().cluster.resources.get(type="vm"))
    for move in plan["moves"]:
        assert placement[move["vmid"]] == move["target"], move
    results = [json.loads(p.read_text()) for p in reports.glob("rebalance-*-results.json")]
    assert any(r["totals"]["done"] == len(plan["moves"]) for r in results), [r["totals"] for r in results]


def test_make_demo_ends_with_the_html_report_path():
    """The README's `make demo` (its `venv` step is the checkout's own): the summary, then the HTML report's path."""
    proc = subprocess.run([sys.executable, str(ROOT / "tools" / "demo.py")], cwd=ROOT, capture_output=True,
                          text=True, timeout=600, env=dict((k, v) for k, v in os.environ.items()
                                                           if not k.startswith(("PROXMOX_", "PROXLB_"))))
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
    last = proc.stdout.strip().splitlines()[-1]
    assert last.startswith("HTML report: ") and last.endswith(".html"), last
    report = pathlib.Path(last.split(": ", 1)[1])
    assert report.exists() and "<html" in report.read_text()[:500].lower()
    assert "# Rebalance: executed" in proc.stdout
