#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, proxlb.balancer contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: proxlb_best_node
short_description: Choose the Proxmox VE node a new guest should be created on, with the reasons
version_added: 0.1.0
description:
  - Ranks the nodes of a Proxmox VE cluster for a new VM or container of the given size, best first.
  - A node is left out, with the reason, when it is offline, ignored or in maintenance, lacks memory (after
    C(node_resource_reserve)) or the storage, or when the new guest's own tags and pool forbid it
    (anti-affinity with existing members, pins, strict affinity).
  - The remaining nodes are scored by the weighted load they would have with the new guest (the same
    weights as balancing); equal scores are ordered by node name, so the answer is deterministic.
  - Fails with one line naming every node's reason when no node can take the guest.
  - Works from the live cluster or from O(snapshot) or O(snapshot_file) with no connection.
  - Changes nothing.
author:
  - proxlb.balancer maintainers (@proxlb)
options:
  type:
    description:
      - The kind of guest, V(qemu) for a VM or V(lxc) for a container.
    type: str
    choices: [qemu, lxc]
    default: qemu
  cores:
    description:
      - CPU cores per socket, as in the guest configuration.
    type: int
    default: 1
  sockets:
    description:
      - CPU sockets, as in the guest configuration.
    type: int
    default: 1
  memory:
    description:
      - Memory in MiB, as in the guest configuration.
    type: int
    default: 512
  disk:
    description:
      - Disk size in GiB on O(storage).
    type: float
    default: 0
  storage:
    description:
      - Storage the disk goes on; nodes without it (or without room on it) are left out.
    type: str
  tags:
    description:
      - Tags the new guest will carry, for example C(plb_anti_affinity_web) or C(plb_pin_pve1).
    type: list
    elements: str
    default: []
  pool:
    description:
      - Pool the new guest will join; the pool rules of O(balancing) apply to it.
    type: str
  make_room:
    description:
      - When no node can take the guest, find the fewest moves of other guests (capacity-safe at every
        step, within their own rules) after which one node can, and return that node and the moves as a
        plan in RV(plan) for P(proxlb.balancer.proxlb_migrate#module). Nothing moves here.
      - Without it, or when no such moves exist, the task fails naming every node's reason.
    type: bool
    default: false
extends_documentation_fragment:
  - proxlb.balancer.proxlb
  - proxlb.balancer.proxlb.snapshot_input
  - proxlb.balancer.proxlb.actiongroup_proxlb
  - proxlb.balancer.proxlb.attributes_read_only
notes:
  - The lookup P(proxlb.balancer.best_node#lookup) returns the same node; prefer this module with C(register)
    or C(set_fact), since a lookup in a variable is evaluated again on every reference.
"""

EXAMPLES = r"""
- name: Where should the new web server go
  proxlb.balancer.proxlb_best_node:
    cores: 4
    memory: 8192
    disk: 32
    storage: local-lvm
    tags: [plb_anti_affinity_web]
  register: placement

- name: Keep the answer fixed for the rest of the play
  ansible.builtin.set_fact:
    web_node: "{{ placement.node }}"

- name: A large guest on a full cluster, making room if no node has it free
  proxlb.balancer.proxlb_best_node:
    memory: 65536
    make_room: true
  register: placement

- name: Run the moves that make room first, if any
  proxlb.balancer.proxlb_migrate:
    plan: "{{ placement.plan }}"
  when: placement.plan is defined

- name: Same question against a saved snapshot (no connection)
  proxlb.balancer.proxlb_best_node:
    snapshot_file: /var/lib/proxlb/cluster-snapshot.json
    type: lxc
    memory: 2048
"""

RETURN = r"""
node:
  description: The best node for the new guest.
  returned: success
  type: str
  sample: pve2
ranking:
  description:
    - Every node, best first. Nodes that can take the guest come first with a C(score) (100 minus the
      weighted load in percent the node would have; higher is better); nodes that cannot follow with
      C(score) null.
  returned: success
  type: list
  elements: dict
  contains:
    node:
      description: Node name.
      type: str
    score:
      description: Higher is better; null when the node cannot take the guest.
      type: float
    reasons:
      description: Why the node scores as it does, or why it cannot take the guest.
      type: list
      elements: str
  sample: [{node: pve2, score: 82.8, reasons: ["memory 4.7% -> 17.2%"]},
           {node: pve1, score: null, reasons: ["anti-affinity tag:plb_anti_affinity_web: 101 (web1) already here"]}]
plan:
  description:
    - With O(make_room) when no node could take the guest as the cluster is, the moves after which RV(node)
      can, as a plan document (the schema C(proxlb.balancer/plan/1) that P(proxlb.balancer.proxlb_plan#module)
      returns), to run with P(proxlb.balancer.proxlb_migrate#module) before creating the guest.
  returned: when moves are needed
  type: dict
  sample: {schema: proxlb.balancer/plan/1, moves: [{step: 1, vmid: 300, source: pve3, target: pve1,
           reason: "make room on pve3 for a new guest"}]}
"""

from ansible_collections.proxlb.balancer.plugins.module_utils.entry.module_main import run_module, uses_snapshot
from ansible_collections.proxlb.balancer.plugins.module_utils.entry.argspec import SNAPSHOT_EXCLUSIVE, SNAPSHOT_SPEC, common_argument_spec

SPEC_KWARGS = SNAPSHOT_EXCLUSIVE


def argument_spec():
    return common_argument_spec(
        type=dict(type="str", choices=["qemu", "lxc"], default="qemu"),
        cores=dict(type="int", default=1),
        sockets=dict(type="int", default=1),
        memory=dict(type="int", default=512),
        disk=dict(type="float", default=0),
        storage=dict(type="str"),
        tags=dict(type="list", elements="str", default=[]),
        pool=dict(type="str"),
        make_room=dict(type="bool", default=False),
        **SNAPSHOT_SPEC
    )


def main():
    from ansible_collections.proxlb.balancer.plugins.module_utils.entry.runner import run_best_node
    run_module(argument_spec(), lambda module: run_best_node(module.params), SPEC_KWARGS, offline=uses_snapshot)


if __name__ == "__main__":
    main()
