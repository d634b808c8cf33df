#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, proxlb.balancer contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: proxlb_report
short_description: Write an HTML report and a Markdown summary of a balancing plan and its results
version_added: 0.1.0
description:
  - Turns a plan of M(proxlb.balancer.proxlb_plan) and, when given, the results of
    M(proxlb.balancer.proxlb_migrate) into files people look at, written into O(dest) on the controller.
  - C(<name>.html) is self-contained (inline CSS and SVG, no script, nothing fetched from the network), with per-node
    before and after bars for memory, CPU and disk, every move with its reason and outcome, the skipped guests
    and the unsatisfiable rules.
  - C(<name>.md) is the Markdown summary of the same; C(<name>-plan.json) is the plan itself (what an approver
    reviews and M(proxlb.balancer.proxlb_migrate) O(proxlb.balancer.proxlb_migrate#module:plan_file) carries
    out later); C(<name>-results.json) holds the results when given.
  - Needs no connection to Proxmox VE. Always returns C(changed=false), since a report changes nothing on the cluster.
  - The connection and behaviour options are accepted and ignored, so that C(module_defaults) of the group
    C(proxlb.balancer.proxlb) apply to the play without failing this task.
author:
  - proxlb.balancer maintainers (@proxlb)
options:
  plan:
    description:
      - The plan (the C(plan) of a M(proxlb.balancer.proxlb_plan) result).
      - One of O(plan) or O(plan_file) is required.
    type: dict
  plan_file:
    description:
      - A plan JSON file on the controller, as written by M(proxlb.balancer.proxlb_plan) O(proxlb.balancer.proxlb_plan#module:plan_file).
    type: path
  results:
    description:
      - The results of carrying the plan out (the C(results) of a M(proxlb.balancer.proxlb_migrate) result).
      - Without results the report shows the plan only (for review or approval).
    type: dict
  results_file:
    description:
      - A results JSON file on the controller.
    type: path
  dest:
    description:
      - Directory on the controller for the report files; created (mode 0750) if missing. The files are
        created mode 0600 (0640 with E(PROXLB_ARTIFACT_GROUP)); a symbolic link at a report path is refused.
    type: path
    required: true
  name:
    description:
      - Base name of the files, without directory or extension.
    type: str
    default: report
  title:
    description:
      - Title of the report.
    type: str
    default: Rebalance
  status:
    description:
      - A label for the run shown beside the title, for example C(awaiting approval).
      - Defaults to C(planned) without results and C(executed) with them.
    type: str
  history_size:
    description:
      - How many runs the run history keeps (C(history.jsonl) in O(dest), JSON lines, mode 0600). A report of a run that
        was carried out (O(results) given, not in check mode) is added to it; the HTML report shows the last runs as a
        chart (moves, predicted and measured spread) and every report shows the outcome, predicted vs measured.
      - V(0) keeps no history file and draws no chart.
    type: int
    default: 30
extends_documentation_fragment:
  - proxlb.balancer.proxlb
  - proxlb.balancer.proxlb.actiongroup_proxlb
attributes:
  check_mode:
    description: Writes the report in check mode too (it describes what the run would do); the cluster is never touched.
    support: full
  diff_mode:
    description: Returns no diff.
    support: none
notes:
  - Runs on the controller through its action plugin; the files are written there.
  - The C(summary) is what a webhook receives (schema C(proxlb.balancer/report/1)), see the collection's
    C(docs/reports.md).
"""

EXAMPLES = r"""
- name: Plan
  proxlb.balancer.proxlb_plan:
  register: rebalance_plan

- name: Carry the plan out
  proxlb.balancer.proxlb_migrate:
    plan: "{{ rebalance_plan.plan }}"
  register: rebalance_migrate

- name: Write the report
  proxlb.balancer.proxlb_report:
    plan: "{{ rebalance_plan.plan }}"
    results: "{{ rebalance_migrate.results }}"
    dest: /var/lib/proxlb/reports
    name: "rebalance-{{ '%Y%m%dT%H%M%S' | strftime }}"
  register: rebalance_report

- name: Show the summary
  ansible.builtin.debug:
    msg: "{{ rebalance_report.markdown.splitlines() }}"
"""

RETURN = r"""
paths:
  description: The files written, by kind (C(html), C(markdown), C(plan), and C(results) when results were given).
  returned: success
  type: dict
  sample:
    html: /var/lib/proxlb/reports/report.html
    markdown: /var/lib/proxlb/reports/report.md
    plan: /var/lib/proxlb/reports/report-plan.json
summary:
  description:
    - The report as data, schema C(proxlb.balancer/report/1), what both files are made from.
  returned: success
  type: dict
  contains:
    status:
      description: C(planned), C(executed) or the O(status) given.
      type: str
    totals:
      description: Count of moves per status (C(done), C(already_done), C(skipped), C(failed), C(timed_out)) and C(moves).
      type: dict
    nodes:
      description: C({node, before, after}) with C(mem_pct), C(cpu_pct), C(disk_pct) and C(guests) each.
      type: list
      elements: dict
    moves:
      description: The plan's moves, each with its C(status) (C(planned) without results) and C(error).
      type: list
      elements: dict
    skipped:
      description: C({vmid, reason}) for guests the plan left alone.
      type: list
      elements: dict
    unsatisfiable:
      description: C({rule, guests, reason}) for rules that cannot hold.
      type: list
      elements: dict
markdown:
  description: The Markdown summary (the content of C(<name>.md)).
  returned: success
  type: str
"""

from ansible_collections.proxlb.balancer.plugins.module_utils.entry.module_main import run_module
from ansible_collections.proxlb.balancer.plugins.module_utils.entry.argspec import common_argument_spec

SPEC_KWARGS = {"mutually_exclusive": [("plan", "plan_file"), ("results", "results_file")],
               "required_one_of": [("plan", "plan_file")]}


def argument_spec():
    # a report reads artifacts, never the cluster: the shared options are accepted only so that the
    # group's module_defaults (connection, config_file) do not make this task fail, and are ignored
    return common_argument_spec(
        plan=dict(type="dict"),
        plan_file=dict(type="path"),
        results=dict(type="dict"),
        results_file=dict(type="path"),
        dest=dict(type="path", required=True),
        name=dict(type="str", default="report"),
        title=dict(type="str", default="Rebalance"),
        status=dict(type="str"),
        history_size=dict(type="int", default=30),
    )


def main():
    from ansible_collections.proxlb.balancer.plugins.module_utils.report.render import run_report
    run_module(argument_spec(), lambda module: run_report(module.params), SPEC_KWARGS, offline=lambda params: True)


if __name__ == "__main__":
    main()
