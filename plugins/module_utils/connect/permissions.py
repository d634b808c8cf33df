# -*- coding: utf-8 -*-
# Copyright: (c) 2026, proxlb.balancer contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Privilege preflight: say every missing privilege in one line before anything else happens.

PVE answers ``GET /access/permissions`` with the caller's effective privileges per ACL path,
``{path: {privilege: propagate}}``. A privilege on a path covers the path itself and, when it propagates,
everything below it (``/`` covers ``/vms``). A token with privilege separation gets the intersection of
its user's ACLs and its own; with no ACL of its own it sees nothing at all, and a balancer reading an
empty cluster would do nothing without saying why (gyptazy/ProxLB#164), hence the explicit check.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.proxlb.balancer.plugins.module_utils.common.errors import PermissionDenied

ACTIONS = ("read", "migrate", "write_tags", "pools", "maintenance", "reboot", "history", "lease")

# action -> [(path, privilege, why)]; paths are the ACL roots PVE checks below (/nodes/<n>, /vms/<id>, ...)
_NEEDS = {
    "read": [("/nodes", "Sys.Audit", "read node usage"),
             ("/vms", "VM.Audit", "read guests"),
             ("/storage", "Datastore.Audit", "read storages")],
    "migrate": [("/vms", "VM.Migrate", "migrate guests")],
    "write_tags": [("/vms", "VM.Config.Options", "write guest tags")],
    "pools": [("/pool", "Pool.Audit", "read pool members for balancing.pools")],
    "maintenance": [("/", "Sys.Audit", "read the maintenance marker in the datacenter notes"),
                    ("/", "Sys.Modify", "write the maintenance marker in the datacenter notes")],
    "reboot": [("/nodes", "Sys.PowerMgmt", "reboot nodes")],
    # proxlb_migrate: one run per cluster through a lease line in the datacenter notes (migrate/lease.py),
    # and the maintenance marker and HA rules read before any move
    "lease": [("/", "Sys.Audit", "read the maintenance marker, HA rules and the run lease"),
              ("/", "Sys.Modify", "write the run lease in the datacenter notes")],
    # GET /nodes/{node}/tasks lists other users' tasks (HA's moves run as root@pam) only with Sys.Audit on
    # /nodes/{node}; without it a cooldown would silently see only this user's moves
    "history": [("/nodes", "Sys.Audit", "read every node's migration task history for the cooldown")],
}


def _actions(options, actions):
    wanted = list(actions or ("read",))
    unknown = [a for a in wanted if a not in ACTIONS]
    if unknown:
        raise ValueError("unknown preflight action(s) %s (known: %s)" % (", ".join(unknown), ", ".join(ACTIONS)))
    pools = ((options or {}).get("balancing") or {}).get("pools")
    if pools and "read" in wanted and "pools" not in wanted:
        wanted.append("pools")  # pool rules are read only with Pool.Audit; without it they silently vanish
    if (options or {}).get("cooldown") and "read" in wanted and "history" not in wanted:
        wanted.append("history")
    return wanted


def required(options, actions):
    """{path: [privileges]} that ``actions`` need under ``options`` (pool rules add Pool.Audit)."""
    result = {}
    for action in _actions(options, actions):
        for path, privilege, _why in _NEEDS[action]:
            privs = result.setdefault(path, [])
            if privilege not in privs:
                privs.append(privilege)
    return dict((path, sorted(privs)) for path, privs in result.items())


def _ancestors(path):
    """'/vms/100' -> ['/vms/100', '/vms', '/']: the ACL paths whose privileges can reach ``path``."""
    parts = [p for p in path.split("/") if p]
    chain = ["/" + "/".join(parts[:i]) for i in range(len(parts), 0, -1)]
    return chain + ["/"]


def _granted_on(granted, path):
    privs = set()
    for i, candidate in enumerate(_ancestors(path)):
        entry = granted.get(candidate) or {}
        if not isinstance(entry, dict):
            continue
        for priv, propagate in entry.items():
            # on the path itself any grant counts; from above only a propagating one
            if i == 0 or propagate:
                privs.add(priv)
    return privs


def missing(granted, needed):
    """Privileges in ``needed`` ({path: [privs]}) that ``granted`` (/access/permissions data) lacks,
    as sorted 'Priv on /path' strings."""
    granted = granted if isinstance(granted, dict) else {}
    result = []
    for path in sorted(needed):
        have = _granted_on(granted, path)
        for priv in sorted(needed[path]):
            if priv not in have:
                result.append("%s on %s" % (priv, path))
    return result


def _why(options, actions, gaps):
    reasons = []
    for action in _actions(options, actions):
        for path, privilege, why in _NEEDS[action]:
            if "%s on %s" % (privilege, path) in gaps and why not in reasons:
                reasons.append(why)
    return reasons


def _holds_any(granted, privileges):
    for entry in (granted or {}).values():
        if isinstance(entry, dict) and set(entry) & privileges:
            return True
    return False


def check(granted, options, actions, user=None, token_id=None):
    """Raise PermissionDenied naming every missing privilege for ``actions``, given the data of
    ``/access/permissions`` for ``user`` (and ``token_id`` for token auth)."""
    needed = required(options, actions)
    gaps = missing(granted, needed)
    if not gaps:
        return
    wanted = set(p for privs in needed.values() for p in privs)
    user = user or "USER@REALM"
    if token_id and not _holds_any(granted, wanted):
        raise PermissionDenied(
            "API token %s!%s holds none of the needed privileges (%s): token has privilege separation "
            "enabled and no ACL of its own: grant the token ACLs or disable privsep "
            "(pveum acl modify / --tokens '%s!%s' --roles <role>, or pveum user token modify %s %s --privsep 0)"
            % (user, token_id, ", ".join(sorted(wanted)), user, token_id, user, token_id))
    who = "API token %s!%s" % (user, token_id) if token_id else "user %s" % user
    reasons = ", ".join(_why(options, actions, gaps))
    raise PermissionDenied("%s lacks %s (needed to %s)" % (who, ", ".join(gaps), reasons))


def preflight(client, options, actions):
    """Read the caller's privileges and raise PermissionDenied (one line) when any needed one is missing.

    ``client`` needs ``.get(path)``, ``.token_id`` (None for password auth) and, for the message, ``.user``.
    Returns the granted map."""
    granted = client.get("/access/permissions") or {}
    check(granted, options, actions, getattr(client, "user", None), getattr(client, "token_id", None))
    return granted
