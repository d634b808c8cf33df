from ansible_collections.proxlb.balancer.plugins.module_utils.facts.collect import guest_details, parse_crs


def test_local_disks_and_devices_from_a_vm_config():
    config = {
        "scsi0": "local-lvm:vm-100-disk-0,iothread=1,size=32G",
        "scsi1": "ceph:vm-100-disk-1,size=100G",
        "ide2": "none,media=cdrom",
        "efidisk0": "local-lvm:vm-100-disk-2,size=4M",
        "hostpci0": "0000:01:00.0,pcie=1",
        "hostpci1": "mapping=gpu",
        "usb0": "spice",
        "usb1": "host=1234:5678",
        "serial0": "socket",
        "memory": "4096",
    }
    disks, devices = guest_details(config, {"local-lvm"})
    assert disks == [
        {"volume": "local-lvm:vm-100-disk-2", "storage": "local-lvm", "size": 4 * 1024 ** 2},
        {"volume": "local-lvm:vm-100-disk-0", "storage": "local-lvm", "size": 32 * 1024 ** 3},
    ]
    assert devices == ["hostpci0", "usb1"]


def test_container_bind_mounts_and_devices_pin_it():
    config = {"rootfs": "local:200/vm-200-disk-0.raw,size=8G", "mp0": "/srv/data,mp=/data",
              "mp1": "nfs:200/vm-200-disk-1.raw,mp=/x,size=1G", "dev0": "/dev/ttyUSB0"}
    disks, devices = guest_details(config, {"local"})
    assert [d["volume"] for d in disks] == ["local:200/vm-200-disk-0.raw"]
    assert devices == ["dev0", "mp0"]


def test_crs_property_string():
    assert parse_crs("ha=static,ha-auto-rebalance=1,ha-auto-rebalance-threshold=30") == {
        "ha": "static", "auto_rebalance": True, "ha_auto_rebalance_threshold": "30"}
    assert parse_crs("") == {"ha": "basic", "auto_rebalance": False}
