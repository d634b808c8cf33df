# -*- coding: utf-8 -*-
# Copyright: (c) 2026, proxlb.balancer contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Behaviour options and where they come from: ProxLB's sections and keys with their defaults, this
collection's additions, a ProxLB ``proxlb.yaml`` as ``config_file``, and the environment.

``behaviour(options)`` fills every key, so the planner, the rules and the executor index keys directly.
``validate_behaviour(options)`` also checks types and values (errors name the key path) and warns about
unknown keys instead of failing, so a ProxLB 2.x file or a typo never stops a run.
``resolve(params, environ)`` applies the precedence task option > config_file > environment > default.
The shapes are documented in docs/engine.md, the ProxLB keys in docs/proxlb-migration.md.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import copy
import difflib
import json
import math
import os

from ansible_collections.proxlb.balancer.plugins.module_utils.common import documents, levels
from ansible_collections.proxlb.balancer.plugins.module_utils.common import windows
from ansible_collections.proxlb.balancer.plugins.module_utils.common.errors import ConfigError

try:
    import yaml
    HAS_YAML = True
except ImportError:  # reported when a config_file is actually given
    HAS_YAML = False

# ProxLB 1.1 keys and defaults (its documentation), then ours (marked).
DEFAULTS = {
    "proxmox_cluster": {
        "maintenance_nodes": [],
        "ignore_nodes": [],
        "overprovisioning": False,
    },
    "balancing": {
        "enable": True,
        "enforce_affinity": False,
        "enforce_pinning": False,
        "parallel": False,
        "parallel_jobs": 5,
        "live": True,
        "with_local_disks": True,
        "with_conntrack_state": True,
        "balance_types": ["vm", "ct"],
        "max_job_validation": 1800,
        "memory_threshold": None,
        "cpu_threshold": None,      # ProxLB 2.x: balance only when a node's cpu percent reaches it
        "disk_threshold": None,     # ProxLB 2.x: the same for node-local disk
        "balanciness": 10,
        "method": "memory",
        "mode": "used",
        "balance_larger_guests_first": False,
        "node_resource_reserve": {},
        "psi": {},
        "pools": {},
        # ours
        "weights": None,            # e.g. {"memory": 0.6, "cpu": 0.4}; None = {method: 1}
        "cpu_overcommit": None,     # CPU becomes a hard limit of ratio x cores when set
        "margin": 1.0,              # percentage points a move must gain at least
        "max_migrations": None,     # move budget per plan; None = unlimited
        "exclude_vmids": [],
        "exclude_names": [],
        "include_vmids": [],
        "running_ct": "restart",    # restart | skip
        "per_node_jobs": 2,
        "windows": [],              # "DAYS HH:MM-HH:MM" when moves may run (docs/operations.md)
        "blackouts": [],            # "DAYS HH:MM-HH:MM" when they never run; a blackout wins
        "timezone": None,           # IANA name for both; None = the controller's zone
    },
    "service": {
        "daemon": True,
        "schedule": {"interval": 12, "format": "hours"},
        "delay": {"enable": False, "time": 1, "format": "hours"},
        "log_level": "INFO",
    },
}

SECTIONS = tuple(DEFAULTS)
MODES = ("balance", "enforce", "evacuate")

# Maps whose keys are the user's names (pools, nodes): merged as a whole, never key by key.
_OPEN_MAPS = ("node_resource_reserve", "pools", "psi")


def _merge(defaults, given):
    out = copy.deepcopy(defaults)
    for key, value in (given or {}).items():
        if isinstance(out.get(key), dict) and isinstance(value, dict) and key not in _OPEN_MAPS:
            out[key] = _merge(out[key], value)
        elif value is not None or key not in out:
            out[key] = copy.deepcopy(value)
    return out


def behaviour(options=None):
    """Return ``options`` with every behaviour section and key present (defaults where not given)."""
    options = dict(options or {})
    for section in SECTIONS:
        options[section] = _merge(DEFAULTS[section], options.get(section))
    options.setdefault("mode", "balance")
    options.setdefault("evacuate_nodes", [])
    return options


# --- value checks: each returns the normalised value or raises ConfigError naming the path ---------------

_TRUE = ("true", "yes", "on", "1")
_FALSE = ("false", "no", "off", "0")


