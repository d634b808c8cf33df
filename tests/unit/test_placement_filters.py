"""Each placement filter on its own, with the reason text a person acts on (placement/filters/)."""

import pytest

from ansible_collections.proxlb.balancer.plugins.module_utils.common.config import behaviour
from ansible_collections.proxlb.balancer.plugins.module_utils.facts.snapshot import normalize
from ansible_collections.proxlb.balancer.plugins.module_utils.placement import filter_chain
from ansible_collections.proxlb.balancer.plugins.module_utils.placement.filters import (
    affinity, anti_affinity, cpu, guest_movable, local_storage, memory, node_usable, precondition, pve_version,
    strict_pin)
from ansible_collections.proxlb.balancer.plugins.module_utils.placement.state import PlacementState
from ansible_collections.proxlb.balancer.plugins.module_utils.rules.build import rules_for

GIB = 1024 ** 3


def _state(guests, nodes=None, options=None, marker=(), storages=(), precondition_=None):
    nodes = nodes or [{"node": n, "maxcpu": 8, "maxmem": 64 * GIB} for n in ("pve1", "pve2", "pve3")]
    for node in nodes:
        node.setdefault("mem", 2 * GIB + sum(g.get("mem", 4 * GIB) for g in guests if g["node"] == node["node"]))
    docs = [dict({"type": "qemu", "maxmem": 4 * GIB, "mem": 4 * GIB, "maxcpu": 2}, **g) for g in guests]
    snapshot = normalize({"cluster": {"name": "t", "maintenance_nodes": list(marker)}, "nodes": nodes,
                          "guests": docs, "storages": list(storages)})
    options = behaviour(options)
    rules, _warnings = rules_for(snapshot, options)
    return PlacementState(snapshot, options, rules, precondition_)


def test_node_usable_names_offline_ignored_maintenance_marker_and_evacuation():
    nodes = [{"node": "pve1", "maxcpu": 8, "maxmem": 64 * GIB, "status": "offline"},
             {"node": "pve2", "maxcpu": 8, "maxmem": 64 * GIB, "hastate": "maintenance"},
             {"node": "pve3", "maxcpu": 8, "maxmem": 64 * GIB},
             {"node": "pve4", "maxcpu": 8, "maxmem": 64 * GIB},
             {"node": "pve5", "maxcpu": 8, "maxmem": 64 * GIB},
             {"node": "pve6", "maxcpu": 8, "maxmem": 64 * GIB},
             {"node": "pve7", "maxcpu": 8, "maxmem": 64 * GIB}]
    state = _state([{"vmid": 100, "node": "pve7"}], nodes=nodes, marker=["pve4"],
                   options={"proxmox_cluster": {"ignore_nodes": ["pve3"], "maintenance_nodes": ["pve5"]},
                            "evacuate_nodes": ["pve6"]})
    assert node_usable.check(state, [100], "pve1") == "pve1: offline (status offline)"
    assert node_usable.check(state, [100], "pve2") == "pve2: in maintenance (HA maintenance mode)"
    assert node_usable.check(state, [100], "pve3") == "pve3: ignored (proxmox_cluster.ignore_nodes)"
    assert node_usable.check(state, [100], "pve4") == "pve4: in maintenance (cluster marker)"
    assert node_usable.check(state, [100], "pve5") == "pve5: in maintenance (proxmox_cluster.maintenance_nodes)"
    assert node_usable.check(state, [100], "pve6") == "pve6: being evacuated (evacuate_nodes)"
    assert node_usable.check(state, [100], "pve7") is None
    assert node_usable.check(state, [100], "pve9") == "pve9: not a node of this cluster"


@pytest.mark.parametrize("guest,options,text", [
    ({"tags": ["plb_ignore_dev"]}, None, "guest 100 cannot move: ignored (tag plb_ignore_dev)"),
    ({"template": True}, None, "guest 100 cannot move: template"),
    ({"lock": "backup"}, None, "guest 100 cannot move: locked (backup)"),
    ({"local_resources": ["hostpci0"]}, None, "guest 100 cannot move: local resources: hostpci0"),
    ({"type": "lxc"}, {"balancing": {"running_ct": "skip"}}, "running container and balancing.running_ct is skip"),
    ({}, {"balancing": {"exclude_vmids": [100]}}, "ignored (balancing.exclude_vmids)"),
    ({}, {"balancing": {"balance_types": ["ct"]}}, "ignored (balancing.balance_types ct)"),
])
def test_guest_movable_says_why_a_guest_stays(guest, options, text):
    state = _state([dict({"vmid": 100, "node": "pve1"}, **guest)], options=options)
    assert text in guest_movable.check(state, [100], "pve2")


