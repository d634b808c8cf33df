"""Behaviour options, the ProxLB config file and the precedence task > config_file > environment > default."""

import json
import os
import re

import pytest
from hypothesis import given, settings, strategies as st

from ansible_collections.proxlb.balancer.plugins.module_utils.common import config
from ansible_collections.proxlb.balancer.plugins.module_utils.common.errors import ConfigError

HERE = os.path.dirname(os.path.abspath(__file__))
FIXTURES = os.path.join(HERE, "..", "fixtures")
EXAMPLE = os.path.join(FIXTURES, "proxlb.yaml")
EXAMPLE_110 = os.path.join(FIXTURES, "proxlb_1.1.0.yaml")
VERBATIM = os.path.join(FIXTURES, "proxlb_readme_verbatim.yaml")
MIGRATION_DOC = os.path.join(HERE, "..", "..", "docs", "proxlb-migration.md")


def params(**kwargs):
    base = dict((k, None) for k in config.CONNECTION_DEFAULTS)
    base.update(proxmox_cluster=None, balancing=None, service=None, config_file=None)
    base.update(kwargs)
    return base


def write(tmp_path, text):
    path = tmp_path / "proxlb.yaml"
    path.write_text(text)
    return str(path)


# --- the ProxLB example files ---------------------------------------------------------------------------

def test_proxlb_readme_example_loads():
    connection, options, warnings = config.resolve(params(config_file=EXAMPLE), environ={})
    assert warnings == []
    assert connection["api_host"] == ["virt01.example.com", "10.10.10.10", "fe01:bad:code::cafe"]
    assert connection["api_user"] == "root@pam"
    assert connection["api_password"] == "crazyPassw0rd!"
    assert connection["validate_certs"] is True and connection["api_timeout"] == 10
    assert options["proxmox_cluster"] == {"maintenance_nodes": ["virt66.example.com"], "ignore_nodes": [],
                                          "overprovisioning": True}
    balancing = options["balancing"]
    assert balancing["balanciness"] == 5 and balancing["memory_threshold"] == 75
    assert balancing["node_resource_reserve"] == {"defaults": {"memory": 4}, "node01": {"memory": 6}}
    assert balancing["pools"]["dev"] == {"type": "affinity", "pin": [], "strict": True}
    assert balancing["pools"]["de-nbg01-db"] == {"type": "anti-affinity", "pin": ["virt66", "virt77"],
                                                 "strict": False}
    assert options["service"]["schedule"] == {"interval": 12, "format": "hours"}


def test_proxlb_110_example_loads_with_old_spellings():
    connection, options, warnings = config.resolve(params(config_file=EXAMPLE_110), environ={})
    assert connection["api_token_id"] == "proxlb" and connection["validate_certs"] is False
    assert options["balancing"]["mode"] == "assigned"
    assert options["service"]["schedule"] == {"interval": 12, "format": "hours"}
    assert options["service"]["log_level"] == "DEBUG"
    assert any("balancing.force" in w and "enforce_affinity" in w for w in warnings)


def test_readme_example_verbatim_fails_naming_file_and_line():
    with pytest.raises(ConfigError) as err:
        config.resolve(params(config_file=VERBATIM), environ={})
    message = str(err.value)
    assert VERBATIM in message and "not valid YAML" in message
    line = int(re.search(r"line (\d+)", message).group(1))
    with open(VERBATIM) as handle:
        assert handle.read().splitlines()[line - 1].strip() == "de-nbg01-db"


def test_missing_file_names_the_file(tmp_path):
    missing = str(tmp_path / "nope.yaml")
    with pytest.raises(ConfigError, match=re.escape(missing)):
        config.resolve(params(config_file=missing), environ={})


def test_file_that_is_not_a_mapping_fails(tmp_path):
    with pytest.raises(ConfigError, match="expected a mapping of sections"):
        config.resolve(params(config_file=write(tmp_path, "- a\n- b\n")), environ={})


# --- validation --------------------------------------------------------------------------------------------

