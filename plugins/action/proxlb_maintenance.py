# -*- coding: utf-8 -*-
# Copyright: (c) 2026, proxlb.balancer contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.proxlb.balancer.plugins.module_utils.entry.maintenance import run_maintenance
from ansible_collections.proxlb.balancer.plugins.plugin_utils.proxlb_action import ProxLBAction


class ActionModule(ProxLBAction):
    MODULE = "proxlb_maintenance"

    def run_engine(self, params):
        result = run_maintenance(params, self.environ(), check_mode=self.check_mode, progress=self.progress)
        self.progress("%s %s: marker %s, %d tag change(s), %d move(s) planned, %d guest(s) stay" % (
            result["state"], ", ".join(result["nodes"]), ", ".join(result["marker"]["after"]) or "(none)",
            len(result["tagged"]), len(result["plan"]["moves"]), len(result["plan"]["skipped"])))
        return result
