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

import copy
import time

from ansible_collections.proxlb.balancer.plugins.module_utils.facts import maintenance_marker
from ansible_collections.proxlb.balancer.plugins.module_utils.placement.capacity import Capacity, assign_steps
from ansible_collections.proxlb.balancer.plugins.module_utils.common.config import behaviour as full_behaviour
from ansible_collections.proxlb.balancer.plugins.module_utils.common.errors import ApiError, ConfigError, PlanError
from ansible_collections.proxlb.balancer.plugins.module_utils.placement.load import LoadModel, GIB
from ansible_collections.proxlb.balancer.plugins.module_utils.placement.movability import ignored_guests, immovable_reason
from ansible_collections.proxlb.balancer.plugins.module_utils.placement.objective import violations
from ansible_collections.proxlb.balancer.plugins.module_utils.facts.snapshot import fingerprint

ORIGIN = "plb_origin_"
PLAN_SCHEMA = "proxlb.balancer/plan/1"
STATES = ("present", "absent")


# ---------------------------------------------------------------------- origin tags
def origin_of(tags):
    """The node a guest's ``plb_origin_<node>`` tag names, or None."""
    for tag in tags or ():
        if tag.lower().startswith(ORIGIN) and len(tag) > len(ORIGIN):
            return tag[len(ORIGIN):]
    return None


def with_origin(tags, node):
    """The guest's tags with its origin set to ``node`` (any other origin tag replaced)."""
    kept = [t for t in tags or () if not t.lower().startswith(ORIGIN)]
    return sorted(set(kept + [ORIGIN + node]))


def without_origin(tags):
    return sorted(set(t for t in tags or () if not t.lower().startswith(ORIGIN)))


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


def write_marker(client, description, nodes):
    text = maintenance_marker.render(description, nodes)
    if text:
        client.put("/cluster/options", description=text)
    else:
        client.put("/cluster/options", delete="description")


# ---------------------------------------------------------------------- checks before a drain
def usable_nodes(snapshot, options, maintenance):
    """Nodes that can hold guests while ``maintenance`` nodes are drained."""
    ignored = set(options["proxmox_cluster"].get("ignore_nodes") or [])
    blocked = set(maintenance) | ignored
    return sorted(n["node"] for n in snapshot["nodes"]
                  if n["status"] == "online" and n["hastate"] != "maintenance" and n["node"] not in blocked)


def drain_problems(snapshot, rules, usable):
    """Why a drain must not start: a cluster without quorum, or anti-affinity rules with more members than
    nodes would remain (they could only be kept apart by breaking them)."""
    problems = []
    if not snapshot["cluster"].get("quorate", True):
        problems.append("the cluster has lost quorum")
    guests = set(g["vmid"] for g in snapshot["guests"])
    for rule in sorted(rules, key=lambda r: r["id"]):
        members = [v for v in rule["guests"] if v in guests]
        if rule["kind"] == "anti_affinity" and len(members) > len(usable):
            problems.append("anti-affinity rule %s has %d guests but only %d node(s) would remain (%s)"
                            % (rule["id"], len(members), len(usable), ", ".join(usable) or "none"))
    return problems


def remaining(snapshot, plan, nodes, rules, balancing):
    """Guests still on ``nodes``, each with why it is there; ``blocking`` marks running guests that are not
    ignored on purpose (a drain is complete when none is left)."""
    planned = dict((m["vmid"], m["target"]) for m in plan["moves"])
    skipped = dict((s["vmid"], s["reason"]) for s in plan["skipped"])
    unsatisfiable = {}
    for entry in plan["unsatisfiable"]:
        for vmid in entry["guests"]:
            unsatisfiable.setdefault(vmid, "%s: %s" % (entry["rule"], entry["reason"]))
    ignored = ignored_guests(rules, balancing)
    names = set(balancing.get("exclude_names") or [])
    out = []
    for guest in sorted(snapshot["guests"], key=lambda g: g["vmid"]):
        if guest["node"] not in nodes:
            continue
        vmid = guest["vmid"]
        if vmid in planned:
            reason = "to be migrated to %s" % planned[vmid]
        else:
            reason = unsatisfiable.get(vmid) or skipped.get(vmid) or "no plan moves it"
        on_purpose = vmid in ignored or (guest["name"] and guest["name"] in names)
        out.append({"vmid": vmid, "name": guest["name"], "type": guest["type"], "node": guest["node"],
                    "status": guest["status"], "reason": reason,
                    "blocking": guest["status"] == "running" and not on_purpose})
    return out


