"""PVE's REST endpoints under /api2/json: routing and the shapes each endpoint answers with.

Shapes follow PVE's code (see ../shared/pve-api/FACTS.md §3): 0/1 booleans, bytes, cpu as fractions, ``tags``
as a ';'-joined string, keys that PVE omits when empty omitted here too.
"""

import hashlib
import json
import re
import time

from simulator import guestconfig, rrd
from ansible_collections.proxlb.balancer.plugins.module_utils.facts.snapshot import split_tags, version_tuple
from simulator.pveerror import PveError, param_error

GIB = 1024 ** 3
_SID = re.compile(r"^(vm|ct):\d+$")


class Raw(object):
    """An already serialised ``{"data": ...}`` body (the cached /cluster/resources answers)."""

    def __init__(self, body):
        self.body = body


class Route(object):
    def __init__(self, method, template, handler, proxied=False, min_version=None, perm=None, world=False):
        self.method = method
        self.template = template
        self.parts = template.strip("/").split("/")
        self.handler = handler
        self.proxied = proxied          # answered by the node in the path (fails when that node is offline)
        self.min_version = min_version  # the endpoint exists from this PVE version on
        self.perm = perm                # (ACL path template, privilege) checked before the handler
        self.world = world              # answered without credentials ('user => world')


class Request(object):
    def __init__(self, cluster, method, path, params, user, route=None, vars=None):
        self.cluster = cluster
        self.method = method
        self.path = path
        self.params = params
        self.user = user
        self.route = route
        self.vars = vars or {}
        self.auth = None                # the server's credentials (for /access/users)

    def can(self, paths, privilege):
        return self.cluster.acl.has(self.user, paths, privilege)

    def can_guest(self, guest, privilege="VM.Audit"):
        return self.can(guest_paths(guest), privilege)


def guest_paths(guest):
    """ACL paths that reach a guest: /vms/<vmid> and its pool."""
    paths = ["/vms/%d" % guest["vmid"]]
    if guest.get("pool"):
        paths.append("/pool/%s" % guest["pool"])
    return paths


def check_permission(req):
    """PVE's ``check => ['perm', path, [priv]]``: 403 'Permission check failed (path, priv)'."""
    if not req.route.perm:
        return
    template, privilege = req.route.perm
    path = template.format(**dict((k, v) for k, v in req.params.items()))
    paths = [path]
    if path.startswith("/vms/") and str(req.params.get("vmid", "")).isdigit():
        guest = req.cluster.guests.get(int(req.params["vmid"]))
        if guest is not None:
            paths = guest_paths(guest)
    if not req.can(paths, privilege):
        raise PveError(403, "Permission check failed (%s, %s)" % (path, privilege))


ROUTES = []


def route(method, template, **kw):
    def register(fn):
        ROUTES.append(Route(method, template, fn, **kw))
        return fn
    return register


def match(method, path):
    """Return (route, vars) or (None, None); literal segments win over variables."""
    parts = path.strip("/").split("/") if path.strip("/") else []
    for candidate in sorted(ROUTES, key=lambda r: r.template.count("{")):
        if candidate.method != method or len(candidate.parts) != len(parts):
            continue
        found = {}
        for want, got in zip(candidate.parts, parts):
            if want.startswith("{"):
                if not got:
                    break
                found[want[1:-1]] = got
            elif want != got:
                break
        else:
            return candidate, found
    return None, None


def b(value):
    return 1 if value else 0


def _release(version):
    return ".".join(version.split(".")[:2])


def _repoid(version):
    return "%08x" % (abs(hash(("pve-manager", version))) % (16 ** 8))


def _add_psi(entry, record, fields):
    psi = record.get("psi") or {}
    for key in fields:
        entry[key] = float(psi.get(key, 0.0))


# ---------------------------------------------------------------------------------------------- entries
def node_entry(c, node, with_hastate):
    online = c.is_online(node["node"])
    entry = {"id": "node/%s" % node["node"], "node": node["node"], "type": "node", "status": node["status"],
             "level": "", "cgroup-mode": 2}
    if online:
        cpu, mem = c.usage("nodes", node["node"], node)
        entry.update({"uptime": int(node["uptime"]), "cpu": float(cpu), "maxcpu": int(node["maxcpu"]),
                      "mem": int(mem), "maxmem": int(node["maxmem"]), "disk": int(node["disk"]),
                      "maxdisk": int(node["maxdisk"])})
    if with_hastate and version_tuple(node["pve_version"]) >= (8, 3):
        entry["hastate"] = node["hastate"] if online else "unknown"
    return entry


def guest_status(c, guest):
    # guests of an unreachable node have no fresh RRD data: PVE shows them as unknown
    return guest["status"] if c.is_online(guest["node"]) else "unknown"


def guest_entry(c, guest, pve9):
    running = guest["status"] == "running"
    cpu, mem = c.usage("guests", guest["vmid"], guest)
    entry = {"id": "%s/%d" % (guest["type"], guest["vmid"]), "vmid": guest["vmid"], "node": guest["node"],
             "type": guest["type"], "status": guest_status(c, guest), "name": guest["name"],
             "uptime": int(guest["uptime"]) if running else 0, "template": b(guest["template"]),
             "maxcpu": guest["maxcpu"], "cpu": float(cpu) if running else 0.0,
             "maxmem": int(guest["maxmem"]), "mem": int(mem) if running else 0,
             "maxdisk": int(guest["maxdisk"]), "disk": 0 if guest["type"] == "qemu" else int(guest["disk"]),
             "netin": 0, "netout": 0, "diskread": 0, "diskwrite": 0}
    if pve9 and guest["type"] == "qemu":
        entry["memhost"] = entry["mem"]
    if guest["pool"]:
        entry["pool"] = guest["pool"]
    if guest["tags"]:
        entry["tags"] = ";".join(guest["tags"])
    if guest["lock"]:
        entry["lock"] = guest["lock"]
    if guest["hastate"]:
        entry["hastate"] = guest["hastate"]
    return entry


