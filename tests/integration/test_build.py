"""The built collection: only what ships, installable, and every plugin documented once installed."""

import os
import pathlib
import subprocess
import sys
import tarfile

ROOT = pathlib.Path(__file__).resolve().parents[2]
BIN = pathlib.Path(sys.executable).parent
DROPPINGS = (".venv/", ".build/", ".ansible/", "collections/", ".pytest_cache", "tests/output", "__pycache__",
             ".hypothesis", "simulator/", "benchmarks/", "tools/", "tests/unit/", "tests/integration/")


def test_tarball_ships_no_droppings_and_installs_with_every_plugin_documented(tmp_path):
    build = subprocess.run([str(BIN / "ansible-galaxy"), "collection", "build", "--force", "--output-path",
                            str(tmp_path), str(ROOT)], capture_output=True, text=True, timeout=120)
    assert build.returncode == 0, build.stderr
    tarball = next(tmp_path.glob("proxlb-balancer-*.tar.gz"))
    names = tarfile.open(tarball).getnames()
    assert "galaxy.yml" not in names and "MANIFEST.json" in names
    for dropping in DROPPINGS:
        assert not [n for n in names if n.startswith(dropping) or "/" + dropping in n], dropping
    modules = sorted(p.stem for p in (ROOT / "plugins" / "modules").glob("proxlb_*.py"))
    for module in modules:
        assert "plugins/modules/%s.py" % module in names

    target = tmp_path / "installed"
    # only the fresh install may be seen: `make` exports a collections path holding this checkout
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=str(target), HOME=str(tmp_path))
    install = subprocess.run([str(BIN / "ansible-galaxy"), "collection", "install", "--force", str(tarball), "-p",
                              str(target)], capture_output=True, text=True, env=env, timeout=120)
    assert install.returncode == 0, install.stderr
    assert (target / "ansible_collections" / "proxlb" / "balancer" / "MANIFEST.json").exists(), install.stdout
    listing = subprocess.run([str(BIN / "ansible-doc"), "-l", "proxlb.balancer"], capture_output=True, text=True,
                             env=env, timeout=120)
    assert listing.returncode == 0, listing.stderr
    for module in modules:
        assert "proxlb.balancer.%s" % module in listing.stdout
    lookups = subprocess.run([str(BIN / "ansible-doc"), "-t", "lookup", "-l", "proxlb.balancer"],
                             capture_output=True, text=True, env=env, timeout=120)
    assert "proxlb.balancer.best_node" in lookups.stdout
