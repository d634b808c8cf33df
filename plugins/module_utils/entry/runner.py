# -*- coding: utf-8 -*-
# Copyright: (c) 2026, proxlb.balancer contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What each module does, as plain functions of its validated parameters.

The action plugins (in-process on the controller) and the modules' own ``main()`` both call these, so the
two paths cannot drift. Each returns the module result dict or raises a ProxLBError.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import copy

from ansible_collections.proxlb.balancer.plugins.module_utils.common.constants import GIB
from ansible_collections.proxlb.balancer.plugins.module_utils.common import artifacts, config
from ansible_collections.proxlb.balancer.plugins.module_utils.connect import permissions
from ansible_collections.proxlb.balancer.plugins.module_utils.common.errors import ApiError, PermissionDenied
from ansible_collections.proxlb.balancer.plugins.module_utils.connect.client import ProxmoxClient
from ansible_collections.proxlb.balancer.plugins.module_utils.common.natural import natural_key
from ansible_collections.proxlb.balancer.plugins.module_utils.facts.collect import collect_snapshot
from ansible_collections.proxlb.balancer.plugins.module_utils.placement.load import LoadModel

# plan options beside the behaviour sections (see docs/levels.md and docs/best-node.md)
PLAN_KNOBS = ("level", "window", "cooldown", "ha_guests", "psi_max_moves")


def _pct(used, total):
    return round(100.0 * used / total, 1) if total else 0.0


def node_summary(snapshot):
    """Per-node usage: what people look at first (guests, memory, CPU and disk in percent), nodes in natural
    order (pve1, pve2, pve10).

    ``disk_pct`` is node-local storage (the non-shared storages together, never less than the guests' local
    disks on it), the same number the planner balances and the plan and report show; ``rootfs_pct`` is the
    node's root filesystem as PVE reports it for the node (``disk``/``maxdisk``), which counts as its local
    storage only when the node lists none."""
    counts = {}
    for guest in snapshot["guests"]:
        counts[guest["node"]] = counts.get(guest["node"], 0) + 1
    loads = LoadModel(snapshot, {})   # disk is the same in every load mode and has no reserve
    summary = {}
    for node in sorted(snapshot["nodes"], key=lambda n: natural_key(n["node"])):
        summary[node["node"]] = {
            "status": node["status"],
            "hastate": node["hastate"],
            "pve_version": node["pve_version"],
            "guests": counts.get(node["node"], 0),
            "mem_used_gib": round(node["mem"] / GIB, 1),
            "mem_total_gib": round(node["maxmem"] / GIB, 1),
            "mem_pct": _pct(node["mem"], node["maxmem"]),
            "cpu_pct": round(100.0 * node["cpu"], 1),
            "disk_pct": round(loads.percent(node["node"], 2), 1),
            "rootfs_pct": _pct(node["disk"], node["maxdisk"]),
        }
    return summary


def connect(params, environ=None, actions=("read",)):
    """Resolve the options, open the API and check the privileges ``actions`` need before anything else.

    Returns (client, behaviour, warnings)."""
    connection, behaviour, warnings = config.resolve(params, environ)
    client = ProxmoxClient(connection).connect()
    warnings = list(warnings)
    try:
        permissions.preflight(client, dict(behaviour, cooldown=params.get("cooldown")), list(actions))
    except PermissionDenied:
        raise
    except ApiError as exc:
        # PVE always answers /access/permissions; an API that does not is told, not fatal
        warnings.append("permission preflight skipped: %s" % exc)
    return client, behaviour, warnings


def host_warnings(client):
    """A warning per API host that did not answer (and per api_host entry read differently from how it was
    written, e.g. a URL); the host that did answer is a result field (api_host_used), not a warning."""
    return list(getattr(client, "notes", [])) + [
        "API host %s did not answer (%s)" % (f["host"], f["error"]) for f in client.failed_hosts]


def run_facts(params, environ=None):
    artifacts.refuse_symlink(params.get("snapshot_file"), "snapshot_file")  # before the cluster is read
    client, behaviour, warnings = connect(params, environ)
    snapshot, collect_warnings = collect_snapshot(client, guest_config=params.get("guest_config", False))
    warnings.extend(host_warnings(client))
    warnings.extend(collect_warnings)
    result = {
        "changed": False,
        "snapshot": snapshot,
        "nodes": node_summary(snapshot),
        "api_host_used": client.host_used,
        "api_calls": client.calls,
        "warnings": warnings,
    }
    result["rules"], result["rule_warnings"] = _rules(snapshot, behaviour)
    return result


