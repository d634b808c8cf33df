# -*- coding: utf-8 -*-
# Copyright: (c) 2026, proxlb.balancer contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The cooldown that learns (docs/operations.md): per-guest backoff and ping-pong, from the task history.

``cooldown`` keeps its fixed form (``30m``, ``2h``, seconds: facts/history.py) and gains an adaptive one:
``adaptive`` or ``{adaptive: true, base: 15m, cap: 6h, window: 24h}``. A guest migrated within the window is
held for ``max(base, its last migration's duration) x 2^(migrations in the window - 1)``, at most ``cap``,
counted from the end of its last migration: a guest that keeps moving waits longer each time. A guest whose
moves went there and back (A -> B -> A) within the window is reported as ping-pong.

Pure functions over the task list entries PVE returns (``/nodes/{node}/tasks``: ``type``, ``id``, ``node``,
``starttime``, ``endtime``, ``status``) and the snapshot's ``recent_migrations``; ``history.collect_history``
asks the API, ``history.held_guests`` asks ``held`` here.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

from ansible_collections.proxlb.balancer.plugins.module_utils.common.errors import ConfigError

BASE = 900          # 15 min: the least a guest is held after a migration
CAP = 21600         # 6 h: the most
WINDOW = 86400      # 24 h: repeats within it double the backoff
GUEST_TASKS = ("qmigrate", "vzmigrate")
HA_TASKS = ("hamigrate", "harelocate")
_SUCCEEDED = re.compile(r"^(OK|WARNINGS: \d+)$")
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhd]?)\s*$")
_SECONDS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}
_KEYS = ("adaptive", "base", "cap", "window")


def _seconds(value, path):
    if isinstance(value, (int, float)) and not isinstance(value, bool) and value >= 0:
        return int(value)
    match = _DURATION.match(str(value)) if isinstance(value, (str, int, float)) else None
    if not match:
        raise ConfigError("%s: expected a duration like 15m, 6h or 1d, got %s" % (path, repr(value)[:40]))
    return int(float(match.group(1)) * _SECONDS[match.group(2)])


def is_adaptive(value):
    """True for ``adaptive`` and any mapping (``parse`` refuses one without ``adaptive: true`` in one line);
    fixed cooldowns (``30m``, seconds) and None are not."""
    if isinstance(value, str):
        return value.strip().lower() == "adaptive"
    return isinstance(value, dict)


def _truthy(value):
    return value in (True, 1) or (isinstance(value, str) and value.strip().lower() in ("true", "yes", "on", "1"))


def parse(value, path="cooldown"):
    """The adaptive settings {base, cap, window} of an adaptive ``cooldown``; ConfigError naming the key."""
    if isinstance(value, str):
        if value.strip().lower() != "adaptive":
            raise ConfigError("%s: expected a duration (30m, 2h), 'adaptive' or {adaptive: true}, got %r"
                              % (path, value[:40]))
        value = {"adaptive": True}
    if not isinstance(value, dict):
        raise ConfigError("%s: expected a duration (30m, 2h), 'adaptive' or {adaptive: true}, got %s"
                          % (path, repr(value)[:40]))
    for key in value:
        if key not in _KEYS:
            raise ConfigError("%s.%s: unknown key (known: %s)" % (path, key, ", ".join(_KEYS)))
    if not _truthy(value.get("adaptive")):
        raise ConfigError("%s: a mapping must say adaptive: true (a fixed cooldown is a duration like 30m)" % path)
    spec = {"base": BASE, "cap": CAP, "window": WINDOW}
    for key in ("base", "cap", "window"):
        if value.get(key) is not None:
            spec[key] = _seconds(value[key], "%s.%s" % (path, key))
    if not 0 < spec["base"] <= spec["cap"]:
        raise ConfigError("%s: base (%d s) must be above 0 and at most cap (%d s)" % (path, spec["base"], spec["cap"]))
    if not 0 < spec["window"] <= 7 * 86400:
        raise ConfigError("%s.window: must be above 0 and at most 7d, got %d s" % (path, spec["window"]))
    return spec


