# -*- coding: utf-8 -*-
# Copyright: (c) 2026, proxlb.balancer contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Read a cluster into a snapshot with a number of API calls that grows with nodes, never with guests.

Calls: /cluster/status, /cluster/resources (nodes, guests, storages and pools in one answer),
/cluster/options, the HA endpoints of the cluster's PVE generation, and /nodes/{node}/version once per
online node. Per-guest configs (one call per guest) are read only when ``guest_config`` is asked for:
by default whether a guest can leave its node is learned from PVE's migrate precondition for the
candidates of a plan only.

Fail closed: the CRS settings and the maintenance marker (``/cluster/options``) and the HA rules, groups
and resources are what hard rules are made of, so when one of them cannot be read (after a few tries of a
transient 5xx) or is refused, the collection stops with one line instead of planning without them.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re
import time

from ansible_collections.proxlb.balancer.plugins.module_utils.facts import snapshot as snapshot_schema
from ansible_collections.proxlb.balancer.plugins.module_utils.common.errors import ApiError, PermissionDenied
from ansible_collections.proxlb.balancer.plugins.module_utils.common.natural import natural_key
from ansible_collections.proxlb.balancer.plugins.module_utils.facts.maintenance_marker import parse as parse_marker

_DISK_KEY = re.compile(r"^(scsi|virtio|sata|ide|efidisk|tpmstate|unused|mp)\d+$|^rootfs$")
_DEVICE_KEY = re.compile(r"^(hostpci|usb|serial|parallel|virtiofs|dev)\d+$|^ivshmem$")
_SIZE = re.compile(r"(?:^|,)size=(\d+(?:\.\d+)?)([KMGT]?)")
_UNITS = {"": 1, "K": 1024, "M": 1024 ** 2, "G": 1024 ** 3, "T": 1024 ** 4}
# required reads: tries of a transient error (5xx, lost connection) and the pause before each retry
READ_ATTEMPTS = 3
RETRY_PAUSE = 0.5
# what GET /cluster/options answers without Sys.Audit on / (pve-manager PVE/API2/Cluster.pm get_options)
_OPTIONS_SUBSET = frozenset(("console", "tag-style", "allowed-tags"))


def _psi(entry):
    values = dict((k, entry[k]) for k in snapshot_schema.PSI_FIELDS if isinstance(entry.get(k), (int, float)))
    return values or None


# numeric usage fields as /cluster/resources reports them (absent for offline nodes and unknown guests)
_USAGE = ("maxcpu", "cpu", "maxmem", "mem", "maxdisk", "disk", "uptime")


def _usage(entry):
    return dict((key, entry.get(key, 0) or 0) for key in _USAGE)


def node_record(entry):
    record = {"node": entry["node"], "status": entry.get("status", "unknown"), "hastate": entry.get("hastate", "")}
    record.update(_usage(entry))
    return record


def guest_record(entry):
    record = {
        "vmid": int(entry["vmid"]),
        "type": entry["type"],
        "name": entry.get("name", ""),
        "node": entry["node"],
        "status": entry.get("status", "unknown"),
        "template": bool(entry.get("template", 0)),
        "lock": entry.get("lock", ""),
        "tags": entry.get("tags", ""),
        "pool": entry.get("pool", ""),
        "hastate": entry.get("hastate", ""),
    }
    record.update(_usage(entry))
    psi = _psi(entry)
    if psi:
        record["psi"] = psi
    return record


def storage_record(entry):
    return {
        "storage": entry["storage"],
        "node": entry["node"],
        "type": entry.get("plugintype", entry.get("type", "")),
        "shared": bool(entry.get("shared", 0)),
        "content": entry.get("content", ""),
        "status": entry.get("status", "unknown"),
        "maxdisk": entry.get("maxdisk", 0) or 0,
        "disk": entry.get("disk", 0) or 0,
    }


def _size_bytes(value):
    match = _SIZE.search(value)
    if not match:
        return 0
    return int(float(match.group(1)) * _UNITS[match.group(2)])


def guest_details(config, local_storages):
    """Local disks and local devices of one guest config (PVE's own rules, see docs/snapshot.md)."""
    disks, devices = [], []
    for key in sorted(config):
        value = str(config[key])
        if _DISK_KEY.match(key):
            volume = value.split(",", 1)[0]
            if volume.startswith("/"):
                if key.startswith("mp"):
                    devices.append(key)  # a bind mount cannot follow the container
                continue
            if volume in ("none", "") or ":" not in volume or "shared=1" in value:
                continue
            storage = volume.split(":", 1)[0]
            if storage in local_storages:
                disks.append({"volume": volume, "storage": storage, "size": _size_bytes(value)})
        elif _DEVICE_KEY.match(key):
            if key.startswith("usb") and ("spice" in value or "mapping=" in value):
                continue
            if key.startswith("serial") and value == "socket":
                continue
            if key.startswith("hostpci") and "mapping=" in value:
                continue
            devices.append(key)
    return disks, devices


