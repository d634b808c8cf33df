# -*- coding: utf-8 -*-
# Copyright: (c) 2026, proxlb.balancer contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Where a new guest should go: filter the nodes that cannot take it (each with the reason), score the
rest by the weighted load they would have afterwards, best first, ties broken by node name.

The new guest is added to a copy of the snapshot under a placeholder vmid so that the ordinary rules
(``rules.build_rules``) see its tags and pool next to the existing members: anti-affinity, affinity and
pins then come out exactly as they would for a guest already in the cluster. Capacity and load use the
planner's own ``Capacity`` and ``load.guest_load``. See docs/best-node.md.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.proxlb.balancer.plugins.module_utils.placement import objective
from ansible_collections.proxlb.balancer.plugins.module_utils.common.config import behaviour
from ansible_collections.proxlb.balancer.plugins.module_utils.common.errors import ConfigError, PlanError
from ansible_collections.proxlb.balancer.plugins.module_utils.common.constants import GIB, MIB
from ansible_collections.proxlb.balancer.plugins.module_utils.placement import filter_chain
from ansible_collections.proxlb.balancer.plugins.module_utils.placement.state import PlacementState
from ansible_collections.proxlb.balancer.plugins.module_utils.plan import order
from ansible_collections.proxlb.balancer.plugins.module_utils.plan.context import PlanContext
from ansible_collections.proxlb.balancer.plugins.module_utils.plan.document import node_table, plan_document
from ansible_collections.proxlb.balancer.plugins.module_utils.plan.make_room import room_for_new
from ansible_collections.proxlb.balancer.plugins.module_utils.rules.build import rules_for
from ansible_collections.proxlb.balancer.plugins.module_utils.facts.snapshot import normalize, split_tags

REQUEST_KEYS = ("type", "cores", "sockets", "memory", "disk", "storage", "tags", "pool")
# PVE's own defaults for a new guest (qm create / pct create)
DEFAULTS = {"type": "qemu", "cores": 1, "sockets": 1, "memory": 512, "disk": 0, "storage": None, "tags": [],
            "pool": None}
NAME = "(new guest)"


def normalize_request(request):
    """The request with PVE's defaults filled and types checked; errors name the key (``request.memory``)."""
    if not isinstance(request, dict):
        raise ConfigError("request: expected a mapping of type, cores, sockets, memory, disk, storage, tags, pool")
    out = dict(DEFAULTS)
    for key, value in request.items():
        if key not in REQUEST_KEYS:
            raise ConfigError("request.%s: unknown key (known: %s)" % (key, ", ".join(REQUEST_KEYS)))
        if value is not None:
            out[key] = value
    if out["type"] not in ("qemu", "lxc"):
        raise ConfigError("request.type: expected qemu or lxc, got %r" % (out["type"],))
    for key, minimum in (("cores", 1), ("sockets", 1), ("memory", 16), ("disk", 0)):
        value = out[key]
        if isinstance(value, str):
            try:
                value = float(value.strip())
            except ValueError:
                value = None
        if isinstance(value, bool) or not isinstance(value, (int, float)) or value < minimum:
            raise ConfigError("request.%s: expected a number of at least %d, got %r" % (key, minimum, out[key]))
        out[key] = value
    tags = out["tags"]
    if isinstance(tags, str):
        tags = split_tags(tags)
    if not isinstance(tags, (list, tuple)) or not all(isinstance(t, str) for t in tags):
        raise ConfigError("request.tags: expected a list of tags or a ';'-separated string, got %r" % (out["tags"],))
    out["tags"] = sorted(set(tags))
    for key in ("storage", "pool"):
        if out[key] is not None and (not isinstance(out[key], str) or not out[key].strip()):
            raise ConfigError("request.%s: expected a non-empty string, got %r" % (key, out[key]))
    return out


def _describe(request):
    text = "%s with %g core(s), %.1f GiB memory" % (request["type"], request["cores"] * request["sockets"],
                                                    request["memory"] * MIB / float(GIB))
    if request["disk"]:
        text += ", %g GiB disk" % request["disk"]
    if request["storage"]:
        text += " on %s" % request["storage"]
    return text