def test_typo_warns_with_suggestion_and_does_not_fail():
    options, warnings = config.validate_behaviour({"balancing": {"balancines": 3}})
    assert warnings == ["balancing.balancines: unknown key, ignored (did you mean 'balanciness'?)"]
    assert options["balancing"]["balanciness"] == 10


def test_unknown_section_and_api_key_in_file_warn(tmp_path):
    path = write(tmp_path, "proxmox_api:\n  hosts: pve1\n  api_version: 2\nrebalancing:\n  enable: true\n")
    connection, _, warnings = config.resolve(params(config_file=path), environ={})
    assert connection["api_host"] == ["pve1"]
    assert any("proxmox_api.api_version: unknown key" in w and path in w for w in warnings)
    assert any("rebalancing: unknown key" in w for w in warnings)


@pytest.mark.parametrize("section,key,value,fragment", [
    ("balancing", "balanciness", "high", "balancing.balanciness: expected an integer, got 'high'"),
    ("balancing", "method", "ram", "balancing.method: expected one of memory, cpu, disk, got 'ram'"),
    ("balancing", "parallel", "maybe", "balancing.parallel: expected a boolean"),
    ("balancing", "balance_types", ["vm", "docker"], "balancing.balance_types[1]: expected one of vm, ct"),
    ("balancing", "pools", {"dev": {"type": "together"}}, "balancing.pools.dev.type: expected one of"),
    ("balancing", "pools", {"dev": {"strict": True}}, "balancing.pools.dev: give 'type'"),
    ("balancing", "node_resource_reserve", {"pve1": {"ram": 4}}, "balancing.node_resource_reserve.pve1.ram"),
    ("balancing", "memory_threshold", 150, "balancing.memory_threshold: must be at most 100"),
    ("balancing", "weights", {"memory": 0, "cpu": 0}, "balancing.weights: at least one weight"),
    ("proxmox_cluster", "maintenance_nodes", {"a": 1}, "proxmox_cluster.maintenance_nodes: expected a list"),
    ("service", "schedule", {"interval": 12, "format": "days"}, "service.schedule.format: expected one of"),
    ("service", "log_level", "LOUD", "service.log_level: expected one of"),
])
def test_wrong_value_fails_naming_the_key(section, key, value, fragment):
    with pytest.raises(ConfigError) as err:
        config.validate_behaviour({section: {key: value}})
    assert fragment in str(err.value)


def test_wrong_type_in_file_names_file_and_key(tmp_path):
    path = write(tmp_path, "balancing:\n  balanciness: high\n")
    with pytest.raises(ConfigError) as err:
        config.resolve(params(config_file=path), environ={})
    assert str(err.value) == "config_file %s: balancing.balanciness: expected an integer, got 'high'" % path


def test_values_are_normalised():
    options, _ = config.validate_behaviour({
        "balancing": {"balance_types": ["qemu", "CT"], "parallel": "yes", "balanciness": "7",
                      "exclude_vmids": "101,102", "node_resource_reserve": {"default": {"memory": 2}}},
        "service": {"log_level": "debug", "schedule": 30},
        "proxmox_cluster": {"maintenance_nodes": "pve3"},
    })
    assert options["balancing"]["balance_types"] == ["vm", "ct"]
    assert options["balancing"]["parallel"] is True and options["balancing"]["balanciness"] == 7
    assert options["balancing"]["exclude_vmids"] == [101, 102]
    assert options["balancing"]["node_resource_reserve"] == {"defaults": {"memory": 2}}
    assert options["service"]["log_level"] == "DEBUG"
    assert options["service"]["schedule"] == {"interval": 30, "format": "hours"}
    assert options["proxmox_cluster"]["maintenance_nodes"] == ["pve3"]


def test_behaviour_fills_defaults_and_keeps_caller_keys():
    options, _ = config.validate_behaviour({"mode": "evacuate", "evacuate_nodes": ["pve2"], "plan_file": "x"})
    assert options["mode"] == "evacuate" and options["evacuate_nodes"] == ["pve2"]
    assert options["plan_file"] == "x"
    for section in config.SECTIONS:
        assert set(options[section]) == set(config.DEFAULTS[section])
    with pytest.raises(ConfigError, match="mode: expected one of balance, enforce, evacuate"):
        config.validate_behaviour({"mode": "rebalance"})


