# -*- coding: utf-8 -*-
# Copyright: (c) 2026, proxlb.balancer contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The ``main()`` every module shares when it runs as a plain module (the action plugins are the usual path).

Engine errors become one ``fail_json`` line, never a traceback; a missing proxmoxer is reported the way
Ansible reports missing libraries, only where a connection is needed.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible.module_utils.basic import AnsibleModule, _load_params, missing_required_lib

from ansible_collections.proxlb.balancer.plugins.module_utils.connect.client import HAS_PROXMOXER, PROXMOXER_IMPORT_ERROR
from ansible_collections.proxlb.balancer.plugins.module_utils.common.errors import ProxLBError
from ansible_collections.proxlb.balancer.plugins.module_utils.entry.argspec import given_only


def uses_snapshot(params):
    """Modules that plan from a given snapshot need no connection (and no proxmoxer)."""
    return bool(params.get("snapshot") or params.get("snapshot_file"))


def run_module(argument_spec, engine, spec_kwargs=None, offline=None):
    """Run ``engine(module) -> result`` in an AnsibleModule; ``offline(params)`` says no API is needed."""
    module = AnsibleModule(argument_spec=argument_spec, supports_check_mode=True, **(spec_kwargs or {}))
    # the arguments as given (AnsibleModule keeps them): connection defaults stay out of config.resolve's precedence
    module.params.update(given_only(module.params, _load_params()))
    needs_api = not (offline and offline(module.params))
    if needs_api and not HAS_PROXMOXER:
        module.fail_json(msg=missing_required_lib("proxmoxer"), exception=str(PROXMOXER_IMPORT_ERROR))
    try:
        result = engine(module)
    except ProxLBError as exc:
        module.fail_json(msg=str(exc))
    if result.get("failed"):
        module.fail_json(**dict((k, v) for k, v in result.items() if k != "failed"))
    module.exit_json(**result)