class Collector(object):
    """Builds a snapshot from one client; ``warnings`` says what could not be read and why."""

    def __init__(self, client, guest_config=False, sleep=time.sleep):
        self.client = client
        self.guest_config = guest_config
        self.warnings = []
        self.sleep = sleep

    def _required(self, path, what, why):
        """Read an endpoint a hard rule depends on: retry a transient error, then stop with one line."""
        for attempt in range(READ_ATTEMPTS):
            try:
                return self.client.get(path)
            except PermissionDenied as exc:
                raise PermissionDenied("%s not readable (%s); %s, so nothing is planned without them (grant "
                                       "Sys.Audit on /)" % (what, exc, why), status_code=403)
            except ApiError as exc:
                transient = exc.status_code is None or (exc.status_code >= 500 and exc.status_code != 501)
                if not transient or attempt + 1 >= READ_ATTEMPTS:
                    raise ApiError("%s not readable (%s, %d attempt(s)); %s, so nothing is planned without them"
                                   % (what, exc, attempt + 1, why), status_code=exc.status_code)
                self.sleep(RETRY_PAUSE * (attempt + 1))
        return None  # not reached

    def _options(self):
        options = self._required("/cluster/options", "datacenter options",
                                 "the CRS mode and the maintenance marker in the notes decide placements")
        options = options if isinstance(options, dict) else {}
        if "allowed-tags" in options and set(options) <= _OPTIONS_SUBSET:
            raise PermissionDenied("datacenter options not readable: /cluster/options answered only what a caller "
                                   "without Sys.Audit on / may see; the CRS mode and the maintenance marker "
                                   "decide placements, so nothing is planned without them (grant Sys.Audit on /)",
                                   status_code=403)
        return options

    def _optional(self, path, what, **params):
        """Read an endpoint whose absence must not stop the run (privileges, PVE generation)."""
        try:
            return self.client.get(path, **params) or []
        except PermissionDenied:
            self.warnings.append("%s not read: permission denied on %s" % (what, path))
        except ApiError as exc:
            if exc.status_code in (500, 501, 400, 404):
                self.warnings.append("%s not read: %s" % (what, exc))
            else:
                raise
        return []

    def collect(self):
        status = self.client.get("/cluster/status") or []
        cluster_entry = next((e for e in status if e.get("type") == "cluster"), {})
        resources = self.client.get("/cluster/resources") or []
        options = self._options()

        nodes = [node_record(e) for e in resources if e.get("type") == "node"]
        guests = [guest_record(e) for e in resources if e.get("type") in ("qemu", "lxc")]
        storages = [storage_record(e) for e in resources if e.get("type") == "storage"]
        nodes.sort(key=lambda n: natural_key(n["node"]))   # pve1, pve2, pve10
        guests.sort(key=lambda g: g["vmid"])

        for node in nodes:
            if node["status"] == "online":
                try:
                    node["pve_version"] = self.client.node_version(node["node"])
                except ApiError as exc:
                    node["pve_version"] = ""
                    self.warnings.append("node %s: version not read: %s" % (node["node"], exc))
            else:
                node["pve_version"] = ""
                self.warnings.append("node %s is %s" % (node["node"], node["status"]))

        ha = self._collect_ha(nodes)
        if self.guest_config:
            self._add_guest_details(guests, storages)

        cluster = {
            "name": cluster_entry.get("name", ""),
            "quorate": bool(cluster_entry.get("quorate", 1)),
            "crs": parse_crs(options.get("crs")),
            "maintenance_nodes": parse_marker(options.get("description") or ""),
        }
        return snapshot_schema.new(cluster, nodes, guests, storages=storages, **ha)

    def _collect_ha(self, nodes):
        majors = [(snapshot_schema.version_tuple(n["pve_version"]) or (0,))[0] for n in nodes if n["pve_version"]]
        why = "HA rules, groups and resources are hard placement rules"
        ha = {"ha_resources": self._required("/cluster/ha/resources", "HA resources", why) or []}
        if majors and min(majors) >= 9:
            ha["ha_rules"] = self._required("/cluster/ha/rules", "HA rules", why) or []
        else:
            ha["ha_groups"] = self._required("/cluster/ha/groups", "HA groups", why) or []
        # PVE before 8.3 shows node maintenance only in the LRM status text
        lrm = self._optional("/cluster/ha/status/current", "HA status")
        in_maintenance = set(e.get("node") for e in lrm
                             if e.get("type") == "lrm" and "maintenance mode" in str(e.get("status", "")))
        for node in nodes:
            if node["node"] in in_maintenance:
                node["hastate"] = "maintenance"
        return ha

    def _add_guest_details(self, guests, storages):
        local = {}
        for s in storages:
            if not s["shared"]:
                local.setdefault(s["node"], set()).add(s["storage"])
        for guest in guests:
            path = "/nodes/%s/%s/%d/config" % (guest["node"], guest["type"], guest["vmid"])
            try:
                config = self.client.get(path) or {}
            except ApiError as exc:
                self.warnings.append("guest %d: config not read: %s" % (guest["vmid"], exc))
                continue
            guest["local_disks"], guest["local_resources"] = guest_details(config, local.get(guest["node"], set()))


def parse_crs(value):
    """The ``crs`` of /cluster/options as the snapshot's dict. Real PVE answers an object
    (``{"ha": "static", "ha-auto-rebalance": 1}``, parsed by pve-cluster's DataCenterConfig.pm); the raw
    property string ('ha=static,ha-auto-rebalance=1') is read too."""
    crs = {}
    if isinstance(value, dict):
        for key, item in value.items():
            crs[str(key)] = "1" if item is True else "0" if item is False else str(item)
    else:
        for part in str(value or "").split(","):
            if "=" in part:
                key, item = part.split("=", 1)
                crs[key.strip()] = item.strip()
            elif part.strip():
                crs["ha"] = part.strip()
    result = {"ha": crs.get("ha", "basic"), "auto_rebalance": crs.get("ha-auto-rebalance", "").lower() in ("1", "true")}
    for key, value in crs.items():
        if key not in ("ha", "ha-auto-rebalance"):
            result[key.replace("-", "_")] = value
    return result


def collect_snapshot(client, guest_config=False):
    """Return (snapshot, warnings) for the cluster behind ``client``."""
    collector = Collector(client, guest_config=guest_config)
    return collector.collect(), collector.warnings
