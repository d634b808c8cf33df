"""The simulator's own parameter definitions per endpoint, and PVE's parameter check.

Written from PVE's schema (a unit test compares these tables with ``schema-subset.json``) so that clients
meet the same 400 ``Parameter verification failed.`` answers as on a real node, including parameters that
a node's PVE version does not know yet (``since``).
"""

import re

from ansible_collections.proxlb.balancer.plugins.module_utils.facts.snapshot import version_tuple
from simulator.pveerror import PveError

NODE = {"type": "string", "format": "pve-node"}
VMID = {"type": "integer", "format": "pve-vmid", "minimum": 100, "maximum": 999999999}


def opt(type_, **extra):
    return dict(extra, type=type_, optional=True)


_GUEST = {"node": NODE, "vmid": VMID}
_CONFIG = dict(_GUEST, current=opt("boolean"), snapshot=opt("string", format="pve-configid"))

# "METHOD /template": {param: spec}; spec keys as PVE's schema (type, optional, enum, minimum, maximum),
# plus "since": the first PVE version that accepts the parameter.
PARAMETERS = {
    "GET /version": {},
    "GET /cluster/status": {},
    "GET /cluster/options": {},
    "GET /cluster/tasks": {},
    "GET /cluster/resources": {"type": opt("string", enum=["vm", "storage", "node", "sdn"])},
    "GET /cluster/ha/resources": {"type": opt("string", enum=["ct", "vm"])},
    "GET /cluster/ha/groups": {},
    "GET /cluster/ha/rules": {"type": opt("string", enum=["node-affinity", "resource-affinity"]),
                              "resource": opt("string")},
    "GET /cluster/ha/status/current": {},
    "GET /nodes": {},
    "GET /nodes/{node}/status": {"node": NODE},
    "POST /nodes/{node}/status": {"node": NODE, "command": {"type": "string", "enum": ["reboot", "shutdown"]}},
    "GET /nodes/{node}/version": {"node": NODE},
    "GET /nodes/{node}/qemu": {"node": NODE, "full": opt("boolean")},
    "GET /nodes/{node}/lxc": {"node": NODE},
    "GET /nodes/{node}/qemu/{vmid}/config": _CONFIG,
    "GET /nodes/{node}/lxc/{vmid}/config": _CONFIG,
    "PUT /nodes/{node}/qemu/{vmid}/config": dict(_GUEST, tags=opt("string"), description=opt("string"),
                                                 digest=opt("string", maxLength=64), delete=opt("string")),
    "PUT /nodes/{node}/lxc/{vmid}/config": dict(_GUEST, tags=opt("string"), description=opt("string"),
                                                digest=opt("string", maxLength=64), delete=opt("string")),
    "GET /nodes/{node}/qemu/{vmid}/status/current": _GUEST,
    "GET /nodes/{node}/lxc/{vmid}/status/current": _GUEST,
    "GET /nodes/{node}/qemu/{vmid}/migrate": dict(_GUEST, target=opt("string", format="pve-node")),
    "GET /nodes/{node}/lxc/{vmid}/migrate": dict(_GUEST, target=opt("string", format="pve-node")),
    "POST /nodes/{node}/qemu/{vmid}/migrate": dict(
        _GUEST,
        target={"type": "string", "format": "pve-node"},
        online=opt("boolean"),
        force=opt("boolean"),
        migration_network=opt("string", format="CIDR"),
        migration_type=opt("string", enum=["secure", "insecure"]),
        targetstorage=opt("string", format="storage-pair-list"),
        bwlimit=opt("integer", minimum=0),
        **{"with-local-disks": opt("boolean"),
           "with-conntrack-state": opt("boolean", since="9.0")}),
    "POST /nodes/{node}/lxc/{vmid}/migrate": dict(
        _GUEST,
        target={"type": "string", "format": "pve-node"},
        online=opt("boolean"),
        restart=opt("boolean"),
        timeout=opt("integer"),
        bwlimit=opt("number", minimum=0),
        **{"target-storage": opt("string", format="storage-pair-list")}),
    "GET /nodes/{node}/storage": {"node": NODE, "content": opt("string", format="pve-storage-content-list"),
                                  "enabled": opt("boolean"), "format": opt("boolean"),
                                  "storage": opt("string", format="pve-storage-id"),
                                  "target": opt("string", format="pve-node")},
    "GET /nodes/{node}/tasks": {"node": NODE, "errors": opt("boolean"), "limit": opt("integer", minimum=0),
                                "since": opt("integer"), "until": opt("integer"),
                                "source": opt("string", enum=["archive", "active", "all"]),
                                "start": opt("integer", minimum=0),
                                "statusfilter": opt("string", format="pve-task-status-type-list"),
                                "typefilter": opt("string"), "userfilter": opt("string"),
                                "vmid": dict(VMID, optional=True)},
    "GET /nodes/{node}/tasks/{upid}/status": {"node": NODE, "upid": {"type": "string"}},
    "GET /nodes/{node}/tasks/{upid}/log": {"node": NODE, "upid": {"type": "string"}, "download": opt("boolean"),
                                           "limit": opt("integer", minimum=0), "start": opt("integer", minimum=0)},
    "GET /pools": {"poolid": opt("string", format="pve-poolid"),
                   "type": opt("string", enum=["qemu", "lxc", "storage"])},
    "GET /pools/{poolid}": {"poolid": {"type": "string", "format": "pve-poolid"},
                            "type": opt("string", enum=["qemu", "lxc", "storage"])},
    "GET /access/ticket": {},
    "GET /access/permissions": {"path": opt("string"), "userid": opt("string")},
    "GET /storage": {"type": opt("string", enum=["btrfs", "cephfs", "cifs", "dir", "esxi", "iscsi", "iscsidirect",
                                                 "lvm", "lvmthin", "nfs", "pbs", "rbd", "zfs", "zfspool"])},
    "PUT /cluster/options": {"description": opt("string", maxLength=64 * 1024), "delete": opt("string"),
                             "crs": opt("string"), "digest": opt("string", maxLength=64)},
    "GET /cluster/nextid": {"vmid": dict(VMID, optional=True)},
    "GET /cluster/ha/resources/{sid}": {"sid": {"type": "string"}},
    "POST /cluster/ha/resources/{sid}/migrate": {"sid": {"type": "string"}, "node": {"type": "string",
                                                                                     "format": "pve-node"}},
    "GET /cluster/ha/status/manager_status": {},
    "GET /nodes/{node}/storage/{storage}/status": {"node": NODE, "storage": {"type": "string"}},
    "GET /access/users": {"enabled": opt("boolean"), "full": opt("boolean")},
    "GET /access/domains": {},
    "GET /nodes/{node}/rrddata": {"node": NODE, "cf": opt("string", enum=["AVERAGE", "MAX"]),
                                  "timeframe": {"type": "string",
                                                "enum": ["hour", "day", "week", "month", "year", "decade"]}},
    "GET /nodes/{node}/qemu/{vmid}/rrddata": dict(_GUEST, cf=opt("string", enum=["AVERAGE", "MAX"]),
                                                  timeframe={"type": "string",
                                                             "enum": ["hour", "day", "week", "month", "year"]}),
    "GET /nodes/{node}/lxc/{vmid}/rrddata": dict(_GUEST, cf=opt("string", enum=["AVERAGE", "MAX"]),
                                                 timeframe={"type": "string",
                                                            "enum": ["hour", "day", "week", "month", "year"]}),
    "POST /access/ticket": {"username": {"type": "string"}, "password": {"type": "string"},
                            "realm": opt("string", format="pve-realm"), "otp": opt("string"),
                            "path": opt("string"), "privs": opt("string", format="pve-priv-list"),
                            "new-format": opt("boolean"), "tfa-challenge": opt("string")},
}