# a bounded repr (time and length): a YAML alias bomb or a pasted document never becomes a megabyte of message
short_repr = documents.shown


def _fail(path, expected, value):
    raise ConfigError("%s: expected %s, got %s" % (path, expected, short_repr(value)))


def _bool(value, path):
    # ProxLB documents 1/0 for ssl_verification; Ansible templating may hand over strings
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    if isinstance(value, str) and value.strip().lower() in _TRUE + _FALSE:
        return value.strip().lower() in _TRUE
    _fail(path, "a boolean", value)


def _int(minimum=None, maximum=None):
    def check(value, path):
        if isinstance(value, bool):
            _fail(path, "an integer", value)
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        if isinstance(value, str) and value.strip().lstrip("-").isdigit() and len(value.strip()) <= 30:
            value = int(value.strip())
        if not isinstance(value, int):
            _fail(path, "an integer", value)
        _bounds(value, path, minimum, maximum)
        return value
    return check


def _number(minimum=None, maximum=None):
    def check(value, path):
        if isinstance(value, str):
            try:
                value = float(value.strip())
            except ValueError:
                _fail(path, "a number", value)
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            _fail(path, "a number", value)
        try:
            finite = math.isfinite(value)
        except OverflowError:  # an int too large for a float
            finite = False
        if not finite:
            _fail(path, "a finite number", value)
        _bounds(value, path, minimum, maximum)
        return value
    return check


def _bounds(value, path, minimum, maximum):
    if minimum is not None and value < minimum:
        raise ConfigError("%s: must be at least %s, got %s" % (path, minimum, short_repr(value)))
    if maximum is not None and value > maximum:
        raise ConfigError("%s: must be at most %s, got %s" % (path, maximum, short_repr(value)))


def _optional(check):
    def wrapped(value, path):
        return None if value is None else check(value, path)
    return wrapped


def _choice(*choices, **kwargs):
    aliases = kwargs.get("aliases", {})
    fold = kwargs.get("fold", str.lower)

    def check(value, path):
        if isinstance(value, str):
            key = fold(value.strip())
            key = aliases.get(key, key)
            if key in choices:
                return key
        raise ConfigError("%s: expected one of %s, got %s" % (path, ", ".join(choices), short_repr(value)))
    return check


def _str(value, path):
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return str(value)  # numeric node names parse as numbers in YAML
    if not isinstance(value, str) or not value.strip():
        _fail(path, "a non-empty string", value)
    return value.strip()


def _list(element):
    def check(value, path):
        if value is None:
            return []
        if isinstance(value, (str, int)) and not isinstance(value, bool):
            # a single name or a comma-separated string, as ProxLB 0.9's ini and PROXMOX_HOST allow
            value = [v for v in str(value).split(",") if v.strip()]
        if not isinstance(value, (list, tuple)):
            _fail(path, "a list", value)
        out = []
        for i, item in enumerate(value):
            item = element(item, "%s[%d]" % (path, i))
            if item not in out:
                out.append(item)
        return out
    return check


_GUEST_TYPE = _choice("vm", "ct", aliases={"qemu": "vm", "lxc": "ct"})
# the ranges every number is checked against (docs/security.md): finite, and no timeout above one day
DAY = 86400
MAX_GIB = 1024 * 1024          # a reserve of more than a PiB is a typo
MAX_VMID = 999999999           # PVE's upper limit
MAX_JOBS = 1000
_TIME_FORMAT = _choice("hours", "minutes", aliases={"hour": "hours", "minute": "minutes"})
_RESOURCES = ("memory", "cpu", "disk")


def _reserve(value, path):
    """node_resource_reserve: {defaults: {memory: GiB, ...}, <node>: {...}}; ProxLB's table says ``default``."""
    if not isinstance(value, dict):
        _fail(path, "a mapping of 'defaults' or node names to {memory: GiB}", value)
    out = {}
    for node, amounts in value.items():
        node = "defaults" if node in ("default", "defaults") else _str(node, path + " key")
        npath = "%s.%s" % (path, node)
        if not isinstance(amounts, dict):
            _fail(npath, "a mapping like {memory: 4}", amounts)
        entry = {}
        for resource, amount in amounts.items():
            if resource not in _RESOURCES:
                raise ConfigError("%s.%s: unknown resource (known: %s)" % (npath, resource, ", ".join(_RESOURCES)))
            entry[resource] = _number(minimum=0, maximum=MAX_GIB)(amount, "%s.%s" % (npath, resource))
        out[node] = entry
    return out