def storage_entry(storage):
    return {"id": "storage/%s/%s" % (storage["node"], storage["storage"]), "storage": storage["storage"],
            "node": storage["node"], "type": "storage", "plugintype": storage["type"],
            "status": storage["status"], "shared": b(storage["shared"]), "content": storage["content"],
            "disk": int(storage["disk"]), "maxdisk": int(storage["maxdisk"])}


def pool_entry(c, pool):
    members = [g for g in c.guests.values() if g["pool"] == pool["poolid"] and g["status"] == "running"]
    return {"id": "/pool/%s" % pool["poolid"], "pool": pool["poolid"], "type": "pool",
            "mem": sum(int(g["mem"]) for g in members), "maxmem": sum(int(g["maxmem"]) for g in members),
            "cpu": sum(float(g["cpu"]) * g["maxcpu"] for g in members),
            "maxcpu": sum(g["maxcpu"] for g in members), "uptime": 0}


def _cluster_pve9(c):
    return version_tuple(c.first_node()["pve_version"]) >= (9, 0)


# ---------------------------------------------------------------------------------------------- endpoints
def _ticket_placeholder(req):
    # POST /access/ticket needs no credentials, so the server answers it before authentication
    return None


ROUTES.append(Route("POST", "/access/ticket", _ticket_placeholder))
ROUTES.append(Route("GET", "/access/ticket", _ticket_placeholder))


@route("GET", "/version")
def get_version(req):
    version = req.cluster.first_node()["pve_version"]
    return {"version": version, "release": _release(version), "repoid": _repoid(version)}


@route("GET", "/nodes/{node}/version", proxied=True)
def get_node_version(req):
    version = req.cluster.node_version(req.vars["node"])
    return {"version": version, "release": _release(version), "repoid": _repoid(version)}


