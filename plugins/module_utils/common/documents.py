# -*- coding: utf-8 -*-
# Copyright: (c) 2026, proxlb.balancer contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Schema checks of the documents a user may hand over (a snapshot, a plan) beyond their main records.

``facts/snapshot.py`` checks nodes, guests and storages; ``check_snapshot_sections`` checks what the rules
and the cooldown read from the rest (pools, HA rules, groups and resources, the cluster's CRS options and
maintenance marker, recent migrations). ``check_plan`` checks a plan document before anything is executed.
Every error is a one-line SnapshotError or PlanError naming the first wrong field, with the value cut short.
Numbers must be finite and below 2**63 (what PVE's API reports fits in 64 bits).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import math
import reprlib

from ansible_collections.proxlb.balancer.plugins.module_utils.common.errors import PlanError, SnapshotError

MAX_NUMBER = 2 ** 63
_REPR = reprlib.Repr()
_REPR.maxlevel, _REPR.maxlist, _REPR.maxtuple, _REPR.maxdict, _REPR.maxset = 2, 4, 4, 3, 4
_REPR.maxstring, _REPR.maxother = 50, 50

_SCALAR = (str, int, float, bool)


def shown(value):
    """A value as an error message shows it: a repr bounded in time and length (at most 60 characters)."""
    try:
        text = _REPR.repr(value)
    except Exception:
        text = "<%s>" % type(value).__name__
    return text if len(text) <= 60 else text[:56] + " ..."


def finite(value):
    """True for an int or float (not bool) that is finite and within +-2**63."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return False
    try:
        return math.isfinite(value) and abs(value) < MAX_NUMBER
    except OverflowError:
        return False


def _string(value):
    return isinstance(value, str)


def _scalar(value):
    return isinstance(value, _SCALAR) and (not isinstance(value, float) or finite(value))


def _scalar_or_list(value):
    if isinstance(value, (list, tuple)):
        return all(_scalar(v) for v in value)
    return _scalar(value)


def _errors(value):
    if isinstance(value, dict):
        return all(_scalar(v) for v in value.values())
    return _scalar_or_list(value)


def _members(value):
    return isinstance(value, list) and all(_scalar(v) or isinstance(v, dict) for v in value)


_EXPECTED = {
    _members: "a list of guest ids or {vmid} objects",
    _string: "a string",
    _scalar: "a string, number or boolean",
    _scalar_or_list: "a string or a list of strings",
    _errors: "an object or a string",
}

# fields the rules read, as PVE returns them (docs/snapshot.md); other fields pass unchecked
_HA_RULE = {"rule": _scalar, "type": _string, "resources": _scalar_or_list, "nodes": _scalar_or_list,
            "strict": _scalar, "disable": _scalar, "affinity": _scalar, "errors": _errors}
_HA_GROUP = {"group": _scalar, "id": _scalar, "nodes": _scalar_or_list, "nofailback": _scalar,
             "restricted": _scalar}
_HA_RESOURCE = {"sid": _scalar, "state": _scalar, "group": _scalar, "failback": _scalar}
_POOL = {"poolid": _string, "comment": _scalar, "members": _members}
_SECTIONS = (("ha_rules", _HA_RULE), ("ha_groups", _HA_GROUP), ("ha_resources", _HA_RESOURCE), ("pools", _POOL))


def _check_record(record, fields, path, error):
    if not isinstance(record, dict):
        raise error("%s: expected an object, got %s" % (path, shown(record)))
    for name, check in fields.items():
        value = record.get(name)
        if value is not None and not check(value):
            raise error("%s.%s: expected %s, got %s" % (path, name, _EXPECTED[check], shown(value)))


def check_snapshot_sections(document):
    """Check the sections of a snapshot the rules and the cooldown read; raises SnapshotError."""
    for section, fields in _SECTIONS:
        records = document.get(section)
        if records is not None and not isinstance(records, list):
            raise SnapshotError("%s: expected a list, got %s" % (section, shown(records)))
        for i, record in enumerate(records or []):
            _check_record(record, fields, "%s[%d]" % (section, i), SnapshotError)
    cluster = document.get("cluster")
    if cluster is not None:
        if not isinstance(cluster, dict):
            raise SnapshotError("cluster: expected an object, got %s" % shown(cluster))
        crs = cluster.get("crs")
        if crs is not None and not isinstance(crs, dict):
            raise SnapshotError("cluster.crs: expected an object like {ha: static}, got %s" % shown(crs))
        marked = cluster.get("maintenance_nodes")
        if marked is not None and not (isinstance(marked, list) and all(_string(n) for n in marked)):
            raise SnapshotError("cluster.maintenance_nodes: expected a list of node names, got %s" % shown(marked))
    recent = document.get("recent_migrations")
    if recent is not None:
        if not isinstance(recent, list):
            raise SnapshotError("recent_migrations: expected a list, got %s" % shown(recent))
        for i, entry in enumerate(recent):
            path = "recent_migrations[%d]" % i
            if not isinstance(entry, dict):
                raise SnapshotError("%s: expected an object {vmid, node, endtime}, got %s" % (path, shown(entry)))
            if not (finite(entry.get("vmid")) and int(entry["vmid"]) == entry["vmid"] and entry["vmid"] > 0):
                raise SnapshotError("%s.vmid: expected a guest id, got %s" % (path, shown(entry.get("vmid"))))
            if not finite(entry.get("endtime")) or entry["endtime"] < 0:
                raise SnapshotError("%s.endtime: expected seconds since the epoch, got %s"
                                    % (path, shown(entry.get("endtime"))))
    return document


# --- the plan ------------------------------------------------------------------------------------------

_MOVE_TEXT = ("source", "target")


def check_plan(plan):
    """Check a plan document (what proxlb_plan returns, or a saved plan file) field by field before any
    move; raises PlanError naming the first wrong field. ``load_plan`` does the execution checks after it."""
    if not isinstance(plan, dict):
        raise PlanError("plan: expected the plan dict that proxlb_plan returns, got %s" % type(plan).__name__)
    schema = plan.get("schema")
    if schema is not None and not _string(schema):
        raise PlanError("plan.schema: expected a string, got %s" % shown(schema))
    fingerprint = plan.get("fingerprint")
    if fingerprint is not None and not _string(fingerprint):
        raise PlanError("plan.fingerprint: expected a string, got %s" % shown(fingerprint))
    created = plan.get("created")
    if created is not None and not _string(created):
        raise PlanError("plan.created: expected an ISO 8601 time, got %s" % shown(created))
    moves = plan.get("moves")
    if not isinstance(moves, list):
        raise PlanError("plan.moves: expected a list of {step, vmid, source, target}, got %s" % shown(moves))
    for i, move in enumerate(moves):
        path = "plan.moves[%d]" % i
        if not isinstance(move, dict):
            raise PlanError("%s: expected an object, got %s" % (path, shown(move)))
        vmid = move.get("vmid")
        if isinstance(vmid, str) and vmid.strip().isdigit() and len(vmid.strip()) < 12:
            vmid = int(vmid)
        if not (finite(vmid) and int(vmid) == vmid and 0 < vmid <= 999999999):
            raise PlanError("%s.vmid: expected a guest id (1 to 999999999), got %s" % (path, shown(move.get("vmid"))))
        step = move.get("step")
        if step is not None and not (finite(step) and int(step) == step and 0 <= step <= 1000000):
            raise PlanError("%s.step: expected a whole number, got %s" % (path, shown(step)))
        for key in _MOVE_TEXT:
            value = move.get(key)
            if value in (None, ""):
                raise PlanError("%s.%s: missing" % (path, key))
            if not _string(value) or len(value) > 253 or value != value.strip() or "/" in value:
                raise PlanError("%s.%s: expected a node name, got %s" % (path, key, shown(value)))
        for key in ("gain", "cost"):
            value = move.get(key)
            if value is not None and not finite(value):
                raise PlanError("%s.%s: expected a finite number, got %s" % (path, key, shown(value)))
        kind = move.get("type")
        if kind is not None and kind not in ("qemu", "lxc"):
            raise PlanError("%s.type: expected qemu or lxc, got %s" % (path, shown(kind)))
    for key in ("skipped", "unsatisfiable"):
        value = plan.get(key)
        if value is not None and not isinstance(value, list):
            raise PlanError("plan.%s: expected a list, got %s" % (key, shown(value)))
    return plan