_PSI_KEYS = ("pressure_full", "pressure_some", "pressure_spikes")


def _psi(value, path):
    if not isinstance(value, dict):
        _fail(path, "a mapping with 'nodes' and/or 'guests'", value)
    out = {}
    for scope, resources in value.items():
        spath = "%s.%s" % (path, scope)
        if scope not in ("nodes", "guests"):
            raise ConfigError("%s: unknown key (known: nodes, guests)" % spath)
        if not isinstance(resources, dict):
            _fail(spath, "a mapping of memory/cpu/disk thresholds", resources)
        out[scope] = {}
        for resource, limits in resources.items():
            rpath = "%s.%s" % (spath, resource)
            if resource not in _RESOURCES:
                raise ConfigError("%s: unknown resource (known: %s)" % (rpath, ", ".join(_RESOURCES)))
            if not isinstance(limits, dict):
                _fail(rpath, "a mapping of %s" % ", ".join(_PSI_KEYS), limits)
            out[scope][resource] = {}
            for key, limit in limits.items():
                if key not in _PSI_KEYS:
                    raise ConfigError("%s.%s: unknown key (known: %s)" % (rpath, key, ", ".join(_PSI_KEYS)))
                out[scope][resource][key] = _number(minimum=0, maximum=100)(limit, "%s.%s" % (rpath, key))
    return out


_POOL_TYPE = _choice("affinity", "anti-affinity", aliases={"anti_affinity": "anti-affinity",
                                                           "antiaffinity": "anti-affinity"})


def _pools(value, path):
    """balancing.pools: {<pool>: {type: affinity|anti-affinity, pin: [nodes], strict: bool}}."""
    if not isinstance(value, dict):
        _fail(path, "a mapping of pool names to {type, pin, strict}", value)
    out = {}
    for pool, spec in value.items():
        ppath = "%s.%s" % (path, pool)
        if not isinstance(spec, dict):
            _fail(ppath, "a mapping like {type: affinity}", spec)
        entry = {"type": None, "pin": [], "strict": True}
        for key, item in spec.items():
            if item is None:
                continue
            if key == "type":
                entry["type"] = _POOL_TYPE(item, ppath + ".type")
            elif key == "pin":
                entry["pin"] = _list(_str)(item, ppath + ".pin")
            elif key == "strict":
                entry["strict"] = _bool(item, ppath + ".strict")
            else:
                raise ConfigError("%s.%s: unknown key (known: type, pin, strict)" % (ppath, key))
        if entry["type"] is None and not entry["pin"]:
            raise ConfigError("%s: give 'type' (affinity or anti-affinity) and/or 'pin'" % ppath)
        out[str(pool)] = entry
    return out


def _weights(value, path):
    if not isinstance(value, dict) or not value:
        _fail(path, "a mapping like {memory: 0.6, cpu: 0.4}", value)
    out = {}
    for resource, weight in value.items():
        if resource not in _RESOURCES:
            raise ConfigError("%s.%s: unknown resource (known: %s)" % (path, resource, ", ".join(_RESOURCES)))
        out[resource] = _number(minimum=0, maximum=1000)(weight, "%s.%s" % (path, resource))
    if not sum(out.values()) > 0:
        raise ConfigError("%s: at least one weight must be above 0" % path)
    return out


def _schedule(value, path):
    # ProxLB 1.1.0 wrote ``schedule: 12`` (hours); later versions a block
    if not isinstance(value, dict):
        value = {"interval": value}
    return _block(value, path, {"interval": _int(minimum=1, maximum=100000), "format": _TIME_FORMAT})


def _delay(value, path):
    return _block(value, path, {"enable": _bool, "time": _int(minimum=0, maximum=100000), "format": _TIME_FORMAT})


def _block(value, path, spec):
    if not isinstance(value, dict):
        _fail(path, "a mapping", value)
    out = {}
    for key, item in value.items():
        if key in spec:
            out[key] = spec[key](item, "%s.%s" % (path, key))
        else:
            raise ConfigError("%s.%s: unknown key (known: %s)" % (path, key, ", ".join(sorted(spec))))
    return out


