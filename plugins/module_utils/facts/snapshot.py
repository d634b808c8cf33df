# -*- coding: utf-8 -*-
# Copyright: (c) 2026, proxlb.balancer contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The cluster snapshot: one JSON document that facts return, the planner reads and the simulator loads.

The schema is documented in docs/snapshot.md. Field names and units follow PVE's API (bytes, cpu as a
fraction, maxcpu in cores); booleans are JSON booleans. ``normalize`` fills optional fields with their
defaults, so every consumer can index fields directly.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import copy
import hashlib
import json
import re

from ansible_collections.proxlb.balancer.plugins.module_utils.common.constants import SNAPSHOT_SCHEMA, utc_stamp
from ansible_collections.proxlb.balancer.plugins.module_utils.common import documents
from ansible_collections.proxlb.balancer.plugins.module_utils.common.errors import SnapshotError

SCHEMA = SNAPSHOT_SCHEMA
GUEST_TYPES = ("qemu", "lxc")
PSI_FIELDS = ("pressurecpusome", "pressurecpufull", "pressureiosome", "pressureiofull",
              "pressurememorysome", "pressurememoryfull")

_NUMBER = (int, float)
_MISSING = object()

# field: (type check, default or _MISSING when required)
_NODE_FIELDS = {
    "node": (str, _MISSING),
    "status": (str, "online"),
    "pve_version": (str, "9.1.2"),
    "maxcpu": (_NUMBER, _MISSING),
    "cpu": (_NUMBER, 0.0),
    "maxmem": (_NUMBER, _MISSING),
    "mem": (_NUMBER, 0),
    "maxdisk": (_NUMBER, 0),
    "disk": (_NUMBER, 0),
    "hastate": (str, "online"),
    "uptime": (_NUMBER, 0),
}
_GUEST_FIELDS = {
    "vmid": (int, _MISSING),
    "type": (str, _MISSING),
    "name": (str, ""),
    "node": (str, _MISSING),
    "status": (str, "running"),
    "template": (bool, False),
    "lock": (str, ""),
    "tags": (list, []),
    "pool": (str, ""),
    "hastate": (str, ""),
    "maxcpu": (_NUMBER, 1),
    "cpu": (_NUMBER, 0.0),
    "maxmem": (_NUMBER, _MISSING),
    "mem": (_NUMBER, 0),
    "maxdisk": (_NUMBER, 0),
    "disk": (_NUMBER, 0),
    "local_disks": (list, []),
    "local_resources": (list, []),
    "uptime": (_NUMBER, 0),
}
_STORAGE_FIELDS = {
    "storage": (str, _MISSING),
    "node": (str, _MISSING),
    "type": (str, "dir"),
    "shared": (bool, False),
    "content": (str, "images,rootdir"),
    "status": (str, "available"),
    "maxdisk": (_NUMBER, 0),
    "disk": (_NUMBER, 0),
}
# a snapshot of 10 000 guests is a few megabytes
MAX_FILE_BYTES = 256 * 1024 * 1024
_LIST_SECTIONS = ("nodes", "guests", "storages", "pools", "ha_groups", "ha_rules", "ha_resources")


def _type_name(expected):
    if isinstance(expected, tuple):
        return "number"
    return {str: "string", int: "integer", bool: "boolean", list: "list", dict: "object"}[expected]


def _check_type(value, expected, path):
    if expected is bool:
        # PVE reports booleans as 0/1; accept both and store JSON booleans.
        if value in (0, 1) and not isinstance(value, float):
            return bool(value)
        if isinstance(value, bool):
            return value
    elif expected is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        if isinstance(value, str) and value.isdigit():
            return int(value)
    elif expected == _NUMBER:
        if isinstance(value, _NUMBER) and not isinstance(value, bool):
            if not documents.finite(value):
                raise SnapshotError("%s: expected a finite number, got %s" % (path, documents.shown(value)))
            if value < 0:
                raise SnapshotError("%s: must not be negative, got %s" % (path, documents.shown(value)))
            return value
    elif isinstance(value, expected):
        return value
    raise SnapshotError("%s: expected a %s, got %s" % (path, _type_name(expected), documents.shown(value)))


def _normalize_record(record, fields, path):
    if not isinstance(record, dict):
        raise SnapshotError("%s: expected an object, got %s" % (path, documents.shown(record)))
    out = dict(record)
    for name, (expected, default) in fields.items():
        value = record.get(name, _MISSING)
        if value is _MISSING or value is None:
            if default is _MISSING:
                raise SnapshotError("%s.%s: required field is missing" % (path, name))
            out[name] = copy.deepcopy(default)
        else:
            out[name] = _check_type(value, expected, "%s.%s" % (path, name))
    return out