_leaf = st.one_of(st.none(), st.booleans(), st.integers(-5, 200), st.floats(allow_nan=False, width=32),
                  st.text(max_size=6), st.lists(st.text(max_size=4), max_size=3))


@settings(max_examples=120, deadline=None)
@given(st.sampled_from(config.SECTIONS), st.dictionaries(
    st.sampled_from(sorted(set(k for s in config.DEFAULTS.values() for k in s)) + ["zzz"]), _leaf, max_size=4))
def test_validation_only_raises_config_error_and_is_idempotent(section, values):
    try:
        options, _ = config.validate_behaviour({section: values})
    except ConfigError as exc:
        assert "\n" not in str(exc) and str(exc).startswith(section + ".")
        return
    again, warnings = config.validate_behaviour(options)
    assert again == options and warnings == []


# --- precedence ----------------------------------------------------------------------------------------

ENV = {"PROXMOX_HOST": "envhost1, envhost2", "PROXMOX_PORT": "8443", "PROXMOX_USER": "env@pve",
       "PROXMOX_PASSWORD": "envpass", "PROXMOX_VALIDATE_CERTS": "false", "PROXMOX_CA_PATH": "/env/ca.pem"}


def test_environment_over_default():
    connection, _, _ = config.resolve(params(), environ=ENV)
    assert connection["api_host"] == ["envhost1", "envhost2"]
    assert connection["api_port"] == 8443 and connection["api_user"] == "env@pve"
    assert connection["validate_certs"] is False and connection["ca_path"] == "/env/ca.pem"
    assert connection["api_timeout"] == 10 and connection["api_retries"] == 1 and connection["api_wait_time"] == 1


def test_defaults_without_anything():
    connection, options, warnings = config.resolve(params(), environ={})
    assert connection == config.CONNECTION_DEFAULTS
    assert options == config.behaviour() and warnings == []


def test_file_over_environment_and_task_over_file(tmp_path):
    path = write(tmp_path, "proxmox_api:\n  hosts: [filehost]\n  user: file@pve\n  timeout: 30\n"
                           "  ssl_verification: 1\n")
    connection, _, _ = config.resolve(params(config_file=path), environ=ENV)
    assert connection["api_host"] == ["filehost"] and connection["api_user"] == "file@pve"
    assert connection["validate_certs"] is True and connection["api_timeout"] == 30
    assert connection["api_password"] == "envpass"  # not in the file: the environment still counts
    connection, _, _ = config.resolve(params(config_file=path, api_host="taskhost", api_timeout=5,
                                             validate_certs=False), environ=ENV)
    assert connection["api_host"] == ["taskhost"] and connection["api_timeout"] == 5
    assert connection["validate_certs"] is False and connection["api_user"] == "file@pve"


def test_behaviour_sections_merge_task_keys_win(tmp_path):
    path = write(tmp_path, "balancing:\n  balanciness: 5\n  method: cpu\nproxmox_cluster:\n"
                           "  ignore_nodes: [pve9]\n")
    _, options, _ = config.resolve(params(config_file=path, balancing={"method": "disk"}), environ={})
    assert options["balancing"]["method"] == "disk"
    assert options["balancing"]["balanciness"] == 5
    assert options["proxmox_cluster"]["ignore_nodes"] == ["pve9"]


def test_task_typo_warns_without_file():
    _, _, warnings = config.resolve(params(balancing={"ballanciness": 3}), environ={})
    assert warnings == ["balancing.ballanciness: unknown key, ignored (did you mean 'balanciness'?)"]


def test_bad_environment_value_names_the_variable():
    with pytest.raises(ConfigError, match="environment PROXMOX_PORT: expected an integer"):
        config.resolve(params(), environ={"PROXMOX_PORT": "eighty"})


