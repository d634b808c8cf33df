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

import copy

from ansible_collections.proxlb.balancer.plugins.module_utils.placement import objective
from ansible_collections.proxlb.balancer.plugins.module_utils.placement.capacity import Capacity
from ansible_collections.proxlb.balancer.plugins.module_utils.common.config import behaviour
from ansible_collections.proxlb.balancer.plugins.module_utils.common.errors import ConfigError, PlanError
from ansible_collections.proxlb.balancer.plugins.module_utils.placement.load import GIB, LoadModel, guest_load
from ansible_collections.proxlb.balancer.plugins.module_utils.rules.build import build_rules, rule_index
from ansible_collections.proxlb.balancer.plugins.module_utils.facts.snapshot import normalize, split_tags

MIB = 1024 ** 2
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
    """One new guest against one snapshot: ``reject(node)`` says why a node cannot take it."""

    def __init__(self, snapshot, request, options, rules):
        self.request = request
        self.options = options
        self.nodes = dict((n["node"], n) for n in snapshot["nodes"])
        self.guests = dict((g["vmid"], g) for g in snapshot["guests"])
        self.vmid = max(list(self.guests) + [99]) + 1
        self.guest = self._new_guest(snapshot)
        augmented = dict(snapshot, guests=list(snapshot["guests"]) + [self.guest])
        self.rules, self.warnings = self._rules(augmented, rules)
        self.index = rule_index(self.rules)
        self.capacity = Capacity(snapshot, options)
        self.capacity.need[self.vmid] = (self.guest["maxmem"], float(self.guest["maxcpu"]), ())
        self.loads = LoadModel(snapshot, options["balancing"])
        self.load = guest_load(self.guest, self.loads.mode)
        self.weight = objective.weights(options["balancing"])
        self.storages = dict(((s["node"], s["storage"]), s) for s in snapshot.get("storages", []))
        self._unusable()

    def _new_guest(self, snapshot):
        request = self.request
        disk = int(request["disk"] * GIB)
        local = []
        if request["storage"] and disk:
            shared = any(s["shared"] for s in snapshot.get("storages", []) if s["storage"] == request["storage"])
            if not shared:
                local = [{"volume": "%s:new" % request["storage"], "storage": request["storage"], "size": disk}]
        cores = request["cores"] * request["sockets"]
        # a new guest's use is unknown: count all it is given (memory, every core), the safe assumption
        return {"vmid": self.vmid, "type": request["type"], "name": NAME, "node": snapshot["nodes"][0]["node"],
                "status": "running", "template": False, "lock": "", "tags": list(request["tags"]),
                "pool": request["pool"] or "", "hastate": "", "maxcpu": cores, "cpu": 1.0,
                "maxmem": int(request["memory"] * MIB), "mem": int(request["memory"] * MIB),
                "maxdisk": disk, "disk": 0, "local_disks": local, "local_resources": [], "uptime": 0}

    def _rules(self, augmented, given):
        built, warnings = build_rules(augmented, self.options)
        if given is None:
            return built, warnings
        # the caller's rules do not know the new guest: add it where its tags and pool make it a member
        joined = dict((r["id"], r) for r in built if self.vmid in r["guests"])
        out = []
        for rule in given:
            rule = dict({"strict": True, "guests": [], "nodes": [], "source": ""}, **rule)
            if rule["id"] in joined:
                rule["guests"] = sorted(set(rule["guests"]) | {self.vmid})
                joined.pop(rule["id"])
            out.append(rule)
        return out + [joined[k] for k in sorted(joined)], warnings

    def _unusable(self):
        cluster = self.options["proxmox_cluster"]
        self.blocked = {}
        for name in sorted(self.nodes):
            node = self.nodes[name]
            if node["status"] != "online":
                self.blocked[name] = "offline (status %s)" % node["status"]
            elif node["hastate"] == "maintenance":
                self.blocked[name] = "in HA maintenance mode"
        for name in cluster.get("ignore_nodes") or []:
            self.blocked.setdefault(name, "ignored (proxmox_cluster.ignore_nodes)")
        for name in cluster.get("maintenance_nodes") or []:
            self.blocked.setdefault(name, "in maintenance (proxmox_cluster.maintenance_nodes)")
        for rule in self.rules:
            if rule["kind"] in ("maintenance", "exclude_node"):
                for name in rule["nodes"]:
                    self.blocked.setdefault(name, "%s (%s)" % (
                        "in maintenance" if rule["kind"] == "maintenance" else "excluded", rule["source"] or rule["id"]))
        self.usable = sorted(n for n in self.nodes if n not in self.blocked)

    def _member_label(self, vmid):
        name = self.guests[vmid]["name"]
        return "%d (%s)" % (vmid, name) if name else "%d" % vmid

    def reject(self, node):
        """The reasons ``node`` cannot take the new guest (empty when it can)."""
        if node in self.blocked:
            return [self.blocked[node]]
        reasons = []
        allowed = self.index.allowed_nodes(self.vmid)
        if allowed is not None and node not in allowed:
            reasons.append("pinned to %s (%s)" % (", ".join(sorted(allowed)),
                                                  ", ".join(self.index.pinned_by(self.vmid))))
        for rule in self.index.anti_affinity_groups(self.vmid):
            others = [v for v in rule["guests"] if v != self.vmid and v in self.guests]
            here = [v for v in others if self.guests[v]["node"] == node]
            limit = objective.anti_affinity_limit(len(others) + 1, len(self.usable))
            if len(here) + 1 > limit:
                reasons.append("anti-affinity %s: %s already here" % (
                    rule["id"], ", ".join(self._member_label(v) for v in here)))
        for rule in self.index.affinity_groups(self.vmid):
            homes = sorted(set(self.guests[v]["node"] for v in rule["guests"] if v in self.guests))
            if rule["strict"] and homes and node not in homes:
                reasons.append("affinity %s: members run on %s" % (rule["id"], ", ".join(homes)))
        why = self.capacity.fits(node, [self.vmid])
        if why:
            reasons.append(why.split(" ", 1)[1] if why.startswith(node + " ") else why)
        reasons.extend(self._storage(node))
        return reasons

    def _storage(self, node):
        name = self.request["storage"]
        if not name or not self.storages:
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
        preferred = self.index.preferred_nodes(self.vmid)
        bonus = 0
        if preferred:
            if node in preferred:
                bonus = 1
                reasons.append("preferred by a non-strict pin")
            else:
                reasons.append("not preferred by its non-strict pin (%s)" % ", ".join(sorted(preferred)))
        for rule in self.index.affinity_groups(self.vmid):
            if not rule["strict"] and any(self.guests[v]["node"] == node for v in rule["guests"] if v in self.guests):
                bonus = 1
                reasons.append("affinity %s: members run here" % rule["id"])
        return bonus, round(100.0 - composite, 2), reasons