def split_tags(text):
    """PVE's tag string as a list; PVE separates tags with ';' (its parser accepts ',' and spaces too)."""
    return [t for t in text.replace(",", ";").replace(" ", ";").split(";") if t]


def _normalize_tags(tags, path):
    if isinstance(tags, str):
        tags = split_tags(tags)
    for i, tag in enumerate(tags):
        if not isinstance(tag, str):
            raise SnapshotError("%s[%d]: expected a string tag, got %s" % (path, i, documents.shown(tag)))
    return sorted(set(tags))


def _normalize_guest(raw, path, node_names):
    if isinstance(raw, dict) and isinstance(raw.get("tags"), str):
        raw = dict(raw, tags=_normalize_tags(raw["tags"], path + ".tags"))
    guest = _normalize_record(raw, _GUEST_FIELDS, path)
    if guest["type"] not in GUEST_TYPES:
        raise SnapshotError("%s.type: must be one of %s, got %s"
                            % (path, ", ".join(GUEST_TYPES), documents.shown(guest["type"])))
    if guest["node"] not in node_names:
        raise SnapshotError("%s.node: %s is not a node of this snapshot" % (path, documents.shown(guest["node"])))
    guest["tags"] = _normalize_tags(guest["tags"], path + ".tags")
    disks = []
    for i, disk in enumerate(guest["local_disks"]):
        dpath = "%s.local_disks[%d]" % (path, i)
        if not isinstance(disk, dict) or "volume" not in disk:
            raise SnapshotError("%s: expected an object with 'volume', got %s" % (dpath, documents.shown(disk)))
        volume = str(disk["volume"])
        disks.append({
            "volume": volume,
            "storage": str(disk.get("storage") or volume.split(":", 1)[0]),
            "size": _check_type(disk.get("size", 0), _NUMBER, dpath + ".size"),
        })
    guest["local_disks"] = disks
    guest["local_resources"] = [str(r) for r in guest["local_resources"]]
    if "psi" in guest and guest["psi"] is not None:
        guest["psi"] = _normalize_psi(guest["psi"], path + ".psi")
    return guest


def _normalize_psi(psi, path):
    if not isinstance(psi, dict):
        raise SnapshotError("%s: expected an object of PVE pressure fields, got %s" % (path, documents.shown(psi)))
    out = {}
    for key, value in psi.items():
        if key not in PSI_FIELDS:
            raise SnapshotError("%s.%s: unknown pressure field (known: %s)" % (path, key, ", ".join(PSI_FIELDS)))
        out[key] = float(_check_type(value, _NUMBER, "%s.%s" % (path, key)))
    return out


def _normalize_pools(pools, guests_by_vmid):
    """Pools as {poolid, comment, members: [vmid]}; a guest's ``pool`` field and the pool's members agree."""
    result = {}
    for i, pool in enumerate(pools):
        path = "pools[%d]" % i
        if not isinstance(pool, dict) or not isinstance(pool.get("poolid"), str):
            raise SnapshotError("%s: expected an object with a string 'poolid', got %s" % (path, documents.shown(pool)))
        members = []
        for j, member in enumerate(pool.get("members") or []):
            vmid = member.get("vmid") if isinstance(member, dict) else member
            members.append(_check_type(vmid, int, "%s.members[%d]" % (path, j)))
        result[pool["poolid"]] = {"poolid": pool["poolid"], "comment": pool.get("comment", ""), "members": members}
    for guest in guests_by_vmid.values():
        if guest["pool"]:
            entry = result.setdefault(guest["pool"], {"poolid": guest["pool"], "comment": "", "members": []})
            if guest["vmid"] not in entry["members"]:
                entry["members"].append(guest["vmid"])
    for entry in result.values():
        for vmid in entry["members"]:
            if vmid in guests_by_vmid and not guests_by_vmid[vmid]["pool"]:
                guests_by_vmid[vmid]["pool"] = entry["poolid"]
        entry["members"] = sorted(entry["members"])
    return [result[k] for k in sorted(result)]


