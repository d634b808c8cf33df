# -*- coding: utf-8 -*-
# Copyright: (c) 2026, proxlb.balancer contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The forms ``api_host`` accepts: ``host``, ``host:port``, ``[v6]``, ``[v6]:port`` and a bare IPv6 literal
(always an address, never address:port: ``fe80::1:8006`` is an address), and a URL as copied from the
browser, ``https://host[:port][/path]`` (scheme and path dropped, with a note). Lists and comma-separated
strings name several hosts, tried in order.

Checked before any connection: user-info (``user:password@host``) is refused without echoing any of it,
host names must be DNS names (labels of 1 to 63 letters, digits, '-' or '_', at most 253 characters)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import ipaddress
import re

from ansible_collections.proxlb.balancer.plugins.module_utils.common import documents
from ansible_collections.proxlb.balancer.plugins.module_utils.common.errors import ConfigError

DEFAULT_PORT = 8006
_LABEL = re.compile(r"^[A-Za-z0-9_]([A-Za-z0-9_-]*[A-Za-z0-9_])?$")
_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*)://")


_shown = documents.shown  # an entry as error messages show it: repr, cut short


def _port(text, original):
    if not text.isdigit() or len(text) > 5 or not 0 < int(text) < 65536:
        raise ConfigError("api_host: invalid port in %s (1 to 65535)" % _shown(original))
    return int(text)


def _check_name(host, original):
    """A host name: DNS labels of at most 63 characters, 253 in all (RFC 1035), or an IPv4 address."""
    name = host[:-1] if host.endswith(".") else host
    if len(name) > 253:
        raise ConfigError("api_host: host name of %d characters; a DNS name has at most 253" % len(name))
    for label in name.split("."):
        if len(label) > 63:
            raise ConfigError("api_host: a label of %d characters in %s; a DNS label has at most 63"
                              % (len(label), _shown(original)))
        if not _LABEL.match(label):
            raise ConfigError("api_host: %s is not a host name, an IPv4 or an IPv6 address" % _shown(original))
    return host


def strip_url(value, notes=None):
    """``https://host:port/path`` -> ``host:port`` (with a note in ``notes``); other forms unchanged.

    Refuses user-info (``user:pw@host``) without echoing the entry."""
    text = value.strip()
    if "@" in text:
        raise ConfigError("api_host: an entry holds '@' (user name or password in the host); give the user as "
                          "api_user and the secret as api_password or api_token_secret, never in api_host")
    match = _SCHEME.match(text)
    if not match:
        return text
    if match.group(1).lower() not in ("https", "http"):
        raise ConfigError("api_host: scheme %s is not https" % _shown(match.group(1)))
    rest = text[match.end():]
    authority = rest
    for separator in "/?#":
        authority = authority.split(separator, 1)[0]
    if notes is not None:
        notes.append("api_host: read %s as %s (scheme%s dropped; the API is always https)"
                     % (_shown(text), _shown(authority), " and path" if authority != rest else ""))
    return authority


def _is_ipv6(text):
    try:
        return isinstance(ipaddress.ip_address(text.split("%", 1)[0]), ipaddress.IPv6Address)
    except ValueError:
        return False


def parse_host(value, default_port=DEFAULT_PORT, notes=None):
    """Return (host, port) for one api_host entry; IPv6 hosts are returned without brackets."""
    value = strip_url(value, notes)
    original = value
    if not value:
        raise ConfigError("api_host: empty host name")
    if value.startswith("["):
        end = value.find("]")
        if end < 0:
            raise ConfigError("api_host: missing ']' in %s" % _shown(original))
        host, rest = value[1:end], value[end + 1:]
        if not _is_ipv6(host):
            raise ConfigError("api_host: %s in brackets is not an IPv6 address" % _shown(host))
        if not rest:
            return host, default_port
        if not rest.startswith(":"):
            raise ConfigError("api_host: unexpected %s after ']' in %s" % (_shown(rest), _shown(original)))
        return host, _port(rest[1:], original)
    if value.count(":") > 1:
        # more than one colon can only be an IPv6 literal
        if not _is_ipv6(value):
            raise ConfigError("api_host: %s is not an IPv6 address (write [address]:port for a port)"
                              % _shown(original))
        return value, default_port
    if ":" in value:
        host, port = value.split(":", 1)
        return _check_name(host, original), _port(port, original)
    return _check_name(value, original), default_port


def parse_hosts(value, default_port=DEFAULT_PORT, notes=None):
    """Return [(host, port)] from a string (comma-separated allowed) or a list of strings.

    ``notes`` (a list) receives what was read differently from how it was written (a URL's scheme)."""
    if value is None:
        raise ConfigError("api_host: no Proxmox VE API host given (option api_host, ProxLB proxmox_api.hosts "
                          "or PROXMOX_HOST)")
    items = value if isinstance(value, (list, tuple)) else [value]
    hosts = []
    for item in items:
        for part in str(item).split(","):
            if part.strip():
                hosts.append(parse_host(part, default_port, notes))
    if not hosts:
        raise ConfigError("api_host: no Proxmox VE API host given")
    return hosts


def url_host(host):
    """The host as it appears in a URL: IPv6 literals in brackets."""
    return "[%s]" % host if ":" in host else host
