"""Hard capacity: memory minus reserve, local storage, CPU with overcommit; step-wise safety."""

from ansible_collections.proxlb.balancer.plugins.module_utils.placement.capacity import Capacity, assign_steps, step_violations
from ansible_collections.proxlb.balancer.plugins.module_utils.common.config import behaviour
from ansible_collections.proxlb.balancer.plugins.module_utils.facts.snapshot import normalize

GIB = 1024 ** 3


def _snap(storages=None):
    return normalize({
        "nodes": [{"node": "a", "maxcpu": 4, "maxmem": 16 * GIB, "mem": 14 * GIB},
                  {"node": "b", "maxcpu": 4, "maxmem": 16 * GIB, "mem": 14 * GIB},
                  {"node": "c", "maxcpu": 4, "maxmem": 16 * GIB, "mem": 2 * GIB}],
        "guests": [{"vmid": 1, "type": "qemu", "node": "a", "maxmem": 8 * GIB, "mem": 8 * GIB, "maxcpu": 4,
                    "local_disks": [{"volume": "local-lvm:vm-1-disk-0", "size": 20 * GIB}]},
                   {"vmid": 2, "type": "qemu", "node": "b", "maxmem": 8 * GIB, "mem": 8 * GIB, "maxcpu": 4},
                   {"vmid": 3, "type": "qemu", "node": "c", "maxmem": 4 * GIB, "mem": 4 * GIB, "maxcpu": 2}],
        "storages": storages or []})


def test_memory_and_reserve():
    cap = Capacity(_snap(), behaviour())
    assert cap.fits("c", [1]) is None
    assert "memory" in cap.fits("b", [1])
    reserved = Capacity(_snap(), behaviour({"balancing": {"node_resource_reserve": {"c": {"memory": 8}}}}))
    assert "memory" in reserved.fits("c", [1])


def test_cpu_only_with_overcommit():
    assert Capacity(_snap(), behaviour()).fits("c", [1, 2]) is not None  # memory, not cpu
    cap = Capacity(_snap(), behaviour({"balancing": {"cpu_overcommit": 1.0}}))
    assert cap.fits("c", [1]) is not None and "cpu" in cap.fits("c", [1])
    assert Capacity(_snap(), behaviour({"balancing": {"cpu_overcommit": 2.0}})).fits("c", [1]) is None


def test_local_storage_must_exist_and_fit():
    storages = [{"storage": "local-lvm", "node": "c", "maxdisk": 10 * GIB, "disk": 0}]
    cap = Capacity(_snap(storages), behaviour())
    assert "storage local-lvm" in cap.fits("c", [1])
    storages = [{"storage": "local-lvm", "node": "b", "maxdisk": 100 * GIB, "disk": 0}]
    assert "no local storage" in Capacity(_snap(storages), behaviour()).fits("c", [1])


def test_swap_through_a_third_node_needs_steps():
    # a and b are full: 1 -> c, then 2 -> a (room freed only after step 1), then 3 -> b
    moves = [{"vmid": 1, "target": "c"}, {"vmid": 2, "target": "a"}, {"vmid": 3, "target": "b"}]
    snap = _snap()
    cap = Capacity(snap, behaviour())
    assign_steps(cap, moves)
    assert moves[0]["step"] == 1 and moves[1]["step"] == 2
    assert step_violations(snap, behaviour(), moves) == []
    squeezed = [dict(m, step=1) for m in moves]
    assert step_violations(snap, behaviour(), squeezed)
