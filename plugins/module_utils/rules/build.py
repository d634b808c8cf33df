# -*- coding: utf-8 -*-
# Copyright: (c) 2026, proxlb.balancer contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Placement rules: ProxLB tags, pools, PVE 8 HA groups, PVE 9 HA rules and options, as one list.

Each rule is ``{id, kind, strict, guests[], nodes[], source}`` (docs/rules.md). ``build_rules`` reads a
snapshot and behaviour options and reports what it could not honour as warnings; ``rule_index`` turns the
list into O(1) lookups for the planner. Precedence when rules collide (CONTRACTS.md): ignore > strict HA
node-affinity and pins > maintenance > anti-affinity > affinity > balance.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import fnmatch

from ansible_collections.proxlb.balancer.plugins.module_utils.common.errors import PlanError
from ansible_collections.proxlb.balancer.plugins.module_utils.rules import tags as plb_tags

KINDS = ("ignore", "manual", "pin", "maintenance", "exclude_node", "anti_affinity", "affinity")
_KIND_ORDER = dict((kind, i) for i, kind in enumerate(KINDS))

# Which strict pin wins when two allow no common node: PVE's HA enforces its own placement (it would move
# the guest back), so HA first; then the administrator's config file; then a tag anyone with VM access set.
_PIN_RANK = (("ha-rule:", 0), ("ha-group:", 1), ("pool:", 2), ("option:", 2), ("tag:", 3))

_GUEST_TYPE_OPTION = {"qemu": "vm", "lxc": "ct"}


def _rank(rule_id):
    for prefix, rank in _PIN_RANK:
        if rule_id.startswith(prefix):
            return rank
    return len(_PIN_RANK)


def _rule(rule_id, kind, strict, guests, nodes, source):
    return {"id": rule_id, "kind": kind, "strict": bool(strict), "guests": sorted(set(guests)),
            "nodes": sorted(set(nodes)), "source": source}


def _flag(value):
    if isinstance(value, str):
        return value.strip().lower() in ("1", "true", "yes", "on")
    return bool(value)


def _split(value):
    """PVE lists come as 'a,b' strings (rules.cfg style) or as JSON lists."""
    if value is None:
        return []
    if isinstance(value, (list, tuple)):
        return [str(v).strip() for v in value if str(v).strip()]
    return [v.strip() for v in str(value).split(",") if v.strip()]


def _sid_vmid(sid):
    """'vm:101' or 'ct:102' (or a bare '101') -> 101; None when it is not a guest."""
    text = str(sid).split(":", 1)[-1]
    return int(text) if text.isdigit() else None


def _node_priorities(value):
    """'pve1:2,pve2' -> {'pve1': 2, 'pve2': 0} (PVE's default priority is 0)."""
    result = {}
    for item in _split(value):
        name, _sep, prio = item.partition(":")
        try:
            result[name.strip()] = int(prio) if prio.strip() else 0
        except ValueError:
            result[name.strip()] = 0
    return result