# ---------------------------------------------------------------------- the way back
def _node_table(loads, snapshot):
    counts = dict((n["node"], 0) for n in snapshot["nodes"])
    for node in loads.node_of.values():
        counts[node] = counts.get(node, 0) + 1
    out = {}
    for name in sorted(counts):
        p = loads.percents(name)
        out[name] = {"mem_pct": round(p[0], 2), "cpu_pct": round(p[1], 2), "disk_pct": round(p[2], 2),
                     "guests": counts[name]}
    return out


def _bundles(candidates, rules):
    """Candidates returning to the same origin, joined when an affinity rule holds them together."""
    parent = dict((v, v) for v in candidates)

    def find(v):
        while parent[v] != v:
            v = parent[v]
        return v
    for rule in rules:
        if rule["kind"] != "affinity":
            continue
        members = [v for v in sorted(rule["guests"]) if v in candidates]
        for vmid in members[1:]:
            if candidates[vmid] == candidates[members[0]]:
                parent[find(vmid)] = find(members[0])
    groups = {}
    for vmid in sorted(candidates):
        groups.setdefault(find(vmid), []).append(vmid)
    return [groups[k] for k in sorted(groups)]


def _new_violations(placement, rules, node_names, eligible, vmids, origin):
    """Hard-rule violations that moving ``vmids`` to ``origin`` would add, as text (empty: none)."""
    touched = [r for r in rules if set(r["guests"]) & set(vmids)]
    before = dict((v["rule"], set(v["guests"])) for v in violations(placement, touched, node_names, eligible))
    after_placement = dict(placement)
    for vmid in vmids:
        after_placement[vmid] = origin
    added = []
    for entry in violations(after_placement, touched, node_names, eligible):
        if not set(entry["guests"]) <= before.get(entry["rule"], set()):
            added.append("%s (%s)" % (entry["rule"], entry["reason"]))
    return added


