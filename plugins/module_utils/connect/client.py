# -*- coding: utf-8 -*-
# Copyright: (c) 2026, proxlb.balancer contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The Proxmox VE API client: proxmoxer over HTTPS with host failover, retries and one-line errors.

Hosts are tried in the given order; the first that answers ``GET /version`` is used for the whole run
and a connection failure later moves on to the next host. Authentication failures are final (the same
credentials would fail everywhere). Secrets never enter a message.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import time

from ansible_collections.proxlb.balancer.plugins.module_utils.connect.api_hosts import parse_hosts, url_host
from ansible_collections.proxlb.balancer.plugins.module_utils.common.errors import (
    ApiError, AuthError, ConfigError, PermissionDenied)

try:
    import proxmoxer
    from proxmoxer.core import AuthenticationError, ResourceException
    HAS_PROXMOXER = True
    PROXMOXER_IMPORT_ERROR = None
except ImportError as exc:  # reported by the modules with missing_required_lib
    HAS_PROXMOXER = False
    PROXMOXER_IMPORT_ERROR = exc

try:
    import requests
    _CONNECTION_ERRORS = (requests.exceptions.ConnectionError, requests.exceptions.Timeout)
except ImportError:
    _CONNECTION_ERRORS = (OSError,)

CONNECTION_KEYS = ("api_host", "api_port", "api_user", "api_password", "api_token_id", "api_token_secret",
                   "validate_certs", "ca_path", "api_timeout", "api_retries", "api_wait_time")


def _wire_value(value):
    """PVE accepts only 1/0 for form booleans (a Python True would be sent as 'True' and refused)."""
    if isinstance(value, bool):
        return 1 if value else 0
    return value


def _short_reason(exc):
    """The innermost, most telling part of a requests connection error, without URLs or secrets."""
    text = str(exc)
    for marker in ("Connection refused", "timed out", "Name or service not known",
                   "CERTIFICATE_VERIFY_FAILED", "No route to host", "Network is unreachable",
                   "Temporary failure in name resolution", "certificate verify failed"):
        if marker in text:
            if marker.lower().startswith("certificate"):
                return "certificate verify failed"
            return marker.lower()
    return exc.__class__.__name__


