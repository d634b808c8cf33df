"""The engine's packages follow the data flow (DESIGN.md): a stage imports only itself and earlier stages,
never a later one, so "plan before migrating" is decided in one place (the entry points), and the engine
below ``entry`` imports nothing from Ansible."""

import ast
import os

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
ENGINE = os.path.join(ROOT, "plugins", "module_utils")
PREFIX = "ansible_collections.proxlb.balancer.plugins.module_utils."
STAGES = ("common", "connect", "facts", "rules", "placement", "plan", "migrate", "report", "entry")


def _modules():
    for folder, _dirs, files in os.walk(ENGINE):
        for name in sorted(files):
            if name.endswith(".py"):
                path = os.path.join(folder, name)
                yield os.path.relpath(path, ENGINE), path


def _imports(path):
    with open(path) as handle:
        tree = ast.parse(handle.read(), path)
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module:
            yield node.lineno, node.module, [a.name for a in node.names]
        elif isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name, []


def test_every_engine_file_lives_in_a_stage_package():
    loose = [rel for rel, _p in _modules() if os.sep not in rel and rel != "__init__.py"]
    assert loose == [], "engine files outside a stage package: %s" % loose
    unknown = sorted(set(rel.split(os.sep)[0] for rel, _p in _modules() if os.sep in rel) - set(STAGES))
    assert unknown == [], "packages that are not a stage of the data flow: %s" % unknown


@pytest.mark.parametrize("rel,path", list(_modules()), ids=lambda v: v if isinstance(v, str) and v.endswith(".py")
                         and not v.startswith("/") else "")
def test_imports_follow_the_data_flow(rel, path):
    stage = STAGES.index(rel.split(os.sep)[0]) if os.sep in rel else None
    for line, module, names in _imports(path):
        if module.startswith("ansible.") and stage is not None and STAGES[stage] != "entry":
            pytest.fail("%s:%d imports %s: only entry/ may import Ansible" % (rel, line, module))
        if not module.startswith(PREFIX[:-1]):
            continue
        rest = module[len(PREFIX):] if module.startswith(PREFIX) else ""
        target = rest.split(".")[0] if rest else (names[0] if names else "")
        assert target in STAGES, "%s:%d imports %s, which is no stage" % (rel, line, module)
        if stage is not None:
            assert STAGES.index(target) <= stage, "%s:%d imports %s: %s is a later stage than %s" % (
                rel, line, module, target, STAGES[stage])
