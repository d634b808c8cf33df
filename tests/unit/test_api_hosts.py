import pytest

from ansible_collections.proxlb.balancer.plugins.module_utils.connect.api_hosts import parse_host, parse_hosts, url_host
from ansible_collections.proxlb.balancer.plugins.module_utils.common.errors import ConfigError


@pytest.mark.parametrize("value, expected", [
    ("pve1", ("pve1", 8006)),
    ("pve1.example.com:8443", ("pve1.example.com", 8443)),
    ("10.0.0.1", ("10.0.0.1", 8006)),
    ("10.0.0.1:9000", ("10.0.0.1", 9000)),
    ("fe01:bad:c0de::cafe", ("fe01:bad:c0de::cafe", 8006)),
    ("::1", ("::1", 8006)),
    ("fe80::1:8006", ("fe80::1:8006", 8006)),  # a bare IPv6 literal is always an address
    ("[2001:db8::10]", ("2001:db8::10", 8006)),
    ("[2001:db8::10]:8443", ("2001:db8::10", 8443)),
    (" pve2 ", ("pve2", 8006)),
])
def test_host_forms(value, expected):
    assert parse_host(value) == expected


@pytest.mark.parametrize("value", ["", "pve1:http", "pve1:0", "pve1:70000", "[pve1]:8006", "[::1", "[::1]x"])
def test_bad_hosts_fail_clearly(value):
    with pytest.raises(ConfigError) as err:
        parse_host(value)
    assert "api_host" in str(err.value)


def test_lists_and_comma_strings_keep_order():
    assert parse_hosts("a, b:1,[::1]:2") == [("a", 8006), ("b", 1), ("::1", 2)]
    assert parse_hosts(["x", "y,z"], default_port=443) == [("x", 443), ("y", 443), ("z", 443)]


def test_missing_host_names_the_option():
    with pytest.raises(ConfigError, match="PROXMOX_HOST"):
        parse_hosts(None)


def test_url_host_brackets_ipv6_only():
    assert url_host("::1") == "[::1]"
    assert url_host("pve1") == "pve1"
