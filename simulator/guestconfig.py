"""A guest's PVE configuration (``qm config`` / ``pct config``) derived from its snapshot record."""

import hashlib

GIB = 1024 ** 3
MIB = 1024 ** 2


def _size(size_bytes):
    """PVE's size suffix as in drive strings: whole GiB as ``32G``, else MiB."""
    size_bytes = int(size_bytes)
    if size_bytes and size_bytes % GIB == 0:
        return "%dG" % (size_bytes // GIB)
    return "%dM" % max(1, size_bytes // MIB)


def shared_storage_for(state, guest):
    """The shared storage that holds a guest's non-local disk (the first shared one on its node)."""
    for storage in state.storages:
        if storage["shared"] and storage["node"] == guest["node"]:
            return storage["storage"]
    return "shared"


def _passthrough(key, index):
    if key.startswith("hostpci"):
        return "0000:%02x:00.0,pcie=1" % (index + 1)
    if key.startswith("usb"):
        return "host=1d6b:%04x" % (index + 2)
    if key.startswith("serial"):
        return "/dev/ttyS%d" % index
    if key.startswith("dev"):
        return "/dev/ttyUSB%d" % index
    if key.startswith("mp"):
        return "/srv/data%d,mp=/mnt/data%d" % (index, index)
    return "1"


def build_config(state, guest):
    """The config map PVE returns for GET .../config, ``digest`` included."""
    vmid = guest["vmid"]
    config = {"name" if guest["type"] == "qemu" else "hostname": guest["name"] or "guest%d" % vmid,
              "cores": int(guest["maxcpu"]) or 1,
              "memory": max(1, int(guest["maxmem"]) // MIB)}
    disks = list(guest["local_disks"])
    local_size = sum(d["size"] for d in disks)
    if guest["type"] == "qemu":
        config.update({"sockets": 1, "ostype": "l26", "cpu": "x86-64-v2-AES", "scsihw": "virtio-scsi-single",
                       "boot": "order=scsi0", "agent": "1", "net0": "virtio=BC:24:11:%02X:%02X:%02X,bridge=vmbr0"
                       % ((vmid >> 16) & 255, (vmid >> 8) & 255, vmid & 255)})
        slot = 0
        if not disks or guest["maxdisk"] > local_size:
            # the guest's boot disk lives on shared storage unless its local disks make up all of maxdisk
            config["scsi0"] = "%s:vm-%d-disk-0,iothread=1,size=%s" % (
                shared_storage_for(state, guest), vmid, _size(max(guest["maxdisk"] - local_size, GIB)))
            slot = 1
        for i, disk in enumerate(disks):
            config["scsi%d" % (slot + i)] = "%s,iothread=1,size=%s" % (disk["volume"], _size(disk["size"]))
    else:
        config.update({"arch": "amd64", "ostype": "debian", "swap": 512, "unprivileged": 1,
                       "net0": "name=eth0,bridge=vmbr0,ip=dhcp,type=veth"})
        if disks:
            config["rootfs"] = "%s,size=%s" % (disks[0]["volume"], _size(disks[0]["size"]))
            for i, disk in enumerate(disks[1:]):
                config["mp%d" % i] = "%s,mp=/mnt/vol%d,size=%s" % (disk["volume"], i, _size(disk["size"]))
        else:
            config["rootfs"] = "%s:vm-%d-disk-0,size=%s" % (shared_storage_for(state, guest), vmid,
                                                           _size(max(guest["maxdisk"], GIB)))
    for i, key in enumerate(guest["local_resources"]):
        config[key] = _passthrough(key, i)
    if guest["tags"]:
        config["tags"] = ";".join(guest["tags"])
    if guest["lock"]:
        config["lock"] = guest["lock"]
    if guest["template"]:
        config["template"] = 1
    if guest.get("description"):
        config["description"] = guest["description"]
    config["digest"] = digest(config)
    return config


def digest(config):
    text = "\n".join("%s: %s" % (k, config[k]) for k in sorted(config) if k != "digest")
    return hashlib.sha1(text.encode("utf-8")).hexdigest()