def test_include_vmids_takes_a_guest_out_of_the_option_exclusions_only():
    options = {"balancing": {"include_vmids": [100], "exclude_vmids": [100, 101]}}
    state = _state([{"vmid": 100, "node": "pve1"}, {"vmid": 101, "node": "pve1"}, {"vmid": 102, "node": "pve1"},
                    {"vmid": 103, "node": "pve1", "tags": ["plb_ignore"]}], options=dict(options))
    assert guest_movable.check(state, [100], "pve2") is None      # include wins over exclude
    assert "exclude_vmids" in guest_movable.check(state, [101], "pve2")
    assert guest_movable.check(state, [102], "pve2") is None      # not a whitelist
    state = _state([{"vmid": 103, "node": "pve1", "tags": ["plb_ignore"]}],
                   options={"balancing": {"include_vmids": [103]}})
    assert "tag plb_ignore" in guest_movable.check(state, [103], "pve2")  # the owner's tag wins


def test_strict_pin_names_the_allowed_nodes_and_the_rule():
    state = _state([{"vmid": 100, "node": "pve1", "tags": ["plb_pin_pve1", "plb_pin_pve2"]}])
    assert strict_pin.check(state, [100], "pve2") is None
    assert strict_pin.check(state, [100], "pve3") == (
        "pve3: guest 100 is pinned to pve1, pve2 (tag:plb_pin_pve1+plb_pin_pve2)")


def test_anti_affinity_names_the_member_already_there_and_counts_guests_on_their_way():
    state = _state([{"vmid": 100, "node": "pve1", "tags": ["plb_anti_affinity_web"]},
                    {"vmid": 101, "node": "pve2", "tags": ["plb_anti_affinity_web"]},
                    {"vmid": 102, "node": "pve2", "tags": []}])
    assert anti_affinity.check(state, [101], "pve1") == (
        "pve1: anti-affinity tag:plb_anti_affinity_web already has 100 there")
    assert anti_affinity.check(state, [101], "pve3") is None
    state.begin(100, "pve3")
    assert "already has 100 there" in anti_affinity.check(state, [101], "pve3")


def test_affinity_keeps_partners_together_unless_they_come_along_or_the_guest_may_not_stay():
    state = _state([{"vmid": 100, "node": "pve1", "tags": ["plb_affinity_app"]},
                    {"vmid": 101, "node": "pve1", "tags": ["plb_affinity_app"]}])
    assert affinity.check(state, [100], "pve2") == "pve2: affinity tag:plb_affinity_app keeps guest 100 with 101 on pve1"
    assert affinity.check(state, [100, 101], "pve2") is None
    state.planned = {101: "pve2"}
    assert affinity.check(state, [100], "pve2") is None
    state = _state([{"vmid": 100, "node": "pve1", "tags": ["plb_affinity_app"]},
                    {"vmid": 101, "node": "pve1", "tags": ["plb_affinity_app"]}], marker=["pve1"])
    assert affinity.check(state, [100], "pve2") is None  # maintenance outranks affinity


def test_memory_counts_the_reserve_and_migrations_on_their_way():
    state = _state([{"vmid": 100, "node": "pve1", "mem": 8 * GIB}, {"vmid": 101, "node": "pve2", "mem": 50 * GIB}],
                   options={"balancing": {"node_resource_reserve": {"defaults": {"memory": 4}}}})
    # pve2: 64 - 4 reserve - 52 used = 8 GiB free
    assert memory.check(state, [100], "pve2") is None
    state.begin(100, "pve3")
    assert memory.check(state, [100], "pve2") is None
    other = _state([{"vmid": 100, "node": "pve1", "mem": 9 * GIB}, {"vmid": 101, "node": "pve2", "mem": 50 * GIB}],
                   options={"balancing": {"node_resource_reserve": {"defaults": {"memory": 4}}}})
    assert memory.check(other, [100], "pve2") == "pve2: needs 9.0 GiB memory, 8.0 GiB free after reserve"