def _rules(snapshot, behaviour):
    from ansible_collections.proxlb.balancer.plugins.module_utils.rules.build import rules_for
    return rules_for(snapshot, behaviour)


def placement_diff(plan):
    """The placement change of a plan as Ansible's diff: vmid -> node before and after."""
    before, after = {}, {}
    for move in sorted(plan["moves"], key=lambda m: m["step"]):   # a parked guest: first source, last target
        before.setdefault("%d" % move["vmid"], move["source"])
        after["%d" % move["vmid"]] = move["target"]
    return {"before": before, "after": after}


def snapshot_for(params, environ=None):
    """The snapshot a plan starts from: given (what-if, no connection) or read live.

    Returns (snapshot, behaviour, warnings, client); client is None for a given snapshot."""
    from ansible_collections.proxlb.balancer.plugins.module_utils.facts import snapshot as snapshot_schema
    given = params.get("snapshot") or params.get("snapshot_file")
    if given:
        _connection, behaviour, warnings = config.resolve(params, environ)
        return snapshot_schema.load(given), behaviour, list(warnings), None
    client, behaviour, warnings = connect(params, environ)
    snapshot, collect_warnings = collect_snapshot(client, guest_config=params.get("guest_config", False))
    warnings += host_warnings(client) + collect_warnings
    if params.get("window") or params.get("cooldown"):
        from ansible_collections.proxlb.balancer.plugins.module_utils.facts.history import collect_history
        warnings += collect_history(client, snapshot, params.get("window"), params.get("cooldown"))
    return snapshot, behaviour, warnings, client


def plan_options(params, behaviour):
    options = dict(behaviour)
    options["mode"] = params.get("mode") or "balance"
    options["evacuate_nodes"] = list(params.get("evacuate_nodes") or [])
    for key in PLAN_KNOBS:
        if params.get(key) is not None:
            options[key] = params[key]
    return options


def run_plan(params, environ=None):
    from ansible_collections.proxlb.balancer.plugins.module_utils.plan.planner import plan as make_plan, plan_summary
    from ansible_collections.proxlb.balancer.plugins.module_utils.placement.precondition import Precondition
    artifacts.refuse_symlink(params.get("plan_file"), "plan_file")  # before the cluster is read
    snapshot, behaviour, warnings, client = snapshot_for(params, environ)
    options = plan_options(params, behaviour)
    precondition = None
    if client is not None:
        precondition = Precondition(client, snapshot, options["balancing"]["with_local_disks"])
    plan = make_plan(snapshot, options, precondition=precondition)
    warnings.extend(plan.get("warnings", []))
    result = {"changed": False, "plan": plan, "diff": placement_diff(plan), "warnings": warnings,
              "summary": plan_summary(plan).splitlines()}
    if client is not None:
        result["api_host_used"] = client.host_used
    return result


def write_json(document, path):
    """Write an artifact (snapshot, plan, results) as stable JSON on the controller: 0600, never through a
    symlink (common/artifacts.py)."""
    # errors name the option the path came from
    what = {"proxlb.balancer/plan/1": "plan_file", "proxlb.balancer/snapshot/1": "snapshot_file"}.get(
        (document or {}).get("schema"), "artifact")
    if path:
        artifacts.write_json(path, document, what=what)


def run_best_node(params, environ=None):
    """The best node for a new guest, from a given snapshot or the live cluster (docs/best-node.md)."""
    from ansible_collections.proxlb.balancer.plugins.module_utils.plan.best_node import (
        placement_for, request_from_params)
    snapshot, options, warnings, _client = snapshot_for(params, environ)
    found = placement_for(snapshot, request_from_params(params), options, make_room=bool(params.get("make_room")))
    out = {"changed": False, "node": found["node"], "ranking": copy.deepcopy(found["ranking"]),
           "warnings": warnings + found["warnings"]}
    if found["plan"] is not None:
        out["plan"] = found["plan"]   # make_room: the moves that free ``node``, for proxlb_migrate
    return out
