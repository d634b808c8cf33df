"""migration_params: which POST parameters a migration gets, by guest type, state and PVE version."""

import pytest
from hypothesis import given, settings, strategies as st

from ansible_collections.proxlb.balancer.plugins.module_utils.common import config
from ansible_collections.proxlb.balancer.plugins.module_utils.migrate.migration_params import (
    build, storage_pairs)

BALANCING = config.behaviour()["balancing"]
DBUS = {"running": 1, "local_disks": [], "has-dbus-vmstate": 1}


def guest(kind="qemu", status="running", disks=()):
    return {"vmid": 100, "type": kind, "status": status, "local_disks": list(disks)}


def test_running_vm_is_migrated_online_with_conntrack_on_pve9():
    params, reason = build(guest(), "pve2", BALANCING, "9.1.2", DBUS)
    assert reason is None
    assert params == {"target": "pve2", "online": 1, "with-conntrack-state": 1}


@pytest.mark.parametrize("version", ["8.4.1", "8.0.0", "8.3.5"])
def test_pve8_source_never_gets_conntrack_even_if_asked(version):
    params, _ = build(guest(), "pve2", BALANCING, version, DBUS)
    assert "with-conntrack-state" not in params
    assert params["online"] == 1


def test_conntrack_needs_dbus_vmstate_and_the_option():
    params, _ = build(guest(), "pve2", BALANCING, "9.1.2", {"running": 1})
    assert "with-conntrack-state" not in params
    off = dict(BALANCING, with_conntrack_state=False)
    assert "with-conntrack-state" not in build(guest(), "pve2", off, "9.1.2", DBUS)[0]


def test_stopped_vm_is_an_offline_migration():
    params, _ = build(guest(status="stopped"), "pve2", BALANCING, "9.1.2", DBUS)
    assert params == {"target": "pve2"}


def test_live_false_skips_running_vms_and_moves_stopped_ones():
    offline = dict(BALANCING, live=False)
    params, reason = build(guest(), "pve2", offline, "9.1.2", DBUS)
    assert params is None and "live" in reason
    assert build(guest(status="stopped"), "pve2", offline, "9.1.2", DBUS)[0] == {"target": "pve2"}


def test_local_disks_add_with_local_disks_and_the_storage_mapping():
    answer = {"local_disks": [{"volid": "local-lvm:vm-100-disk-0", "cdrom": 0},
                              {"volid": "local:iso/x.iso", "cdrom": 1}]}
    params, _ = build(guest(), "pve2", BALANCING, "8.4.1", answer, targetstorage={"local-lvm": "fast"})
    assert params == {"target": "pve2", "online": 1, "with-local-disks": 1, "targetstorage": "local-lvm:fast"}
    refused = build(guest(), "pve2", dict(BALANCING, with_local_disks=False), "8.4.1", answer)
    assert refused[0] is None and "with_local_disks" in refused[1]


def test_only_cdroms_are_not_local_disks():
    answer = {"local_disks": [{"volid": "local:iso/x.iso", "cdrom": 1}]}
    assert "with-local-disks" not in build(guest(), "pve2", BALANCING, "9.1.2", answer)[0]


def test_running_container_restarts_with_timeout_or_is_skipped():
    params, _ = build(guest("lxc"), "pve2", BALANCING, "9.1.2", {"running": 1}, restart_timeout=90)
    assert params == {"target": "pve2", "restart": 1, "timeout": 90}
    params, reason = build(guest("lxc"), "pve2", dict(BALANCING, running_ct="skip"), "9.1.2", None)
    assert params is None and "running_ct" in reason
    assert build(guest("lxc", "stopped"), "pve2", dict(BALANCING, running_ct="skip"), "8.4.1", None)[0] == \
        {"target": "pve2"}


def test_container_storage_mapping_uses_the_lxc_name():
    params, _ = build(guest("lxc", "stopped", [{"volume": "local-lvm:subvol-100-disk-0"}]), "pve2", BALANCING,
                      "8.4.1", None, targetstorage="fast")
    assert params == {"target": "pve2", "target-storage": "fast"}



def test_storage_pairs_forms():
    assert storage_pairs(None) is None
    assert storage_pairs({"b": "y", "a": "x"}) == "a:x,b:y"
    assert storage_pairs("local-lvm:fast") == "local-lvm:fast"


@settings(max_examples=200, deadline=None)
@given(kind=st.sampled_from(["qemu", "lxc"]), status=st.sampled_from(["running", "stopped"]),
       version=st.sampled_from(["8.0.2", "8.3.0", "8.4.1", "9.0.3", "9.1.2"]), live=st.booleans(),
       conntrack=st.booleans(), disks=st.booleans(), dbus=st.booleans(), running_ct=st.sampled_from(["restart", "skip"]))
def test_parameters_are_known_to_the_version_and_booleans_are_ints(kind, status, version, live, conntrack, disks,
                                                                   dbus, running_ct):
    balancing = dict(BALANCING, live=live, with_conntrack_state=conntrack, running_ct=running_ct)
    answer = {"local_disks": [{"volid": "local-lvm:vm-100-disk-0", "cdrom": 0}] if disks else []}
    if dbus:
        answer["has-dbus-vmstate"] = 1
    params, reason = build(guest(kind, status), "pve2", balancing, version, answer, targetstorage="fast")
    assert (params is None) != (reason is None)
    if params is None:
        return
    allowed = {"qemu": {"target", "online", "with-local-disks", "targetstorage", "with-conntrack-state"},
               "lxc": {"target", "restart", "timeout", "target-storage"}}[kind]
    assert set(params) <= allowed
    if version.startswith("8"):
        assert "with-conntrack-state" not in params
    for key, value in params.items():
        assert not isinstance(value, bool), key
        if key in ("online", "with-local-disks", "with-conntrack-state", "restart"):
            assert value == 1
    if kind == "qemu" and status == "running":
        assert params["online"] == 1
    if kind == "lxc" and status == "running":
        assert params["restart"] == 1
