# -*- coding: utf-8 -*-
# Copyright: (c) 2026, proxlb.balancer contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.proxlb.balancer.plugins.module_utils.entry import runner
from ansible_collections.proxlb.balancer.plugins.plugin_utils.proxlb_action import ProxLBAction


class ActionModule(ProxLBAction):
    MODULE = "proxlb_plan"

    def run_engine(self, params):
        result = runner.run_plan(params, self.environ())
        runner.write_json(result["plan"], params["plan_file"])
        moves = result["plan"]["moves"]
        self.progress("%d move(s) planned, %d guest(s) skipped" % (len(moves), len(result["plan"]["skipped"])))
        if self.diff_mode:
            # a plan changes nothing (changed: false), so Ansible would not show its diff: show it here
            self.progress("placement diff (vmid: node)\n" + "\n".join(
                "-%d: %s\n+%d: %s" % (m["vmid"], m["source"], m["vmid"], m["target"]) for m in moves))
        return result