_SPEC = {
    "proxmox_cluster": {
        "maintenance_nodes": _list(_str),
        "ignore_nodes": _list(_str),
        "overprovisioning": _bool,
    },
    "balancing": {
        "enable": _bool,
        "enforce_affinity": _bool,
        "enforce_pinning": _bool,
        "parallel": _bool,
        "parallel_jobs": _int(minimum=1, maximum=MAX_JOBS),
        "live": _bool,
        "with_local_disks": _bool,
        "with_conntrack_state": _bool,
        "balance_types": _list(_GUEST_TYPE),
        "max_job_validation": _int(minimum=1, maximum=DAY),
        "memory_threshold": _optional(_number(minimum=0, maximum=100)),
        "cpu_threshold": _optional(_number(minimum=0, maximum=100)),
        "disk_threshold": _optional(_number(minimum=0, maximum=100)),
        "balanciness": _int(minimum=0, maximum=100),
        "method": _choice("memory", "cpu", "disk"),
        "mode": _choice("used", "assigned", "psi"),
        "balance_larger_guests_first": _bool,
        "node_resource_reserve": _reserve,
        "psi": _psi,
        "pools": _pools,
        "weights": _optional(_weights),
        "cpu_overcommit": _optional(_number(minimum=0.1, maximum=100)),
        "margin": _number(minimum=0, maximum=100),
        "max_migrations": _optional(_int(minimum=0, maximum=100000)),
        "exclude_vmids": _list(_int(minimum=1, maximum=MAX_VMID)),
        "exclude_names": _list(_str),
        "include_vmids": _list(_int(minimum=1, maximum=MAX_VMID)),
        "running_ct": _choice("restart", "skip"),
        "per_node_jobs": _int(minimum=1, maximum=MAX_JOBS),
        "windows": windows.check_entries,
        "blackouts": windows.check_entries,
        "timezone": _optional(windows.check_timezone),
    },
    "service": {
        "daemon": _bool,
        "schedule": _schedule,
        "delay": _delay,
        "log_level": _choice("INFO", "WARNING", "CRITICAL", "DEBUG", "ERROR", fold=str.upper),
    },
}

# Old ProxLB spellings: (section, old key) -> new key
_RENAMED = {("balancing", "force"): "enforce_affinity"}


def _unknown(path, key, known):
    key = "".join(c if c.isprintable() else "?" for c in str(key)[:60])
    close = difflib.get_close_matches(key, list(known), n=1, cutoff=0.75)
    hint = " (did you mean '%s'?)" % close[0] if close else ""
    return "%s.%s: unknown key, ignored%s" % (path, key, hint) if path else "%s: unknown key, ignored%s" % (key, hint)


def validate_section(section, values, prefix=""):
    """Check one behaviour section; returns (normalised values given, warnings). Defaults are not added."""
    path = prefix + section
    if values is None:
        return {}, []
    if not isinstance(values, dict):
        _fail(path, "a mapping", values)
    spec = _SPEC[section]
    out, warnings = {}, []
    for key, value in values.items():
        new = _RENAMED.get((section, key))
        if new:
            warnings.append("%s.%s: old ProxLB name, read as %s.%s" % (path, key, section, new))
            if new in values:
                continue
            key = new
        if key not in spec:
            warnings.append(_unknown(path, key, spec))
            continue
        if value is None and DEFAULTS[section][key] is not None:
            continue  # a YAML key left empty means "default", as in ProxLB
        out[key] = spec[key](value, "%s.%s" % (path, key))
    return out, warnings


def validate_behaviour(options):
    """Validate and fill behaviour options; returns (options, warnings).

    Raises ConfigError naming the key path for a wrong type or value; unknown keys only warn. Top-level
    keys other than the sections, ``mode`` and ``evacuate_nodes`` belong to the caller and pass through."""
    if options is None:
        options = {}
    if not isinstance(options, dict):
        _fail("options", "a mapping", options)
    options = dict(options)
    warnings = []
    for section in SECTIONS:
        options[section], notes = validate_section(section, options.get(section))
        warnings.extend(notes)
    if options.get("mode") is not None:
        options["mode"] = _choice(*MODES)(options["mode"], "mode")
    else:
        options.pop("mode", None)
    if options.get("evacuate_nodes") is not None:
        options["evacuate_nodes"] = _list(_str)(options["evacuate_nodes"], "evacuate_nodes")
    else:
        options.pop("evacuate_nodes", None)
    return behaviour(options), warnings


