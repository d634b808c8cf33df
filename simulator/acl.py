"""Privileges per credential, the way PVE resolves them: ACL paths with roles or privilege lists, inherited
down the tree; a privilege-separated token gets the intersection of its own ACL and its user's.

In the scenario's ``simulator`` block, ``acl`` maps a path to a role name or a list of privileges and roles:
``{"/": "PVEAuditor", "/vms/100": ["VM.Migrate"]}``. A user without ``acl`` has every privilege (like
root@pam), and so have the credentials given on the command line; a ``privsep`` token without ``acl`` has
none, which is PVE's trap: it then sees an empty cluster.
"""

AUDIT = ["Sys.Audit", "VM.Audit", "Datastore.Audit", "Pool.Audit", "SDN.Audit", "Mapping.Audit"]
VM_ADMIN = ["VM.Audit", "VM.Allocate", "VM.Migrate", "VM.PowerMgmt", "VM.Console", "VM.Backup", "VM.Clone",
            "VM.Snapshot", "VM.Config.Options", "VM.Config.Disk", "VM.Config.CPU", "VM.Config.Memory",
            "VM.Config.Network", "VM.Config.HWType", "VM.Config.CDROM", "VM.Config.Cloudinit", "Datastore.AllocateSpace",
            "Datastore.Audit", "Pool.Audit", "SDN.Use"]
ALL = sorted(set(AUDIT + VM_ADMIN + ["Sys.Modify", "Sys.PowerMgmt", "Sys.Console", "Sys.Syslog", "Permissions.Modify",
                                     "Datastore.Allocate", "Pool.Allocate", "User.Modify", "Realm.Allocate"]))
ROLES = {"Administrator": ALL, "PVEAdmin": [p for p in ALL if p not in ("Permissions.Modify", "Realm.Allocate")],
         "PVEAuditor": AUDIT, "PVEVMAdmin": VM_ADMIN, "PVEVMUser": ["VM.Audit", "VM.PowerMgmt", "VM.Console"],
         "PVESysAdmin": ["Sys.Audit", "Sys.Modify", "Sys.PowerMgmt", "Sys.Console", "Sys.Syslog"], "NoAccess": []}


def _privileges(spec):
    names = [spec] if isinstance(spec, str) else list(spec or [])
    out = set()
    for name in names:
        out.update(ROLES.get(name, [name]))
    return out


def _table(acl):
    return dict(("/" + path.strip("/"), _privileges(spec)) for path, spec in (acl or {}).items())


class Acl(object):
    def __init__(self, sim_block):
        self.users = {}   # user -> table or None (everything)
        self.tokens = {}  # tokenid -> (privsep, table or None)
        for user, spec in (sim_block.get("users") or {}).items():
            self.users[user] = _table(spec["acl"]) if isinstance(spec, dict) and "acl" in spec else None
        for tokenid, spec in (sim_block.get("tokens") or {}).items():
            spec = spec if isinstance(spec, dict) else {}
            privsep = bool(spec.get("privsep", False))
            table = _table(spec["acl"]) if "acl" in spec else ({} if privsep else None)
            self.tokens[tokenid] = (privsep, table)

    def unrestricted(self, principal):
        """True when ``principal`` holds every privilege everywhere (the fast, cached path)."""
        user = principal.split("!", 1)[0]
        if self.users.get(user) is not None:
            return False
        return "!" not in principal or not self.tokens.get(principal, (False, None))[0]

    def _at(self, table, paths):
        if table is None:
            return set(ALL)
        found = set()
        for path in paths:
            for acl_path, privs in table.items():
                if acl_path == "/" or path == acl_path or path.startswith(acl_path + "/"):
                    found |= privs
        return found

    def privileges(self, principal, paths):
        """The privileges ``principal`` holds on any of ``paths`` (a guest is reachable by /vms/ID and its pool)."""
        user = principal.split("!", 1)[0]
        mine = self._at(self.users.get(user), paths)
        if "!" in principal:
            privsep, table = self.tokens.get(principal, (False, None))
            if privsep:
                mine &= self._at(table, paths)
        return mine

    def has(self, principal, paths, privilege):
        return privilege in self.privileges(principal, paths)

    def dump(self, principal, path=None):
        """GET /access/permissions: {path: {privilege: 1}}."""
        if path:
            paths = [path]
        else:
            user = principal.split("!", 1)[0]
            tables = [self.users.get(user)]
            if "!" in principal:
                tables.append(self.tokens.get(principal, (False, None))[1])
            paths = sorted(set(["/"] + [p for t in tables if t for p in t]))
        out = {}
        for p in paths:
            privs = self.privileges(principal, [p])
            if privs:
                out[p] = dict((name, 1) for name in sorted(privs))
        return out
