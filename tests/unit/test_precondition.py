"""PVE's migrate precondition answer read as a refusal (placement/precondition.py ``verdict``), in the
shapes qemu-server (underscored keys) and pve-container 9 (hyphenated keys) return."""

import pytest

from ansible_collections.proxlb.balancer.plugins.module_utils.placement.precondition import verdict


@pytest.mark.parametrize("answer,target,local_ok,expected", [
    ({}, "pve2", True, None),
    ({"allowed_nodes": ["pve2", "pve3"]}, "pve2", True, None),
    ({"local_resources": ["hostpci0", "usb0"]}, "pve2", True, "local devices pin it to its node: hostpci0, usb0"),
    ({"local_disks": [{"volid": "local:iso/x.iso", "cdrom": 1}]}, "pve2", True,
     "local CD-ROM image attached: local:iso/x.iso"),
    ({"local_disks": [{"volid": "local-lvm:vm-1-disk-0"}]}, "pve2", True, None),
    ({"local_disks": [{"volid": "local-lvm:vm-1-disk-0"}]}, "pve2", False,
     "local disks and with_local_disks is off: local-lvm:vm-1-disk-0"),
    ({"allowed_nodes": ["pve3"], "not_allowed_nodes": {"pve2": {"unavailable_storages": ["zfs1"]}}}, "pve2", True,
     "PVE does not allow pve2: unavailable storages: zfs1"),
    ({"allowed-nodes": ["pve3"], "not-allowed-nodes": {"pve2": {"unavailable-resources": ["mp0"]}}}, "pve2", True,
     "PVE does not allow pve2: unavailable resources: mp0"),
    ({"allowed_nodes": [], "not_allowed_nodes": {"pve2": {"blocking-ha-resources": [
        {"sid": "vm:105", "cause": "resource-affinity"}]}}}, "pve2", True,
     "PVE does not allow pve2: HA resource-affinity with vm:105"),
    ({"allowed_nodes": ["pve3"]}, "pve2", True, "PVE does not allow pve2: not in allowed nodes"),
])
def test_verdict(answer, target, local_ok, expected):
    assert verdict(answer, target, local_ok) == expected