@route("GET", "/cluster/status", perm=("/", "Sys.Audit"))
def get_cluster_status(req):
    c = req.cluster
    out = [{"type": "cluster", "id": "cluster", "name": c.cluster["name"], "nodes": len(c.nodes),
            "version": len(c.nodes) + 2, "quorate": b(c.cluster.get("quorate", True))}]
    for i, name in enumerate(c.node_order):
        out.append({"type": "node", "id": "node/%s" % name, "name": name, "nodeid": i + 1, "local": b(i == 0),
                    "online": b(c.is_online(name)), "ip": "10.0.%d.%d" % (i // 250, i % 250 + 1), "level": ""})
    return out


@route("GET", "/cluster/resources")
def get_cluster_resources(req):
    c = req.cluster
    kind = req.params.get("type")
    if not c.acl.unrestricted(req.user):
        return _visible_resources(req, kind)
    key = ("resources", kind)
    if key not in c.cache:
        pve9 = _cluster_pve9(c)
        out = []
        if kind in (None, "node"):
            out += [node_entry(c, c.nodes[n], True) for n in c.node_order]
        if kind in (None, "vm"):
            out += [guest_entry(c, c.guests[v], pve9) for v in sorted(c.guests)]
        if kind in (None, "storage"):
            out += [storage_entry(s) for s in c.storages]
        if kind is None:
            out += [pool_entry(c, p) for p in c.pools]
        c.cache[key] = Raw(json.dumps({"data": out}, separators=(",", ":")).encode("utf-8"))
    return c.cache[key]


def _visible_resources(req, kind):
    """What a restricted credential sees: nodes with Sys.Audit, guests with VM.Audit, storages with
    Datastore.Audit, pools with Pool.Audit (a privsep token without ACL sees nothing)."""
    c = req.cluster
    pve9 = _cluster_pve9(c)
    out = []
    if kind in (None, "node"):
        out += [node_entry(c, c.nodes[n], True) for n in c.node_order if req.can(["/nodes/" + n], "Sys.Audit")]
    if kind in (None, "vm"):
        out += [guest_entry(c, c.guests[v], pve9) for v in sorted(c.guests) if req.can_guest(c.guests[v])]
    if kind in (None, "storage"):
        out += [storage_entry(s) for s in c.storages if req.can(["/storage/" + s["storage"]], "Datastore.Audit")]
    if kind is None:
        out += [pool_entry(c, p) for p in c.pools if req.can(["/pool/" + p["poolid"]], "Pool.Audit")]
    return out


# crs keys as the snapshot stores them (docs/snapshot.md) -> PVE's property-string keys and their types
_CRS_KEYS = {"ha": ("ha", "string"), "auto_rebalance": ("ha-auto-rebalance", "boolean"),
             "ha_rebalance_on_start": ("ha-rebalance-on-start", "boolean"),
             "ha_auto_rebalance_threshold": ("ha-auto-rebalance-threshold", "number"),
             "ha_auto_rebalance_margin": ("ha-auto-rebalance-margin", "number"),
             "ha_auto_rebalance_hold_duration": ("ha-auto-rebalance-hold-duration", "integer"),
             "ha_auto_rebalance_method": ("ha-auto-rebalance-method", "string")}
_CRS_LEGACY = {"rebalance_on_start": "ha_rebalance_on_start", "threshold": "ha_auto_rebalance_threshold",
               "margin": "ha_auto_rebalance_margin", "hold_duration": "ha_auto_rebalance_hold_duration",
               "method": "ha_auto_rebalance_method"}
_CRS_ENUMS = {"ha": ("basic", "static", "dynamic"), "ha-auto-rebalance-method": ("bruteforce", "topsis")}


def _typed(kind, value):
    if kind == "boolean":
        return b(str(value).lower() in ("1", "true", "yes", "on"))
    if kind == "integer":
        return int(float(value))
    if kind == "number":
        number = float(value)
        return int(number) if number == int(number) else number
    return str(value)


def crs_object(crs):
    """The snapshot's ``cluster.crs`` as GET /cluster/options answers it: an object, as pve-cluster's
    DataCenterConfig.pm parse_datacenter_config turns the ``crs`` line into one (parse_property_string)."""
    out = {}
    for key, value in (crs or {}).items():
        key = _CRS_LEGACY.get(key, key)
        if key not in _CRS_KEYS or value is None or value == "":
            continue
        name, kind = _CRS_KEYS[key]
        if key == "auto_rebalance" and not value:
            continue  # a key not written in datacenter.cfg is absent from the answer
        out[name] = _typed(kind, value)
    out.setdefault("ha", "basic")
    return out


def parse_crs_string(text):
    """``PUT /cluster/options crs=...``: PVE's property-string check, then the snapshot's form."""
    names = dict((name, (key, kind)) for key, (name, kind) in _CRS_KEYS.items())
    crs, errors = {}, []
    for part in [p.strip() for p in str(text).split(",") if p.strip()]:
        name, sep, value = part.partition("=")
        if not sep:
            name, value = "ha", part  # 'ha' is the default key of the format
        if name not in names:
            errors.append("invalid format - property '%s' not defined in format" % name)
            continue
        key, kind = names[name]
        if name in _CRS_ENUMS and value not in _CRS_ENUMS[name]:
            errors.append("invalid format - %s: value '%s' does not have a value in the enumeration '%s'"
                          % (name, value, ", ".join(_CRS_ENUMS[name])))
            continue
        try:
            typed = _typed(kind, value)
        except ValueError:
            errors.append("invalid format - %s: type check ('%s') failed - got '%s'" % (name, kind, value))
            continue
        crs[key] = bool(typed) if key == "auto_rebalance" else (typed if kind != "boolean" else bool(typed))
    if errors:
        raise param_error({"crs": errors[0]})
    crs.setdefault("ha", "basic")
    crs["auto_rebalance"] = bool(crs.get("auto_rebalance", False))
    return crs


def _datacenter(c):
    """datacenter.cfg as parse_datacenter_config returns it: property strings parsed into objects, the
    notes (a comment in the file) always present, the default MAC prefix filled in."""
    options = {"crs": crs_object(c.cluster.get("crs")), "keyboard": "en-us", "migration": {"type": "secure"},
               "mac_prefix": "BC:24:11", "description": c.cluster.get("description") or ""}
    if "max_workers" in c.cluster:
        options["max_workers"] = c.cluster["max_workers"]
    if c.cluster.get("ha"):
        options["ha"] = dict(c.cluster["ha"])
    return options


def options_digest(c):
    # an optimistic-concurrency token real PVE does not have for datacenter.cfg (options_digest: True only)
    return hashlib.sha1(json.dumps(_datacenter(c), sort_keys=True).encode("utf-8")).hexdigest()


def _allowed_tags(c):
    return sorted(set(t for g in c.guests.values() for t in g["tags"]))


@route("GET", "/cluster/options")
def get_cluster_options(req):
    # pve-manager PVE/API2/Cluster.pm get_options: 'user => all'; without Sys.Audit on / only 'console'
    # and 'tag-style' (when set) are returned; 'allowed-tags' always
    c = req.cluster
    if req.can(["/"], "Sys.Audit"):
        options = _datacenter(c)
        if c.sim.get("options_digest"):
            options["digest"] = options_digest(c)
    else:
        options = {}
    options["allowed-tags"] = _allowed_tags(c)
    return options


@route("PUT", "/cluster/options", perm=("/", "Sys.Modify"))
def put_cluster_options(req):
    # pve-manager set_options: each given key replaces the datacenter.cfg entry, 'delete' removes keys
    c = req.cluster
    if "digest" in req.params and not c.sim.get("options_digest"):
        raise param_error({"digest": "property is not defined in schema and the schema does not allow "
                                     "additional properties"})
    if req.params.get("digest") and req.params["digest"] != options_digest(c):
        # PVE's wording for a stale digest (pve-common PVE::Tools::assert_if_modified)
        raise PveError(500, "detected modified configuration - file changed by other user? Try again.")
    deleted = [d for d in (req.params.get("delete") or "").replace(";", ",").split(",") if d]
    for key in deleted:
        if key not in ("description", "crs"):
            raise param_error({"delete": "this simulator can only delete 'description' and 'crs'"})
    crs = parse_crs_string(req.params["crs"]) if "crs" in req.params else None
    for key in deleted:
        c.cluster.pop(key, None)
    if crs is not None:
        c.cluster["crs"] = crs
    if "description" in req.params:
        c.cluster["description"] = req.params["description"]
    c.changed()
    return None


@route("GET", "/storage")
def get_storage_config(req):
    c = req.cluster
    seen = {}
    for s in c.storages:
        entry = seen.setdefault(s["storage"], {"storage": s["storage"], "type": s["type"], "content": s["content"],
                                               "shared": b(s["shared"]), "nodes": [], "digest": "0" * 40})
        entry["nodes"].append(s["node"])
    out = []
    for name in sorted(seen):
        entry = seen[name]
        if req.params.get("type") and entry["type"] != req.params["type"]:
            continue
        if not req.can(["/storage/" + name], "Datastore.Audit"):
            continue
        if set(entry["nodes"]) == set(c.nodes):
            del entry["nodes"]
        else:
            entry["nodes"] = ",".join(entry["nodes"])
        out.append(entry)
    return out


@route("GET", "/access/permissions")
def get_permissions(req):
    userid = req.params.get("userid")
    own = not userid or userid == req.user or userid.startswith(req.user + "!")  # a user may dump its tokens
    if not own:
        if not req.can(["/access"], "Sys.Audit"):
            raise PveError(403, "Permission check failed (/access, Sys.Audit)")
    return req.cluster.acl.dump(userid or req.user, req.params.get("path"))


@route("GET", "/nodes/{node}/rrddata", perm=("/nodes/{node}", "Sys.Audit"))
def get_node_rrd(req):
    c = req.cluster
    node = c.nodes[req.vars["node"]]
    pve9 = version_tuple(node["pve_version"]) >= (9, 0)
    return rrd.rows(node, True, c.now(), req.params["timeframe"], req.params.get("cf", "AVERAGE"), pve9)


def _guest_rrd(kind):
    def handler(req):
        c = req.cluster
        guest = _guest(req, kind)
        pve9 = version_tuple(c.node_version(guest["node"])) >= (9, 0)
        return rrd.rows(guest, False, c.now(), req.params["timeframe"], req.params.get("cf", "AVERAGE"), pve9)
    return handler


@route("GET", "/nodes")
def get_nodes(req):
    c = req.cluster
    out = []
    for name in c.node_order:
        entry = node_entry(c, c.nodes[name], False)
        entry.pop("cgroup-mode", None)
        entry["ssl_fingerprint"] = ":".join("%02X" % ((i * 37 + len(name)) % 256) for i in range(32))
        out.append(entry)
    return out


@route("GET", "/nodes/{node}/status", proxied=True, perm=("/nodes/{node}", "Sys.Audit"))
def get_node_status(req):
    node = req.cluster.nodes[req.vars["node"]]
    version = node["pve_version"]
    kernel = "6.14.8-2-pve" if version_tuple(version) >= (9,) else "6.8.12-9-pve"
    cpus = int(node["maxcpu"])
    swap_total = 8 * GIB
    return {
        "uptime": int(node["uptime"]), "idle": 0, "wait": 0.0005, "cpu": float(node["cpu"]),
        "loadavg": ["%.2f" % (node["cpu"] * cpus)] * 3,
        "kversion": "Linux %s #1 SMP PREEMPT_DYNAMIC PMX" % kernel,
        "current-kernel": {"sysname": "Linux", "release": kernel, "version": "#1 SMP PREEMPT_DYNAMIC PMX",
                           "machine": "x86_64"},
        "boot-info": {"mode": "efi", "secureboot": 0},
        "cpuinfo": {"user_hz": 100, "vendor": "GenuineIntel", "family": "6", "model": "Intel(R) Xeon(R) Gold",
                    "mhz": "2100.000", "cpus": cpus, "sockets": 2 if cpus >= 16 else 1,
                    "cores": max(1, cpus // 2), "flags": "fpu vme de pse tsc msr pae mce vmx", "hvm": "1"},
        "memory": {"total": int(node["maxmem"]), "used": int(node["mem"]),
                   "free": int(node["maxmem"] - node["mem"]), "available": int(node["maxmem"] - node["mem"])},
        "ksm": {"shared": 0},
        "swap": {"total": swap_total, "used": 0, "free": swap_total},
        "pveversion": "pve-manager/%s/%s" % (version, _repoid(version)),
        "rootfs": {"total": int(node["maxdisk"]), "used": int(node["disk"]),
                   "avail": int(node["maxdisk"] - node["disk"]), "free": int(node["maxdisk"] - node["disk"])},
    }


@route("POST", "/nodes/{node}/status", proxied=True, perm=("/nodes/{node}", "Sys.PowerMgmt"))
def post_node_status(req):
    # both reboot and shutdown take the node away; reboot brings it back after reboot_seconds
    seconds = None if req.params["command"] == "reboot" else 10 ** 9
    req.cluster.reboot_node(req.vars["node"], seconds)
    return None


def _guest_list_entry(c, guest):
    pve9 = version_tuple(c.node_version(guest["node"])) >= (9, 0)
    running = guest["status"] == "running"
    entry = {"vmid": guest["vmid"], "name": guest["name"], "status": guest["status"],
             "uptime": int(guest["uptime"]) if running else 0, "cpus": guest["maxcpu"],
             "cpu": float(guest["cpu"]) if running else 0.0, "maxmem": int(guest["maxmem"]),
             "mem": int(guest["mem"]) if running else 0, "maxdisk": int(guest["maxdisk"]),
             "disk": 0 if guest["type"] == "qemu" else int(guest["disk"]),
             "netin": 0, "netout": 0, "diskread": 0, "diskwrite": 0}
    if guest["type"] == "qemu":
        if running:
            entry["qmpstatus"] = "running"
            entry["pid"] = 10000 + guest["vmid"]
        if pve9:
            entry["memhost"] = entry["mem"]
    else:
        entry["type"] = "lxc"
        entry["maxswap"] = 512 * 1024 * 1024
    if guest["template"]:
        entry["template"] = 1
    if guest["lock"]:
        entry["lock"] = guest["lock"]
    if guest["tags"]:
        entry["tags"] = ";".join(guest["tags"])
    if pve9:
        fields = ["pressurecpusome", "pressurecpufull", "pressureiosome", "pressureiofull",
                  "pressurememorysome", "pressurememoryfull"]
        if guest["type"] == "lxc":
            fields.remove("pressurecpufull")
        _add_psi(entry, guest, fields)
    return entry


def _guests_on(req, kind):
    c = req.cluster
    return [_guest_list_entry(c, g) for v, g in sorted(c.guests.items())
            if g["node"] == req.vars["node"] and g["type"] == kind and req.can_guest(g)]


@route("GET", "/nodes/{node}/qemu", proxied=True)
def get_qemu_list(req):
    return _guests_on(req, "qemu")


@route("GET", "/nodes/{node}/lxc", proxied=True)
def get_lxc_list(req):
    return _guests_on(req, "lxc")


def _guest(req, kind):
    return req.cluster.guest_on(req.vars["node"], int(req.params["vmid"]), kind)


def _config(kind):
    def handler(req):
        return guestconfig.build_config(req.cluster, _guest(req, kind))
    return handler


def _put_config(kind):
    def handler(req):
        c = req.cluster
        guest = _guest(req, kind)
        current = guestconfig.build_config(c, guest)
        if req.params.get("digest") and req.params["digest"] != current["digest"]:
            raise PveError(500, "detected modified configuration - file changed by other user? Try again.")
        if guest["lock"] and guest["lock"] != "migrate":
            raise PveError(500, "VM is locked (%s)" % guest["lock"])
        if guest["lock"] == "migrate":
            raise PveError(500, "VM is locked (migrate)")
        deleted = [d for d in (req.params.get("delete") or "").replace(";", ",").split(",") if d]
        for key in deleted:
            if key not in ("tags", "description"):
                raise param_error({"delete": "unable to delete '%s' in this simulator" % key})
        if "tags" in deleted:
            guest["tags"] = []
        if "description" in deleted:
            guest.pop("description", None)
        if "tags" in req.params:
            text = req.params["tags"]
            guest["tags"] = sorted(set(split_tags(text)))
        if "description" in req.params:
            guest["description"] = req.params["description"]
        c.changed()
        return None
    return handler


def _status_current(kind):
    def handler(req):
        c = req.cluster
        guest = _guest(req, kind)
        entry = _guest_list_entry(c, guest)
        entry["status"] = guest["status"]
        resource = c.ha_resource(guest["vmid"])
        entry["ha"] = {"managed": 0} if resource is None else {
            "managed": 1, "state": resource.get("state", "started"), "group": resource.get("group")}
        if resource is not None and entry["ha"]["group"] is None:
            del entry["ha"]["group"]
        if kind == "qemu":
            entry["agent"] = 1
        return entry
    return handler


def _migrate_get(kind):
    def handler(req):
        c = req.cluster
        guest = _guest(req, kind)
        result = c.precondition(guest)
        version = version_tuple(c.node_version(guest["node"]))
        if kind == "lxc":
            # PVE 9 added this check for containers, with hyphenated keys and no disk details
            answer = {"running": result["running"], "allowed-nodes": result["allowed_nodes"],
                      "not-allowed-nodes": dict((n, v) for n, v in result["not_allowed_nodes"].items()
                                                if n not in result["allowed_nodes"])}
            if "dependent-ha-resources" in result:
                answer["dependent-ha-resources"] = result["dependent-ha-resources"]
            return answer
        if version < (8, 4) and result["running"]:
            # before qemu-server 8.3.9 the node lists came only for stopped VMs
            del result["allowed_nodes"]
            del result["not_allowed_nodes"]
        if version < (8, 4):
            del result["mapped-resource-info"]
        if version >= (9, 0):
            result["has-dbus-vmstate"] = 1
        else:
            result.pop("dependent-ha-resources", None)
            for entry in result.get("not_allowed_nodes", {}).values():
                entry.pop("blocking-ha-resources", None)
        return result
    return handler


def _migrate_post(kind):
    def handler(req):
        guest = _guest(req, kind)
        return req.cluster.migrate(guest, req.params, req.user)
    return handler


for _kind in ("qemu", "lxc"):
    _base = "/nodes/{node}/%s/{vmid}" % _kind
    ROUTES.append(Route("GET", _base + "/config", _config(_kind), proxied=True, perm=("/vms/{vmid}", "VM.Audit")))
    ROUTES.append(Route("PUT", _base + "/config", _put_config(_kind), proxied=True,
                        perm=("/vms/{vmid}", "VM.Config.Options")))
    ROUTES.append(Route("GET", _base + "/status/current", _status_current(_kind), proxied=True,
                        perm=("/vms/{vmid}", "VM.Audit")))
    ROUTES.append(Route("GET", _base + "/migrate", _migrate_get(_kind), proxied=True,
                        min_version="9.0" if _kind == "lxc" else None, perm=("/vms/{vmid}", "VM.Migrate")))
    ROUTES.append(Route("POST", _base + "/migrate", _migrate_post(_kind), proxied=True,
                        perm=("/vms/{vmid}", "VM.Migrate")))
    ROUTES.append(Route("GET", _base + "/rrddata", _guest_rrd(_kind), proxied=True, perm=("/vms/{vmid}", "VM.Audit")))


@route("GET", "/nodes/{node}/storage", proxied=True)
def get_node_storage(req):
    c = req.cluster
    node = req.vars["node"]
    out = []
    for s in c.storages:
        if s["node"] != node or not req.can(["/storage/" + s["storage"]], "Datastore.Audit"):
            continue
        if req.params.get("storage") and s["storage"] != req.params["storage"]:
            continue
        if req.params.get("content"):
            wanted = set(req.params["content"].split(","))
            if not wanted & set(s["content"].split(",")):
                continue
        if req.params.get("target"):
            target = req.params["target"]
            if target not in c.nodes:
                raise PveError(500, "no such cluster node '%s'" % target)
            if target != node and not (s["shared"] and c.storage_on(s["storage"], target)):
                continue
        active = s["status"] == "available"
        if req.params.get("enabled") and not active:
            continue
        total, used = int(s["maxdisk"]), int(s["disk"])
        out.append({"storage": s["storage"], "type": s["type"], "content": s["content"], "shared": b(s["shared"]),
                    "active": b(active), "enabled": 1, "total": total, "used": used,
                    "avail": max(0, total - used), "used_fraction": (float(used) / total) if total else 0.0})
    return out


def task_item(task, with_status=True):
    item = {"upid": task.upid, "node": task.node, "pid": task.pid, "pstart": task.pstart,
            "starttime": int(task.started), "type": task.type, "id": "" if task.vmid is None else str(task.vmid),
            "user": task.user.split("!")[0]}
    if "!" in task.user:
        item["tokenid"] = task.user.split("!", 1)[1]
    if with_status and task.status == "stopped":
        item["endtime"] = int(task.finished)
        item["status"] = task.exitstatus
    return item


@route("GET", "/nodes/{node}/tasks", proxied=True)
def get_node_tasks(req):
    c = req.cluster
    p = req.params
    source = p.get("source", "archive")
    auditor = req.can(["/nodes/" + req.vars["node"]], "Sys.Audit")
    items = []
    for task in sorted(c.tasks, key=lambda t: (-t.started, t.upid)):
        if task.node != req.vars["node"] or not (auditor or _owns(req, task)):
            continue
        running = task.status == "running"
        if (source == "archive" and running) or (source == "active" and not running):
            continue
        if p.get("typefilter") and task.type != p["typefilter"]:
            continue
        if p.get("vmid") is not None and task.vmid != p["vmid"]:
            continue
        if p.get("since") is not None and task.started < p["since"]:
            continue
        if p.get("until") is not None and task.started > p["until"]:
            continue
        if p.get("userfilter") and p["userfilter"] not in task.user:
            continue
        if p.get("errors") and (running or task.exitstatus == "OK"):
            continue
        if p.get("statusfilter") and (running or _status_class(task.exitstatus) not in
                                      p["statusfilter"].replace(";", ",").split(",")):
            continue
        item = task_item(task)
        if running:
            item["status"] = "RUNNING"
        items.append(item)
    start, limit = p.get("start", 0), p.get("limit", 50)
    return {"__total__": len(items), "data": items[start:start + limit] if limit else items[start:]}


def _status_class(exitstatus):
    """pve-manager Tasks.pm statusfilter classes: ok, warning, error, unknown."""
    if exitstatus == "OK":
        return "ok"
    if str(exitstatus).startswith("WARNINGS: "):
        return "warning"
    return "unknown" if exitstatus == "unexpected status" else "error"


def _owns(req, task):
    return task.user == req.user or task.user.split("!")[0] == req.user


def _task_for(req):
    task = req.cluster.find_task(req.vars["node"], req.vars["upid"])
    if not _owns(req, task) and not req.can(["/nodes/" + req.vars["node"]], "Sys.Audit"):
        raise PveError(403, "Permission check failed (/nodes/%s, Sys.Audit)" % req.vars["node"])
    return task


@route("GET", "/nodes/{node}/tasks/{upid}/status", proxied=True)
def get_task_status(req):
    task = _task_for(req)
    item = task_item(task, with_status=False)
    item["status"] = task.status
    if task.status == "stopped":
        item["exitstatus"] = task.exitstatus
    return item


@route("GET", "/nodes/{node}/tasks/{upid}/log", proxied=True)
def get_task_log(req):
    task = _task_for(req)
    lines = task.log if task.log else ["no content"]
    start, limit = req.params.get("start", 0), req.params.get("limit", 50)
    chosen = lines[start:start + limit] if limit else lines[start:]
    return {"__total__": len(lines), "data": [{"n": start + i + 1, "t": t} for i, t in enumerate(chosen)]}


MAX_FINISHED = 25  # pve-common RESTEnvironment.pm active_workers: the 'active' list a node broadcasts


def _active_list(c, node):
    """A node's task list in pmxcfs: its running tasks, then its newest finished ones up to 25 in all."""
    running = [t for t in c.tasks if t.node == node and t.status == "running"]
    finished = sorted((t for t in c.tasks if t.node == node and t.status != "running"),
                      key=lambda t: (-t.started, t.upid))
    return running + finished[:max(0, MAX_FINISHED - len(running))]


@route("GET", "/cluster/tasks")
def get_cluster_tasks(req):
    # pve-manager PVE/API2/Cluster.pm tasks: 'user => all'; every task with Sys.Audit on /, else only
    # the caller's own (the task's user, a token's tasks for that token)
    c = req.cluster
    everything = req.can(["/"], "Sys.Audit")
    out = []
    for node in c.node_order:
        out += [task_item(t) for t in _active_list(c, node) if everything or t.user == req.user]
    return sorted(out, key=lambda t: ("endtime" in t, -t["starttime"], t["upid"]))


def _pool_members(c, poolid, kind=None):
    members = []
    for vmid in sorted(c.guests):
        guest = c.guests[vmid]
        if guest["pool"] != poolid or (kind and kind != guest["type"]):
            continue
        entry = guest_entry(c, guest, _cluster_pve9(c))
        for key in ("pool", "tags", "lock", "hastate"):
            entry.pop(key, None)
        members.append(entry)
    return members


def _pool(c, poolid):
    for pool in c.pools:
        if pool["poolid"] == poolid:
            return pool
    raise PveError(500, "pool '%s' does not exist" % poolid)


@route("GET", "/pools")
def get_pools(req):
    c = req.cluster
    if "poolid" in req.params:
        pool = _pool(c, req.params["poolid"])
        return [{"poolid": pool["poolid"], "comment": pool.get("comment", ""),
                 "members": _pool_members(c, pool["poolid"], req.params.get("type"))}]
    return [{"poolid": p["poolid"], "comment": p.get("comment", "")} for p in c.pools
            if req.can(["/pool/" + p["poolid"]], "Pool.Audit")]


@route("GET", "/pools/{poolid}", perm=("/pool/{poolid}", "Pool.Audit"))
def get_pool(req):
    c = req.cluster
    pool = _pool(c, req.vars["poolid"])
    return {"comment": pool.get("comment", ""), "members": _pool_members(c, pool["poolid"], req.params.get("type"))}


# ---------------------------------------------------------------------------------------------- HA (read)
@route("GET", "/cluster/ha/resources", perm=("/", "Sys.Audit"))
def get_ha_resources(req):
    out = []
    for resource in req.cluster.ha_resources:
        sid = str(resource.get("sid", ""))
        kind = resource.get("type") or sid.split(":", 1)[0]
        if req.params.get("type") and req.params["type"] != kind:
            continue
        entry = {"sid": sid, "type": kind, "state": resource.get("state", "started"),
                 "max_restart": resource.get("max_restart", 1), "max_relocate": resource.get("max_relocate", 1)}
        for key, value in resource.items():
            entry.setdefault(key, value)
        if "failback" in entry:
            entry["failback"] = b(entry["failback"])
        out.append(entry)
    return out


@route("GET", "/cluster/ha/groups", perm=("/", "Sys.Audit"))
def get_ha_groups(req):
    if _cluster_pve9(req.cluster):
        return []  # PVE 9 migrated the groups into node-affinity rules
    out = []
    for group in req.cluster.ha_groups:
        entry = dict(group)
        entry.setdefault("type", "group")
        for key in ("restricted", "nofailback"):
            if key in entry:
                entry[key] = b(entry[key])
        if isinstance(entry.get("nodes"), list):
            entry["nodes"] = ",".join(entry["nodes"])
        out.append(entry)
    return out


@route("GET", "/cluster/ha/rules", min_version="9.0", perm=("/", "Sys.Audit"))
def get_ha_rules(req):
    out = []
    for i, rule in enumerate(req.cluster.ha_rules):
        entry = dict(rule)
        entry.setdefault("order", i + 1)
        entry.setdefault("digest", "%040x" % (abs(hash(json.dumps(rule, sort_keys=True))) % (16 ** 40)))
        for key in ("resources", "nodes"):
            if isinstance(entry.get(key), list):
                entry[key] = ",".join(entry[key])
        for key in ("strict", "disable"):
            if key in entry:
                entry[key] = b(entry[key])
        if req.params.get("type") and entry.get("type") != req.params["type"]:
            continue
        if req.params.get("resource") and req.params["resource"] not in str(entry.get("resources", "")).split(","):
            continue
        out.append(entry)
    return out


@route("GET", "/cluster/ha/status/current", perm=("/", "Sys.Audit"))
def get_ha_status(req):
    c = req.cluster
    master = c.node_order[0]
    stamp = int(c.now())
    local = time.strftime("%a %b %d %H:%M:%S %Y", time.localtime(stamp))
    out = [{"id": "quorum", "type": "quorum", "node": master, "status": "OK", "quorate": 1},
           {"id": "master", "type": "master", "node": master,
            "status": "%s (active, %s)" % (master, local), "timestamp": stamp}]
    for name in c.node_order:
        node = c.nodes[name]
        if not c.is_online(name):
            text = "%s (old timestamp - dead?, %s)" % (name, local)
        elif node["hastate"] == "maintenance":
            text = "%s (maintenance mode, watchdog active, %s)" % (name, local)
        else:
            text = "%s (active, %s)" % (name, local)
        out.append({"id": "lrm:%s" % name, "type": "lrm", "node": name, "status": text, "timestamp": stamp})
    for resource in c.ha_resources:
        sid = str(resource.get("sid", ""))
        try:
            guest = c.guests.get(int(sid.split(":", 1)[1]))
        except (IndexError, ValueError):
            guest = None
        node = guest["node"] if guest else ""
        state = (guest["hastate"] if guest and guest["hastate"] else resource.get("state", "started"))
        entry = {"id": "service:%s" % sid, "type": "service", "sid": sid, "node": node, "crm_state": state,
                 "state": state, "status": "%s (%s, %s)" % (sid, node, state),
                 "request_state": resource.get("state", "started"),
                 "max_restart": resource.get("max_restart", 1), "max_relocate": resource.get("max_relocate", 1),
                 "failback": b(resource.get("failback", True))}
        if resource.get("group"):
            entry["group"] = resource["group"]
        out.append(entry)
    return out


# ---------------------------------------------------------------------------------------------- more PVE
@route("GET", "/cluster/nextid")
def get_nextid(req):
    # pve-manager Cluster.pm nextid: the lowest free VMID; an explicit vmid that is taken is a param error
    used = set(req.cluster.guests)
    if req.params.get("vmid") is not None:
        vmid = int(req.params["vmid"])
        if vmid in used:
            raise param_error({"vmid": "VM %d already exists" % vmid})
        return vmid
    vmid = 100
    while vmid in used:
        vmid += 1
    return vmid


def _ha_sid(c, text):
    """pve-ha-manager HA::Config::parse_sid: 'vm:100', 'ct:101' or a bare VMID (its type looked up)."""
    if text.isdigit():
        guest = c.guests.get(int(text))
        if guest is None:
            raise PveError(500, "unable to find VM/CT %s" % text)
        return c.ha_sid(guest)
    if not _SID.match(text):
        raise param_error({"sid": "value does not look like a valid ha resource id"})
    return text


def _ha_resource_entry(resource):
    sid = str(resource.get("sid", ""))
    entry = {"sid": sid, "type": resource.get("type") or sid.split(":", 1)[0],
             "state": resource.get("state", "started"), "max_restart": resource.get("max_restart", 1),
             "max_relocate": resource.get("max_relocate", 1)}
    for key, value in resource.items():
        entry.setdefault(key, value)
    if "failback" in entry:
        entry["failback"] = b(entry["failback"])
    return entry


def _ha_config(c, sid):
    for resource in c.ha_resources:
        if resource.get("sid") == sid:
            return resource
    raise PveError(500, "no such resource '%s'" % sid)  # HA/Resources.pm api_copy_config


@route("GET", "/cluster/ha/resources/{sid}", perm=("/", "Sys.Audit"))
def get_ha_resource(req):
    c = req.cluster
    entry = _ha_resource_entry(_ha_config(c, _ha_sid(c, req.vars["sid"])))
    entry["digest"] = hashlib.sha1(json.dumps(c.ha_resources, sort_keys=True, default=str)
                                   .encode("utf-8")).hexdigest()
    return entry


@route("POST", "/cluster/ha/resources/{sid}/migrate", perm=("/", "Sys.Console"))
def post_ha_resource_migrate(req):
    # pve-ha-manager API2/HA/Resources.pm migrate: queues a CRM command; 9.x answers which resources
    # follow (positive affinity) or block (negative affinity) the move
    c = req.cluster
    sid = _ha_sid(c, req.vars["sid"])
    _ha_config(c, sid)
    target = req.params["node"]
    if target not in c.nodes:
        raise param_error({"node": "no such cluster node '%s'" % target})
    guest = c._guest_by_sid(sid)
    if guest is None:
        raise PveError(500, "unable to find VM/CT %s" % sid.split(":", 1)[-1])
    blocking = [{"sid": c.ha_sid(o), "cause": "resource-affinity"}
                for o in c.partners(guest, "negative") if o["node"] == target]
    comigrated = [c.ha_sid(o) for o in c.partners(guest, "positive")]
    if not blocking and guest["node"] != target:
        c.queue_ha_migrate(guest, target, c.now())
    if version_tuple(c.node_version(guest["node"])) < (9, 0):
        return None
    answer = {"sid": sid, "requested-node": target}
    if comigrated:
        answer["comigrated-resources"] = comigrated
    if blocking:
        answer["blocking-resources"] = blocking
    return answer


@route("GET", "/cluster/ha/status/manager_status", perm=("/", "Sys.Audit"))
def get_ha_manager_status(req):
    # pve-ha-manager API2/HA/Status.pm manager_status: the CRM's manager_status plus every LRM's status
    c = req.cluster
    master = c.node_order[0]
    stamp = int(c.now())
    node_status, lrm, requests = {}, {}, {}
    for name in c.node_order:
        node = c.nodes[name]
        if not c.is_online(name):
            node_status[name] = "unknown"
        else:
            node_status[name] = "maintenance" if node["hastate"] == "maintenance" else "online"
        if node["hastate"] == "maintenance":
            requests[name] = {"maintenance": 1}
        mode = "maintenance" if node["hastate"] == "maintenance" else "active"
        lrm[name] = {"mode": mode, "state": "maintenance" if mode == "maintenance" else "active",
                     "results": {}, "timestamp": stamp}
    services = {}
    for resource in c.ha_resources:
        sid = str(resource.get("sid", ""))
        guest = c._guest_by_sid(sid)
        if guest is None:
            continue
        state = guest["hastate"] or resource.get("state", "started")
        entry = {"node": guest["node"], "state": "stopped" if state == "disabled" else state,
                 "uid": hashlib.md5(sid.encode("utf-8")).hexdigest()[:22]}
        if guest["status"] == "running":
            entry["running"] = 1
        services[sid] = entry
    status = {"master_node": master, "timestamp": stamp, "node_status": node_status, "service_status": services}
    if requests:
        status["node_request"] = requests
    return {"manager_status": status, "lrm_status": lrm, "quorum": {"node": master, "quorate": "1"}}


@route("GET", "/nodes/{node}/storage/{storage}/status", proxied=True)
def get_storage_status(req):
    # pve-storage API2/Storage/Status.pm read_status: Datastore.Audit or Datastore.AllocateSpace
    c = req.cluster
    name = req.vars["storage"]
    path = "/storage/" + name
    if not (req.can([path], "Datastore.Audit") or req.can([path], "Datastore.AllocateSpace")):
        raise PveError(403, "Permission check failed (%s, Datastore.Audit|Datastore.AllocateSpace)" % path)
    for s in c.storages:
        if s["node"] == req.vars["node"] and s["storage"] == name:
            total, used = int(s["maxdisk"]), int(s["disk"])
            return {"type": s["type"], "content": s["content"], "shared": b(s["shared"]),
                    "active": b(s["status"] == "available"), "enabled": 1, "total": total, "used": used,
                    "avail": max(0, total - used)}
    raise param_error({"storage": "No such storage."})  # storage_info lists only storages on that node


@route("GET", "/access/users")
def get_access_users(req):
    # pve-access-control API2/User.pm index: every user with User.Modify or Sys.Audit on /access/groups,
    # otherwise only the caller's own
    auth = req.auth
    known = set(auth.users) | set(t.split("!", 1)[0] for t in auth.tokens) | {"root@pam"}
    see_all = req.can(["/access/groups"], "User.Modify") or req.can(["/access/groups"], "Sys.Audit")
    own = req.user.split("!", 1)[0]
    out = []
    for userid in sorted(known):
        if not see_all and userid != own:
            continue
        entry = {"userid": userid, "enable": 1, "expire": 0, "realm-type": userid.rsplit("@", 1)[-1]}
        if req.params.get("full"):
            entry["tokens"] = [{"tokenid": t.split("!", 1)[1], "expire": 0,
                                "privsep": b(req.cluster.acl.tokens.get(t, (False, None))[0])}
                               for t in sorted(auth.tokens) if t.startswith(userid + "!")]
        out.append(entry)
    return out


@route("GET", "/access/domains", world=True)
def get_access_domains(req):
    # pve-access-control API2/Domains.pm index: 'user => world', no credentials needed
    return [{"realm": "pam", "type": "pam", "comment": "Linux PAM standard authentication"},
            {"realm": "pve", "type": "pve", "comment": "Proxmox VE authentication server"}]
