# -*- coding: utf-8 -*-
# Copyright: (c) 2026, proxlb.balancer contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The options every module shares (documented once in the doc fragment proxlb.balancer.proxlb).

Connection options carry their true defaults (8006, true, ...), here and in the documentation alike, while
``config.resolve`` applies the precedence task option > config_file > environment > default: the action
plugins and ``main()`` hand it only the connection options the task gave (``given_only``), so a default
never hides a config_file or PROXMOX_* value.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.proxlb.balancer.plugins.module_utils.common.config import CONNECTION_DEFAULTS

CONNECTION_SPEC = dict(
    api_host=dict(type="list", elements="str"),
    api_port=dict(type="int", default=CONNECTION_DEFAULTS["api_port"]),
    api_user=dict(type="str"),
    api_password=dict(type="str", no_log=True),
    api_token_id=dict(type="str", no_log=False),
    api_token_secret=dict(type="str", no_log=True),
    validate_certs=dict(type="bool", default=CONNECTION_DEFAULTS["validate_certs"]),
    ca_path=dict(type="path"),
    api_timeout=dict(type="int", default=CONNECTION_DEFAULTS["api_timeout"]),
    api_retries=dict(type="int", default=CONNECTION_DEFAULTS["api_retries"]),
    api_wait_time=dict(type="int", default=CONNECTION_DEFAULTS["api_wait_time"]),
)

BEHAVIOUR_SPEC = dict(
    config_file=dict(type="path"),
    proxmox_cluster=dict(type="dict"),
    balancing=dict(type="dict"),
    service=dict(type="dict"),
)

# Plan knobs beside the behaviour sections, for every module that plans (plan, migrate, maintenance).
PLAN_SPEC = dict(
    level=dict(type="int", choices=[1, 2, 3, 4, 5]),
    window=dict(type="raw"),
    cooldown=dict(type="raw"),
    ha_guests=dict(type="str", choices=["skip", "include"], default="skip"),
    psi_max_moves=dict(type="int", default=1),
)

# A saved snapshot instead of the live cluster (doc fragment proxlb.balancer.proxlb.snapshot_input).
SNAPSHOT_SPEC = dict(
    snapshot=dict(type="dict"),
    snapshot_file=dict(type="path"),
)
SNAPSHOT_EXCLUSIVE = {"mutually_exclusive": [("snapshot", "snapshot_file")]}


def given_only(params, given):
    """``params`` with the connection options the task did not give (``given``: the names it gave) set to None,
    so ``config.resolve`` can tell a default from a choice."""
    out = dict(params)
    for key in CONNECTION_SPEC:
        if key not in given:
            out[key] = None
    return out


def common_argument_spec(**extra):
    """Connection and behaviour options plus a module's own."""
    spec = dict(CONNECTION_SPEC)
    spec.update(BEHAVIOUR_SPEC)
    spec.update(extra)
    return spec
