"""Credentials as PVE checks them: API tokens, tickets (``POST /access/ticket``) and CSRF tokens for writes."""

import base64
import hashlib
import hmac
import os
import re
import time
from urllib.parse import unquote

from simulator.pveerror import PveError

TICKET_LIFETIME = 2 * 3600
_TOKEN_HEADER = re.compile(r"(?:^|\s)PVEAPIToken(?:=| )([^;]*)")


class Auth(object):
    def __init__(self, sim_block, tokens=(), passwords=()):
        self.secret = os.urandom(32)
        self.users = {}   # user@realm -> password
        self.tokens = {}  # user@realm!id -> secret
        for user, spec in (sim_block.get("users") or {}).items():
            if isinstance(spec, dict):
                if spec.get("enable", True):
                    self.users[user] = str(spec.get("password", ""))
            else:
                self.users[user] = str(spec)
        for tokenid, spec in (sim_block.get("tokens") or {}).items():
            self.tokens[tokenid] = str(spec.get("secret") if isinstance(spec, dict) else spec)
        for text in tokens:
            tokenid, _, secret = text.rpartition("=")
            if "!" not in tokenid or not secret:
                raise ValueError("--token must look like USER@REALM!ID=SECRET, got %r" % text)
            self.tokens[tokenid] = secret
        for text in passwords:
            user, _, password = text.partition("=")
            if "@" not in user or not password:
                raise ValueError("--password must look like USER@REALM=PASS, got %r" % text)
            self.users[user] = password

    def _sign(self, text):
        mac = hmac.new(self.secret, text.encode("utf-8"), hashlib.sha256).digest()
        return base64.b64encode(mac).decode("ascii").rstrip("=")

    def ticket(self, username, password, realm=None):
        """Answer POST /access/ticket; a still valid ticket is accepted as password (proxmoxer renews so)."""
        if realm and "@" not in username:
            username = "%s@%s" % (username, realm)
        known = self.users.get(username)
        valid = (known is not None and hmac.compare_digest(known, password)) or \
            self.ticket_user(password) == username
        if not valid:
            raise PveError(401, "authentication failure")
        stamp = "%08X" % int(time.time())
        plain = "PVE:%s:%s" % (username, stamp)
        return {"username": username, "ticket": "%s::%s" % (plain, self._sign(plain)),
                "CSRFPreventionToken": self.csrf(username, stamp), "clustername": None,
                "cap": {"vms": {}, "storage": {}, "access": {}, "nodes": {}, "dc": {}, "sdn": {}, "mapping": {}}}

    def csrf(self, username, stamp):
        return "%s:%s" % (stamp, self._sign("csrf:%s:%s" % (stamp, username)))

    def ticket_user(self, ticket):
        match = re.match(r"^PVE:([^:]+):([0-9A-F]{8})::(.+)$", ticket or "")
        if not match:
            return None
        username, stamp, signature = match.groups()
        if not hmac.compare_digest(self._sign("PVE:%s:%s" % (username, stamp)), signature):
            return None
        if time.time() - int(stamp, 16) > TICKET_LIFETIME + 300 or username not in self.users:
            return None
        return username

    def authenticate(self, headers, method):
        """Return the caller (``user@realm`` or ``user@realm!id``) or raise PVE's 401."""
        authorization = headers.get("Authorization") or ""
        token = _TOKEN_HEADER.search(authorization)
        if token:
            value = unquote(token.group(1).strip())
            tokenid, sep, secret = value.rpartition("=")
            known = self.tokens.get(tokenid)
            if not sep or "!" not in tokenid or known is None or not hmac.compare_digest(known, secret):
                # pve-http-server auth_handler: every refused token or ticket reads 'Authentication failed!'
                raise PveError(401, "Authentication failed!")
            return tokenid
        ticket = None
        for part in (headers.get("Cookie") or "").split(";"):
            name, _, value = part.strip().partition("=")
            if name == "PVEAuthCookie":
                ticket = unquote(value)
        if ticket is None and authorization.startswith("PVEAuthCookie="):
            ticket = unquote(authorization.split("=", 1)[1])
        if ticket is None:
            raise PveError(401, "No ticket")
        user = self.ticket_user(ticket)
        if user is None:
            raise PveError(401, "Authentication failed!")
        if method != "GET":
            token = headers.get("CSRFPreventionToken") or ""
            stamp = token.split(":", 1)[0]
            if not re.match(r"^[0-9A-F]{8}$", stamp) or not hmac.compare_digest(self.csrf(user, stamp), token):
                raise PveError(401, "Permission denied - invalid csrf token")
        return user
