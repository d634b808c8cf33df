# -*- coding: utf-8 -*-
# Copyright: (c) 2026, proxlb.balancer contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Controller-side base of the collection's action plugins.

The action plugin validates the task's arguments against the module's own argument spec and runs the
engine in-process on the controller: files are read and written there, progress goes to Ansible's
display, and no module is shipped to any host. Secrets never enter the result.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import importlib
import os

from ansible.module_utils.common.arg_spec import ArgumentSpecValidator
from ansible.module_utils.errors import UnsupportedError
from ansible.plugins.action import ActionBase
from ansible.utils.display import Display

from ansible_collections.proxlb.balancer.plugins.module_utils.common import config
from ansible_collections.proxlb.balancer.plugins.module_utils.common.errors import ProxLBError
from ansible_collections.proxlb.balancer.plugins.module_utils.entry import argspec

display = Display()


def validation_message(module, validation):
    """One line, worded as AnsibleModule words it: an option the module does not have is named as such."""
    messages = []
    for error in validation.errors:
        if isinstance(error, UnsupportedError):
            messages.append("Unsupported parameters for (proxlb.balancer.%s) module: %s" % (module, error.msg))
        else:
            messages.append(error.msg)
    return "; ".join(messages)


class ProxLBAction(ActionBase):
    """Subclasses set MODULE (the module's short name) and implement ``run_engine(params)``."""

    TRANSFERS_FILES = False
    MODULE = None

    def _argument_spec(self):
        module = importlib.import_module("ansible_collections.proxlb.balancer.plugins.modules.%s" % self.MODULE)
        return module.argument_spec(), getattr(module, "SPEC_KWARGS", {})

    def run(self, tmp=None, task_vars=None):
        result = super(ProxLBAction, self).run(tmp, task_vars)
        # with an inventory of clusters (docs/fleet.md) the lines of several clusters interleave: name each one's
        task_vars = task_vars or {}
        cluster = "proxmox_clusters" in (task_vars.get("group_names") or [])
        self._label = "proxlb [%s]" % task_vars.get("inventory_hostname") if cluster else "proxlb"
        spec, kwargs = self._argument_spec()
        validation = ArgumentSpecValidator(spec, **kwargs).validate(self._task.args)
        if validation.error_messages:
            result.update(failed=True, msg=validation_message(self.MODULE, validation))
            return result
        # defaults of connection options stay out of the precedence task > config_file > environment > default
        params = argspec.given_only(validation.validated_parameters, self._task.args)
        self._no_log_values = set(validation._no_log_values) | self._resolved_secrets(params)
        try:
            result.update(self.run_engine(params))
        except ProxLBError as exc:
            result.update(failed=True, msg=self._scrub(str(exc)))
        result.setdefault("changed", False)
        if result.get("warnings"):
            result["warnings"] = [self._scrub(w) for w in result["warnings"]]
            # after a failover, which host answered is news but no warning: a plain line (and api_host_used)
            if result.get("api_host_used") and any("did not answer" in w for w in result["warnings"]):
                self.progress("API host %s answered" % result["api_host_used"])
        return result

    def _resolved_secrets(self, params):
        """Secrets that come from config_file or the environment are masked like task options."""
        try:
            connection = config.resolve(params, self.environ())[0]
        except ProxLBError:
            return set()  # the run itself reports the configuration error
        return set(config.secret_values(connection))

    def _scrub(self, text):
        """Last line of defence: a secret that reached a message is masked."""
        for value in getattr(self, "_no_log_values", ()):
            if value and len(str(value)) > 3:
                text = text.replace(str(value), "********")
        return text

    @property
    def check_mode(self):
        return bool(self._task.check_mode)

    @property
    def diff_mode(self):
        return bool(self._task.diff)

    @staticmethod
    def environ():
        return dict(os.environ)

    def progress(self, message):
        display.display("%s: %s" % (getattr(self, "_label", "proxlb"), message))

    def run_engine(self, params):
        raise NotImplementedError
