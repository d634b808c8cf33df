# -*- coding: utf-8 -*-
# Copyright: (c) 2026, proxlb.balancer contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.proxlb.balancer.plugins.module_utils.entry.runner import run_best_node
from ansible_collections.proxlb.balancer.plugins.plugin_utils.proxlb_action import ProxLBAction


class ActionModule(ProxLBAction):
    MODULE = "proxlb_best_node"

    def run_engine(self, params):
        result = run_best_node(params, self.environ())
        fitting = sum(1 for entry in result["ranking"] if entry["score"] is not None)
        self.progress("best node %s (%d of %d node(s) can take the guest)"
                      % (result["node"], fitting, len(result["ranking"])))
        return result