class _Placement(object):
    """One new guest against one snapshot: ``reject(node)`` says why a node cannot take it (the placement
    core's filters, every one that refuses)."""

    def __init__(self, snapshot, request, options, rules):
        self.request = request
        self.options = options
        self.vmid = max([g["vmid"] for g in snapshot["guests"]] + [99]) + 1
        self.guest = self._new_guest(snapshot)
        augmented = dict(snapshot, guests=list(snapshot["guests"]) + [self.guest])
        self.rules, self.warnings = self._rules(augmented, rules)
        self.state = PlacementState(augmented, options, self.rules)
        self.nodes = self.state.nodes
        self.guests = self.state.guests
        self.loads = self.state.loads
        self.load = self.loads.guest[self.vmid]
        self.weight = objective.weights(options["balancing"])
        self.storages = dict(((s["node"], s["storage"]), s) for s in snapshot.get("storages", []))

    def _new_guest(self, snapshot):
        request = self.request
        disk = int(request["disk"] * GIB)
        local = []
        if request["storage"] and disk:
            shared = any(s["shared"] for s in snapshot.get("storages", []) if s["storage"] == request["storage"])
            if not shared:
                local = [{"volume": "%s:new" % request["storage"], "storage": request["storage"], "size": disk}]
        cores = request["cores"] * request["sockets"]
        # a new guest's use is unknown: count all it is given (memory, every core), the safe assumption;
        # it is on no node yet
        return {"vmid": self.vmid, "type": request["type"], "name": NAME, "node": None,
                "status": "running", "template": False, "lock": "", "tags": list(request["tags"]),
                "pool": request["pool"] or "", "hastate": "", "maxcpu": cores, "cpu": 1.0,
                "maxmem": int(request["memory"] * MIB), "mem": int(request["memory"] * MIB),
                "maxdisk": disk, "disk": 0, "local_disks": local, "local_resources": [], "uptime": 0}

    def _rules(self, augmented, given):
        built, warnings = rules_for(augmented, self.options)
        if given is None:
            return built, warnings
        # the caller's rules do not know the new guest: add it where its tags and pool make it a member
        joined = dict((r["id"], r) for r in built if self.vmid in r["guests"])
        out = []
        for rule in given:
            rule = dict(rule)
            if rule.get("id") in joined:
                rule["guests"] = sorted(set(rule.get("guests") or []) | {self.vmid})
                joined.pop(rule["id"])
            out.append(rule)
        merged, _warnings = rules_for(augmented, self.options, out + [joined[k] for k in sorted(joined)])
        return merged, warnings

    def reject(self, node):
        """The reasons ``node`` cannot take the new guest (empty when it can)."""
        reasons = [_without_node(node, r) for r in filter_chain.all_refusals(self.state, [self.vmid], node)]
        return reasons + self._shared_storage(node)

    def _shared_storage(self, node):
        """A shared storage the request names must be active on the node (local ones are a filter's job)."""
        name = self.request["storage"]
        if not name or not self.storages or self.guest["local_disks"]:
            return []
        entry = self.storages.get((node, name))
        if entry is None:
            return ["storage %s is not available on this node" % name]
        if entry["status"] not in ("available", "active"):
            return ["storage %s is %s here" % (name, entry["status"])]
        need = self.request["disk"] * GIB
        free = entry["maxdisk"] - entry["disk"]
        if need > free:
            return ["storage %s: %.1f GiB free, %.1f GiB needed" % (name, free / float(GIB), need / float(GIB))]
        return []

    def score(self, node):
        """(score, reasons): 100 minus the weighted load in percent the node would have with the guest."""
        cap = self.loads.capacity[node]
        before = self.loads.percents(node)
        after = tuple(before[i] + 100.0 * self.load[i] / cap[i] for i in range(3))
        composite = sum(after[i] * self.weight[i] for i in range(3))
        reasons = ["%s %.1f%% -> %.1f%%" % (label, before[i], after[i])
                   for i, label in enumerate(("memory", "cpu", "disk")) if self.weight[i]]
        preferred = (self.state.rules.prefer.get(self.vmid) or (None,))[0]
        bonus = 0
        if preferred:
            if node in preferred:
                bonus = 1
                reasons.append("preferred by a non-strict pin")
            else:
                reasons.append("not preferred by its non-strict pin (%s)" % ", ".join(sorted(preferred)))
        for rule in self.rules:
            if rule["kind"] != "affinity" or self.vmid not in rule["guests"]:
                continue
            if not rule["strict"] and any(self.guests[v]["node"] == node for v in rule["guests"] if v in self.guests):
                bonus = 1
                reasons.append("affinity %s: members run here" % rule["id"])
        return bonus, round(100.0 - composite, 2), reasons