_NODE_NAME = re.compile(r"^[a-zA-Z0-9]([a-zA-Z0-9\-]*[a-zA-Z0-9])?$")
_INTEGER = re.compile(r"^[+-]?\d+$")
_NUMBER = re.compile(r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$")


class ParamError(PveError):
    """PVE's raise_param_exc: 400 'Parameter verification failed.' with one message per parameter."""

    def __init__(self, errors):
        super(ParamError, self).__init__(400, "Parameter verification failed.", errors)


def _check_value(spec, value):
    """Return (converted value, None) or (None, PVE's error text). Form values arrive as strings."""
    kind = spec["type"]
    if isinstance(value, (list, dict)):
        return None, "type check ('%s') failed - got %s" % (kind, "ARRAY" if isinstance(value, list) else "HASH")
    if kind == "boolean":
        if value is True or value is False:
            return value, None
        # PVE accepts only 1/0 from forms; 'true' or Python's 'True' are refused (proxmoxer issue #208)
        if str(value) in ("1", "0"):
            return str(value) == "1", None
        return None, "type check ('boolean') failed - got '%s'" % value
    if kind in ("integer", "number"):
        text = str(value)
        pattern = _INTEGER if kind == "integer" else _NUMBER
        if isinstance(value, bool) or not pattern.match(text) or len(text) > 40:
            return None, "type check ('%s') failed - got '%s'" % (kind, text[:100])
        number = int(text) if kind == "integer" else float(text)
        if "minimum" in spec and number < spec["minimum"]:
            return None, "value must have a minimum value of %s" % spec["minimum"]
        if "maximum" in spec and number > spec["maximum"]:
            return None, "value must have a maximum value of %s" % spec["maximum"]
        return number, None
    text = str(value)
    if "enum" in spec and text not in spec["enum"]:
        return None, "value '%s' does not have a value in the enumeration '%s'" % (text[:100], ", ".join(spec["enum"]))
    if spec.get("format") == "pve-node" and not _NODE_NAME.match(text):
        return None, "value does not look like a valid node name"
    if len(text) > spec.get("maxLength", 65536):
        return None, "value may only be %d characters long" % spec.get("maxLength", 65536)
    return text, None


def validate(template, params, pve_version):
    """Check ``params`` (path and body merged) against the definition of ``template`` for a node running
    ``pve_version``; return them converted (booleans, numbers). Raises ParamError."""
    definition = PARAMETERS.get(template)
    if definition is None:
        return dict(params)
    current = version_tuple(pve_version)
    errors, out = {}, {}
    for name, value in params.items():
        spec = definition.get(name)
        if spec is None or ("since" in spec and current < version_tuple(spec["since"])):
            errors[name] = "property is not defined in schema and the schema does not allow additional properties"
            continue
        converted, error = _check_value(spec, value)
        if error:
            errors[name] = error
        else:
            out[name] = converted
    for name, spec in definition.items():
        if not spec.get("optional") and name not in params:
            errors[name] = "property is missing and it is not optional"
    if errors:
        raise ParamError(errors)
    return out
