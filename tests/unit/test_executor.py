"""executor: the pure parts (plan checks, dependencies, limits, staleness, live capacity) and the journal."""

import json

import pytest
from hypothesis import given, settings, strategies as st

from ansible_collections.proxlb.balancer.plugins.module_utils.common import config
from ansible_collections.proxlb.balancer.plugins.module_utils.common.errors import ConfigError, PlanError
from ansible_collections.proxlb.balancer.plugins.module_utils.migrate.limits import Limits
from ansible_collections.proxlb.balancer.plugins.module_utils.migrate.live import Live, stale_reason
from ansible_collections.proxlb.balancer.plugins.module_utils.migrate.plan_moves import dependencies, load_plan
from ansible_collections.proxlb.balancer.plugins.module_utils.migrate.tasks import upid_fields
from ansible_collections.proxlb.balancer.plugins.module_utils.migrate.journal import Journal
from ansible_collections.proxlb.balancer.plugins.module_utils.migrate.live_check import LivePlacement, live_snapshot

GIB = 1024 ** 3
NODES = ["pve1", "pve2", "pve3", "pve4"]


def plan(*moves):
    return {"schema": "proxlb.balancer/plan/1", "fingerprint": "sha256:x",
            "moves": [dict(zip(("step", "vmid", "source", "target"), m)) for m in moves]}


def test_load_plan_orders_by_step_then_position():
    moves = load_plan(plan((2, 101, "pve1", "pve2"), (1, 102, "pve2", "pve3"), (1, 103, "pve1", "pve3")))
    assert [m["vmid"] for m in moves] == [102, 103, 101]


@pytest.mark.parametrize("document,words", [
    ({"schema": "proxlb.balancer/snapshot/1", "moves": []}, "schema"),
    ({"moves": "x"}, "moves"),
    (plan((1, 101, "pve1", "pve2"), (2, 101, "pve2", "pve3")), "twice"),
    (plan((1, 101, "pve1", "pve1")), "both"),
    ({"moves": [{"vmid": 101, "source": "pve1"}]}, "target"),
])
def test_load_plan_refuses_malformed_plans_with_the_path(document, words):
    with pytest.raises(PlanError) as err:
        load_plan(document)
    assert words in str(err.value)


move_lists = st.lists(st.tuples(st.integers(1, 4), st.sampled_from(NODES), st.sampled_from(NODES)),
                      max_size=25).map(lambda ms: [{"step": s, "vmid": 100 + i, "source": a, "target": b}
                                                   for i, (s, a, b) in enumerate(ms) if a != b])


@settings(max_examples=100, deadline=None)
@given(moves=move_lists)
def test_a_move_depends_exactly_on_earlier_steps_leaving_its_target(moves):
    moves = sorted(moves, key=lambda m: m["step"])
    deps = dependencies(moves)
    for i, move in enumerate(moves):
        for j, other in enumerate(moves):
            expected = other["step"] < move["step"] and other["source"] == move["target"]
            assert (j in deps[i]) == expected


@settings(max_examples=200, deadline=None)
@given(jobs=st.integers(1, 6), per_node=st.integers(1, 3),
       ours=st.lists(st.tuples(st.sampled_from(NODES), st.sampled_from(NODES)), max_size=8),
       foreign=st.lists(st.tuples(st.sampled_from(NODES), st.sampled_from(NODES + [None])), max_size=3),
       source=st.sampled_from(NODES), target=st.sampled_from(NODES))
def test_limits_admit_a_move_only_within_every_limit(jobs, per_node, ours, foreign, source, target):
    limits = Limits(jobs, per_node)
    reason = limits.blocked({"source": source, "target": target}, ours, foreign)
    flows = ours + foreign
    within = (len(ours) < jobs and sum(1 for s, _ in flows if s == source) < per_node
              and sum(1 for _, t in flows if t == target) < per_node)
    assert (reason is None) == within


def test_sequential_when_parallel_is_off_means_one_job():
    limits = Limits(1, 2)
    assert limits.blocked({"source": "pve1", "target": "pve2"}, [("pve3", "pve4")]) is not None


