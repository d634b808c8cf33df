# -*- coding: utf-8 -*-
# Copyright: (c) 2026, proxlb.balancer contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import copy

from ansible.plugins.callback import CallbackBase
from ansible.utils.display import Display

from ansible_collections.proxlb.balancer.plugins.module_utils.entry import runner
from ansible_collections.proxlb.balancer.plugins.plugin_utils.proxlb_action import ProxLBAction


class ActionModule(ProxLBAction):
    MODULE = "proxlb_plan"

    def run_engine(self, params):
        result = runner.run_plan(params, self.environ())
        runner.write_json(result["plan"], params["plan_file"])
        moves = result["plan"]["moves"]
        self.progress("%d move(s) planned, %d guest(s) skipped" % (len(moves), len(result["plan"]["skipped"])))
        if self.diff_mode and moves:
            # a plan changes nothing (changed: false), so Ansible shows no diff: print it the way Ansible prints
            # proxlb_migrate's (the same vmid -> node data, one format for both)
            Display().display(CallbackBase()._get_diff(copy.deepcopy(result["diff"])))
        return result
