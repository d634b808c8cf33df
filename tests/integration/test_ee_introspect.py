"""ansible-builder reads the collection's execution-environment dependencies from meta/."""

import pathlib
import subprocess
import sys

import yaml

ROOT = pathlib.Path(__file__).resolve().parents[2]


def test_introspect_lists_the_collection_dependencies(tmp_path):
    link = tmp_path / "ansible_collections" / "proxlb" / "balancer"
    link.parent.mkdir(parents=True)
    link.symlink_to(ROOT)
    builder = pathlib.Path(sys.executable).with_name("ansible-builder")
    proc = subprocess.run([str(builder), "introspect", "--sanitize", str(tmp_path)], capture_output=True,
                          text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    data = yaml.safe_load(proc.stdout.split("---", 1)[1])
    listed = dict((line.split()[0].split(">=")[0].lower(), line) for line in data["python"])
    assert set(listed) == {"proxmoxer", "requests"}
    assert all("from collection proxlb.balancer" in line for line in listed.values())
    wanted = [line.split(">=")[0].strip().lower() for line in (ROOT / "meta" / "ee-requirements.txt").read_text()
              .splitlines() if line.strip() and not line.startswith("#")]
    # PyYAML is in our list for plain installs; builder leaves it out because every EE has it (ansible-core)
    assert sorted(wanted) == ["proxmoxer", "pyyaml", "requests"]
    # the simulator's and the tests' needs (root requirements.txt) do not reach the image
    assert "cryptography" not in proc.stdout
    assert data["system"] == []
