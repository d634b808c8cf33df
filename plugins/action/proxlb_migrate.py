# -*- coding: utf-8 -*-
# Copyright: (c) 2026, proxlb.balancer contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.proxlb.balancer.plugins.module_utils.entry.migrate import run_migrate
from ansible_collections.proxlb.balancer.plugins.module_utils.migrate.executor import parent_watch
from ansible_collections.proxlb.balancer.plugins.module_utils.migrate.progress import totals_line
from ansible_collections.proxlb.balancer.plugins.plugin_utils.proxlb_action import ProxLBAction


class ActionModule(ProxLBAction):
    MODULE = "proxlb_migrate"

    def run_engine(self, params):
        # one display line per started and finished move; the journal and plan_file live on the controller.
        # This runs in Ansible's worker process, which leaves the controller's session: killed with -9 or
        # SIGHUP, ansible-playbook does not take it along. The worker's parent is the controller, so a change
        # of the parent process id means it is gone, and the run starts nothing more (executor.parent_watch).
        result = run_migrate(params, self.environ(), check_mode=self.check_mode, progress=self.progress,
                             alive=parent_watch())
        # in check mode nothing moved: "12 move(s) would be made"
        self.progress(totals_line(result["results"]["totals"], self.check_mode))
        return result