def migrations(tasks, now, window=WINDOW):
    """[{vmid, node, starttime, endtime}] of the migrations that ended (successfully) or still run within
    ``window`` seconds before ``now``, oldest first. ``node`` is where the task ran: the guest's source. An HA
    migration shows as a ``hamigrate`` task beside the real ``qmigrate``/``vzmigrate``: it counts once."""
    found, ha = [], []
    for task in tasks or ():
        kind = task.get("type")
        if kind not in GUEST_TASKS + HA_TASKS or not str(task.get("id", "")).isdigit():
            continue
        status = task.get("status")
        running = task.get("endtime") is None or status in (None, "RUNNING")
        if not running and not _SUCCEEDED.match(str(status)):
            continue  # a failed migration left the guest where it was
        start = float(task.get("starttime") or task.get("endtime") or now)
        end = now if running else float(task["endtime"])
        if now - end > window:
            continue
        entry = {"vmid": int(task["id"]), "node": str(task.get("node") or ""), "starttime": int(start),
                 "endtime": int(end)}
        (ha if kind in HA_TASKS else found).append(entry)
    for entry in ha:
        # the real migration starts after the HA request and before it ends
        if not any(f["vmid"] == entry["vmid"] and entry["starttime"] <= f["starttime"] <= entry["endtime"] + 60
                   for f in found):
            found.append(entry)
    unique = dict(((e["vmid"], e["starttime"], e["node"]), e) for e in found)
    return sorted(unique.values(), key=lambda e: (e["starttime"], e["endtime"], e["vmid"]))


def by_guest(entries):
    out = {}
    for entry in entries or ():
        out.setdefault(int(entry["vmid"]), []).append(entry)
    for items in out.values():
        items.sort(key=lambda e: (float(e.get("starttime", e["endtime"])), float(e["endtime"])))
    return out


def backoff(history, spec=None):
    """Seconds a guest is held after the last of ``history`` (its migrations within the window)."""
    spec = spec or {"base": BASE, "cap": CAP}
    if not history:
        return 0
    last = history[-1]
    took = max(float(last["endtime"]) - float(last.get("starttime", last["endtime"])), 0.0)
    base = max(float(spec["base"]), took)
    return int(min(float(spec["cap"]), base * 2 ** (len(history) - 1)))


def ping_pong(history, current):
    """The path (list of nodes) when the guest went there and back (A -> B -> A) within its history, else None.
    ``history`` entries name the source of each migration; ``current`` is where the guest is now."""
    path = [str(e["node"]) for e in history] + [current]
    for i in range(len(path) - 2):
        if path[i] == path[i + 2] and path[i] != path[i + 1] and path[i]:
            return path[i:i + 3]
    return None


def _span(seconds):
    seconds = int(seconds)
    if seconds >= 3600:
        return "%dh%02d" % (seconds // 3600, seconds % 3600 // 60)
    return "%d min" % max(seconds // 60, 0) if seconds >= 60 else "%d s" % seconds


def held(snapshot, spec, now):
    """{vmid: reason} for guests inside their adaptive backoff (ping-pong named in the reason)."""
    where = dict((g["vmid"], g["node"]) for g in snapshot.get("guests") or [])
    out = {}
    for vmid, history in sorted(by_guest(snapshot.get("recent_migrations")).items()):
        history = [e for e in history if now - float(e["endtime"]) <= spec["window"]]
        if not history:
            continue
        wait = backoff(history, spec)
        age = now - float(history[-1]["endtime"])
        if age >= wait:
            continue
        last = history[-1]
        took = max(float(last["endtime"]) - float(last.get("starttime", last["endtime"])), 0.0)
        reason = "cooldown (adaptive): %d migration(s) within %s, the last took %s and ended %s ago; backoff %s, %s left" % (
            len(history), _span(spec["window"]), _span(took), _span(max(age, 0)), _span(wait), _span(wait - max(age, 0)))
        path = ping_pong(history, where.get(vmid))
        if path:
            reason += "; ping-pong %s" % " -> ".join(path)
        out[vmid] = reason
    return out


def ping_pongs(snapshot, window=WINDOW, now=None):
    """[{vmid, path}] of guests whose recent migrations went there and back, for the plan's warnings."""
    where = dict((g["vmid"], g["node"]) for g in snapshot.get("guests") or [])
    out = []
    for vmid, history in sorted(by_guest(snapshot.get("recent_migrations")).items()):
        if now is not None:
            history = [e for e in history if now - float(e["endtime"]) <= window]
        path = ping_pong(history, where.get(vmid))
        if path:
            out.append({"vmid": vmid, "path": path})
    return out