# --- connection options and the ProxLB file ----------------------------------------------------------------

CONNECTION_DEFAULTS = {
    "api_host": None,
    "api_port": 8006,
    "api_user": None,
    "api_password": None,
    "api_token_id": None,
    "api_token_secret": None,
    "validate_certs": True,
    "ca_path": None,
    "api_timeout": 10,
    "api_retries": 1,
    "api_wait_time": 1,
}
SECRET_KEYS = ("api_password", "api_token_secret")

# ProxLB proxmox_api key -> our option
PROXLB_API_KEYS = {
    "hosts": "api_host",
    "user": "api_user",
    "pass": "api_password",
    "token_id": "api_token_id",
    "token_secret": "api_token_secret",
    "ssl_verification": "validate_certs",
    "timeout": "api_timeout",
    "retries": "api_retries",
    "wait_time": "api_wait_time",
}

ENVIRONMENT = {
    "api_host": "PROXMOX_HOST",
    "api_port": "PROXMOX_PORT",
    "api_user": "PROXMOX_USER",
    "api_password": "PROXMOX_PASSWORD",
    "api_token_id": "PROXMOX_TOKEN_ID",
    "api_token_secret": "PROXMOX_TOKEN_SECRET",
    "validate_certs": "PROXMOX_VALIDATE_CERTS",
    "ca_path": "PROXMOX_CA_PATH",
}

_CONNECTION_CHECKS = {
    "api_host": _list(_str),
    "api_port": _int(minimum=1, maximum=65535),
    "api_user": _str,
    "api_password": lambda value, path: str(value),
    "api_token_id": _str,
    "api_token_secret": lambda value, path: str(value),
    "validate_certs": _bool,
    "ca_path": _str,
    "api_timeout": _int(minimum=1, maximum=DAY),
    "api_retries": _int(minimum=1, maximum=100),
    "api_wait_time": _int(minimum=0, maximum=3600),
}


def _check_connection(key, value, path):
    if key in SECRET_KEYS:
        if not isinstance(value, (str, int)) or isinstance(value, bool) or value == "":
            # never echo a secret, not even a malformed one
            raise ConfigError("%s: expected a non-empty string" % path)
        return str(value)
    return _CONNECTION_CHECKS[key](value, path)


# A ProxLB file is a few kilobytes; these limits keep a wrong or hostile file to one short error line.
MAX_FILE_BYTES = 1024 * 1024
MAX_YAML_ALIASES = 100
MAX_YAML_VALUES = 100000  # values once aliases are expanded: what the validation walks


def read_text(path, what, limit=MAX_FILE_BYTES, error=ConfigError):
    """A file's text read as UTF-8, at most ``limit`` bytes; errors are one line naming the file."""
    try:
        with open(path, "rb") as handle:
            data = handle.read(limit + 1)
    except (IOError, OSError) as exc:
        raise error("%s %s: cannot read it (%s)" % (what, path, exc.strerror or exc))
    if len(data) > limit:
        raise error("%s %s: larger than %d bytes; is it the right file?" % (what, path, limit))
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise error("%s %s: not UTF-8 text (byte %d); save it as UTF-8" % (what, path, exc.start + 1))


MAX_DOCUMENT_BYTES = 256 * 1024 * 1024  # a plan or results file of ten thousand moves is a few megabytes


def read_json(path, what, limit=MAX_DOCUMENT_BYTES, error=ConfigError):
    """A JSON document from a file (a plan_file, a results_file): UTF-8, size-limited, one line on error."""
    text = read_text(path, what, limit, error)
    try:
        return json.loads(text)
    except ValueError as exc:
        raise error("%s %s: not valid JSON (%s)" % (what, path, str(exc)[:120]))
    except RecursionError:
        raise error("%s %s: nested too deeply" % (what, path))


