# -*- coding: utf-8 -*-
# Copyright: (c) 2026, proxlb.balancer contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
name: best_node
short_description: The Proxmox VE node a new guest should be created on
version_added: 0.1.0
author:
  - proxlb.balancer maintainers (@proxlb)
description:
  - Returns the name of the best node for a new VM or container, the same node as
    M(proxlb.balancer.proxlb_best_node) returns as C(node) (the same engine, the same ranking).
  - Fails with one line naming every node's reason when no node can take the guest.
  - B(Lazy templating hazard.) Ansible evaluates a lookup again each time a variable that holds it is
    referenced. A variable defined as C("{{ lookup('proxlb.balancer.best_node', ...) }}") in C(vars) asks the
    cluster again on every use, and may answer differently once the first guest exists or the load moved, so
    a create task and a later task can see different nodes. Use the module with C(register), or store the
    lookup's answer once with M(ansible.builtin.set_fact).
  - Connection options fall back to the same E(PROXMOX_*) environment variables as the modules, with the
    same precedence (option, then O(config_file), then environment, then the default).
  - B(No module_defaults.) A lookup is not a module, so C(module_defaults) (also of the group
    C(proxlb.balancer.proxlb)) does not reach it; give the connection as options, through E(PROXMOX_*)
    variables, or in O(config_file).
  - An option it does not know (for example C(memmory=8192)) fails the lookup with one line naming it, rather
    than sizing the guest with the default.
options:
  type:
    description: V(qemu) for a VM or V(lxc) for a container.
    type: str
    default: qemu
    choices: [qemu, lxc]
  cores:
    description: CPU cores per socket.
    type: int
    default: 1
  sockets:
    description: CPU sockets.
    type: int
    default: 1
  memory:
    description: Memory in MiB.
    type: int
    default: 512
  disk:
    description: Disk size in GiB on O(storage).
    type: float
    default: 0
  storage:
    description: Storage the disk goes on.
    type: str
  tags:
    description: Tags the new guest will carry (ProxLB tags such as C(plb_anti_affinity_web) apply).
    type: list
    elements: str
    default: []
  pool:
    description: Pool the new guest will join.
    type: str
  snapshot_file:
    description: Rank against a snapshot JSON file instead of the live cluster.
    type: path
  config_file:
    description: A ProxLB C(proxlb.yaml) (connection and behaviour), as for the modules.
    type: path
  proxmox_cluster:
    description: ProxLB's C(proxmox_cluster) section (C(maintenance_nodes), C(ignore_nodes)).
    type: dict
  balancing:
    description: ProxLB's C(balancing) section (C(method), C(mode), C(weights), C(node_resource_reserve), C(pools)).
    type: dict
  api_host:
    description: API hosts, tried in order (see the modules).
    type: list
    elements: str
    env:
      - name: PROXMOX_HOST
  api_port:
    description: Port for hosts that name none.
    type: int
    default: 8006
    env:
      - name: PROXMOX_PORT
  api_user:
    description: User with realm.
    type: str
    env:
      - name: PROXMOX_USER
  api_password:
    description: Password of O(api_user).
    type: str
    env:
      - name: PROXMOX_PASSWORD
  api_token_id:
    description: API token name.
    type: str
    env:
      - name: PROXMOX_TOKEN_ID
  api_token_secret:
    description: API token secret.
    type: str
    env:
      - name: PROXMOX_TOKEN_SECRET
  validate_certs:
    description: Verify the API's TLS certificate (against O(ca_path) for a cluster's own CA).
    type: bool
    default: true
    env:
      - name: PROXMOX_VALIDATE_CERTS
  ca_path:
    description: PEM file of the CA that signed the API certificate.
    type: path
    env:
      - name: PROXMOX_CA_PATH
  api_timeout:
    description: Seconds to wait for an API answer.
    type: int
    default: 10
"""

EXAMPLES = r"""
- name: Pick a node once and keep it (set_fact evaluates the lookup a single time)
  ansible.builtin.set_fact:
    new_vm_node: "{{ lookup('proxlb.balancer.best_node', memory=8192, cores=4, tags=['plb_anti_affinity_web']) }}"

- name: Use it
  ansible.builtin.debug:
    msg: "create the VM on {{ new_vm_node }}"
"""

RETURN = r"""
_raw:
  description: The best node's name (one element).
  type: list
  elements: str
"""

import os

from ansible.errors import AnsibleLookupError
from ansible.plugins.lookup import LookupBase

from ansible_collections.proxlb.balancer.plugins.module_utils.common.errors import ProxLBError

CONNECTION = ("api_host", "api_port", "api_user", "api_password", "api_token_id", "api_token_secret",
              "validate_certs", "ca_path", "api_timeout")


class LookupModule(LookupBase):

    def run(self, terms, variables=None, **kwargs):
        if terms:
            raise AnsibleLookupError("proxlb.balancer.best_node takes options only (memory=..., cores=...), "
                                     "no positional terms")
        self.set_options(var_options=variables, direct=kwargs)
        unknown = sorted(key for key in kwargs if key not in self._options)
        if unknown:
            raise AnsibleLookupError("proxlb.balancer.best_node: unknown option(s) %s; it takes %s" % (
                ", ".join(unknown), ", ".join(sorted(self._options))))
        params = {}
        for key in self._options:
            if key in CONNECTION and key not in kwargs:
                continue  # config.resolve applies the environment after config_file, as the modules do
            params[key] = self.get_option(key)
        from ansible_collections.proxlb.balancer.plugins.module_utils.entry.runner import run_best_node
        try:
            result = run_best_node(params, dict(os.environ))
        except ProxLBError as exc:
            raise AnsibleLookupError(str(exc))
        return [result["node"]]
