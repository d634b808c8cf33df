"""Snapshot and plan documents are checked field by field: one line naming the first wrong field."""

import copy
import json
import os

import pytest

from ansible_collections.proxlb.balancer.plugins.module_utils.common import documents
from ansible_collections.proxlb.balancer.plugins.module_utils.common.errors import ProxLBError
from ansible_collections.proxlb.balancer.plugins.module_utils.facts import snapshot
from ansible_collections.proxlb.balancer.plugins.module_utils.migrate.plan_moves import load_plan

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SMALL = os.path.join(ROOT, "simulator", "scenarios", "small.json")
PLAN = os.path.join(ROOT, "tests", "fixtures", "plan_small.json")


def raw_snapshot():
    with open(SMALL) as handle:
        return json.load(handle)


def raw_plan():
    with open(PLAN) as handle:
        return json.load(handle)


def one_line(info):
    message = str(info.value)
    assert "\n" not in message and len(message) < 250, message
    return message


@pytest.mark.parametrize("change, field", [
    (lambda d: d["nodes"][0].update(maxmem=float("nan")), "nodes[0].maxmem: expected a finite number"),
    (lambda d: d["nodes"][0].update(cpu=float("inf")), "nodes[0].cpu: expected a finite number"),
    (lambda d: d["guests"][1].update(mem=10 ** 400), "guests[1].mem: expected a finite number"),
    (lambda d: d.update(ha_rules="node-affinity: pve1"), "ha_rules: expected a list"),
    (lambda d: d.update(ha_rules=["node-affinity: pve1"]), "ha_rules[0]: expected an object"),
    (lambda d: d.update(ha_rules=[{"rule": "r", "type": "node-affinity", "nodes": {"pve1": 1}}]),
     "ha_rules[0].nodes: expected a string or a list of strings"),
    (lambda d: d.update(ha_groups=[["pve1"]]), "ha_groups[0]: expected an object"),
    (lambda d: d.update(ha_resources=[{"sid": ["vm:101"]}]), "ha_resources[0].sid"),
    (lambda d: d.update(cluster={"crs": "static"}), "cluster.crs: expected an object"),
    (lambda d: d.update(cluster={"maintenance_nodes": "pve1"}), "cluster.maintenance_nodes"),
    (lambda d: d.update(recent_migrations=[{"vmid": 101, "endtime": float("nan")}]),
     "recent_migrations[0].endtime"),
])
def test_a_wrong_snapshot_field_is_named(change, field):
    document = raw_snapshot()
    change(document)
    with pytest.raises(ProxLBError) as info:
        snapshot.load(document)
    assert field in one_line(info)


def test_json_nan_and_bad_bytes_in_a_snapshot_file(tmp_path):
    document = raw_snapshot()
    document["nodes"][0]["mem"] = float("nan")
    (tmp_path / "nan.json").write_text(json.dumps(document))  # json writes NaN, json.loads reads it
    with pytest.raises(ProxLBError, match=r"nodes\[0\].mem: expected a finite number"):
        snapshot.load(str(tmp_path / "nan.json"))
    (tmp_path / "latin1.json").write_bytes(b'{"nodes": [{"node": "n\xe9"}]}')
    with pytest.raises(ProxLBError) as info:
        snapshot.load(str(tmp_path / "latin1.json"))
    assert one_line(info) == "snapshot file %s: not UTF-8 text (byte 23); save it as UTF-8" % (tmp_path / "latin1.json")
    with pytest.raises(ProxLBError, match="nested too deeply"):
        snapshot.load('{"a":' + "[" * 100000 + "]" * 100000 + "}")


@pytest.mark.parametrize("change, field", [
    (lambda p: p.update(moves="all"), "plan.moves: expected a list"),
    (lambda p: p["moves"].__setitem__(0, "101 -> pve2"), "plan.moves[0]: expected an object"),
    (lambda p: p["moves"][0].update(vmid=float("nan")), "plan.moves[0].vmid: expected a guest id"),
    (lambda p: p["moves"][0].update(vmid=-3), "plan.moves[0].vmid: expected a guest id"),
    (lambda p: p["moves"][1].update(step=float("inf")), "plan.moves[1].step: expected a whole number"),
    (lambda p: p["moves"][0].update(target=["pve2"]), "plan.moves[0].target: expected a node name"),
    (lambda p: p["moves"][0].update(target="../../etc"), "plan.moves[0].target: expected a node name"),
    (lambda p: p["moves"][0].update(source=None), "plan.moves[0].source: missing"),
    (lambda p: p["moves"][0].update(gain=float("nan")), "plan.moves[0].gain: expected a finite number"),
    (lambda p: p["moves"][0].update(type="docker"), "plan.moves[0].type: expected qemu or lxc"),
    (lambda p: p.update(fingerprint={"x": 1}), "plan.fingerprint: expected a string"),
    (lambda p: p.update(skipped="none"), "plan.skipped: expected a list"),
])
def test_a_wrong_plan_field_is_named(change, field):
    plan = raw_plan()
    change(plan)
    with pytest.raises(ProxLBError) as info:
        load_plan(plan)
    assert field in one_line(info)


def test_the_saved_plan_passes():
    plan = raw_plan()
    assert [m["vmid"] for m in load_plan(copy.deepcopy(plan))] == [m["vmid"] for m in plan["moves"]]
    assert documents.check_plan(plan) is plan


def test_every_engine_error_is_one_line_of_bounded_length():
    error = ProxLBError("first line\nsecond line " + "x" * 5000)
    assert "\n" not in str(error) and str(error).startswith("first line second line")
    assert len(str(error)) == ProxLBError.MAX_MESSAGE and str(error).endswith(" ... (cut)")
    assert str(ProxLBError("short", hint="do this")) == "short (do this)"


def test_plan_and_results_files_of_a_report_are_read_safely(tmp_path):
    from ansible_collections.proxlb.balancer.plugins.module_utils.report import render
    (tmp_path / "latin1.json").write_bytes(b'{"schema": "\xe9"}')
    (tmp_path / "deep.json").write_text("[" * 100000 + "]" * 100000)
    for name, part in (("latin1.json", "not UTF-8 text (byte 13)"), ("deep.json", "nested too deeply")):
        with pytest.raises(ProxLBError) as info:
            render.run_report({"plan_file": str(tmp_path / name), "dest": str(tmp_path / "out")})
        assert one_line(info) == "plan_file %s: %s%s" % (
            tmp_path / name, part, "; save it as UTF-8" if "UTF-8" in part else "")