if HAS_YAML:
    class _LimitedLoader(yaml.SafeLoader):
        """SafeLoader that refuses more than MAX_YAML_ALIASES aliases (a 'billion laughs' document)."""

        def compose_node(self, parent, index):
            if self.check_event(yaml.AliasEvent):
                self._alias_count = getattr(self, "_alias_count", 0) + 1
                if self._alias_count > MAX_YAML_ALIASES:
                    raise ConfigError("more than %d YAML aliases (*name)" % MAX_YAML_ALIASES)
            return super(_LimitedLoader, self).compose_node(parent, index)


def _expanded_size(value, sizes, limit):
    """How many values ``value`` holds once its aliases are expanded (each shared node counted once per use)."""
    if not isinstance(value, (dict, list)):
        return 1
    key = id(value)
    if key in sizes:
        if sizes[key] is None:
            raise ConfigError("a YAML alias refers to a node that contains it")
        return sizes[key]
    sizes[key] = None
    children = list(value.keys()) + list(value.values()) if isinstance(value, dict) else value
    total = 1
    for child in children:
        total += _expanded_size(child, sizes, limit)
        if total > limit:
            raise ConfigError("more than %d values once its YAML aliases are expanded" % limit)
    sizes[key] = total
    return total


def load_yaml(text):
    """YAML text with the alias and size limits (safe types only); raises ConfigError or yaml.YAMLError."""
    loader = _LimitedLoader(text)
    try:
        document = loader.get_single_data()
    finally:
        loader.dispose()
    _expanded_size(document, {}, MAX_YAML_VALUES)
    return document


def read_proxlb_file(path):
    """Parse a ProxLB YAML file; returns its top-level mapping. Errors name the file."""
    if not HAS_YAML:
        raise ConfigError("config_file %s: the Python library PyYAML is required on the controller to read it"
                          % path)
    text = read_text(path, "config_file")
    try:
        document = load_yaml(text)
    except ConfigError as exc:
        raise ConfigError("config_file %s: %s; refused" % (path, exc))
    except RecursionError:
        raise ConfigError("config_file %s: nested too deeply" % path)
    except yaml.YAMLError as exc:
        # the context mark points at the line that is wrong (e.g. a key without ':'), the problem mark after it
        mark = getattr(exc, "context_mark", None) or getattr(exc, "problem_mark", None)
        where = " at line %d, column %d" % (mark.line + 1, mark.column + 1) if mark else ""
        problem = getattr(exc, "problem", None) or "invalid YAML"
        raise ConfigError("config_file %s: not valid YAML%s: %s" % (path, where, str(problem)[:120]))
    if document is None:
        return {}
    if not isinstance(document, dict):
        raise ConfigError("config_file %s: expected a mapping of sections (proxmox_api, balancing, ...), got %s"
                          % (path, type(document).__name__))
    return document


def _file_sections(path, document):
    """Split a ProxLB document into (connection options, behaviour sections, warnings)."""
    prefix = "config_file %s: " % path
    connection, behaviour_sections, warnings = {}, {}, []
    for section, values in document.items():
        if section == "proxmox_api":
            if values is None:
                continue
            if not isinstance(values, dict):
                raise ConfigError("%sproxmox_api: expected a mapping, got %r" % (prefix, type(values).__name__))
            for key, value in values.items():
                if key not in PROXLB_API_KEYS:
                    warnings.append(prefix + _unknown("proxmox_api", key, PROXLB_API_KEYS))
                elif value is not None:
                    option = PROXLB_API_KEYS[key]
                    connection[option] = _check_connection(option, value, prefix + "proxmox_api." + key)
        elif section in SECTIONS:
            behaviour_sections[section], notes = validate_section(section, values, prefix)
            warnings.extend(notes)
        else:
            warnings.append(prefix + _unknown("", section, ("proxmox_api",) + SECTIONS))
    return connection, behaviour_sections, warnings


def _environment(environ):
    connection = {}
    for key, name in ENVIRONMENT.items():
        value = environ.get(name)
        if value is not None and value != "":
            connection[key] = _check_connection(key, value, "environment %s" % name)
    return connection


