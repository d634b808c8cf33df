#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, proxlb.balancer contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: proxlb_facts
short_description: Read a Proxmox VE cluster into a snapshot for balancing
version_added: 0.1.0
description:
  - Reads nodes, guests (VMs and containers), storages, pools and HA configuration of a Proxmox VE cluster
    into one snapshot document (schema C(proxlb.balancer/snapshot/1)), the input of M(proxlb.balancer.proxlb_plan)
    and M(proxlb.balancer.proxlb_best_node).
  - Uses bulk endpoints; the number of API calls grows with the number of nodes, never with guests,
    unless O(guest_config) is set.
  - Also returns a per-node usage summary, the placement rules derived from tags, pools, HA rules and
    options, and warnings (which API host answered, offline nodes, what could not be read).
  - Never changes anything.
author:
  - proxlb.balancer maintainers (@proxlb)
options:
  guest_config:
    description:
      - Read each guest's configuration to list its local disks and local devices (one API call per guest).
      - Off by default, since plans ask PVE's migrate precondition for candidate guests only.
    type: bool
    default: false
  snapshot_file:
    description:
      - Also write the snapshot as JSON to this path on the controller (for what-if planning later).
      - Created mode 0600 (0640 with E(PROXLB_ARTIFACT_GROUP)) whatever the umask; a symbolic link at the path is
        refused. Keep it out of shared directories such as C(/tmp).
    type: path
extends_documentation_fragment:
  - proxlb.balancer.proxlb
  - proxlb.balancer.proxlb.actiongroup_proxlb
  - proxlb.balancer.proxlb.attributes_read_only
"""

EXAMPLES = r"""
- name: Read the cluster with an API token
  proxlb.balancer.proxlb_facts:
    api_host:
      - pve1.example.com
      - pve2.example.com:8006
      - "[2001:db8::10]"
    api_user: balancer@pve
    api_token_id: ansible
    api_token_secret: "{{ vault_proxmox_token_secret }}"
    ca_path: /etc/ssl/pve-root-ca.pem
  register: cluster

- name: Show memory usage per node
  ansible.builtin.debug:
    msg: "{{ item.key }}: {{ item.value.mem_pct }} %"
  loop: "{{ cluster.nodes | dict2items }}"

- name: Read the cluster with the settings of an existing ProxLB installation
  proxlb.balancer.proxlb_facts:
    config_file: /etc/proxlb/proxlb.yaml
    snapshot_file: /var/lib/proxlb/cluster-snapshot.json   # a private directory, never a shared /tmp
"""

RETURN = r"""
snapshot:
  description:
    - The cluster as one document, schema C(proxlb.balancer/snapshot/1); see the collection's C(docs/snapshot.md).
    - Every node and guest is listed (offline nodes, templates, ignored guests); rules decide, not the collector.
  returned: success
  type: dict
  contains:
    schema:
      description: Schema name and version.
      type: str
      sample: proxlb.balancer/snapshot/1
    fingerprint:
      description: Hash of the vmid to node placement, used to detect stale plans.
      type: str
      sample: "sha256:3f1c2a9b0d4e5f60"
    nodes:
      description: Nodes with status, PVE version, capacity and usage (bytes, CPU as a fraction).
      type: list
      elements: dict
    guests:
      description: Guests with vmid, type, node, status, tags, pool, HA state, capacity and usage.
      type: list
      elements: dict
nodes:
  description:
    - Per-node usage summary keyed by node name, nodes in natural order (pve1, pve2, pve10).
    - C(disk_pct) is node-local storage (the storages that are not shared), the disk the planner balances and
      the plan and report show; C(rootfs_pct) is the node's root filesystem.
  returned: success
  type: dict
  sample:
    pve1: {status: online, hastate: online, pve_version: 9.1.2, guests: 12, mem_used_gib: 80.2,
           mem_total_gib: 128.0, mem_pct: 62.7, cpu_pct: 21.4, disk_pct: 40.1, rootfs_pct: 12.5}
rules:
  description:
    - Placement rules as C({id, kind, strict, guests, nodes, source}); kind is one of C(ignore), C(pin),
      C(affinity), C(anti_affinity), C(maintenance), C(exclude_node).
  returned: success
  type: list
  elements: dict
rule_warnings:
  description: Problems found in the rules (pins to unknown nodes, anti-affinity with more members than nodes).
  returned: success
  type: list
  elements: str
api_host_used:
  description: The API host that answered.
  returned: success
  type: str
  sample: pve1.example.com:8006
api_calls:
  description: Number of API calls made.
  returned: success
  type: int
  sample: 9
"""

from ansible_collections.proxlb.balancer.plugins.module_utils.entry.module_main import run_module
from ansible_collections.proxlb.balancer.plugins.module_utils.entry.argspec import common_argument_spec


def argument_spec():
    return common_argument_spec(
        guest_config=dict(type="bool", default=False),
        snapshot_file=dict(type="path"),
    )


def main():
    from ansible_collections.proxlb.balancer.plugins.module_utils.entry.runner import run_facts, write_json

    def engine(module):
        result = run_facts(module.params)
        write_json(result["snapshot"], module.params["snapshot_file"])
        return result
    run_module(argument_spec(), engine)


if __name__ == "__main__":
    main()
