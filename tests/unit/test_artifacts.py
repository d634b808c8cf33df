"""Artifacts (snapshot, plan, results, journal, reports) are 0600 whatever the umask, 0640 with a group,
their directory 0750, and never written through a symbolic link."""

import json
import os
import stat

import pytest

from ansible_collections.proxlb.balancer.plugins.module_utils.common import artifacts
from ansible_collections.proxlb.balancer.plugins.module_utils.common.errors import ProxLBError
from ansible_collections.proxlb.balancer.plugins.module_utils.entry import runner
from ansible_collections.proxlb.balancer.plugins.module_utils.facts import snapshot as snapshot_schema
from ansible_collections.proxlb.balancer.plugins.module_utils.migrate.journal import Journal
from ansible_collections.proxlb.balancer.plugins.module_utils.report import render

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SMALL = os.path.join(ROOT, "simulator", "scenarios", "small.json")
# a plan of small.json, saved (these tests are about files, not about planning)
PLAN = os.path.join(ROOT, "tests", "fixtures", "plan_small.json")


def make_plan(_snapshot, _options):
    with open(PLAN) as handle:
        return json.load(handle)


def mode(path):
    return stat.S_IMODE(os.lstat(str(path)).st_mode)


@pytest.fixture(params=[0o000, 0o022], ids=["umask000", "umask022"])
def umask(request, monkeypatch):
    monkeypatch.delenv(artifacts.GROUP_ENV, raising=False)
    old = os.umask(request.param)
    yield request.param
    os.umask(old)


def write_everything(tmp_path):
    """Every writer of the collection, once: the paths it produced."""
    snap = snapshot_schema.load(SMALL)
    plan = make_plan(snap, {})
    snapshot_schema.dump(snap, str(tmp_path / "snap.json"))
    runner.write_json(plan, str(tmp_path / "plan.json"))
    journal = Journal(str(tmp_path / "journal.jsonl"))
    journal.run_started(plan["fingerprint"], len(plan["moves"]))
    paths = render.run_report({"plan": plan, "results": {"schema": "proxlb.balancer/results/1", "results": [],
                                                         "totals": {}},
                               "dest": str(tmp_path / "reports" / "nested"), "name": "run"})["paths"]
    return [tmp_path / "snap.json", tmp_path / "plan.json", tmp_path / "journal.jsonl"] + sorted(paths.values())


def test_every_artifact_is_0600_and_the_report_directory_0750(tmp_path, umask):
    written = write_everything(tmp_path)
    assert len(written) == 7
    for path in written:
        assert mode(path) == 0o600, "%s is %o under umask %03o" % (path, mode(path), umask)
    assert mode(tmp_path / "reports" / "nested") == 0o750
    assert mode(tmp_path / "reports") == 0o750
    assert not [p for p in os.listdir(str(tmp_path / "reports" / "nested")) if p.endswith(".tmp")]


def test_a_world_readable_file_already_there_is_tightened(tmp_path, umask):
    target = tmp_path / "plan.json"
    target.write_text("{}")
    os.chmod(str(target), 0o644)
    runner.write_json({"a": 1}, str(target))
    assert mode(target) == 0o600 and json.loads(target.read_text()) == {"a": 1}
    journal = tmp_path / "journal.jsonl"
    journal.write_text("")
    os.chmod(str(journal), 0o666)
    Journal(str(journal)).run_started("sha256:x", 0)
    assert mode(journal) == 0o600 and len(journal.read_text().splitlines()) == 1


def test_a_configured_group_gives_0640(tmp_path, umask, monkeypatch):
    gid = os.getgid()
    monkeypatch.setenv(artifacts.GROUP_ENV, str(gid))
    runner.write_json({"a": 1}, str(tmp_path / "plan.json"))
    artifacts.append_line(str(tmp_path / "journal.jsonl"), "{}")
    for name in ("plan.json", "journal.jsonl"):
        info = os.stat(str(tmp_path / name))
        assert stat.S_IMODE(info.st_mode) == 0o640 and info.st_gid == gid


