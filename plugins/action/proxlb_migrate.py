# -*- coding: utf-8 -*-
# Copyright: (c) 2026, proxlb.balancer contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.proxlb.balancer.plugins.module_utils.migrate.executor import run_migrate
from ansible_collections.proxlb.balancer.plugins.module_utils.migrate.progress import totals_line
from ansible_collections.proxlb.balancer.plugins.plugin_utils.proxlb_action import ProxLBAction


class ActionModule(ProxLBAction):
    MODULE = "proxlb_migrate"

    def run_engine(self, params):
        # one display line per started and finished move; the journal and plan_file live on the controller
        result = run_migrate(params, self.environ(), check_mode=self.check_mode, progress=self.progress)
        # in check mode nothing moved: "12 move(s) would be made"
        self.progress(totals_line(result["results"]["totals"], self.check_mode))
        return result
