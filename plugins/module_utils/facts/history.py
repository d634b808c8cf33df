# -*- coding: utf-8 -*-
# Copyright: (c) 2026, proxlb.balancer contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Time in the balancing decision: averaged load over a ``window``, the ``cooldown`` that keeps a guest
just migrated in place, and leaving HA guests to PVE's own auto-rebalance (``ha_guests``).

Each is a pure function over what the API answers (rrddata rows, task list entries, the snapshot's
``cluster.crs``); ``collect_history`` asks the API and adds the results to a snapshot:
``window`` replaces the live ``cpu``/``mem`` of nodes and guests by the window's average or maximum, and
``recent_migrations`` lists ``{vmid, node, endtime}``. ``held_guests`` says which guests balancing must not
move; rules and maintenance still move them.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

from ansible_collections.proxlb.balancer.plugins.module_utils.common import clock
from ansible_collections.proxlb.balancer.plugins.module_utils.common.errors import ConfigError
from ansible_collections.proxlb.balancer.plugins.module_utils.facts import cooldown as adaptive

MIGRATION_TASKS = ("qmigrate", "vzmigrate", "hamigrate", "harelocate")
# a task succeeded when its status is OK or 'WARNINGS: <n>' (pve-common upid_status_is_error)
_SUCCEEDED = re.compile(r"^(OK|WARNINGS: \d+)$")
# task lists are filtered by start time; a migration that ended within the cooldown may have started this
# much earlier
LONGEST_MIGRATION = 86400
PAGE = 500
TIMEFRAMES = ("hour", "day", "week", "month", "year")
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhd]?)\s*$")
_SECONDS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}


def duration_seconds(value, path):
    """``30m``, ``2h``, ``1d``, ``90`` (seconds) -> seconds; None and 0 mean off."""
    if value is None or value is False:
        return 0
    if isinstance(value, (int, float)) and not isinstance(value, bool) and value >= 0:
        return int(value)
    match = _DURATION.match(str(value))
    if not match:
        raise ConfigError("%s: expected a duration like 30m, 2h or 1d, got %r" % (path, value))
    return int(float(match.group(1)) * _SECONDS[match.group(2)])


def check_window(window, path="window"):
    """``window``: {timeframe: hour|day|..., cf: AVERAGE|MAX} or a timeframe string; None means live."""
    if window is None or window is False:
        return None
    if isinstance(window, str):
        window = {"timeframe": window}
    if not isinstance(window, dict):
        raise ConfigError("%s: expected {timeframe: hour, cf: AVERAGE} or a timeframe, got %r" % (path, window))
    timeframe = str(window.get("timeframe", "hour")).lower()
    cf = str(window.get("cf", "AVERAGE")).upper()
    if timeframe not in TIMEFRAMES:
        raise ConfigError("%s.timeframe: expected one of %s, got %r" % (path, ", ".join(TIMEFRAMES), timeframe))
    if cf not in ("AVERAGE", "MAX"):
        raise ConfigError("%s.cf: expected AVERAGE or MAX, got %r" % (path, cf))
    return {"timeframe": timeframe, "cf": cf}


def window_value(rows, field, cf):
    """One RRD data source over a window: the mean of the rows (cf AVERAGE) or their maximum (MAX).

    PVE omits data sources that are not filled yet, so rows without the field are skipped; None when
    no row has it (the caller keeps the live value)."""
    values = [float(r[field]) for r in rows or () if isinstance(r.get(field), (int, float))]
    if not values:
        return None
    return max(values) if cf == "MAX" else sum(values) / len(values)


def apply_window(record, rows, cf, memory_field="mem"):
    """A node or guest record with ``cpu`` and ``mem`` from rrddata rows (node rows name memory
    ``memused``). Returns the fields replaced as {field: value}."""
    changed = {}
    cpu = window_value(rows, "cpu", cf)
    if cpu is not None:
        changed["cpu"] = cpu
    mem = window_value(rows, memory_field, cf)
    if mem is not None:
        changed["mem"] = int(mem)
    record.update(changed)
    return changed


def recent_migrations(tasks, now, seconds):
    """{vmid: (node, endtime)} for guests whose migration ended (successfully) or still runs within
    ``seconds`` before ``now``, from task list entries (``/nodes/{node}/tasks``, ``/cluster/tasks``). The
    node is where the task ran (the source); the latest migration of a guest wins."""
    out = {}
    for task in tasks or ():
        if task.get("type") not in MIGRATION_TASKS or not str(task.get("id", "")).isdigit():
            continue
        status = task.get("status")
        running = "endtime" not in task or status in (None, "RUNNING")
        if not running and not _SUCCEEDED.match(str(status)):
            continue  # a failed migration left the guest where it was
        end = now if running else float(task["endtime"])
        if now - end > seconds:
            continue
        vmid = int(task["id"])
        if vmid not in out or end > out[vmid][1]:
            out[vmid] = (task.get("node", ""), end)
    return out


def ha_managed(snapshot):
    """vmids HA manages: the guest's ``hastate`` or an ``ha_resources`` entry that is not ignored."""
    vmids = set(g["vmid"] for g in snapshot["guests"] if g.get("hastate"))
    for resource in snapshot.get("ha_resources") or []:
        sid = str(resource.get("sid", ""))
        text = sid.split(":", 1)[-1]
        if text.isdigit() and resource.get("state") != "ignored":
            vmids.add(int(text))
    return vmids


