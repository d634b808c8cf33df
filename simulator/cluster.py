"""The simulated cluster: its state, the simulated clock, tasks and the rules Proxmox applies to migrations.

Time is simulated: ``now()`` runs ``factor`` times faster than the wall clock and can be advanced through
``/_sim/clock``. Nothing runs in the background: every request first calls ``tick()``, which ends the tasks
and reboots whose time has come, in order. So a test can advance the clock instead of sleeping.
"""

import copy
import itertools
import math
import threading
import time

from simulator.acl import Acl
from ansible_collections.proxlb.balancer.plugins.module_utils.facts.snapshot import version_tuple
from simulator.pveerror import PveError, param_error

from ansible_collections.proxlb.balancer.plugins.module_utils.facts import snapshot

GIB = 1024 ** 3

# The scenario's optional ``simulator`` block; documented in simulator/README.md.
SIM_DEFAULTS = {
    "users": {},             # "user@realm": {"password": "...", "enable": true}
    "tokens": {},            # "user@realm!id": {"secret": "...", "privsep": false}
    "auth_failure_delay": 0,  # seconds; PVE waits 3 s before answering 401
    "bandwidth": GIB,         # migration bytes per simulated second
    "migration_overhead": 2,  # simulated seconds every migration takes on top of the copy
    "dirty_factor": 1.2,      # live migration copies memory ~1.2 times (pages dirtied meanwhile)
    "hamigrate_seconds": 1,
    "ha_crm_seconds": 15,     # after hamigrate, the CRM and then the LRM (10 s loops each) start the real move
    "rrd_interval": 0,        # /cluster/resources usage comes from RRD samples this often (PVE: 10); 0 = live
    # PVE's datacenter.cfg carries no digest (pve-cluster DataCenterConfig.pm, pve-common JSONSchema.pm
    # parse_config) and set_options takes none; True hands one out and checks it, for clients that use one
    "options_digest": False,
    "reboot_seconds": 60,
    "ha_failback_seconds": 20,  # how long after a move against its node preference HA moves a guest back
    "start_time": None,       # simulated epoch at start; default: the wall clock
    "faults": {},            # initial faults, same shape as POST /_sim/faults
}


class Clock(object):
    def __init__(self, factor, start=None):
        self.factor = float(factor)
        self._real = time.monotonic()
        self._sim = float(start if start is not None else time.time())
        self.offset = 0.0

    def now(self):
        return self._sim + (time.monotonic() - self._real) * self.factor + self.offset

    def advance(self, seconds):
        self.offset += seconds


