# -*- coding: utf-8 -*-
# Copyright: (c) 2026, proxlb.balancer contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Node maintenance: mark nodes in the cluster, remember each drained guest's origin, plan its return.

All state lives in the cluster so an ephemeral controller (an AWX execution environment) can end the
maintenance another one started: the marker in the datacenter notes (``maintenance_marker``) and one guest
tag ``plb_origin_<node>`` per drained guest. Draining is the planner's job (mode evacuate); this file plans
the way back: each tagged guest returns to its origin when the origin is usable again, its memory fits
there (``capacity``) and no hard rule breaks (an origin that now breaks one is reported, not used).
``run_maintenance`` is what the module and the action plugin call; docs/maintenance.md explains the flow.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import time

from ansible_collections.proxlb.balancer.plugins.module_utils.connect import notes
from ansible_collections.proxlb.balancer.plugins.module_utils.facts import maintenance_marker
from ansible_collections.proxlb.balancer.plugins.module_utils.common.errors import ApiError, ConfigError, PlanError
from ansible_collections.proxlb.balancer.plugins.module_utils.plan.maintenance_plan import (
    drain_problems, plan_lines, remaining, return_plan)
from ansible_collections.proxlb.balancer.plugins.module_utils.rules.build import rules_for
from ansible_collections.proxlb.balancer.plugins.module_utils.rules.origin_tags import origin_of, with_origin, without_origin

STATES = ("present", "absent")


# ---------------------------------------------------------------------- origin tags
def write_tags(client, guest, tags):
    """Set a guest's tags (PVE keeps them ``;``-separated); an empty list deletes the option."""
    path = "/nodes/%s/%s/%d/config" % (guest["node"], guest["type"], guest["vmid"])
    if tags:
        client.put(path, tags=";".join(tags))
    else:
        client.put(path, delete="tags")


# ---------------------------------------------------------------------- the marker
def read_marker(client):
    """(datacenter notes, nodes the marker names)."""
    options = client.get("/cluster/options") or {}
    description = options.get("description", "") if isinstance(options, dict) else ""
    return description, maintenance_marker.parse(description)


def write_marker(client, add=(), remove=(), sleep=time.sleep):
    """Add and remove nodes in the marker; returns the nodes it names after the write.

    Written with PVE's digest and applied again to the notes as they are after a digest mismatch, so two
    runs marking pve2 and pve3 at once both end in the marker (connect/notes.py)."""
    result = []

    def change(text):
        nodes = sorted((set(maintenance_marker.parse(text)) | set(add)) - set(remove))
        result[:] = nodes
        return maintenance_marker.render(text, nodes) if nodes != maintenance_marker.parse(text) else None
    notes.edit(client, change, sleep=sleep)
    return result


# ---------------------------------------------------------------------- reboot
def _node_record(client, node):
    for entry in client.get("/nodes") or []:
        if entry.get("node") == node:
            return entry
    return {}


def reboot_node(client, node, timeout, poll_interval, progress=None, clock=time.monotonic, sleep=time.sleep):
    """``POST /nodes/{node}/status command=reboot``, then wait until PVE shows the node down (or its uptime
    restarted) and online again. Errors while it is away are expected (it may be the API host)."""
    before = int(_node_record(client, node).get("uptime") or 0)
    client.post("/nodes/%s/status" % node, command="reboot")
    if progress:
        progress("%s: reboot requested, waiting until it is back" % node)
    deadline = clock() + timeout
    went_down = False
    while clock() < deadline:
        sleep(poll_interval)
        try:
            record = _node_record(client, node)
        except ApiError:
            continue
        online = record.get("status") == "online"
        uptime = int(record.get("uptime") or 0)
        if not online or (before and uptime and uptime < before):
            went_down = True
        if went_down and online:
            if progress:
                progress("%s: back online" % node)
            return True
    raise ApiError("node %s did not come back online within %d s of its reboot; check its console, then run "
                   "again" % (node, timeout))


# ---------------------------------------------------------------------- the module's entry point
def _check_params(params, snapshot):
    nodes = list(params.get("nodes") or [])
    if not nodes:
        raise ConfigError("nodes: name the node(s) to put into or take out of maintenance")
    known = set(n["node"] for n in snapshot["nodes"])
    unknown = [n for n in nodes if n not in known]
    if unknown:
        raise ConfigError("nodes: %s %s not a node of this cluster (nodes: %s)" % (
            ", ".join(unknown), "is" if len(unknown) == 1 else "are", ", ".join(sorted(known))))
    state = params.get("state") or "present"
    if state not in STATES:
        raise ConfigError("state: must be present or absent, got %r" % state)
    if params.get("reboot") and state != "present":
        raise ConfigError("reboot: only with state present (a node is rebooted while it is drained)")
    return sorted(set(nodes)), state


def _set_tags(client, changes, check_mode, progress):
    """Write [(guest, new tags)]; returns the vmids written (or, in check mode, that would be)."""
    done = []
    for guest, tags in changes:
        if not check_mode:
            write_tags(client, guest, tags)
            if progress:
                progress("guest %d: tags %s" % (guest["vmid"], ";".join(tags) or "(none)"))
        done.append(guest["vmid"])
    return done


