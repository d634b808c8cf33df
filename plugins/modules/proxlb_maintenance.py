#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, proxlb.balancer contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: proxlb_maintenance
short_description: Put Proxmox VE nodes into maintenance and take them out again, remembering where guests came from
version_added: 0.1.0
description:
  - "O(state=present) marks O(nodes) as under maintenance in the cluster itself (one line
    C(proxlb.balancer maintenance: pve3) in the datacenter notes, visible under Datacenter > Notes), tags
    each guest the drain moves with its origin C(plb_origin_<node>), and returns the drain plan of
    M(proxlb.balancer.proxlb_plan) (mode C(evacuate), every rule) for M(proxlb.balancer.proxlb_migrate)."
  - Every plan and every controller reads the marker, so a nightly rebalance never refills a node under
    maintenance, and an ephemeral controller (an AWX execution environment) can end a maintenance another
    one started.
  - O(state=absent) removes the nodes from the marker, removes the origin tag of every guest that is home
    again, and returns the plan that brings the others back to their origin (or no plan with
    O(return_guests=false), which removes all their origin tags).
  - A guest whose origin has no room, or where it would now break a hard rule (pin, anti-affinity,
    affinity), stays and is listed in the plan's C(skipped) with the reason.
  - Migrates nothing itself; the role C(proxlb.balancer.maintenance) runs the whole drain and return.
author:
  - proxlb.balancer maintainers (@proxlb)
options:
  nodes:
    description:
      - The nodes to put into (O(state=present)) or take out of (O(state=absent)) maintenance.
    type: list
    elements: str
    required: true
  state:
    description:
      - V(present) starts the maintenance of O(nodes), V(absent) ends it.
    type: str
    choices: [present, absent]
    default: present
  return_guests:
    description:
      - With O(state=absent), plan the return of each guest to its origin. V(false) removes the origin
        tags instead, leaving the guests where they are (rebalance afterwards if you like).
    type: bool
    default: true
  reboot:
    description:
      - With O(state=present), reboot each node of O(nodes) through the API (C(POST /nodes/{node}/status
        command=reboot)) and wait until it is back online. Refuses while running guests that are not
        ignored remain on it. Always C(changed); nothing happens in check mode.
    type: bool
    default: false
  reboot_timeout:
    description:
      - Seconds to wait for a rebooted node to be back online before failing.
    type: int
    default: 600
  poll_interval:
    description:
      - Seconds between two looks at a rebooting node.
    type: float
    default: 5
  guest_config:
    description:
      - Read every guest's configuration while collecting (see M(proxlb.balancer.proxlb_plan)).
    type: bool
    default: false
extends_documentation_fragment:
  - proxlb.balancer.proxlb
  - proxlb.balancer.proxlb.actiongroup_proxlb
attributes:
  check_mode:
    description: Reads the cluster and returns the plan and the marker and tag changes it would make; writes nothing.
    support: full
  diff_mode:
    description: Returns the marker and the changed tags before and after.
    support: full
notes:
  - Needs C(Sys.Audit) and C(Sys.Modify) on C(/) (read and write the datacenter notes),
    C(VM.Config.Options) on the guests (origin tags), and with O(reboot) C(Sys.PowerMgmt) on the nodes.
  - With O(reboot), give several O(api_host) entries so the API stays reachable while a node restarts.
  - See the collection's C(docs/maintenance.md).
"""

EXAMPLES = r"""
- name: Start the maintenance of pve3 and get the drain plan
  proxlb.balancer.proxlb_maintenance:
    nodes: [pve3]
    state: present
  register: maintenance

- name: Drain it
  proxlb.balancer.proxlb_migrate:
    plan: "{{ maintenance.plan }}"

- name: Reboot it once drained and wait until it is back
  proxlb.balancer.proxlb_maintenance:
    nodes: [pve3]
    reboot: true
    api_host: [pve1, pve2, pve3]

- name: End the maintenance and get the plan that brings its guests home
  proxlb.balancer.proxlb_maintenance:
    nodes: [pve3]
    state: absent
  register: back

- name: Bring them home
  proxlb.balancer.proxlb_migrate:
    plan: "{{ back.plan }}"
"""

RETURN = r"""
plan:
  description:
    - O(state=present) the drain plan, O(state=absent) the return plan, schema C(proxlb.balancer/plan/1),
      ready for M(proxlb.balancer.proxlb_migrate). Guests that stay are in C(skipped) with the reason.
  returned: success
  type: dict
marker:
  description: Nodes in the cluster's maintenance marker before and after.
  returned: success
  type: dict
  sample: {before: [], after: [pve3]}
tagged:
  description: vmids whose origin tag was set or removed (in check mode, would be).
  returned: success
  type: list
  elements: int
remaining:
  description:
    - With O(state=present), the guests on O(nodes) when the task ran, C({vmid, name, type, node, status,
      reason, blocking}); C(blocking) marks running guests that are not ignored on purpose. A drain is
      complete when none is blocking.
  returned: O(state=present)
  type: list
  elements: dict
rebooted:
  description: Nodes rebooted (in check mode, that would be).
  returned: success
  type: list
  elements: str
summary:
  description: The plan for people, one line per move and per guest that stays.
  returned: success
  type: list
  elements: str
diff:
  description: The marker and the changed guests' tags before and after.
  returned: success
  type: dict
"""

from ansible_collections.proxlb.balancer.plugins.module_utils.entry.module_main import run_module
from ansible_collections.proxlb.balancer.plugins.module_utils.entry.argspec import common_argument_spec


def argument_spec():
    return common_argument_spec(
        nodes=dict(type="list", elements="str", required=True),
        state=dict(type="str", choices=["present", "absent"], default="present"),
        return_guests=dict(type="bool", default=True),
        reboot=dict(type="bool", default=False),
        reboot_timeout=dict(type="int", default=600),
        poll_interval=dict(type="float", default=5.0),
        guest_config=dict(type="bool", default=False),
    )


def main():
    from ansible_collections.proxlb.balancer.plugins.module_utils.entry.maintenance import run_maintenance
    run_module(argument_spec(), lambda module: run_maintenance(module.params, check_mode=module.check_mode))


if __name__ == "__main__":
    main()
