"""Node and guest load in modes used and assigned, reserves, percent of capacity."""

from ansible_collections.proxlb.balancer.plugins.module_utils.placement.load import LoadModel, guest_load, reserve_bytes
from ansible_collections.proxlb.balancer.plugins.module_utils.facts.snapshot import normalize

GIB = 1024 ** 3


def _snap():
    return normalize({
        "nodes": [{"node": "a", "maxcpu": 8, "maxmem": 32 * GIB, "mem": 10 * GIB, "cpu": 0.5},
                  {"node": "b", "maxcpu": 8, "maxmem": 64 * GIB, "mem": 2 * GIB, "cpu": 0.0}],
        "guests": [{"vmid": 1, "type": "qemu", "node": "a", "maxmem": 8 * GIB, "mem": 6 * GIB, "maxcpu": 4,
                    "cpu": 0.5},
                   {"vmid": 2, "type": "lxc", "node": "a", "maxmem": 4 * GIB, "mem": 1 * GIB, "maxcpu": 2,
                    "cpu": 0.1, "status": "stopped"}]})


def test_guest_load_modes():
    guest = _snap()["guests"][0]
    assert guest_load(guest, "used") == (6 * GIB, 2.0, 0)
    assert guest_load(guest, "assigned") == (8 * GIB, 4.0, 0)
    stopped = _snap()["guests"][1]
    assert guest_load(stopped, "used")[:2] == (0, 0.0)
    assert guest_load(stopped, "assigned")[:2] == (0, 0.0)


def test_used_mode_moves_load_between_nodes():
    model = LoadModel(_snap(), {"mode": "used"})
    assert model.percent("a", 0) == 100.0 * 10 / 32
    model.move(1, "b")
    assert model.load["a"][0] == 4 * GIB and model.load["b"][0] == 8 * GIB
    assert abs(model.percent("b", 1) - 100.0 * 2 / 8) < 1e-9


def test_assigned_mode_sums_running_guests():
    model = LoadModel(_snap(), {"mode": "assigned"})
    assert model.load["a"][0] == 8 * GIB
    assert model.load["b"][0] == 0


def test_psi_is_balanced_as_used():
    assert LoadModel(_snap(), {"mode": "psi"}).mode == "used"


def test_reserve_lowers_capacity():
    balancing = {"node_resource_reserve": {"defaults": {"memory": 4}, "b": {"memory": 16}}}
    assert reserve_bytes(balancing, "a") == 4 * GIB
    assert reserve_bytes(balancing, "b") == 16 * GIB
    model = LoadModel(_snap(), balancing)
    assert model.capacity["a"][0] == 28 * GIB
    assert model.percent("a", 0) == 100.0 * 10 / 28


def test_node_figure_below_its_guests_is_raised():
    snap = _snap()
    snap["nodes"][0]["mem"] = GIB
    assert LoadModel(snap, {"mode": "used"}).load["a"][0] == 6 * GIB