def resolve(params, environ=None):
    """Return (connection, behaviour, warnings) from a module's params.

    Precedence: task option > config_file > environment > default, per connection option; the file's
    behaviour sections merge under the task's, key by key (a task key replaces the file's whole value)."""
    params = params or {}
    environ = os.environ if environ is None else environ
    warnings = []
    file_connection, file_behaviour = {}, {}
    config_file = params.get("config_file")
    if config_file:
        document = read_proxlb_file(config_file)
        file_connection, file_behaviour, notes = _file_sections(config_file, document)
        warnings.extend(notes)
    env_connection = _environment(environ)

    connection, origin = {}, {}
    for key, default in CONNECTION_DEFAULTS.items():
        value = params.get(key)
        if value is not None:
            connection[key] = _check_connection(key, value, key)
            origin[key] = "option %s" % key
        elif key in file_connection:
            connection[key] = file_connection[key]
            origin[key] = "config_file %s (proxmox_api.%s)" % (
                config_file, dict((v, k) for k, v in PROXLB_API_KEYS.items()).get(key, key))
        elif key in env_connection:
            connection[key] = env_connection[key]
            origin[key] = "environment %s" % ENVIRONMENT[key]
        else:
            connection[key] = copy.deepcopy(default)
    if connection["validate_certs"] is False:
        warnings.append(tls_warning(origin["validate_certs"]))
    check_run_options(params)

    merged = {}
    for section in SECTIONS:
        task_values, notes = validate_section(section, params.get(section))
        warnings.extend(notes)
        merged[section] = dict(file_behaviour.get(section) or {})
        merged[section].update(task_values)
    # a DRS-like level sets balanciness, margin and budget beneath what the user gave explicitly
    merged["balancing"] = levels.apply_level(merged["balancing"], params.get("level"))
    options, notes = validate_behaviour(merged)
    warnings.extend(notes)
    return connection, options, warnings


def tls_warning(origin):
    """The warning every run with certificate verification off gives, naming where it was turned off."""
    return ("TLS certificate verification of the Proxmox VE API is off (%s): anyone on the network path "
            "can read the credentials; give ca_path with the cluster's CA instead" % origin)


def _window(value, path):
    """The shape of ``window`` (facts/history.py checks the names when it reads the history)."""
    if value is None or value is False or (isinstance(value, str) and len(value) <= 20):
        return value
    if isinstance(value, dict) and set(value) <= set(("timeframe", "cf")) and \
            all(isinstance(v, str) and len(v) <= 20 for v in value.values()):
        return value
    _fail(path, "a timeframe (hour, day, week, month, year) or {timeframe, cf}", value)


def _node_names(value, path):
    """A list of node names (Ansible's list type has already split a comma-separated string)."""
    if isinstance(value, (list, tuple)) and all(isinstance(v, str) and v.strip() and len(v) <= 253 for v in value):
        return value
    _fail(path, "a list of node names", value)


# Module options beside the behaviour sections, checked before any API call (docs/security.md).
RUN_OPTIONS = {
    "poll_interval": _number(minimum=0.5, maximum=3600),
    "restart_timeout": _int(minimum=1, maximum=DAY),
    "reboot_timeout": _int(minimum=1, maximum=DAY),
    "psi_max_moves": _int(minimum=0, maximum=100000),
    "cores": _int(minimum=1, maximum=4096),
    "sockets": _int(minimum=1, maximum=64),
    "memory": _int(minimum=1, maximum=MAX_GIB * 1024),
    "disk": _number(minimum=0, maximum=MAX_GIB),
    "cooldown": _optional(_number(minimum=0, maximum=365 * DAY)),
    "plan_ttl": _int(minimum=0, maximum=365 * DAY),
    "lock_timeout": _number(minimum=0, maximum=DAY),
    "window": _window,
    "evacuate_nodes": _node_names,
    "mode": _choice(*MODES),
}


def check_run_options(params):
    """Check the numeric module options in ``params`` (one ConfigError line naming the option)."""
    for key, check in RUN_OPTIONS.items():
        value = params.get(key)
        if value is None or (key == "cooldown" and (value is False or isinstance(value, (str, dict)))):
            continue  # a cooldown like '30m' or {adaptive: true} is parsed by facts/cooldown.py
        check(value, key)


def secret_values(connection):
    """The secrets a run holds (for no_log masking), wherever they came from."""
    return [connection[k] for k in SECRET_KEYS if connection.get(k)]
