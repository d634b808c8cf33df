#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, proxlb.balancer contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: proxlb_migrate
short_description: Carry a balancing plan out on a Proxmox VE cluster, safely and resumably
version_added: 0.1.0
description:
  - Executes a plan of M(proxlb.balancer.proxlb_plan) (O(plan) or O(plan_file)), or plans now with the same
    options when neither is given (a one-task rebalance).
  - Before each move it checks the guest is still where the plan assumed, the target is online and not in
    maintenance, PVE's own migrate precondition, the PVE versions, and the target's live memory.
  - Sends only parameters the source node's PVE version knows (C(with-conntrack-state) only from PVE 9.0
    and only where PVE reports D-Bus VM state support), C(online) for running VMs when C(balancing.live),
    C(with-local-disks) for guests with local disks, C(restart) and C(timeout) for running containers.
  - Runs up to C(balancing.parallel_jobs) migrations at once when C(balancing.parallel) is true (else one),
    and at most C(balancing.per_node_jobs) into and out of each node; follows every task to its end and
    counts a move as done only when PVE says C(OK) and the guest is seen on its target.
  - A second run of the same plan changes nothing (every guest is C(already_done)).
  - Fails closed - if the maintenance marker (datacenter notes) or the HA rules cannot be read (after a few
    retries of transient 5xx answers), nothing is migrated and the task fails with one line.
  - One run per cluster at a time - a lease line in the datacenter notes (written with PVE's C(digest)) and,
    with O(journal), an OS lock on the journal file. A second run waits up to O(lock_timeout) seconds, then
    fails naming the holder. An expired lease is taken over with a warning. The lease is removed at the end.
  - Migrations started by others (HA, CRS, an admin) count against C(balancing.per_node_jobs) and the live
    memory; a move held back by them waits up to C(balancing.max_job_validation) seconds.
  - A migrate request whose answer is lost (timeout) is never sent again; its task is looked for in the
    source node's task list and followed.
  - When the controller process dies, the worker starts no further migration; the next run with the same
    journal follows the tasks left in flight.
author:
  - proxlb.balancer maintainers (@proxlb)
options:
  plan:
    description:
      - The plan to execute, as returned by M(proxlb.balancer.proxlb_plan) (its C(plan)).
    type: dict
  plan_file:
    description:
      - A plan JSON file on the controller, as written by M(proxlb.balancer.proxlb_plan) O(plan_file).
    type: path
  mode:
    description:
      - Without O(plan) or O(plan_file), the planning mode (see M(proxlb.balancer.proxlb_plan)).
    type: str
    choices: [balance, enforce, evacuate]
    default: balance
  evacuate_nodes:
    description:
      - Without O(plan) or O(plan_file), the nodes to empty with O(mode=evacuate).
    type: list
    elements: str
    default: []
  on_stale:
    description:
      - What to do with moves whose guest is no longer on its planned source, or is locked by someone else.
      - V(skip) reports them as C(skipped) with the reason and executes the rest.
      - V(fail) migrates nothing and fails, naming the stale guests.
      - V(replan) plans again from the live cluster and executes the new plan.
      - A guest already on its target is always C(already_done).
    type: str
    choices: [skip, fail, replan]
    default: skip
  on_failure:
    description:
      - A failed or timed-out move always stops the later moves that needed the room it would free.
      - V(continue) goes on with the independent moves; V(stop) starts no further move.
      - Either way the task fails at the end when a move failed or timed out, unless O(fail_task=false).
    type: str
    choices: [continue, stop]
    default: continue
  fail_task:
    description:
      - Fail the task when any move failed or timed out (after every other move ended, with the results).
      - V(false) reports the results and returns C(ok) with C(msg) set, for those who want a report only.
    type: bool
    default: true
  plan_ttl:
    description:
      - Seconds after its C(created) time that a given plan (O(plan) or O(plan_file)) may still be carried out; an
        older plan is refused with one line before anything moves (plan again, or raise this). V(0) never expires.
      - A plan without C(created) (written by hand) has no age and is not refused; the stale check (its guests still
        on their planned sources) applies to every plan.
      - Ignored when no plan is given (the plan made now is new). See the collection's C(docs/operations.md).
    type: int
    default: 86400
  lock_timeout:
    description:
      - Seconds to wait for another run that holds the cluster lease (or the same O(journal)) before failing
        with the holder's name. V(0) fails at once.
    type: int
    default: 120
  journal:
    description:
      - A journal file on the controller (JSON lines), written before each migrate request and after each
        end. A rerun with the same journal follows the tasks an interrupted run left running instead of
        starting them again.
      - Created mode 0600 (0640 with E(PROXLB_ARTIFACT_GROUP)) and appended with O_NOFOLLOW, so a symbolic link at
        the path is refused.
    type: path
  poll_interval:
    description:
      - Seconds between two polls of the running tasks; at least 0.5.
    type: float
    default: 2
  targetstorage:
    description:
      - Storage mapping for local disks, as PVE's C(targetstorage) (VMs) or C(target-storage) (containers)
        takes it, for example C(local-lvm:fast-lvm) or one storage for all disks.
    type: str
  restart_timeout:
    description:
      - Seconds PVE waits for a running container to shut down in a restart migration.
    type: int
    default: 180
extends_documentation_fragment:
  - proxlb.balancer.proxlb
  - proxlb.balancer.proxlb.actiongroup_proxlb
attributes:
  check_mode:
    description: Runs the preflight of every move and reports C(changed) if any would run; posts nothing.
    support: full
  diff_mode:
    description: Returns the placements of the moved (or, in check mode, movable) guests before and after.
    support: full
notes:
  - C(balancing.max_job_validation) seconds is the longest a single move is followed; after it the move is
    reported C(timed_out) (PVE goes on with the task).
  - The results, schema C(proxlb.balancer/results/1), are documented in the collection's C(docs/migrate.md).
"""

EXAMPLES = r"""
- name: Plan, review, then migrate
  proxlb.balancer.proxlb_plan:
    plan_file: /var/lib/proxlb/plan.json

- name: Carry the reviewed plan out, 5 at a time, resumable
  proxlb.balancer.proxlb_migrate:
    plan_file: /var/lib/proxlb/plan.json
    journal: /var/lib/proxlb/journal.jsonl
    balancing:
      parallel: true
      parallel_jobs: 5
      per_node_jobs: 2
  register: migration

- name: One-task rebalance (plans and migrates), refusing a plan the cluster has outrun
  proxlb.balancer.proxlb_migrate:
    config_file: /etc/proxlb/proxlb.yaml
    on_stale: fail

- name: Drain pve3, moving running containers by restart
  proxlb.balancer.proxlb_migrate:
    mode: evacuate
    evacuate_nodes: [pve3]
    balancing:
      running_ct: restart
"""

RETURN = r"""
results:
  description: What happened to every guest of the plan, schema C(proxlb.balancer/results/1).
  returned: success
  type: dict
  contains:
    fingerprint:
      description: Fingerprint of the snapshot the plan was made from.
      type: str
    results:
      description:
        - C({vmid, source, target, status, upid, started, finished, error, warnings}) per planned move, in plan
          order.
        - C(status) is C(done), C(already_done), C(skipped), C(failed) or C(timed_out); C(error) says why
          for every status but C(done) and C(already_done).
      type: list
      elements: dict
    totals:
      description: Count of moves per status, C(moves) (all) and C(seconds) (wall time of the run).
      type: dict
    measured:
      description:
        - The cluster read again after the run, beside the plan's prediction (C(nodes_after), C(metrics.after)).
        - C(nodes) maps each node to C(mem_pct), C(cpu_pct), C(disk_pct) (percent of capacity less reserves, as the
          plan counts them), C(guests) and C(status); C(spread) is the highest minus the lowest percentage over
          the online nodes per resource (C(memory), C(cpu), C(disk)); C(at) is when it was read.
        - Empty in check mode.
      type: dict
measured:
  description: The same as RV(results.measured).
  returned: success
  type: dict
diff:
  description: Placements of the guests moved (in check mode, that would move), vmid to node.
  returned: success
  type: dict
  sample: {before: {"101": pve1}, after: {"101": pve3}}
msg:
  description: Why the run failed, or which move did not succeed (the task fails then, unless O(fail_task=false)).
  returned: when a move failed or the run stopped
  type: str
"""

from ansible_collections.proxlb.balancer.plugins.module_utils.entry.module_main import run_module
from ansible_collections.proxlb.balancer.plugins.module_utils.entry.argspec import common_argument_spec

SPEC_KWARGS = {"mutually_exclusive": [("plan", "plan_file")]}


def argument_spec():
    return common_argument_spec(
        plan=dict(type="dict"),
        plan_file=dict(type="path"),
        mode=dict(type="str", choices=["balance", "enforce", "evacuate"], default="balance"),
        evacuate_nodes=dict(type="list", elements="str", default=[]),
        on_stale=dict(type="str", choices=["skip", "fail", "replan"], default="skip"),
        on_failure=dict(type="str", choices=["continue", "stop"], default="continue"),
        journal=dict(type="path"),
        poll_interval=dict(type="float", default=2.0),
        targetstorage=dict(type="str"),
        restart_timeout=dict(type="int", default=180),
        fail_task=dict(type="bool", default=True),
        lock_timeout=dict(type="int", default=120),
        plan_ttl=dict(type="int", default=86400),
    )


def main():
    from ansible_collections.proxlb.balancer.plugins.module_utils.entry.migrate import run_migrate
    run_module(argument_spec(), lambda module: run_migrate(module.params, check_mode=module.check_mode),
               SPEC_KWARGS)


if __name__ == "__main__":
    main()