class ProxmoxClient(object):
    """A connection to one Proxmox VE cluster through the first reachable API host."""

    def __init__(self, connection, sleep=time.sleep):
        if not HAS_PROXMOXER:
            raise ConfigError("the Python library proxmoxer is required on the controller: pip install proxmoxer")
        self._conn = dict(connection)
        # notes: how an entry was read when that differs from how it was written (a URL copied from the browser)
        self.notes = []
        self.hosts = parse_hosts(connection.get("api_host"), int(connection.get("api_port") or 8006), self.notes)
        self.user, self.token_id = self._identity()
        self.retries = max(1, int(connection.get("api_retries") or 1))
        self.wait_time = float(connection.get("api_wait_time") or 0)
        self.timeout = float(connection.get("api_timeout") or 10)
        self._sleep = sleep
        self._api = None
        self._host_index = None
        self.host_used = None
        self.failed_hosts = []
        self.calls = 0
        self._node_versions = {}

    def _identity(self):
        user = self._conn.get("api_user")
        token_id = self._conn.get("api_token_id")
        if token_id and "!" in token_id:
            # a full token id 'user@realm!name' carries its user
            user, token_id = token_id.split("!", 1)
        if not user:
            raise ConfigError("api_user: no user given (option api_user, ProxLB proxmox_api.user or PROXMOX_USER)")
        if "@" not in user:
            raise ConfigError("api_user: %r needs a realm, e.g. %s@pam or %s@pve" % (user, user, user))
        if token_id:
            if not self._conn.get("api_token_secret"):
                raise ConfigError("api_token_secret: api_token_id is set but its secret is missing")
        elif not self._conn.get("api_password"):
            raise ConfigError("no credentials: give api_token_id with api_token_secret, or api_password")
        return user, token_id or None

    def _verify(self):
        if not self._conn.get("validate_certs", True):
            return False
        return self._conn.get("ca_path") or True

    def _open(self, host, port):
        kwargs = {"port": port, "verify_ssl": self._verify(), "timeout": self.timeout, "user": self.user,
                  "service": "PVE"}
        if self.token_id:
            kwargs.update(token_name=self.token_id, token_value=self._conn["api_token_secret"])
        else:
            kwargs.update(password=self._conn["api_password"])
        # IPv6 literals go to proxmoxer in brackets, with the port passed separately
        api = proxmoxer.ProxmoxAPI(url_host(host), **kwargs)
        api("version").get()
        self.calls += 1
        return api

    def connect(self):
        """Connect to the first host that answers; remember which one and why the others failed."""
        start = 0 if self._host_index is None else self._host_index + 1
        for index in range(start, len(self.hosts)):
            host, port = self.hosts[index]
            label = "%s:%d" % (url_host(host), port)
            for attempt in range(self.retries):
                try:
                    self._api = self._open(host, port)
                except _CONNECTION_ERRORS as exc:
                    reason = _short_reason(exc)
                    if attempt + 1 < self.retries:
                        self._sleep(self.wait_time)
                        continue
                    self.failed_hosts.append({"host": label, "error": reason})
                    break
                except ResourceException as exc:
                    raise self._error(exc, "GET", "/version", label)
                except AuthenticationError:
                    # ticket login refused (proxmoxer raises this instead of a ResourceException)
                    raise AuthError("authentication failed at %s for %s" % (label, self._who()),
                                    hint="check the user, token id and secret or password")
                self._host_index = index
                self.host_used = label
                return self
        tried = ", ".join("%s (%s)" % (f["host"], f["error"]) for f in self.failed_hosts)
        raise ApiError("no Proxmox VE API host reachable; tried %s" % tried,
                       hint="check api_host, the port (default 8006), the network and validate_certs/ca_path")

    def _who(self):
        return "token %s!%s" % (self.user, self.token_id) if self.token_id else "user %s" % self.user

    def _error(self, exc, method, path, label=None):
        status = exc.status_code
        message = (exc.content or exc.status_message or "").strip()
        if exc.errors:
            details = "; ".join("%s: %s" % (k, v) for k, v in sorted(exc.errors.items())) \
                if isinstance(exc.errors, dict) else str(exc.errors)
            message = "%s (%s)" % (message, details)
        where = "%s %s" % (method, path)
        if status == 401:
            return AuthError("authentication failed at %s for %s" % (label or self.host_used, self._who()),
                             hint="check the user, token id and secret or password", status_code=401)
        if status == 403:
            return PermissionDenied("%s: permission denied: %s" % (where, message), status_code=403)
        return ApiError("%s: %d %s" % (where, status, message), status_code=status)

    def request(self, method, path, params=None):
        """Call the API; on a connection failure move on to the next host and try once more there."""
        if self._api is None:
            self.connect()
        params = dict((k, _wire_value(v)) for k, v in (params or {}).items() if v is not None)
        resource = self._api(path.lstrip("/"))
        try:
            self.calls += 1
            if method == "GET":
                return resource.get(**params)
            return getattr(resource, method.lower())(**params)
        except ResourceException as exc:
            raise self._error(exc, method, path)
        except _CONNECTION_ERRORS as exc:
            self.failed_hosts.append({"host": self.host_used, "error": _short_reason(exc)})
            if self._host_index + 1 >= len(self.hosts) or method != "GET":
                # a write may have arrived: never repeat it blindly on another host
                raise ApiError("%s %s: connection to %s lost (%s)"
                               % (method, path, self.host_used, _short_reason(exc)))
            self.connect()
            return self.request(method, path, params)

    def get(self, path, **params):
        return self.request("GET", path, params)

    def post(self, path, **data):
        return self.request("POST", path, data)

    def put(self, path, **data):
        return self.request("PUT", path, data)

    def node_version(self, node):
        """The PVE version of one node ('9.1.2'), probed once per node and run."""
        if node not in self._node_versions:
            data = self.get("/nodes/%s/version" % node) or {}
            self._node_versions[node] = str(data.get("version") or data.get("release") or "")
        return self._node_versions[node]
