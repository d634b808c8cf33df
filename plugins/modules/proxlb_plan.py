#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, proxlb.balancer contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: proxlb_plan
short_description: Plan which guests to migrate where to balance a Proxmox VE cluster, and why
version_added: 0.1.0
description:
  - Computes a migration plan (schema C(proxlb.balancer/plan/1)) that reaches the balance asked for with the
    least memory moved, never breaking a placement rule (tags, pools, HA rules, maintenance, reserves).
  - Changes nothing; the plan is data that M(proxlb.balancer.proxlb_migrate) carries out, now or after review.
  - Plans from the live cluster, or from O(snapshot) or O(snapshot_file) with no connection at all (what-if).
  - The placement change is returned as C(diff) and shown with C(--diff).
author:
  - proxlb.balancer maintainers (@proxlb)
options:
  mode:
    description:
      - V(balance) balances the cluster and repairs rule violations.
      - V(enforce) only repairs rule violations (ProxLB's C(enforce_affinity) and C(enforce_pinning)).
      - V(evacuate) drains O(evacuate_nodes) (and maintenance nodes), spreading their guests over the rest.
    type: str
    choices: [balance, enforce, evacuate]
    default: balance
  evacuate_nodes:
    description:
      - Nodes to empty with O(mode=evacuate).
    type: list
    elements: str
    default: []
  plan_file:
    description:
      - Write the plan as JSON to this path on the controller (for review, approval and a later
        M(proxlb.balancer.proxlb_migrate)).
      - Created mode 0600 (0640 with E(PROXLB_ARTIFACT_GROUP)) whatever the umask; a symbolic link at the path is
        refused.
    type: path
  guest_config:
    description:
      - Read every guest's configuration while collecting (one call per guest) instead of asking PVE's
        migrate precondition for candidate guests only.
    type: bool
    default: false
extends_documentation_fragment:
  - proxlb.balancer.proxlb
  - proxlb.balancer.proxlb.snapshot_input
  - proxlb.balancer.proxlb.planning
  - proxlb.balancer.proxlb.actiongroup_proxlb
  - proxlb.balancer.proxlb.attributes_read_only
"""

EXAMPLES = r"""
- name: Plan a memory and CPU balance and save it for review
  proxlb.balancer.proxlb_plan:
    balancing:
      weights: {memory: 0.6, cpu: 0.4}
      balanciness: 5
    plan_file: /var/lib/proxlb/plan.json
  register: rebalance

- name: Show the moves
  ansible.builtin.debug:
    msg: "{{ item.vmid }} {{ item.source }} -> {{ item.target }}: {{ item.reason }}"
  loop: "{{ rebalance.plan.moves }}"

- name: What would draining pve3 do (from a saved snapshot, no connection)
  proxlb.balancer.proxlb_plan:
    snapshot_file: /var/lib/proxlb/cluster-snapshot.json
    mode: evacuate
    evacuate_nodes: [pve3]
"""

RETURN = r"""
plan:
  description:
    - The plan, schema C(proxlb.balancer/plan/1). Moves with the same C(step) may run in parallel; every node
      stays within hard capacity after every step.
  returned: success
  type: dict
  contains:
    fingerprint:
      description: Fingerprint of the snapshot the plan was computed from (stale-plan detection).
      type: str
    moves:
      description: C({step, vmid, name, type, source, target, reason, gain, cost}) per migration.
      type: list
      elements: dict
    skipped:
      description: C({vmid, reason}) for guests that cannot or must not move.
      type: list
      elements: dict
    unsatisfiable:
      description: C({rule, guests, reason}) for rules that cannot hold.
      type: list
      elements: dict
    nodes_before:
      description: Per-node usage before the plan.
      type: dict
    nodes_after:
      description: Per-node usage after the plan.
      type: dict
    metrics:
      description:
        - Balance metrics before and after, with C(pve_imbalance), PVE's normalised coefficient of variation of node
          load (0 even, 1 all on one node).
      type: dict
    created:
      description: When the plan was made (UTC, ISO 8601); M(proxlb.balancer.proxlb_migrate) refuses it after C(plan_ttl).
      type: str
    recommended:
      description:
        - C({step, vmid, name, type, source, target, reason, gain, cost}) of guests tagged C(plb_manual) whose move would
          help; never carried out. See the collection's C(docs/operations.md).
      type: list
      elements: dict
    schedule:
      description:
        - With C(balancing.windows) or C(balancing.blackouts) set, whether moves may run now, C({allowed, reason, timezone,
          at, closes_at|opens_at, windows, blackouts}); outside them the plan has no moves.
      type: dict
      returned: when windows or blackouts are set
summary:
  description: The plan for people, one line per item; a per-node before/after table, then each move with its reason.
  returned: success
  type: list
  elements: str
  sample:
    - "node                     mem %         cpu %        disk %    guests"
    - "pve1              77.7 ->  28.6  72.8 ->  24.1  20.0 ->  20.0  10 ->   5"
    - "step 1: qemu 102 (db1) pve1 -> pve2: balance: memory spread 73.0 -> 54.2 pp"
diff:
  description: The placement change, vmid to node, before and after.
  returned: success
  type: dict
  sample: {before: {"101": pve1}, after: {"101": pve3}}
"""

from ansible_collections.proxlb.balancer.plugins.module_utils.entry.module_main import run_module, uses_snapshot
from ansible_collections.proxlb.balancer.plugins.module_utils.entry.argspec import PLAN_SPEC, SNAPSHOT_EXCLUSIVE, SNAPSHOT_SPEC, common_argument_spec

SPEC_KWARGS = SNAPSHOT_EXCLUSIVE


def argument_spec():
    return common_argument_spec(
        mode=dict(type="str", choices=["balance", "enforce", "evacuate"], default="balance"),
        evacuate_nodes=dict(type="list", elements="str", default=[]),
        plan_file=dict(type="path"),
        guest_config=dict(type="bool", default=False),
        **dict(PLAN_SPEC, **SNAPSHOT_SPEC)
    )


def main():
    from ansible_collections.proxlb.balancer.plugins.module_utils.entry.runner import run_plan, write_json

    def engine(module):
        result = run_plan(module.params)
        write_json(result["plan"], module.params["plan_file"])
        return result
    run_module(argument_spec(), engine, SPEC_KWARGS, offline=uses_snapshot)


if __name__ == "__main__":
    main()
