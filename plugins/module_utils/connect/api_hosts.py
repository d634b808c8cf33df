# -*- coding: utf-8 -*-
# Copyright: (c) 2026, proxlb.balancer contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The forms ``api_host`` accepts: ``host``, ``host:port``, ``[v6]``, ``[v6]:port`` and a bare IPv6 literal
(always an address, never address:port: ``fe80::1:8006`` is an address). Lists and comma-separated strings
name several hosts, tried in order."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import ipaddress

from ansible_collections.proxlb.balancer.plugins.module_utils.common.errors import ConfigError

DEFAULT_PORT = 8006


def _port(text, original):
    if not text.isdigit() or not 0 < int(text) < 65536:
        raise ConfigError("api_host: invalid port in %r" % original)
    return int(text)


def _is_ipv6(text):
    try:
        return isinstance(ipaddress.ip_address(text.split("%", 1)[0]), ipaddress.IPv6Address)
    except ValueError:
        return False


def parse_host(value, default_port=DEFAULT_PORT):
    """Return (host, port) for one api_host entry; IPv6 hosts are returned without brackets."""
    original = value
    value = value.strip()
    if not value:
        raise ConfigError("api_host: empty host name")
    if value.startswith("["):
        end = value.find("]")
        if end < 0:
            raise ConfigError("api_host: missing ']' in %r" % original)
        host, rest = value[1:end], value[end + 1:]
        if not _is_ipv6(host):
            raise ConfigError("api_host: %r in brackets is not an IPv6 address" % host)
        if not rest:
            return host, default_port
        if not rest.startswith(":"):
            raise ConfigError("api_host: unexpected %r after ']' in %r" % (rest, original))
        return host, _port(rest[1:], original)
    if value.count(":") > 1:
        # more than one colon can only be an IPv6 literal; PVE answers or the connection error says why
        return value, default_port
    if ":" in value:
        host, port = value.split(":", 1)
        return host, _port(port, original)
    return value, default_port


def parse_hosts(value, default_port=DEFAULT_PORT):
    """Return [(host, port)] from a string (comma-separated allowed) or a list of strings."""
    if value is None:
        raise ConfigError("api_host: no Proxmox VE API host given (option api_host, ProxLB proxmox_api.hosts "
                          "or PROXMOX_HOST)")
    items = value if isinstance(value, (list, tuple)) else [value]
    hosts = []
    for item in items:
        for part in str(item).split(","):
            if part.strip():
                hosts.append(parse_host(part, default_port))
    if not hosts:
        raise ConfigError("api_host: no Proxmox VE API host given")
    return hosts


def url_host(host):
    """The host as it appears in a URL: IPv6 literals in brackets."""
    return "[%s]" % host if ":" in host else host