def held_guests(snapshot, options, now=None):
    """{vmid: reason} for guests balancing leaves where they are (mandatory moves may still move them).

    ``options['cooldown']``: a guest migrated within that time (``snapshot['recent_migrations']``) stays;
    ``options['ha_guests']`` (skip, the default, or include): with PVE CRS auto-rebalance on, HA guests
    are PVE's to balance."""
    held = {}
    now = clock.now() if now is None else now
    if adaptive.is_adaptive(options.get("cooldown")):   # per-guest backoff (facts/cooldown.py)
        held.update(adaptive.held(snapshot, adaptive.parse(options["cooldown"]), now))
    seconds = 0 if adaptive.is_adaptive(options.get("cooldown")) else duration_seconds(
        options.get("cooldown"), "cooldown")
    if seconds:
        for entry in snapshot.get("recent_migrations") or []:
            age = now - float(entry["endtime"])
            if age <= seconds:
                held[int(entry["vmid"])] = "cooldown: migrated %d min ago (cooldown %d min)" % (
                    max(age, 0) // 60, seconds // 60)
    ha_guests = options.get("ha_guests") or "skip"
    if ha_guests not in ("skip", "include"):
        raise ConfigError("ha_guests: expected skip or include, got %r" % (ha_guests,))
    crs = (snapshot.get("cluster") or {}).get("crs") or {}
    if ha_guests == "skip" and crs.get("auto_rebalance"):
        for vmid in ha_managed(snapshot):
            held.setdefault(vmid, "HA-managed: PVE CRS auto-rebalance balances it (ha_guests: skip)")
    return held


def migration_task_types(snapshot):
    """The task types that can move a guest of this cluster (fewer task lists to read)."""
    types = ["qmigrate"]
    if any(g["type"] == "lxc" for g in snapshot["guests"]):
        types.append("vzmigrate")
    if snapshot.get("ha_resources") or any(g.get("hastate") for g in snapshot["guests"]):
        types.append("hamigrate")
    return types


def node_migration_tasks(client, snapshot, since):
    """Migration tasks started since ``since`` on every online node, running ones included.

    ``/cluster/tasks`` holds only each node's running tasks and its newest finished ones, 25 in all
    (pve-common RESTEnvironment.pm), so on a busy node an older move would be missed; each node's own
    list (``/nodes/{node}/tasks``, filtered by ``typefilter`` and ``since``) has the full history. Seeing
    other users' tasks there (HA's moves run as root@pam) needs Sys.Audit on /nodes/{node}."""
    found = []
    for node in snapshot["nodes"]:
        if node["status"] != "online":
            continue
        for kind in migration_task_types(snapshot):
            start = 0
            while True:
                page = client.get("/nodes/%s/tasks" % node["node"], typefilter=kind, since=int(since),
                                  source="all", start=start, limit=PAGE) or []
                for task in page:
                    found.append(dict(task, node=task.get("node") or node["node"]))
                if len(page) < PAGE:
                    break
                start += PAGE
    return found


def collect_history(client, snapshot, window=None, cooldown=None, now=None):
    """Add the window's load and the recent migrations to ``snapshot`` (in place); returns warnings.

    API calls: when a cooldown is set, one task list per online node and migration task type; when a
    window is set, one rrddata per online node and per running guest (PVE has no cluster-wide rrddata)."""
    warnings = []
    window = check_window(window)
    now = clock.now() if now is None else now
    seconds = 0 if adaptive.is_adaptive(cooldown) else duration_seconds(cooldown, "cooldown")
    if adaptive.is_adaptive(cooldown):   # every migration of the window, with start and end (facts/cooldown.py)
        spec = adaptive.parse(cooldown)
        tasks = node_migration_tasks(client, snapshot, now - spec["window"] - LONGEST_MIGRATION)
        snapshot["recent_migrations"] = adaptive.migrations(tasks, now, spec["window"])
    if seconds:
        tasks = node_migration_tasks(client, snapshot, now - seconds - LONGEST_MIGRATION)
        found = recent_migrations(tasks, now, seconds)
        snapshot["recent_migrations"] = [{"vmid": v, "node": found[v][0], "endtime": int(found[v][1])}
                                         for v in sorted(found)]
    if window:
        params = {"timeframe": window["timeframe"], "cf": window["cf"]}
        online = set()
        for node in snapshot["nodes"]:
            if node["status"] != "online":
                continue
            online.add(node["node"])
            rows = client.get("/nodes/%s/rrddata" % node["node"], **params)
            if not apply_window(node, rows, window["cf"], "memused"):
                warnings.append("window: no rrddata for node %s; its live load is used" % node["node"])
        for guest in snapshot["guests"]:
            if guest["status"] == "running" and guest["node"] in online:
                rows = client.get("/nodes/%s/%s/%d/rrddata" % (guest["node"], guest["type"], guest["vmid"]),
                                  **params)
                apply_window(guest, rows, window["cf"])
        snapshot["window"] = window
    return warnings