def _without_node(node, reason):
    """A filter's reason without the node name in front (the ranking lists reasons per node already)."""
    prefix = node + ": "
    return reason[len(prefix):] if reason.startswith(prefix) else reason


def rank_nodes(snapshot, request, options=None, rules=None):
    """Ranking for a new guest (CONTRACTS.md "best node"): ``[{node, score, reasons[]}]`` best first.

    Nodes that cannot take it follow with ``score`` None and the reasons why. ``rules``: the rule list
    (built from the snapshot when None). Raises PlanError naming every node's reason when none fits."""
    return _rank(snapshot, request, options, rules)[0]


def _rank(snapshot, request, options, rules, make_room=False):
    if "fingerprint" not in snapshot or "schema" not in snapshot:
        snapshot = normalize(snapshot)
    options = behaviour(options)
    request = normalize_request(request)
    placement = _Placement(snapshot, request, options, rules)
    fits, excluded = _fits(placement)
    if not fits and make_room:
        return excluded, placement.warnings, _room(snapshot, options, placement)
    if not fits:
        raise PlanError("no node can take the new %s: %s" % (
            _describe(request), "; ".join("%s: %s" % (e["node"], ", ".join(e["reasons"])) for e in excluded)))
    fits.sort()
    ranking = [{"node": node, "score": -score, "reasons": reasons} for _b, score, node, reasons in fits]
    return ranking + excluded, placement.warnings, None


def _fits(placement):
    fits, excluded = [], []
    for node in sorted(placement.nodes):
        why = placement.reject(node)
        if why:
            excluded.append({"node": node, "score": None, "reasons": why})
        else:
            bonus, score, reasons = placement.score(node)
            fits.append((-bonus, -score, node, reasons))
    return fits, excluded


def _room(snapshot, options, placement):
    """When no node fits: the fewest capacity-safe moves of other guests after which one does, as a plan
    document with ``node`` (the node the new guest then goes to). PlanError when no such moves exist."""
    augmented = dict(snapshot, guests=list(snapshot["guests"]) + [placement.guest])
    ctx = PlanContext(augmented, options, placement.rules, None, [])
    nodes_before = node_table(ctx.loads)
    node, _moves = room_for_new(ctx, placement.vmid)
    if node is None:
        raise PlanError("no node can take the new %s, and no moves of other guests make room on one: %s" % (
            _describe(placement.request),
            "; ".join("%s: %s" % (n, ", ".join(placement.reject(n))) for n in sorted(placement.nodes))))
    entries, _blocked = order.schedule(ctx)
    doc = plan_document(snapshot, options, entries, [], [], nodes_before, node_table(ctx.loads),
                        {"before": {}, "after": {"moves": len(entries)}},
                        ["%s takes the new guest once the moves are done" % node])
    doc["node"] = node
    return doc


def request_from_params(params):
    return dict((key, params.get(key)) for key in REQUEST_KEYS if params.get(key) is not None)


def ranking_and_warnings(snapshot, request, options=None, rules=None):
    """``rank_nodes`` plus the warnings the rules gave (what the module returns)."""
    return _rank(snapshot, request, options, rules)[:2]


def placement_for(snapshot, request, options=None, rules=None, make_room=False):
    """What ``proxlb_best_node`` returns: ``{node, ranking, warnings}``; with ``make_room`` and no node that
    fits, ``node`` is the one that fits after the moves in ``plan`` (a plan document for proxlb_migrate)."""
    ranking, warnings, room = _rank(snapshot, request, options, rules, make_room)
    if room is None:
        return {"node": ranking[0]["node"], "ranking": ranking, "warnings": warnings, "plan": None}
    return {"node": room.pop("node"), "ranking": ranking, "warnings": warnings, "plan": room}