def test_no_secret_in_behaviour_or_in_errors(tmp_path):
    path = write(tmp_path, "proxmox_api:\n  pass: s3cr3t-pass\n  token_secret: s3cr3t-token\n")
    connection, options, warnings = config.resolve(params(config_file=path), environ={})
    assert sorted(config.secret_values(connection)) == ["s3cr3t-pass", "s3cr3t-token"]
    text = json.dumps([options, warnings])
    assert "s3cr3t" not in text
    for key in config.CONNECTION_DEFAULTS:
        assert key not in options
    bad = write(tmp_path, "proxmox_api:\n  pass: [s3cr3t-list]\n")
    with pytest.raises(ConfigError) as err:
        config.resolve(params(config_file=bad), environ={})
    assert "s3cr3t" not in str(err.value) and "proxmox_api.pass" in str(err.value)


# --- every ProxLB key is documented -------------------------------------------------------------------

def test_migration_doc_lists_every_key():
    with open(MIGRATION_DOC) as handle:
        doc = handle.read()
    keys = ["proxmox_api.%s" % k for k in config.PROXLB_API_KEYS]
    for section, values in config.DEFAULTS.items():
        keys.extend("%s.%s" % (section, k) for k in values)
    keys.extend(["service.schedule.interval", "service.schedule.format", "service.delay.enable",
                 "service.delay.time", "service.delay.format", "balancing.pools.<pool>.type",
                 "balancing.pools.<pool>.pin", "balancing.pools.<pool>.strict", "balancing.force"])
    undocumented = [k for k in keys if "`%s`" % k not in doc]
    assert undocumented == []


# --- hardening (issue 17): every number finite and in range, files read safely, TLS off is said ---------

def one_line(exc_info, limit=300):
    message = str(exc_info.value)
    assert "\n" not in message and len(message) <= limit, message
    return message


@pytest.mark.parametrize("section, key, value", [
    ("balancing", "margin", float("nan")),
    ("balancing", "margin", float("inf")),
    ("balancing", "memory_threshold", float("nan")),
    ("balancing", "cpu_overcommit", float("nan")),
    ("balancing", "cpu_overcommit", float("inf")),
    ("balancing", "balanciness", float("nan")),
    ("balancing", "balanciness", float("inf")),
    ("balancing", "weights", {"memory": float("nan")}),
    ("balancing", "weights", {"memory": 1, "cpu": float("inf")}),
    ("balancing", "node_resource_reserve", {"defaults": {"memory": float("nan")}}),
    ("balancing", "psi", {"nodes": {"memory": {"pressure_full": float("inf")}}}),
    ("balancing", "max_job_validation", 1e12),
    ("balancing", "parallel_jobs", 10 ** 30),
    ("balancing", "margin", "nan"),
    ("balancing", "margin", 101),
])
def test_numbers_must_be_finite_and_in_range(section, key, value):
    with pytest.raises(ConfigError) as info:
        config.resolve(params(**{section: {key: value}}), environ={})
    assert one_line(info).startswith("%s.%s" % (section, key))


@pytest.mark.parametrize("text, where", [
    ("balancing:\n  margin: .nan\n", "balancing.margin"),
    ("balancing:\n  memory_threshold: .inf\n", "balancing.memory_threshold"),
    ("balancing:\n  cpu_overcommit: -.inf\n", "balancing.cpu_overcommit"),
    ("proxmox_api:\n  hosts: [pve1]\n  timeout: 1e12\n", "proxmox_api.timeout"),
    ("proxmox_api:\n  hosts: [pve1]\n  timeout: 86401\n", "proxmox_api.timeout"),
])
def test_numbers_in_a_proxlb_file(tmp_path, text, where):
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as info:
        config.resolve(params(config_file=path), environ={})
    message = one_line(info)
    assert path in message and where in message


@pytest.mark.parametrize("key, value", [
    ("poll_interval", 0), ("poll_interval", -1), ("poll_interval", 0.4), ("poll_interval", float("nan")),
    ("restart_timeout", 10 ** 12), ("reboot_timeout", 86401), ("api_timeout", 10 ** 12),
    ("cooldown", float("inf")), ("memory", 0), ("disk", float("nan")),
])
def test_module_numbers_are_checked_before_anything_else(key, value):
    with pytest.raises(ConfigError) as info:
        config.resolve(params(**{key: value}), environ={})
    assert one_line(info).startswith(key + ":")


