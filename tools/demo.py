"""`make demo`: start the simulator on the demo cluster, run the collection's playbooks against it, stop it.

Everything runs locally over HTTPS with certificate verification against the simulator's own CA.
"""

import os
import pathlib
import secrets
import subprocess
import sys

ROOT = pathlib.Path(__file__).resolve().parent.parent
BUILD = ROOT / ".build"
# the rebalance carries out the plan plan.yml saved (PROXLB_PLAN_FILE): the plan shown is the plan that runs
PLAYBOOKS = [("facts.yml", []), ("plan.yml", []),
             ("rebalance.yml", ["-e", "rebalance_execute_plan_file=%s" % (BUILD / "demo-plan.json")])]


def start_simulator(scenario, token, ca_path):
    proc = subprocess.Popen(
        [sys.executable, "-m", "simulator", "serve", "--scenario", str(scenario), "--port", "0",
         "--token", token, "--ca-out", str(ca_path)],
        cwd=ROOT, stdout=subprocess.PIPE, text=True)
    line = proc.stdout.readline().strip()
    if not line.startswith("ready "):
        proc.kill()
        sys.exit("simulator did not start: %r" % line)
    return proc, line.split(" ", 1)[1]


def link_collection():
    """Ansible finds the collection by name: the checkout linked into .build/collections (as `make venv` does)."""
    link = BUILD / "collections" / "ansible_collections" / "proxlb" / "balancer"
    if not link.exists():
        link.parent.mkdir(parents=True, exist_ok=True)
        link.symlink_to(ROOT)


def main():
    BUILD.mkdir(exist_ok=True)
    link_collection()
    secret = secrets.token_hex(16)
    token = "root@pam!demo=%s" % secret
    ca_path = BUILD / "demo-ca.pem"
    proc, url = start_simulator(ROOT / "simulator" / "scenarios" / "demo.json", token, ca_path)
    print("simulator: %s (demo cluster, 5 nodes)" % url)
    env = dict(os.environ,
               PROXMOX_HOST=url.split("//", 1)[1], PROXMOX_USER="root@pam", PROXMOX_TOKEN_ID="demo",
               PROXMOX_TOKEN_SECRET=secret, PROXMOX_CA_PATH=str(ca_path),
               PROXLB_SNAPSHOT_FILE=str(BUILD / "demo-snapshot.json"), PROXLB_PLAN_FILE=str(BUILD / "demo-plan.json"),
               PROXLB_REPORT_DIR=str(BUILD / "demo-reports"),
               ANSIBLE_COLLECTIONS_PATH=str(BUILD / "collections"), ANSIBLE_NOCOLOR="1",
               ANSIBLE_LOCALHOST_WARNING="False", ANSIBLE_INVENTORY_UNPARSED_WARNING="False")
    try:
        for playbook, args in PLAYBOOKS:
            print("\n=== ansible-playbook playbooks/%s %s" % (playbook, " ".join(args)), flush=True)
            code = subprocess.call([str(ROOT / ".venv" / "bin" / "ansible-playbook"), "playbooks/%s" % playbook]
                                   + args, cwd=ROOT, env=env)
            if code:
                sys.exit("demo failed in %s (exit %d)" % (playbook, code))
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    reports = sorted(pathlib.Path(env["PROXLB_REPORT_DIR"]).glob("rebalance-*.html"), key=lambda p: p.stat().st_mtime)
    print("\ndemo done: snapshot %s, plan %s (the one carried out)" % (env["PROXLB_SNAPSHOT_FILE"],
                                                                       env["PROXLB_PLAN_FILE"]))
    print("HTML report: %s" % (reports[-1] if reports else "none written (see the output above)"))


if __name__ == "__main__":
    main()
