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


# --- hardening (issue 17): what people paste, checked before any connection -----------------------------

@pytest.mark.parametrize("value, expected, note", [
    ("https://pve1:8006", ("pve1", 8006), "scheme dropped"),
    ("https://pve1.example.com:8006/#v1:0:18:4:::::::", ("pve1.example.com", 8006), "scheme and path dropped"),
    ("https://[2001:db8::10]:8443/api2/json", ("2001:db8::10", 8443), "scheme and path dropped"),
    ("HTTPS://pve1/", ("pve1", 8006), "scheme and path dropped"),
    ("pve1:8006", ("pve1", 8006), None),
])
def test_urls_from_the_browser_are_read_with_a_note(value, expected, note):
    notes = []
    assert parse_hosts(value, notes=notes) == [expected]
    if note is None:
        assert notes == []
    else:
        assert len(notes) == 1 and note in notes[0] and "\n" not in notes[0]


@pytest.mark.parametrize("value", ["root@pam:s3cr3tpw@pve1", "https://root@pam:s3cr3tpw@pve1:8006/",
                                   "admin:s3cr3tpw@pve1:8006", "s3cr3tpw@pve1"])
def test_user_info_is_refused_without_echoing_it(value):
    with pytest.raises(ConfigError) as err:
        parse_hosts(["pve0", value])
    message = str(err.value)
    assert "api_host" in message and "@" in message
    assert "s3cr3tpw" not in message and "root" not in message and "admin" not in message
    assert "\n" not in message


@pytest.mark.parametrize("value, part", [
    ("a" * 64 + ".example.com", "a label of 64 characters"),
    (".".join(["a" * 63] * 4) + ".com", "host name of 259 characters"),
    ("a" * 300, "host name of 300 characters"),
    ("a" * 100, "a label of 100 characters"),
    ("pve 1", "not a host name"),
    ("pve1/x", "not a host name"),
    ("-pve1", "not a host name"),
    ("pve1..example", "not a host name"),
    ("ftp://pve1", "scheme 'ftp' is not https"),
    ("fe01:bad:code::cafe", "not an IPv6 address"),
    ("pve1:99999999999999999999", "invalid port"),
])
def test_names_are_checked_in_one_short_line(value, part):
    with pytest.raises(ConfigError) as err:
        parse_host(value)
    message = str(err.value)
    assert part in message and "\n" not in message and len(message) < 200


def test_longest_legal_names_pass():
    name = ".".join(["a" * 63] * 3 + ["b" * 61])
    assert len(name) == 253
    assert parse_host(name + ":8006") == (name, 8006)
    assert parse_host("pve_1.lab") == ("pve_1.lab", 8006)


def test_the_client_passes_the_note_on():
    from ansible_collections.proxlb.balancer.plugins.module_utils.connect.client import ProxmoxClient
    client = ProxmoxClient({"api_host": ["https://pve1:8006/"], "api_user": "u@pve", "api_password": "x"})
    assert client.hosts == [("pve1", 8006)]
    assert client.notes and "scheme and path dropped" in client.notes[0]