class Task(object):
    _pids = itertools.count(0x000A1000)

    def __init__(self, node, kind, vmid, user, started, duration):
        self.node = node
        self.type = kind
        self.vmid = vmid
        self.user = user
        self.started = started
        self.end = started + duration
        self.pid = next(self._pids)
        self.pstart = 0x01000000 + int(started) % 0x00FFFFFF
        self.upid = "UPID:%s:%08X:%08X:%08X:%s:%s:%s:" % (node, self.pid, self.pstart, int(started), kind,
                                                          "" if vmid is None else vmid, user)
        self.status = "running"
        self.exitstatus = None
        self.finished = None
        self.log = []
        self.source = node
        self.target = None
        self.failure = None       # (exitstatus, cause) decided at the start, revealed at the end
        self.warnings = []        # logged as WARN lines; the task then ends 'WARNINGS: n' (a success)
        self.on_success = None    # callable run when the task ends OK
        self.on_end = None        # callable run whenever the task ends

    def say(self, line):
        self.log.append(line)

    def log_at(self, at, line, level="info"):
        """A migration log line as pve-guest-common AbstractMigrate writes it: '%F %H:%M:%S [ERROR: ]text'
        (the node's local time; the simulator's nodes run on UTC)."""
        stamp = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(at))
        self.log.append("%s %s%s" % (stamp, "ERROR: " if level == "err" else "", line))

    def duration(self):
        seconds = int((self.finished if self.finished is not None else self.end) - self.started)
        return "%02d:%02d:%02d" % (seconds // 3600, seconds // 60 % 60, seconds % 60)


def _priorities(value):
    """'pve1:2,pve2' -> {'pve1': 2, 'pve2': 0}: PVE's node list with optional priorities."""
    out = {}
    for item in (value.split(",") if isinstance(value, str) else value or []):
        name, _, prio = str(item).strip().partition(":")
        if name:
            out[name] = int(prio) if prio.isdigit() else 0
    return out


def _chain(first, second):
    def both(task):
        if first:
            first(task)
        second(task)
    return both


class Cluster(object):
    """All mutable state, guarded by one lock; ``version`` changes whenever something a client sees does."""

    def __init__(self, scenario, clock_factor=None):
        doc = snapshot.load(copy.deepcopy(scenario) if isinstance(scenario, dict) else scenario)
        self.sim = dict(SIM_DEFAULTS)
        self.sim.update(doc.get("simulator") or {})
        self.lock = threading.RLock()
        self.acl = Acl(self.sim)
        self.clock = Clock(8 if clock_factor is None else clock_factor, self.sim.get("start_time"))
        self.cluster = doc["cluster"]
        self.nodes = dict((n["node"], n) for n in doc["nodes"])
        self.node_order = [n["node"] for n in doc["nodes"]]
        self.guests = dict((g["vmid"], g) for g in doc["guests"])
        self.storages = doc["storages"]
        self.pools = doc["pools"]
        self.ha_groups = doc["ha_groups"]
        self.ha_rules = doc["ha_rules"]
        self.ha_resources = doc["ha_resources"]
        self.extra = dict((k, v) for k, v in doc.items() if k not in (
            "nodes", "guests", "storages", "pools", "ha_groups", "ha_rules", "ha_resources", "cluster",
            "simulator", "fingerprint", "schema", "collected_at"))
        self.tasks = []
        self.tasks_by_upid = {}
        self.offline_until = {}     # node -> simulated time its reboot ends
        self.scheduled_offline = []  # [(time, node)] from faults
        self.scheduled = []          # [(time, seq, callable)]: HA's own later actions (failback)
        self._seq = itertools.count()
        self.task_faults = {}        # vmid -> {exitstatus, message, after}: the next migration of it fails
        self.version = 0
        self.cache = {}
        self.rrd = None              # {"nodes": {name: (cpu, mem)}, "guests": {vmid: (cpu, mem)}} when lagging
        self.rrd_at = None
        if float(self.sim.get("rrd_interval") or 0) > 0:
            self._publish_usage(self._rrd_slot(self.now()))
        for vmid, guest in self.guests.items():
            if not guest["hastate"] and self.ha_resource(vmid):
                guest["hastate"] = self.settled_hastate(guest)

    # ---------------------------------------------------------------- basics
    def now(self):
        return self.clock.now()

    def changed(self):
        self.version += 1
        self.cache.clear()

    def first_node(self):
        return self.nodes[self.node_order[0]]

    def node_version(self, name):
        return self.nodes[name]["pve_version"]

    def is_online(self, name):
        return self.nodes[name]["status"] == "online"

    def ha_sid(self, guest):
        return "%s:%d" % ("vm" if guest["type"] == "qemu" else "ct", guest["vmid"])

    def ha_resource(self, vmid):
        guest = self.guests.get(vmid)
        if guest is None:
            return None
        sid = self.ha_sid(guest)
        for resource in self.ha_resources:
            if resource.get("sid") == sid:
                return resource
        return None

    def settled_hastate(self, guest):
        """The HA state of a guest no HA action is busy with: what its resource asks for."""
        state = (self.ha_resource(guest["vmid"]) or {}).get("state", "started")
        return "started" if state in ("started", "enabled") else state

    def guest_on(self, node, vmid, kind):
        """The guest, or PVE's answer when it does not live on ``node`` (what a wrong node gives too)."""
        guest = self.guests.get(vmid)
        if guest is None or guest["node"] != node or guest["type"] != kind:
            folder = "qemu-server" if kind == "qemu" else "lxc"
            raise PveError(500, "Configuration file 'nodes/%s/%s/%d.conf' does not exist" % (node, folder, vmid))
        return guest

    # ---------------------------------------------------------------- time
    def tick(self):
        """Bring the state to the current simulated time: end tasks, reboots and scheduled outages in order."""
        with self.lock:
            now = self.now()
            while True:
                due = [(t.end, 0, t) for t in self.tasks if t.status == "running" and t.end <= now]
                due += [(at, 1, node) for node, at in self.offline_until.items() if at <= now]
                due += [(at, 2, node) for at, node in self.scheduled_offline if at <= now]
                due += [(entry[0], 3, entry) for entry in self.scheduled if entry[0] <= now]
                slot = self._rrd_slot(now)
                if slot is not None and slot > self.rrd_at:
                    due.append((slot, 4, None))
                if not due:
                    return
                at, kind, item = min(due, key=lambda d: (d[0], d[1]))
                if kind == 0:
                    self._finish(item, at)
                elif kind == 1:
                    del self.offline_until[item]
                    self.nodes[item]["status"] = "online"
                    self.nodes[item]["uptime"] = int(now - at)
                    self.changed()
                elif kind == 2:
                    self.scheduled_offline.remove((at, item))
                    self.set_node_status(item, "offline", at)
                elif kind == 3:
                    self.scheduled.remove(item)
                    item[2](at)
                else:
                    self._publish_usage(at)

    # ---------------------------------------------------------------- RRD lag
    def _rrd_slot(self, now):
        """The newest pvestatd sample time at or before ``now``, or None when usage is read live."""
        interval = float(self.sim.get("rrd_interval") or 0)
        return math.floor(now / interval) * interval if interval > 0 else None

    def _publish_usage(self, at):
        # pvestatd writes node and guest usage into the RRD every 10 s; /cluster/resources reads that dump,
        # while placement (vmlist) and locks (configs) are current (pve-manager PVE/API2/Cluster.pm)
        self.rrd = {"nodes": dict((n, (d["cpu"], d["mem"])) for n, d in self.nodes.items()),
                    "guests": dict((v, (g["cpu"], g["mem"])) for v, g in self.guests.items())}
        self.rrd_at = at
        self.changed()

    def usage(self, kind, key, record):
        """(cpu, mem) as /cluster/resources reports them: the last RRD sample when lagging, else live."""
        if self.rrd is None:
            return record["cpu"], record["mem"]
        return self.rrd[kind].get(key, (record["cpu"], record["mem"]))

    def _finish(self, task, at):
        task.finished = at
        task.status = "stopped"
        migration = task.type in ("qmigrate", "vzmigrate")
        if task.failure:
            task.exitstatus, cause = task.failure
            # pve-guest-common AbstractMigrate::migrate: the cause in a timestamped ERROR line, then the
            # worker's last line 'TASK ERROR: <die message>' (pve-common RESTEnvironment fork_worker)
            if not migration:
                task.say("%s" % cause)
            elif task.exitstatus == "migration problems":
                task.log_at(at, "online migrate failure - %s" % cause, "err")
                task.log_at(at, "migration finished with problems (duration %s)" % task.duration(), "err")
            elif task.exitstatus == "migration aborted":
                task.log_at(at, "migration aborted (duration %s): %s" % (task.duration(), cause), "err")
            else:
                task.log_at(at, cause, "err")
            task.say("TASK ERROR: %s" % task.exitstatus)
        else:
            # RESTEnvironment::warn prints 'WARN: <msg>' and counts; the worker then ends
            # 'TASK WARNINGS: <n>', which upid_read_status turns into the exit status 'WARNINGS: <n>'
            for warning in task.warnings:
                task.say("WARN: %s" % warning)
            task.exitstatus = "WARNINGS: %d" % len(task.warnings) if task.warnings else "OK"
            if task.on_success:
                task.on_success(task)
            task.say("TASK %s" % task.exitstatus)
        if task.on_end:
            task.on_end(task)
        self.changed()

    def add_task(self, node, kind, vmid, user, duration, start=None):
        task = Task(node, kind, vmid, user, self.now() if start is None else start, max(duration, 0.001))
        self.tasks.append(task)
        self.tasks_by_upid[task.upid] = task
        self.changed()
        return task

    def find_task(self, node, upid):
        task = self.tasks_by_upid.get(upid)
        if not upid.startswith("UPID:") or len(upid.split(":")) != 9:
            raise param_error({"upid": "unable to parse worker upid '%s'" % upid[:200]})
        if task is None or task.node != node:
            raise param_error({"upid": "no such task"})
        return task

    # ---------------------------------------------------------------- nodes
    def set_node_status(self, name, status, at=None):
        node = self.nodes[name]
        if node["status"] == status:
            return
        node["status"] = status
        if status == "offline":
            node["uptime"] = 0
            # a migration that needs this node fails; its guest stays where it was
            for task in self.tasks:
                if task.status == "running" and name in (task.source, task.target) and task.target:
                    task.failure = ("migration problems", "node '%s' went offline during migration" % name)
                    task.end = at if at is not None else self.now()
        self.changed()

    def reboot_node(self, name, seconds=None):
        """``POST /nodes/{node}/status command=reboot``: offline now, back after ``reboot_seconds``."""
        self.set_node_status(name, "offline")
        self.offline_until[name] = self.now() + float(self.sim["reboot_seconds"] if seconds is None else seconds)

    # ---------------------------------------------------------------- migration
    def storage_on(self, storage, node):
        return any(s["storage"] == storage and s["node"] == node for s in self.storages)

    def storage_shared(self, storage):
        return any(s["storage"] == storage and s["shared"] for s in self.storages)

    def migration_duration(self, guest, live, copy_disks, bwlimit_kib=None):
        bandwidth = float(self.sim["bandwidth"])
        if bwlimit_kib:
            bandwidth = min(bandwidth, float(bwlimit_kib) * 1024)
        seconds = float(self.sim["migration_overhead"])
        if live:
            seconds += (guest["mem"] or guest["maxmem"]) * float(self.sim["dirty_factor"]) / bandwidth
        if copy_disks:
            seconds += sum(d["size"] for d in guest["local_disks"]) / bandwidth
        return seconds

    def precondition(self, guest):
        """What GET .../migrate answers (the qemu shape; the API layer renames keys for lxc)."""
        if guest["lock"]:
            raise PveError(500, "VM is locked (%s)" % guest["lock"])
        running = guest["status"] == "running"
        result = {"running": 1 if running else 0}
        allowed, not_allowed = [], {}
        for name in self.node_order:
            if name == guest["node"]:
                continue
            missing = sorted(set(d["storage"] for d in guest["local_disks"]
                                 if self.storages and not self.storage_on(d["storage"], name)))
            if missing:
                not_allowed[name] = {"unavailable_storages": missing}
            else:
                not_allowed[name] = {}
                allowed.append(name)
        result["allowed_nodes"] = allowed
        result["not_allowed_nodes"] = not_allowed
        result["local_disks"] = [{"volid": d["volume"], "size": int(d["size"]), "cdrom": 0, "is_unused": 0,
                                  "is_attached": 1, "is_cloudinit": 0, "is_vmstate": 0, "is_tpmstate": 0,
                                  "replicate": 1, "shared": 0, "drivename": "scsi%d" % i}
                                 for i, d in enumerate(guest["local_disks"])]
        if self.ha_resource(guest["vmid"]) is not None:
            for name in list(allowed):
                blocker = [{"sid": self.ha_sid(o), "cause": "resource-affinity"}
                           for o in self.partners(guest, "negative") if o["node"] == name]
                if blocker:
                    allowed.remove(name)
                    not_allowed[name]["blocking-ha-resources"] = blocker
            dependent = [self.ha_sid(o) for o in self.partners(guest, "positive")]
            if dependent:
                result["dependent-ha-resources"] = dependent
        result["local_resources"] = list(guest["local_resources"])
        result["mapped-resources"] = []
        result["mapped-resource-info"] = {}
        return result

    def migrate(self, guest, params, user):
        """Start a migration the way ``qm migrate`` / ``pct migrate`` does; returns the UPID."""
        source, target = guest["node"], params["target"]
        kind = guest["type"]
        if target == source:
            raise param_error({"target": "target is local node."})
        if target not in self.nodes:
            raise PveError(500, "no such cluster node '%s'" % target)
        # qemu-server checks the lock and the storages in the API call; pve-container only in the worker
        # (LXC/Migrate.pm prepare), so a locked CT gets a task that fails 'CT is locked (<lock>)'
        if guest["lock"] and kind == "qemu":
            raise PveError(500, "VM is locked (%s)" % guest["lock"])
        running = guest["status"] == "running"
        if kind == "qemu" and running and not params.get("online"):
            raise PveError(500, "can't migrate running VM without --online")
        if kind == "lxc" and running and not params.get("online") and not params.get("restart"):
            raise PveError(500, "can't migrate running container without --online or --restart")
        missing = self._missing_storage(guest, target, params)
        if missing and kind == "qemu":
            raise PveError(500, missing)
        resource = self.ha_resource(guest["vmid"])
        # every HA resource but an 'ignored' one goes through the HA stack, 'disabled' ones too
        # (qemu-server/pve-container migrate_vm: vm_is_ha_managed; pve-ha-manager next_state_stopped
        # carries out migrate commands of stopped services)
        if resource is not None and resource.get("state", "started") != "ignored":
            return self._hamigrate(guest, target, user).upid
        return self._start_migration(guest, target, params, user).upid

    def _missing_storage(self, guest, target, params):
        if not self.storages or params.get("targetstorage") or params.get("target-storage"):
            return None
        for disk in guest["local_disks"]:
            if not self.storage_on(disk["storage"], target):
                return "storage '%s' is not available on node '%s'" % (disk["storage"], target)
        return None

    # ---------------------------------------------------------------- HA
    def _sids(self, value):
        return [v.strip() for v in (value.split(",") if isinstance(value, str) else value or []) if v.strip()]

    def _guest_by_sid(self, sid):
        try:
            guest = self.guests.get(int(sid.split(":", 1)[1]))
        except (IndexError, ValueError):
            return None
        return guest if guest is not None and self.ha_sid(guest) == sid else None

    def _active_rules(self, sid, kind):
        return [r for r in self.ha_rules if r.get("type") == kind and not r.get("disable")
                and sid in self._sids(r.get("resources"))]

    def node_preference(self, guest):
        """(priorities {node: prio}, strict, failback) from the guest's HA node-affinity rule or HA group."""
        resource = self.ha_resource(guest["vmid"])
        if resource is None:
            return None
        sid = self.ha_sid(guest)
        for rule in self._active_rules(sid, "node-affinity"):
            return (_priorities(rule.get("nodes")), bool(rule.get("strict")),
                    bool(resource.get("failback", rule.get("failback", True))))
        if resource.get("group"):
            for group in self.ha_groups:
                if group.get("group") == resource["group"]:
                    return (_priorities(group.get("nodes")), bool(group.get("restricted")),
                            not bool(group.get("nofailback")))
        return None

    def _best_preferred(self, guest):
        preference = self.node_preference(guest)
        if not preference:
            return None
        online = dict((n, p) for n, p in preference[0].items() if n in self.nodes and self.is_online(n)
                      and self.nodes[n]["hastate"] != "maintenance")
        if not online:
            return None
        top = max(online.values())
        best = [n for n in self.node_order if online.get(n) == top]
        return guest["node"] if guest["node"] in best else best[0]

    def partners(self, guest, affinity):
        sid = self.ha_sid(guest)
        found = []
        for rule in self._active_rules(sid, "resource-affinity"):
            if rule.get("affinity") == affinity:
                found += [self._guest_by_sid(s) for s in self._sids(rule.get("resources")) if s != sid]
        return [g for g in found if g is not None]

    def ha_blocker(self, guest, target):
        """Why HA would not move the guest to ``target``, or None."""
        preference = self.node_preference(guest)
        if preference and preference[1] and target not in preference[0]:
            return "node '%s' is not allowed by the guest's strict node affinity" % target
        for other in self.partners(guest, "negative"):
            if other["node"] == target:
                return "negative resource affinity with %s on node '%s'" % (self.ha_sid(other), target)
        return None

    def _hamigrate(self, guest, target, user):
        # PVE hands an HA guest to the HA stack: a short hamigrate task, then the LRM migrates as root@pam
        task = self.add_task(guest["node"], "hamigrate", guest["vmid"], user, float(self.sim["hamigrate_seconds"]))
        task.target = target
        task.say("Requesting HA migration for VM %d to node %s" % (guest["vmid"], target))
        blocker = self.ha_blocker(guest, target)
        if blocker:
            task.say("HA will not migrate %s: %s" % (self.ha_sid(guest), blocker))
            return task
        guest["hastate"] = "migrate"

        def queued(done):
            self.queue_ha_migrate(guest, target, done.finished)
        task.on_success = queued
        return task

    def queue_ha_migrate(self, guest, target, at):
        """``ha-manager migrate``: a CRM command. The CRM takes it in its next round and the LRM of the
        source node starts the migration in its own next round (both loop every 10 s,
        pve-ha-manager Manager.pm/LRM.pm), so the real task starts ``ha_crm_seconds`` later."""
        source = guest["node"]
        guest["hastate"] = "migrate"

        def crm_round(now):
            if guest["node"] != source or guest["lock"]:
                guest["hastate"] = self.settled_hastate(guest)
                self.changed()
                return
            self.ha_move(guest, target, now)
            # positive affinity: the partners follow to the same node
            for other in self.partners(guest, "positive"):
                if other["node"] != target and not other["lock"]:
                    other["hastate"] = "migrate"
                    self.ha_move(other, target, now)
        self.scheduled.append((at + float(self.sim["ha_crm_seconds"]), next(self._seq), crm_round))
        self.changed()

    def ha_move(self, guest, target, start=None):
        """A migration the HA stack carries out (as root@pam); afterwards HA may move the guest back."""
        running = guest["status"] == "running"
        # the LRM migrates VMs online and relocates containers (restart mode)
        if guest["type"] == "qemu":
            params = {"target": target, "online": running, "with-local-disks": True}
        else:
            params = {"target": target, "restart": True}
        follow = self._start_migration(guest, target, params, "root@pam", start=start)

        def settled(done):
            guest["hastate"] = self.settled_hastate(guest)
            self._schedule_failback(guest, done.finished)
        follow.on_end = _chain(follow.on_end, settled)
        return follow

    def _schedule_failback(self, guest, at):
        preference = self.node_preference(guest)
        if not preference or not preference[2]:
            return
        best = self._best_preferred(guest)
        if best and best != guest["node"]:
            def back(now):
                if self._best_preferred(guest) == best and guest["node"] != best and not guest["lock"]:
                    guest["hastate"] = "migrate"
                    self.ha_move(guest, best, now)
            self.scheduled.append((at + float(self.sim["ha_failback_seconds"]), next(self._seq), back))

    def set_ha_maintenance(self, name, on):
        """``ha-manager crm-command node-maintenance enable|disable``: HA guests leave and later come back."""
        self.nodes[name]["hastate"] = "maintenance" if on else "online"
        now = self.now()
        for vmid in sorted(self.guests):
            guest = self.guests[vmid]
            if self.ha_resource(vmid) is None or guest["lock"] or guest["status"] != "running":
                continue
            if on and guest["node"] == name:
                target = self._maintenance_target(guest)
                if target:
                    guest["maintenance_node"] = name
                    guest["hastate"] = "migrate"
                    self.ha_move(guest, target, now)
            elif not on and guest.get("maintenance_node") == name:
                guest.pop("maintenance_node")
                if guest["node"] != name:
                    guest["hastate"] = "migrate"
                    self.ha_move(guest, name, now)
        self.changed()

    def _maintenance_target(self, guest):
        candidates = [n for n in self.node_order if n != guest["node"] and self.is_online(n)
                      and self.nodes[n]["hastate"] != "maintenance" and not self.ha_blocker(guest, n)]
        preferred = self.node_preference(guest)
        if preferred:
            ranked = [n for n in candidates if n in preferred[0]]
            candidates = ranked or ([] if preferred[1] else candidates)
        if not candidates:
            return None
        return min(candidates, key=lambda n: (self.nodes[n]["mem"] / float(self.nodes[n]["maxmem"] or 1), n))

    def _start_migration(self, guest, target, params, user, start=None):
        kind = guest["type"]
        source = guest["node"]
        running = guest["status"] == "running"
        live = running and kind == "qemu"
        copy_disks = bool(guest["local_disks"]) and (kind == "lxc" or not running or params.get("with-local-disks"))
        duration = self.migration_duration(guest, live, copy_disks, params.get("bwlimit"))
        if kind == "lxc" and running:
            duration += 10  # shutdown and start of the container in restart mode
        prior_lock = guest["lock"]  # only a container gets this far with a lock (checked in its worker)
        failure = self._failure(guest, target, params, running)
        if failure:
            duration = float(self.sim["migration_overhead"])
        fault = self.task_faults.pop(guest["vmid"], None)
        warnings = []
        if fault and not failure:
            if fault.get("warnings"):
                warnings = [fault.get("message") or "simulated warning"] * int(fault["warnings"])
            else:
                failure = (fault.get("exitstatus", "migration problems"), fault.get("message", "simulated failure"))
                duration = float(fault.get("after", duration))
        at = self.now() if start is None else start
        task = self.add_task(source, "qmigrate" if kind == "qemu" else "vzmigrate", guest["vmid"], user,
                             duration, start)
        task.target = target
        task.failure = failure
        task.warnings = warnings
        index = self.node_order.index(target)
        task.log_at(at, "starting migration of %s %d to node '%s' (10.0.%d.%d)" % (
            "VM" if kind == "qemu" else "CT", guest["vmid"], target, index // 250, index % 250 + 1))
        if not prior_lock:
            guest["lock"] = "migrate"

        def moved(done):
            self._move(guest, source, target)
            done.log_at(done.finished, "migration finished successfully (duration %s)" % done.duration())

        def unlock(done):
            if not prior_lock:
                guest["lock"] = ""
        task.on_success = moved
        task.on_end = unlock
        return task

    def _failure(self, guest, target, params, running):
        """Refusals PVE makes inside the worker: the POST succeeds, the task ends 'migration aborted' with
        the cause in its log (qemu-server QemuMigrate.pm and pve-container LXC/Migrate.pm prepare)."""
        aborted = "migration aborted"
        if guest["type"] == "lxc" and guest["lock"]:
            return (aborted, "CT is locked (%s)" % guest["lock"])  # AbstractConfig check_lock
        if not self.is_online(target):
            return (aborted, "ssh: connect to host %s port 22: No route to host (node '%s' is offline)"
                    % (target, target))
        if guest["type"] == "qemu":
            if guest["local_resources"] and not (params.get("force") and not running):
                return (aborted, "can't migrate VM which uses local devices: %s" % ", ".join(guest["local_resources"]))
            if running and guest["local_disks"] and not params.get("with-local-disks"):
                return (aborted, "can't live migrate attached local disks without with-local-disks option")
            if version_tuple(self.node_version(target))[:1] < version_tuple(self.node_version(guest["node"]))[:1]:
                return (aborted, "target node runs an older major version of PVE")
        else:
            if running and params.get("online"):
                return (aborted, "lxc live migration is currently not implemented")
            if running and not params.get("restart"):
                return (aborted, "running container can only be migrated in restart mode")
            for key in guest["local_resources"]:
                return (aborted, "cannot migrate local bind mount point '%s'" % key)
            missing = self._missing_storage(guest, target, params)
            if missing:
                return (aborted, missing)
        return None

    def _move(self, guest, source, target):
        guest["node"] = target
        # the node's used memory and cpu follow the guest, so a balancer sees the effect of its moves
        if guest["status"] == "running":
            for name, sign in ((source, -1), (target, 1)):
                node = self.nodes[name]
                node["mem"] = max(0, node["mem"] + sign * guest["mem"])
                cores = node["cpu"] * node["maxcpu"] + sign * guest["cpu"] * guest["maxcpu"]
                node["cpu"] = min(1.0, max(0.0, cores / node["maxcpu"])) if node["maxcpu"] else 0.0
        self.changed()

    # ---------------------------------------------------------------- snapshot
    def dump(self):
        """The current cluster as a normalized snapshot document."""
        nodes = [copy.deepcopy(self.nodes[n]) for n in self.node_order]
        guests = [copy.deepcopy(self.guests[v]) for v in sorted(self.guests)]
        pools = []
        for pool in self.pools:
            pools.append({"poolid": pool["poolid"], "comment": pool.get("comment", ""),
                          "members": sorted(v for v, g in self.guests.items() if g["pool"] == pool["poolid"])})
        return snapshot.new(copy.deepcopy(self.cluster), nodes, guests, storages=copy.deepcopy(self.storages),
                            pools=pools, ha_groups=copy.deepcopy(self.ha_groups),
                            ha_rules=copy.deepcopy(self.ha_rules), ha_resources=copy.deepcopy(self.ha_resources))