def test_cpu_overcommit_with_a_cpu_reserve():
    state = _state([{"vmid": 100, "node": "pve1", "maxcpu": 4}, {"vmid": 101, "node": "pve2", "maxcpu": 8}],
                   options={"balancing": {"cpu_overcommit": 1.5,
                                          "node_resource_reserve": {"defaults": {"cpu": 2}}}})
    # pve2: 1.5 x (8 - 2) = 9 cores allowed, 8 assigned
    assert cpu.check(state, [100], "pve2") == "pve2: needs 4 core(s), 1.0 of 9.0 left (cpu_overcommit 1.50)"
    assert cpu.check(state, [100], "pve3") is None


def test_local_storage_needs_the_storage_and_room_on_it():
    storages = [{"storage": "local-lvm", "node": "pve1", "maxdisk": 100 * GIB, "disk": 20 * GIB},
                {"storage": "local-lvm", "node": "pve2", "maxdisk": 100 * GIB, "disk": 95 * GIB}]
    disks = [{"volume": "local-lvm:vm-100-disk-0", "storage": "local-lvm", "size": 10 * GIB}]
    state = _state([{"vmid": 100, "node": "pve1", "local_disks": disks}], storages=storages)
    assert local_storage.check(state, [100], "pve2") == "pve2: storage local-lvm needs 10.0 GiB, 5.0 GiB free"
    assert local_storage.check(state, [100], "pve3") == "pve3: has no local storage local-lvm for the guest's disks"


def test_pve_version_refuses_an_older_major_only():
    nodes = [{"node": "pve1", "maxcpu": 8, "maxmem": 64 * GIB, "pve_version": "9.1.2"},
             {"node": "pve2", "maxcpu": 8, "maxmem": 64 * GIB, "pve_version": "8.4.1"},
             {"node": "pve3", "maxcpu": 8, "maxmem": 64 * GIB, "pve_version": "9.0.3"}]
    state = _state([{"vmid": 100, "node": "pve1"}, {"vmid": 101, "node": "pve2"}], nodes=nodes)
    assert pve_version.check(state, [100], "pve2") == "pve2: runs PVE 8.4.1, older than the source's 9.1.2 (pve1)"
    assert pve_version.check(state, [100], "pve3") is None
    assert pve_version.check(state, [101], "pve1") is None


def test_precondition_is_asked_once_per_guest_and_target():
    asked = []

    def pve(guest, target):
        asked.append((guest["vmid"], target))
        return "local CD-ROM image attached: local:iso/x.iso" if target == "pve2" else None

    state = _state([{"vmid": 100, "node": "pve1"}], precondition_=pve)
    assert precondition.check(state, [100], "pve2") == (
        "pve2: PVE refuses guest 100: local CD-ROM image attached: local:iso/x.iso")
    assert precondition.check(state, [100], "pve2") is not None and asked == [(100, "pve2")]
    assert precondition.check(state, [100], "pve3") is None


def test_the_chain_answers_with_the_first_refusal_and_can_skip_a_filter():
    state = _state([{"vmid": 100, "node": "pve1", "tags": ["plb_affinity_app", "plb_pin_pve1", "plb_pin_pve2"]},
                    {"vmid": 101, "node": "pve1", "tags": ["plb_affinity_app"]}], marker=["pve3"])
    assert filter_chain.first_refusal(state, [100], "pve3")[0] == "node_usable"
    assert filter_chain.first_refusal(state, [100], "pve2")[0] == "affinity"
    assert filter_chain.refusal(state, [100], "pve2", skip=("affinity",)) is None
    assert all(filter_chain.refusal(state, [100], n) for n in ("pve2", "pve3"))


def test_capacity_overrun_names_the_first_limit_a_node_is_already_above():
    """Capacity.overrun(node): what the planner repairs before anything else (memory over maxmem - reserve,
    vCPUs over cpu_overcommit x (cores - cpu reserve)); None for a node within its limits."""
    guests = [{"vmid": 100 + i, "node": "pve1", "mem": 16 * GIB, "maxmem": 16 * GIB, "maxcpu": 4} for i in range(5)]
    state = _state(guests, options={"balancing": {"cpu_overcommit": 1.0,
                                                  "node_resource_reserve": {"defaults": {"cpu": 2}}}})
    assert state.capacity.overrun("pve1") == "pve1: memory 82.0 GiB used, 64.0 GiB allowed after reserve"
    assert state.capacity.overrun("pve2") is None
    state.move(100, "pve2")
    state.move(101, "pve3")
    assert state.capacity.overrun("pve1") == "pve1: 12 cores assigned, 6.0 allowed (cpu_overcommit 1.00)"
    assert [n for n, _r in state.capacity.overruns()] == ["pve1"]