def normalize(document):
    """Validate a snapshot (or scenario) document and return a copy with every optional field filled.

    Raises SnapshotError naming the first offending field."""
    if not isinstance(document, dict):
        raise SnapshotError("snapshot: expected a JSON object, got %s" % type(document).__name__)
    documents.check_snapshot_sections(document)  # HA rules, cluster, recent migrations (common/documents.py)
    schema = document.get("schema", SCHEMA)
    if schema != SCHEMA:
        raise SnapshotError("schema: expected %r, got %s" % (SCHEMA, documents.shown(schema)))
    doc = dict(document)
    doc["schema"] = SCHEMA
    for section in _LIST_SECTIONS:
        value = doc.get(section)
        if value is None:
            value = []
        if not isinstance(value, list):
            raise SnapshotError("%s: expected a list, got %s" % (section, documents.shown(value)))
        doc[section] = value
    if not doc["nodes"]:
        raise SnapshotError("nodes: a snapshot needs at least one node")

    nodes, names = [], set()
    for i, raw in enumerate(doc["nodes"]):
        node = _normalize_record(raw, _NODE_FIELDS, "nodes[%d]" % i)
        if node["node"] in names:
            raise SnapshotError("nodes[%d].node: duplicate node name %s" % (i, documents.shown(node["node"])))
        if "psi" in node and node["psi"] is not None:
            node["psi"] = _normalize_psi(node["psi"], "nodes[%d].psi" % i)
        names.add(node["node"])
        nodes.append(node)

    guests, by_vmid = [], {}
    for i, raw in enumerate(doc["guests"]):
        guest = _normalize_guest(raw, "guests[%d]" % i, names)
        if guest["vmid"] in by_vmid:
            raise SnapshotError("guests[%d].vmid: duplicate vmid %d" % (i, guest["vmid"]))
        by_vmid[guest["vmid"]] = guest
        guests.append(guest)

    storages = []
    for i, raw in enumerate(doc["storages"]):
        storage = _normalize_record(raw, _STORAGE_FIELDS, "storages[%d]" % i)
        if storage["node"] not in names:
            raise SnapshotError("storages[%d].node: %s is not a node of this snapshot"
                                % (i, documents.shown(storage["node"])))
        storages.append(storage)

    doc["nodes"] = nodes
    doc["guests"] = guests
    doc["storages"] = storages
    doc["pools"] = _normalize_pools(doc["pools"], by_vmid)

    cluster = doc.get("cluster") or {}
    if not isinstance(cluster, dict):
        raise SnapshotError("cluster: expected an object, got %s" % (documents.shown(cluster),))
    crs = dict(cluster.get("crs") or {})
    crs.setdefault("ha", "basic")
    crs["auto_rebalance"] = bool(crs.get("auto_rebalance", False))
    doc["cluster"] = {
        "name": str(cluster.get("name", "cluster")),
        "quorate": bool(cluster.get("quorate", True)),
        "pve_versions": dict((n["node"], n["pve_version"]) for n in nodes),
        "crs": crs,
    }
    for key, value in cluster.items():
        doc["cluster"].setdefault(key, value)
    doc.setdefault("collected_at", "")
    doc["fingerprint"] = fingerprint(doc)
    if "simulator" in doc and not isinstance(doc["simulator"], dict):
        raise SnapshotError("simulator: expected an object, got %s" % (documents.shown(doc["simulator"]),))
    return doc


def fingerprint(document):
    """A short hash of the vmid -> node placement: equal placements give equal fingerprints."""
    placements = sorted((int(g["vmid"]), g["node"]) for g in document.get("guests", []))
    text = "\n".join("%d:%s" % p for p in placements)
    return "sha256:" + hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def load(source):
    """Load and normalize a snapshot from a dict, a JSON string or a file path."""
    if isinstance(source, dict):
        return normalize(source)
    if not isinstance(source, str):
        raise SnapshotError("snapshot: expected an object, JSON text or a file path, got %s" % type(source).__name__)
    text = source
    if not source.lstrip().startswith("{"):
        # UTF-8, size-limited, one line naming the file (common/config.py)
        from ansible_collections.proxlb.balancer.plugins.module_utils.common.config import read_text
        text = read_text(source, "snapshot file", limit=MAX_FILE_BYTES)
    try:
        document = json.loads(text)
    except ValueError as exc:
        raise SnapshotError("snapshot is not valid JSON: %s" % str(exc)[:120])
    except RecursionError:
        raise SnapshotError("snapshot: nested too deeply")
    return normalize(document)


def dump(document, path=None):
    """Serialise a snapshot as stable, indented JSON; write it to ``path`` when given."""
    text = json.dumps(document, indent=1, sort_keys=True)
    if path:
        from ansible_collections.proxlb.balancer.plugins.module_utils.common import artifacts
        artifacts.write_text(path, text + "\n", what="snapshot file")
    return text


def new(cluster, nodes, guests, **sections):
    """Build a normalized snapshot from collected parts (what the collector and the simulator's dump use)."""
    document = {"schema": SCHEMA, "cluster": cluster, "nodes": nodes, "guests": guests,
                "collected_at": utc_stamp()}
    document.update(sections)
    return normalize(document)


def version_tuple(text):
    """A PVE version as a comparable tuple: '9.1.2' -> (9, 1, 2); unknown or empty -> ()."""
    return tuple(int(p) for p in re.findall(r"\d+", str(text or ""))[:3])


def index(document):
    """Lookup tables used everywhere: (nodes by name, guests by vmid)."""
    return (dict((n["node"], n) for n in document["nodes"]),
            dict((g["vmid"], g) for g in document["guests"]))