def test_an_unknown_group_is_one_line(tmp_path):
    with pytest.raises(ProxLBError) as info:
        artifacts.write_text(str(tmp_path / "x"), "x", group="no-such-group-here")
    assert str(info.value) == "artifact group 'no-such-group-here': no such group on the controller"


@pytest.mark.parametrize("writer", ["snapshot", "plan", "journal", "report"])
def test_a_symlink_at_the_path_is_refused_and_its_target_untouched(tmp_path, writer):
    victim = tmp_path / "victim"
    victim.write_text("precious\n")
    snap = snapshot_schema.load(SMALL)
    plan = make_plan(snap, {})
    if writer == "snapshot":
        link = tmp_path / "snap.json"
        link.symlink_to(victim)
        call = lambda: snapshot_schema.dump(snap, str(link))  # noqa: E731
    elif writer == "plan":
        link = tmp_path / "plan.json"
        link.symlink_to(victim)
        call = lambda: runner.write_json(plan, str(link))  # noqa: E731
    elif writer == "journal":
        link = tmp_path / "journal.jsonl"
        link.symlink_to(victim)
        call = lambda: Journal(str(link)).run_started("sha256:x", 0)  # noqa: E731
    else:
        (tmp_path / "out").mkdir()
        link = tmp_path / "out" / "run.md"
        link.symlink_to(victim)
        call = lambda: render.run_report({"plan": plan, "dest": str(tmp_path / "out"), "name": "run"})  # noqa: E731
    with pytest.raises(ProxLBError) as info:
        call()
    message = str(info.value)
    assert "\n" not in message
    assert str(link) in message and "symbolic link" in message
    assert victim.read_text() == "precious\n"
    assert os.path.islink(str(link))


def test_a_dangling_symlink_is_refused_too(tmp_path):
    link = tmp_path / "plan.json"
    link.symlink_to(tmp_path / "does-not-exist-yet")
    with pytest.raises(ProxLBError, match="symbolic link"):
        runner.write_json({}, str(link))
    with pytest.raises(ProxLBError, match="symbolic link"):
        artifacts.append_line(str(link), "{}")
    assert not (tmp_path / "does-not-exist-yet").exists()


def test_the_old_fixed_temporary_name_is_not_followed(tmp_path):
    # the report used to write <name>.md.tmp and rename it: a link planted there must not be followed
    victim = tmp_path / "victim"
    victim.write_text("precious\n")
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "run.md.tmp").symlink_to(victim)
    plan = make_plan(snapshot_schema.load(SMALL), {})
    render.run_report({"plan": plan, "dest": str(tmp_path / "out"), "name": "run"})
    assert victim.read_text() == "precious\n"
    assert mode(tmp_path / "out" / "run.md") == 0o600


def test_a_directory_that_cannot_be_written_is_one_line(tmp_path):
    with pytest.raises(ProxLBError) as info:
        runner.write_json({}, str(tmp_path / "missing-dir" / "plan.json"))
    assert str(tmp_path / "missing-dir" / "plan.json") in str(info.value)
    assert "\n" not in str(info.value)


def test_a_symlink_at_plan_file_or_snapshot_file_is_refused_before_the_cluster_is_read(tmp_path):
    (tmp_path / "plan.json").symlink_to(tmp_path / "elsewhere")
    with pytest.raises(ProxLBError) as info:
        # no connection options at all: the refusal comes first
        runner.run_plan({"plan_file": str(tmp_path / "plan.json")}, environ={})
    assert str(info.value).startswith("plan_file %s: is a symbolic link" % (tmp_path / "plan.json"))
    with pytest.raises(ProxLBError, match="^snapshot_file .*: is a symbolic link"):
        runner.run_facts({"snapshot_file": str(tmp_path / "plan.json")}, environ={})