def test_module_numbers_in_range_pass():
    config.resolve(params(poll_interval=0.5, restart_timeout=86400, reboot_timeout=600, api_timeout=86400,
                          cooldown="30m"), environ={})


def test_a_config_file_that_is_not_utf8_is_one_line(tmp_path):
    path = tmp_path / "proxlb.yaml"
    path.write_bytes(b"balancing:\n  method: m\xe9moire\n")
    with pytest.raises(ConfigError) as info:
        config.resolve(params(config_file=str(path)), environ={})
    assert one_line(info) == "config_file %s: not UTF-8 text (byte 23); save it as UTF-8" % path


def test_a_yaml_alias_bomb_is_one_short_line(tmp_path):
    lines = ['a0: &a0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for i in range(1, 10):
        lines.append("a%d: &a%d [%s]" % (i, i, ",".join(["*a%d" % (i - 1)] * 9)))
    lines.append("balancing:\n  balanciness: *a9")
    path = write(tmp_path, "\n".join(lines) + "\n")
    with pytest.raises(ConfigError) as info:
        config.resolve(params(config_file=path), environ={})
    assert one_line(info, limit=200) == (
        "config_file %s: more than 100000 values once its YAML aliases are expanded; refused" % path)


def test_too_many_aliases_and_a_self_reference_are_one_line(tmp_path):
    path = write(tmp_path, "a: &a 1\nb: [%s]\n" % ",".join(["*a"] * 101))
    with pytest.raises(ConfigError) as info:
        config.resolve(params(config_file=path), environ={})
    assert one_line(info) == "config_file %s: more than 100 YAML aliases (*name); refused" % path
    path = write(tmp_path, "balancing: &b\n  exclude_names: *b\n")
    with pytest.raises(ConfigError) as info:
        config.resolve(params(config_file=path), environ={})
    assert one_line(info) == "config_file %s: a YAML alias refers to a node that contains it; refused" % path


def test_a_few_aliases_still_work_and_a_long_value_is_cut_in_the_message(tmp_path):
    path = write(tmp_path, "x: &n [%s]\nbalancing:\n  balanciness: *n\n" % ",".join(["1"] * 5000))
    with pytest.raises(ConfigError) as info:
        config.resolve(params(config_file=path), environ={})
    assert one_line(info, limit=200).startswith("config_file %s: balancing.balanciness: expected an integer" % path)


def test_a_huge_config_file_is_refused(tmp_path):
    path = write(tmp_path, "# " + "x" * (config.MAX_FILE_BYTES + 10) + "\n")
    with pytest.raises(ConfigError) as info:
        config.resolve(params(config_file=path), environ={})
    assert "larger than" in one_line(info)


@pytest.mark.parametrize("given, environ, where", [
    ({"validate_certs": False}, {}, "option validate_certs"),
    ({}, {"PROXMOX_VALIDATE_CERTS": "false"}, "environment PROXMOX_VALIDATE_CERTS"),
    ("file", {}, "(proxmox_api.ssl_verification)"),
])
def test_certificate_verification_off_is_a_warning_naming_where(tmp_path, given, environ, where):
    if given == "file":
        path = write(tmp_path, "proxmox_api:\n  hosts: [pve1]\n  ssl_verification: 0\n")
        given = {"config_file": path}
        where = "config_file %s %s" % (path, where)
    _connection, _options, warnings = config.resolve(params(**given), environ=environ)
    tls = [w for w in warnings if "certificate verification" in w]
    assert len(tls) == 1 and "(%s)" % where in tls[0] or where in tls[0], warnings


def test_no_tls_warning_when_verification_is_on():
    _c, _o, warnings = config.resolve(params(), environ={"PROXMOX_VALIDATE_CERTS": "true"})
    assert not [w for w in warnings if "certificate" in w]