def return_plan(snapshot, options, rules, nodes=None):
    """A plan (schema plan/1) that brings guests tagged ``plb_origin_<node>`` home.

    ``nodes``: only origins among them (None: every origin); an origin still under maintenance, offline or
    ignored is not used. Guests are taken in vmid order, affinity partners that share an origin together;
    a guest whose origin lacks room or would break a hard rule stays and is listed in ``skipped``."""
    options = full_behaviour(options)
    balancing = options["balancing"]
    marked = set(snapshot["cluster"].get("maintenance_nodes") or [])
    usable = set(usable_nodes(snapshot, options, marked))
    node_names = set(n["node"] for n in snapshot["nodes"])
    guests = dict((g["vmid"], g) for g in snapshot["guests"])
    ignored = ignored_guests(rules, balancing)
    hard = [r for r in rules if r["kind"] in ("pin", "anti_affinity", "affinity") and r.get("strict", True)]
    loads = LoadModel(snapshot, balancing)
    capacity = Capacity(snapshot, options)
    nodes_before = _node_table(loads, snapshot)
    placement = dict((v, g["node"]) for v, g in guests.items())
    offline = dict((n["node"], "offline node %s" % n["node"]) for n in snapshot["nodes"] if n["status"] != "online")
    skipped, candidates = [], {}
    for vmid in sorted(guests):
        guest = guests[vmid]
        origin = origin_of(guest["tags"])
        if origin is None or guest["node"] == origin or (nodes is not None and origin not in nodes):
            continue
        if origin not in node_names:
            reason = "origin %s is not a node of this cluster" % origin
        elif origin not in usable:
            reason = "origin %s is %s" % (origin, "under maintenance" if origin in marked else "not usable "
                                          "(offline, HA maintenance or ignored)")
        else:
            reason = immovable_reason(guest, balancing, ignored, offline)
        if reason:
            skipped.append({"vmid": vmid, "reason": "stays on %s: %s" % (guest["node"], reason)})
        else:
            candidates[vmid] = origin
    moves = []
    for bundle in _bundles(candidates, rules):
        origin = candidates[bundle[0]]
        why = capacity.fits(origin, bundle)
        if not why:
            broken = _new_violations(placement, hard, node_names, len(usable), bundle, origin)
            why = "origin %s would break %s" % (origin, "; ".join(broken)) if broken else None
        if why:
            skipped.extend({"vmid": v, "reason": "stays on %s: %s" % (guests[v]["node"], why)} for v in bundle)
            continue
        for vmid in bundle:
            guest = guests[vmid]
            moves.append({"vmid": vmid, "name": guest["name"], "type": guest["type"], "source": guest["node"],
                          "target": origin, "reason": "return: origin %s" % origin, "gain": 0.0,
                          "cost": int((guest["mem"] if guest["status"] == "running" else 0)
                                      + sum(d["size"] for d in guest["local_disks"]))})
            capacity.move(vmid, origin)
            loads.move(vmid, origin)
            placement[vmid] = origin
    moves = assign_steps(Capacity(snapshot, options), moves)
    metrics = {"moves": len(moves), "memory_moved": int(sum(loads.guest[m["vmid"]][0] for m in moves)),
               "cost": int(sum(m["cost"] for m in moves))}
    return {
        "schema": PLAN_SCHEMA,
        "fingerprint": snapshot.get("fingerprint") or fingerprint(snapshot),
        "options": dict((k, copy.deepcopy(options[k])) for k in ("proxmox_cluster", "balancing") if k in options),
        "moves": [dict((k, m[k]) for k in ("step", "vmid", "name", "type", "source", "target", "reason",
                                           "gain", "cost")) for m in moves],
        "skipped": sorted(skipped, key=lambda s: s["vmid"]),
        "unsatisfiable": [],
        "nodes_before": nodes_before,
        "nodes_after": _node_table(loads, snapshot),
        "metrics": {"before": {}, "after": metrics},
        "warnings": [],
    }


def plan_lines(plan):
    """The plan for people: one line per move and per guest that stays."""
    lines = ["step %d: %s %d (%s) %s -> %s: %s" % (m["step"], m["type"], m["vmid"], m["name"] or "-",
                                                   m["source"], m["target"], m["reason"]) for m in plan["moves"]]
    lines.extend("skipped %d: %s" % (s["vmid"], s["reason"]) for s in plan["skipped"])
    lines.extend("unsatisfiable %s %s: %s" % (u["rule"], u["guests"], u["reason"]) for u in plan["unsatisfiable"])
    moved = plan["metrics"]["after"].get("memory_moved", 0)
    lines.append("%d move(s), %.1f GiB memory moved" % (len(plan["moves"]), moved / float(GIB)))
    return lines


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
    from ansible_collections.proxlb.balancer.plugins.module_utils.rules.build import build_rules
    snapshot, behaviour = ctx["snapshot"], ctx["behaviour"]
    snapshot["cluster"]["maintenance_nodes"] = marker_after
    options = dict(behaviour, mode="evacuate", evacuate_nodes=nodes)
    rules, rule_warnings = build_rules(snapshot, options)
    ctx["warnings"].extend(rule_warnings)
    if ctx["marker_before"] != marker_after:
        # refuse before anything changes; a node already marked is already drained (re-runs go on)
        problems = drain_problems(snapshot, rules, usable_nodes(snapshot, options, marker_after))
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
    return plan, changes, remaining(snapshot, plan, set(nodes), rules, options["balancing"])


def _absent(ctx, nodes, marker_after, return_guests):
    from ansible_collections.proxlb.balancer.plugins.module_utils.rules.build import build_rules
    snapshot, behaviour = ctx["snapshot"], ctx["behaviour"]
    snapshot["cluster"]["maintenance_nodes"] = marker_after
    rules, rule_warnings = build_rules(snapshot, behaviour)
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
        write_marker(client, description, marker_after)
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