def _present(ctx, nodes, marker_after):
    from ansible_collections.proxlb.balancer.plugins.module_utils.plan.planner import plan as make_plan
    from ansible_collections.proxlb.balancer.plugins.module_utils.placement.precondition import Precondition
    snapshot, behaviour = ctx["snapshot"], ctx["behaviour"]
    snapshot["cluster"]["maintenance_nodes"] = marker_after
    options = dict(behaviour, mode="evacuate", evacuate_nodes=nodes)
    rules, rule_warnings = rules_for(snapshot, options)
    ctx["warnings"].extend(rule_warnings)
    if ctx["marker_before"] != marker_after:
        # refuse before anything changes; a node already marked is already drained (re-runs go on)
        problems = drain_problems(snapshot, rules)
        if problems:
            raise PlanError("refusing to start maintenance of %s: %s" % (", ".join(nodes), "; ".join(problems)))
    precondition = Precondition(ctx["client"], snapshot, options["balancing"]["with_local_disks"])
    plan = make_plan(snapshot, options, rules=rules, precondition=precondition)
    ctx["warnings"].extend(plan.get("warnings", []))
    guests = dict((g["vmid"], g) for g in snapshot["guests"])
    changes = []
    for move in plan["moves"]:
        guest = guests[move["vmid"]]
        origin = origin_of(guest["tags"])
        # an origin still under maintenance is the guest's real home; any other origin tag is stale
        if move["source"] in nodes and not (origin and origin in marker_after):
            tags = with_origin(guest["tags"], move["source"])
            if tags != sorted(set(guest["tags"])):
                changes.append((guest, tags))
    return plan, changes, remaining(snapshot, plan, set(nodes), rules)


def _absent(ctx, nodes, marker_after, return_guests):
    snapshot, behaviour = ctx["snapshot"], ctx["behaviour"]
    snapshot["cluster"]["maintenance_nodes"] = marker_after
    rules, rule_warnings = rules_for(snapshot, behaviour)
    ctx["warnings"].extend(rule_warnings)
    changes = []
    if return_guests:
        plan = return_plan(snapshot, behaviour, rules, nodes=set(nodes))
    else:
        plan = return_plan(snapshot, behaviour, rules, nodes=set())
    for guest in sorted(snapshot["guests"], key=lambda g: g["vmid"]):
        origin = origin_of(guest["tags"])
        # a guest home again (or not to be returned) no longer needs its origin
        if origin in nodes and (guest["node"] == origin or not return_guests):
            changes.append((guest, without_origin(guest["tags"])))
    return plan, changes


def run_maintenance(params, environ=None, check_mode=False, progress=None):
    """Set or clear the maintenance of ``params['nodes']``; returns the module result.

    present: mark the nodes, tag the origin of each guest the drain plan moves, return that plan (and with
    ``reboot``, reboot the drained nodes one by one). absent: unmark the nodes, remove the origin tags of
    guests that are home (all of them with ``return_guests: false``) and return the plan that brings the
    others home. ``changed`` only when the marker or a tag changed (or a node was rebooted)."""
    from ansible_collections.proxlb.balancer.plugins.module_utils.entry import runner
    from ansible_collections.proxlb.balancer.plugins.module_utils.facts.collect import collect_snapshot
    actions = ["read", "write_tags", "maintenance"] + (["reboot"] if params.get("reboot") else [])
    client, behaviour, warnings = runner.connect(params, environ, actions=actions)
    description, marker_before = read_marker(client)
    snapshot, collect_warnings = collect_snapshot(client, guest_config=params.get("guest_config", False))
    warnings.extend(runner.host_warnings(client) + collect_warnings)
    nodes, state = _check_params(params, snapshot)
    ctx = {"client": client, "snapshot": snapshot, "behaviour": behaviour, "warnings": warnings,
           "marker_before": marker_before}
    result = {"state": state, "nodes": nodes}
    if state == "present":
        marker_after = sorted(set(marker_before) | set(nodes))
        plan, changes, left = _present(ctx, nodes, marker_after)
        result["remaining"] = left
    else:
        marker_after = sorted(set(marker_before) - set(nodes))
        plan, changes = _absent(ctx, nodes, marker_after, params.get("return_guests", True))
    if marker_after != marker_before and not check_mode:
        if state == "present":
            marker_after = write_marker(client, add=nodes)
        else:
            marker_after = write_marker(client, remove=nodes)
        if progress:
            progress("maintenance marker: %s" % (", ".join(marker_after) or "(none)"))
    tagged = _set_tags(client, changes, check_mode, progress)
    rebooted = []
    if params.get("reboot"):
        blocking = [g for g in result["remaining"] if g["blocking"]]
        if blocking:
            raise PlanError("refusing to reboot %s: running guest(s) still there: %s" % (", ".join(nodes), "; ".join(
                "%d (%s) on %s: %s" % (g["vmid"], g["name"] or "-", g["node"], g["reason"]) for g in blocking)))
        for node in nodes:
            if not check_mode:
                reboot_node(client, node, params.get("reboot_timeout") or 600,
                            params.get("poll_interval") or 5, progress)
            rebooted.append(node)
    result.update(
        changed=bool(marker_after != marker_before or tagged or rebooted),
        marker={"before": marker_before, "after": marker_after},
        tagged=tagged, rebooted=rebooted, plan=plan, summary=plan_lines(plan), warnings=warnings,
        diff={"before": {"maintenance_nodes": marker_before,
                         "tags": dict(("%d" % g["vmid"], ";".join(g["tags"])) for g, _t in changes)},
              "after": {"maintenance_nodes": marker_after,
                        "tags": dict(("%d" % g["vmid"], ";".join(t)) for g, t in changes)}})
    if check_mode:
        result["check_mode"] = True
    return result