@pytest.mark.parametrize("live,status,words", [
    (None, "skipped", "no longer exists"),
    ({"node": "pve2", "lock": ""}, "already_done", None),
    ({"node": "pve2", "lock": "migrate"}, "already_done", None),
    ({"node": "pve3", "lock": ""}, "skipped", "is on pve3"),
    ({"node": "pve1", "lock": "migrate"}, "busy", "someone else"),
    ({"node": "pve1", "lock": "backup"}, "skipped", "backup"),
    ({"node": "pve1"}, None, None),
])
def test_stale_reason(live, status, words):
    got, reason = stale_reason({"vmid": 101, "source": "pve1", "target": "pve2"}, live)
    assert got == status
    if words:
        assert words in reason
    else:
        assert reason is None


def resources(node_mem):
    out = [{"type": "node", "node": "pve1", "status": "online", "maxmem": 64 * GIB, "mem": node_mem},
           {"type": "node", "node": "pve2", "status": "online", "maxmem": 16 * GIB, "mem": 5 * GIB,
            "hastate": "online"}]
    out += [{"type": "qemu", "vmid": 101, "node": "pve1", "status": "running", "mem": 8 * GIB, "maxmem": 8 * GIB},
            {"type": "qemu", "vmid": 102, "node": "pve1", "status": "running", "mem": 4 * GIB, "maxmem": 6 * GIB},
            {"type": "qemu", "vmid": 103, "node": "pve2", "status": "running", "mem": 4 * GIB, "maxmem": 4 * GIB}]
    return out


def _live_placement(behaviour, entries, live):
    placement = LivePlacement(behaviour, {})
    placement.update(object(), live_snapshot(entries, live.base, [], {}, {}))
    return placement


def test_live_capacity_counts_guests_where_they_are_and_guests_on_their_way():
    behaviour = config.behaviour({"balancing": {"node_resource_reserve": {"pve2": {"memory": 2}}}})
    live = Live(behaviour["balancing"], behaviour["proxmox_cluster"])
    live.load(resources(20 * GIB))
    placement = _live_placement(behaviour, resources(20 * GIB), live)
    move = {"vmid": 101, "source": "pve1", "target": "pve2"}
    assert placement.refusal(move, [], {}) == (None, None)                      # 5 + 8 <= 16 - 2
    name, reason = placement.refusal(move, [(102, "pve2")], {})                 # 5 + 4 arriving + 8 > 14
    assert name == "memory" and reason == "pve2: needs 8.0 GiB memory, 5.0 GiB free after reserve"
    assert placement.refusal(move, [], {}) == (None, None), "an in-flight guest is forgotten after the question"
    # a later reading with the guest moved but PVE's node memory lagging still counts it on pve2
    later = resources(20 * GIB)
    later[2]["node"] = "pve2"
    live.load(later)
    snapshot = live_snapshot(later, live.base, [], {}, {})
    mem = dict((n["node"], n["mem"]) for n in snapshot["nodes"])
    assert mem == {"pve1": 12 * GIB, "pve2": 13 * GIB}


def test_live_capacity_in_assigned_mode_uses_configured_memory():
    behaviour = config.behaviour({"balancing": {"mode": "assigned"}})
    live = Live(behaviour["balancing"], behaviour["proxmox_cluster"])
    live.load(resources(20 * GIB))
    placement = _live_placement(behaviour, resources(20 * GIB), live)
    # pve2 holds 103 (4 GiB assigned) of 16; 101 (8) fits, 101 + 102 arriving (6) do not
    assert placement.refusal({"vmid": 101, "source": "pve1", "target": "pve2"}, [], {}) == (None, None)
    assert placement.refusal({"vmid": 101, "source": "pve1", "target": "pve2"}, [(102, "pve2")], {})[0] == "memory"
    assert live.node_problem("pve9") == "node pve9 is not in the cluster"


def test_upid_fields():
    node, start, kind = upid_fields("UPID:pve1:000A1000:0104C058:6B04BFED:qmigrate:102:root@pam!ci:")
    assert (node, start, kind) == ("pve1", 0x6B04BFED, "qmigrate")


