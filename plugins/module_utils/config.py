# -*- coding: utf-8 -*-
# Copyright: (c) 2026, proxlb.balancer contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Behaviour options: ProxLB's sections and keys with their defaults, plus this collection's additions.

``behaviour(options)`` returns the options with every key filled, so the planner, the rules and the executor
index keys directly. The shape is documented in docs/engine.md.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import copy

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
    },
    "service": {
        "daemon": True,
        "schedule": {"interval": 12, "format": "hours"},
        "delay": {"enable": False, "time": 1, "format": "hours"},
        "log_level": "INFO",
    },
}

SECTIONS = tuple(DEFAULTS)


def _merge(defaults, given):
    out = copy.deepcopy(defaults)
    for key, value in (given or {}).items():
        if isinstance(out.get(key), dict) and isinstance(value, dict) and key not in ("node_resource_reserve", "pools", "psi"):
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