class _Builder(object):

    def __init__(self, snapshot, options):
        self.options = options
        self.nodes = dict((n["node"], n) for n in snapshot.get("nodes") or [])
        self.node_by_lower = dict((name.lower(), name) for name in self.nodes)
        self.guests = dict((g["vmid"], g) for g in snapshot.get("guests") or [])
        self.snapshot = snapshot
        self.rules = []
        self.warnings = []

    def add(self, *args):
        self.rules.append(_rule(*args))

    def warn(self, text):
        self.warnings.append(text)

    def _label(self, vmid):
        name = self.guests.get(vmid, {}).get("name")
        return "guest %d (%s)" % (vmid, name) if name else "guest %d" % vmid

    def _known_nodes(self, names, where):
        """Node names that exist (matched case-insensitively); unknown ones warn and are dropped."""
        known = []
        for name in names:
            node = self.node_by_lower.get(str(name).lower())
            if node is None:
                self.warn("%s: node %r is not in this cluster; ignored" % (where, name))
            elif node not in known:
                known.append(node)
        return known

    def _available(self, node):
        record = self.nodes.get(node) or {}
        return record.get("status", "online") == "online" and record.get("hastate") != "maintenance"

    # --- sources -------------------------------------------------------------------------------------

    def tags(self):
        groups = {"ignore": {}, "manual": {}, "affinity": {}, "anti_affinity": {}}
        pins = {}
        for vmid in sorted(self.guests):
            found = plb_tags.guest_tags(self.guests[vmid].get("tags"))
            for kind in groups:
                for tag in found[kind]:
                    groups[kind].setdefault(tag.lower(), []).append(vmid)
            if found["pin"]:
                nodes = []
                for wanted in found["pin"]:
                    node = self.node_by_lower.get(wanted.lower())
                    if node is None:
                        # ProxLB's behaviour: an invalid pin is ignored so the guest keeps running somewhere
                        self.warn("%s: tag %s%s names no node of this cluster; pin ignored"
                                  % (self._label(vmid), plb_tags.PIN, wanted))
                    elif node not in nodes:
                        nodes.append(node)
                if nodes:
                    pins.setdefault(tuple(sorted(nodes)), []).append(vmid)
        for kind in ("ignore", "manual", "affinity", "anti_affinity"):
            for tag, members in groups[kind].items():
                self.add("tag:" + tag, kind, True, members, [], "tag %s" % tag)
        for nodes, members in pins.items():
            names = ["%s%s" % (plb_tags.PIN, n) for n in nodes]
            self.add("tag:" + "+".join(names), "pin", True, members, nodes, "tag%s %s"
                     % ("s" if len(names) > 1 else "", ", ".join(names)))

    def pools(self):
        configured = self.options.get("balancing", {}).get("pools") or {}
        members = dict((p["poolid"], [m for m in p.get("members") or [] if m in self.guests])
                       for p in self.snapshot.get("pools") or [])
        for vmid, guest in self.guests.items():
            if guest.get("pool"):
                entry = members.setdefault(guest["pool"], [])
                if vmid not in entry:
                    entry.append(vmid)
        for name in sorted(configured):
            spec = configured[name]
            where = "balancing.pools.%s" % name
            if name not in members:
                self.warn("%s: no pool %r in the cluster (or no Pool.Audit to see it); rule not applied"
                          % (where, name))
                continue
            guests = members[name]
            kind = {"affinity": "affinity", "anti-affinity": "anti_affinity"}.get(spec.get("type"))
            if kind:
                self.add("pool:" + name, kind, True, guests, [], "%s (type %s)" % (where, spec["type"]))
            if spec.get("pin"):
                nodes = self._known_nodes(spec["pin"], where + ".pin")
                if nodes:
                    strict = spec.get("strict", True)
                    self.add("pool:%s:pin" % name, "pin", strict, guests, nodes,
                             "%s.pin (strict %s)" % (where, "true" if strict else "false"))

    def _ha_resources(self):
        """HA-managed guests: vmid -> resource config, without those HA ignores."""
        result = {}
        for resource in self.snapshot.get("ha_resources") or []:
            vmid = _sid_vmid(resource.get("sid", ""))
            if vmid in self.guests and resource.get("state") != "ignored":
                result[vmid] = resource
        return result

    def _node_affinity(self, rule_id, label, members, priorities, strict, failback_of):
        """Emit the pins an HA node-affinity (PVE 9) or group (PVE 8) imposes on its members.

        With failback HA moves a guest back to its highest-priority available node, so that set is hard.
        Without failback a strict rule still confines the guest to its nodes; the top priority is a
        preference."""
        listed = self._known_nodes(sorted(priorities), label)
        if not listed or not members:
            return
        available = [n for n in listed if self._available(n)] or listed
        best = max(priorities[n] for n in available)
        top = [n for n in available if priorities[n] == best]
        with_failback = [v for v in members if failback_of(v)]
        without = [v for v in members if not failback_of(v)]
        if with_failback:
            self.add(rule_id, "pin", True, with_failback, top, "%s, failback" % label)
        if without:
            suffix = ":nofailback" if with_failback else ""
            if strict:
                self.add(rule_id + suffix, "pin", True, without, listed, "%s, strict, no failback" % label)
                if set(top) != set(listed):
                    self.add(rule_id + suffix + ":prefer", "pin", False, without, top,
                             "%s, priority preference" % label)
            else:
                self.add(rule_id + suffix, "pin", False, without, top, "%s, not strict, no failback" % label)

    def ha_groups(self):
        resources = self._ha_resources()
        for group in self.snapshot.get("ha_groups") or []:
            name = group.get("group") or group.get("id", "")
            members = sorted(v for v, r in resources.items() if r.get("group") == name)
            nofailback = _flag(group.get("nofailback", 0))
            label = "HA group %s (PVE 8%s)" % (name, ", restricted" if _flag(group.get("restricted", 0)) else "")
            self._node_affinity("ha-group:" + name, label, members, _node_priorities(group.get("nodes")),
                                _flag(group.get("restricted", 0)), lambda vmid: not nofailback)

    def ha_rules(self):
        resources = self._ha_resources()
        for rule in sorted(self.snapshot.get("ha_rules") or [], key=lambda r: str(r.get("rule", ""))):
            name = str(rule.get("rule", ""))
            rule_type = rule.get("type")
            if _flag(rule.get("disable", 0)):
                continue
            if rule.get("errors"):
                self.warn("ha-rule:%s: PVE reports errors (%s); HA does not apply it, neither do we"
                          % (name, "; ".join("%s: %s" % kv for kv in sorted(_error_items(rule["errors"])))))
                continue
            members = sorted(set(v for v in (_sid_vmid(s) for s in _split(rule.get("resources")))
                                 if v in self.guests))
            if rule_type == "node-affinity":
                # PVE 9 resources fail back unless their own 'failback' is 0
                self._node_affinity("ha-rule:" + name, "HA rule %s (node-affinity)" % name, members,
                                    _node_priorities(rule.get("nodes")), _flag(rule.get("strict", 0)),
                                    lambda vmid: _flag(resources.get(vmid, {}).get("failback", 1)))
            elif rule_type == "resource-affinity":
                affinity = rule.get("affinity")
                kind = {"positive": "affinity", "negative": "anti_affinity"}.get(affinity)
                if kind is None:
                    self.warn("ha-rule:%s: unknown affinity %r; ignored" % (name, affinity))
                    continue
                # PVE enforces resource affinity itself: always strict
                self.add("ha-rule:" + name, kind, True, members, [],
                         "HA rule %s (resource-affinity %s)" % (name, affinity))
            else:
                self.warn("ha-rule:%s: unknown rule type %r; ignored" % (name, rule_type))

    def node_options(self):
        cluster = self.options.get("proxmox_cluster", {})
        maintenance = self._known_nodes(cluster.get("maintenance_nodes") or [], "proxmox_cluster.maintenance_nodes")
        if maintenance:
            self.add("option:maintenance_nodes", "maintenance", True, [], maintenance,
                     "proxmox_cluster.maintenance_nodes")
        evacuate = self._known_nodes(self.options.get("evacuate_nodes") or [], "evacuate_nodes")
        if evacuate:
            self.add("option:evacuate_nodes", "maintenance", True, [], evacuate, "evacuate_nodes")
        marked = self._known_nodes(self.snapshot.get("cluster", {}).get("maintenance_nodes") or [],
                                   "datacenter notes maintenance marker")
        if marked:
            self.add("cluster:maintenance", "maintenance", True, [], marked,
                     "maintenance marker in the datacenter notes (maintenance role)")
        in_ha = [n for n in sorted(self.nodes) if self.nodes[n].get("hastate") == "maintenance"]
        if in_ha:
            self.add("ha:maintenance", "maintenance", True, [], in_ha, "PVE HA node maintenance (hastate)")
        ignored = self._known_nodes(cluster.get("ignore_nodes") or [], "proxmox_cluster.ignore_nodes")
        if ignored:
            self.add("option:ignore_nodes", "exclude_node", True, [], ignored, "proxmox_cluster.ignore_nodes")

    def guest_options(self):
        balancing = self.options.get("balancing", {})
        included = set(balancing.get("include_vmids") or [])
        vmids = [v for v in sorted(self.guests) if v not in included]
        excluded = [v for v in balancing.get("exclude_vmids") or [] if v in self.guests and v not in included]
        if excluded:
            self.add("option:exclude_vmids", "ignore", True, excluded, [], "balancing.exclude_vmids")
        patterns = balancing.get("exclude_names") or []
        if patterns:
            named = [v for v in vmids if any(fnmatch.fnmatchcase(self.guests[v].get("name", ""), p) for p in patterns)]
            if named:
                self.add("option:exclude_names", "ignore", True, named, [], "balancing.exclude_names")
        types = balancing.get("balance_types")
        if types is not None:
            other = [v for v in vmids if _GUEST_TYPE_OPTION.get(self.guests[v].get("type")) not in types]
            if other:
                self.add("option:balance_types", "ignore", True, other, [],
                         "balancing.balance_types %s" % ",".join(types))

    # --- collisions ----------------------------------------------------------------------------------

    def collisions(self, index):
        self.warnings.extend(index.conflicts)
        blocked = index.maintenance_nodes() | index.excluded_nodes()
        usable = set(n for n in self.nodes if self.nodes[n].get("status", "online") == "online") - blocked
        for vmid, allowed in sorted(index.pinned_items()):
            guest = self.guests.get(vmid)
            if guest is None:
                continue
            if index.is_ignored(vmid):
                if guest.get("node") not in allowed:
                    self.warn("%s: ignored by %s, so it stays on %s outside its pin (%s)"
                              % (self._label(vmid), index.ignored_by(vmid), guest.get("node"),
                                 ", ".join(sorted(allowed))))
            elif not allowed - blocked:
                self.warn("%s: pinned only to maintenance or ignored node(s) %s; the pin wins and the guest "
                          "is not evacuated" % (self._label(vmid), ", ".join(sorted(allowed))))
        maintenance = index.maintenance_nodes()
        for vmid in sorted(self.guests):
            node = self.guests[vmid].get("node")
            if node in maintenance and index.is_ignored(vmid):
                self.warn("%s: ignored by %s, so it stays on maintenance node %s"
                          % (self._label(vmid), index.ignored_by(vmid), node))
        if maintenance and not usable:
            self.warn("no usable node left: every online node is in maintenance or ignored, nothing can be "
                      "evacuated")
        for rule in self.rules:
            if rule["kind"] == "anti_affinity":
                self._anti_affinity_room(rule, index, usable)
            elif rule["kind"] == "affinity":
                self._affinity_against_anti(rule, index)

    def _anti_affinity_room(self, rule, index, usable):
        room = set()
        for vmid in rule["guests"]:
            if index.is_ignored(vmid):
                room.add(self.guests[vmid]["node"])  # an ignored member stays where it is
            else:
                allowed = index.allowed_nodes(vmid)
                room |= (usable & allowed) if allowed is not None else usable
        if len(rule["guests"]) > len(room):
            per_node = -(-len(rule["guests"]) // max(1, len(room)))
            self.warn("%s: %d guests but only %d usable node(s) to spread them over; they will share nodes "
                      "(at most %d per node)" % (rule["id"], len(rule["guests"]), len(room), per_node))

    def _affinity_against_anti(self, rule, index):
        shared = {}
        for vmid in rule["guests"]:
            for anti in index.anti_affinity_groups(vmid):
                shared.setdefault(anti["id"], []).append(vmid)
        clashes = sorted(anti_id for anti_id, vmids in shared.items() if len(vmids) > 1)
        if clashes and rule["strict"]:
            rule["strict"] = False
            rule["source"] += "; relaxed: anti-affinity %s wins" % ", ".join(clashes)
            self.warn("%s: members are also kept apart by %s; anti-affinity wins, this affinity is only a "
                      "preference" % (rule["id"], ", ".join(clashes)))


def _error_items(errors):
    if isinstance(errors, dict):
        return [(str(k), str(v)) for k, v in errors.items()]
    return [("error", str(errors))]


def build_rules(snapshot, options):
    """Return (rules, warnings): every placement rule of the cluster and the options, normalised.

    ``options`` is what ``config.behaviour()`` returns; ``snapshot`` a normalised snapshot."""
    builder = _Builder(snapshot, options or {})
    builder.tags()
    builder.pools()
    builder.ha_groups()
    builder.ha_rules()
    builder.node_options()
    builder.guest_options()
    builder.rules.sort(key=lambda r: (_KIND_ORDER[r["kind"]], r["id"]))
    builder.collisions(RuleIndex(builder.rules))
    return builder.rules, builder.warnings


def option_rules(snapshot, options):
    """(rules, warnings) that the options and the nodes' own states make: maintenance, evacuation, the
    cluster marker, HA maintenance, ignored nodes and the guest exclusions."""
    builder = _Builder(snapshot, options or {})
    builder.node_options()
    builder.guest_options()
    return builder.rules, builder.warnings


def rules_for(snapshot, options, given=None):
    """The one way every stage gets its rules: (rules, warnings).

    ``given`` None: everything ``build_rules`` reads. A caller's own list (tests, what-if runs) is checked,
    gets the defaults filled in, and gains the option rules it lacks (by id), so that maintenance nodes,
    ignored nodes and exclusions mean the same with or without it."""
    if given is None:
        built, warnings = build_rules(snapshot, options)
        return list(built), list(warnings)
    out = []
    for rule in given:
        if not isinstance(rule, dict) or "id" not in rule or "kind" not in rule:
            raise PlanError("rules: each rule needs at least 'id' and 'kind', got %r" % (rule,))
        out.append(dict({"strict": True, "guests": [], "nodes": [], "source": ""}, **rule))
    present = set(r["id"] for r in out)
    extra, warnings = option_rules(snapshot, options)
    out.extend(r for r in extra if r["id"] not in present)
    return out, list(warnings)


class RuleIndex(object):
    """O(1) questions about a rule list, built in O(rules x members).

    ``allowed_nodes(vmid)`` is the set a guest may end on after intersecting its strict pins (None: no
    pin); where two strict pins allow no common node the higher-ranked source wins (HA rule, HA group,
    pool, tag) and ``conflicts`` says so. Maintenance and excluded nodes are not subtracted: a strict pin
    outranks maintenance, so a guest pinned only to a maintenance node stays there."""

    def __init__(self, rules):
        self.rules = list(rules)
        self.conflicts = []
        self._ignored = {}
        self._allowed = {}
        self._allowed_by = {}
        self._preferred = {}
        self._anti = {}
        self._affinity = {}
        maintenance, excluded = set(), set()
        strict_pins, soft_pins = {}, {}
        for rule in self.rules:
            kind = rule["kind"]
            if kind == "ignore":
                for vmid in rule["guests"]:
                    self._ignored.setdefault(vmid, rule["id"])
            elif kind == "pin":
                target = strict_pins if rule["strict"] else soft_pins
                for vmid in rule["guests"]:
                    target.setdefault(vmid, []).append(rule)
            elif kind == "maintenance":
                maintenance.update(rule["nodes"])
            elif kind == "exclude_node":
                excluded.update(rule["nodes"])
            elif kind == "anti_affinity":
                for vmid in rule["guests"]:
                    self._anti.setdefault(vmid, []).append(rule)
            elif kind == "affinity":
                for vmid in rule["guests"]:
                    self._affinity.setdefault(vmid, []).append(rule)
        self._maintenance = frozenset(maintenance)
        self._excluded = frozenset(excluded)
        for vmid, pins in strict_pins.items():
            self._allowed[vmid], self._allowed_by[vmid] = self._intersect(vmid, pins, report=True)
        for vmid, pins in soft_pins.items():
            preferred = self._intersect(vmid, pins, report=False)[0]
            allowed = self._allowed.get(vmid)
            if allowed is not None:
                preferred = (preferred & allowed) or None
            if preferred:
                self._preferred[vmid] = preferred

    def _intersect(self, vmid, pins, report):
        pins = sorted(pins, key=lambda r: (_rank(r["id"]), r["id"]))
        nodes, used = frozenset(pins[0]["nodes"]), [pins[0]["id"]]
        for rule in pins[1:]:
            common = nodes & frozenset(rule["nodes"])
            if common:
                nodes = common
                used.append(rule["id"])
            elif report:
                self.conflicts.append("guest %d: %s allows only %s, %s only %s; no node satisfies both, %s wins"
                                      % (vmid, used[0], ", ".join(sorted(nodes)), rule["id"],
                                         ", ".join(rule["nodes"]), used[0]))
        return nodes, tuple(used)

    def allowed_nodes(self, vmid):
        """The nodes a guest may run on under its strict pins, or None when it has none."""
        return self._allowed.get(vmid)

    def pinned_by(self, vmid):
        """The ids of the strict pin rules that decided ``allowed_nodes``."""
        return self._allowed_by.get(vmid, ())

    def pinned_items(self):
        return self._allowed.items()

    def preferred_nodes(self, vmid):
        """Nodes a soft pin prefers (within the allowed ones), or None."""
        return self._preferred.get(vmid)

    def is_ignored(self, vmid):
        return vmid in self._ignored

    def ignored_by(self, vmid):
        return self._ignored.get(vmid)

    def anti_affinity_groups(self, vmid):
        return self._anti.get(vmid, [])

    def affinity_groups(self, vmid):
        return self._affinity.get(vmid, [])

    def maintenance_nodes(self):
        return self._maintenance

    def excluded_nodes(self):
        return self._excluded


def rule_index(rules):
    """A RuleIndex over ``rules`` (as build_rules returns them)."""
    return RuleIndex(rules)