def test_journal_resume_state_survives_a_torn_line(tmp_path):
    path = str(tmp_path / "journal.jsonl")
    journal = Journal(path)
    a = {"vmid": 101, "source": "pve1", "target": "pve2"}
    b = {"vmid": 102, "source": "pve1", "target": "pve3"}
    c = {"vmid": 103, "source": "pve2", "target": "pve3"}
    journal.run_started("sha256:x", 3)
    journal.intent(a)
    journal.posted(a, "UPID:pve1:1:1:1:qmigrate:101:root@pam:")
    journal.intent(b)
    journal.posted(b, "UPID:pve1:2:2:2:qmigrate:102:root@pam:")
    journal.ended(b, "done", "UPID:pve1:2:2:2:qmigrate:102:root@pam:")
    journal.intent(c)
    with open(path, "a") as handle:
        handle.write('{"event": "posted", "vmid": 1')  # the controller died mid-write
    again = Journal(path)
    unfinished = again.unfinished()
    assert sorted(unfinished) == [101, 103]
    assert unfinished[101]["upid"].endswith(":101:root@pam:")
    assert unfinished[103].get("upid") is None
    for line in open(path).read().splitlines()[:-1]:
        record = json.loads(line)
        assert not set(record) & {"api_token_secret", "api_password", "api_host"}


def test_journal_timeout_stays_unfinished_and_a_bad_middle_line_is_an_error(tmp_path):
    path = tmp_path / "journal.jsonl"
    journal = Journal(str(path))
    move = {"vmid": 101, "source": "pve1", "target": "pve2"}
    journal.posted(move, "UPID:pve1:1:1:1:qmigrate:101:root@pam:")
    journal.ended(move, "timed_out", "UPID:pve1:1:1:1:qmigrate:101:root@pam:")
    assert list(Journal(str(path)).unfinished()) == [101]
    path.write_text("garbage\n" + path.read_text())
    with pytest.raises(ConfigError) as err:
        Journal(str(path))
    assert "line 1" in str(err.value)


# ---------------------------------------------------------------------- issue 14 helpers
def test_parent_watch_turns_false_once_the_parent_process_changes():
    from ansible_collections.proxlb.balancer.plugins.module_utils.migrate.executor import parent_watch
    parents = [4242]
    alive = parent_watch(lambda: parents[0])
    assert alive() is True
    parents[0] = 1   # re-parented to init: the controller is gone
    assert alive() is False


def test_task_entries_tell_ended_tasks_and_their_user():
    from ansible_collections.proxlb.balancer.plugins.module_utils.migrate.executor import _ended, _task_user
    running = {"upid": "UPID:pve1:1:1:1:qmigrate:101:root@pam!ci:", "user": "root@pam", "tokenid": "ci"}
    assert not _ended(running) and not _ended(dict(running, status="RUNNING")) and not _ended(None)
    assert _ended(dict(running, endtime=5, status="OK")) and _ended(dict(running, status="migration aborted"))
    assert _task_user(running) == "root@pam!ci"
    assert _task_user({"upid": "UPID:pve1:1:1:1:qmigrate:101:ops@pve:"}) == "ops@pve"


def test_measured_is_the_per_node_load_and_spread_of_a_cluster_read():
    from ansible_collections.proxlb.balancer.plugins.module_utils.migrate.live import measure
    live = Live({}, {})
    live.load([
        {"type": "node", "node": "pve1", "status": "online", "maxmem": 100 * GIB, "mem": 50 * GIB, "maxcpu": 10,
         "cpu": 0.5, "maxdisk": 10 * GIB, "disk": GIB},
        {"type": "node", "node": "pve2", "status": "online", "maxmem": 100 * GIB, "mem": 20 * GIB, "maxcpu": 10,
         "cpu": 0.1, "maxdisk": 10 * GIB, "disk": GIB},
        {"type": "node", "node": "pve3", "status": "offline"},
        {"type": "qemu", "vmid": 101, "node": "pve1", "status": "running", "maxmem": 8 * GIB, "mem": 4 * GIB,
         "maxcpu": 2, "cpu": 0.5},
    ])
    got = measure(live, {})
    assert got["nodes"]["pve1"]["mem_pct"] == 50.0 and got["nodes"]["pve2"]["mem_pct"] == 20.0
    assert got["nodes"]["pve1"]["guests"] == 1 and got["nodes"]["pve3"]["status"] == "offline"
    assert got["spread"]["memory"] == 30.0 and got["spread"]["cpu"] == 40.0   # offline nodes left out