def rank_nodes(snapshot, request, options=None, rules=None):
    """Ranking for a new guest (CONTRACTS.md "best node"): ``[{node, score, reasons[]}]`` best first.

    Nodes that cannot take it follow with ``score`` None and the reasons why. ``rules``: the rule list
    (built from the snapshot when None). Raises PlanError naming every node's reason when none fits."""
    return _rank(snapshot, request, options, rules)[0]


def _rank(snapshot, request, options, rules):
    if "fingerprint" not in snapshot or "schema" not in snapshot:
        snapshot = normalize(snapshot)
    options = behaviour(options)
    request = normalize_request(request)
    placement = _Placement(snapshot, request, options, rules)
    fits, excluded = [], []
    for node in sorted(placement.nodes):
        why = placement.reject(node)
        if why:
            excluded.append({"node": node, "score": None, "reasons": why})
        else:
            bonus, score, reasons = placement.score(node)
            fits.append((-bonus, -score, node, reasons))
    if not fits:
        raise PlanError("no node can take the new %s: %s" % (
            _describe(request), "; ".join("%s: %s" % (e["node"], ", ".join(e["reasons"])) for e in excluded)))
    fits.sort()
    ranking = [{"node": node, "score": -score, "reasons": reasons} for _b, score, node, reasons in fits]
    return ranking + excluded, placement.warnings


def request_from_params(params):
    return dict((key, params.get(key)) for key in REQUEST_KEYS if params.get(key) is not None)


def run_best_node(params, environ=None):
    """The module's work: the ranking for the requested guest, from a given snapshot or the live cluster."""
    from ansible_collections.proxlb.balancer.plugins.module_utils.entry.runner import snapshot_for
    snapshot, options, warnings, _client = snapshot_for(params, environ)
    ranking, rule_warnings = _rank(snapshot, request_from_params(params), options, None)
    return {"changed": False, "node": ranking[0]["node"], "ranking": copy.deepcopy(ranking),
            "warnings": warnings + rule_warnings}
