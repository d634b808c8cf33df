# -*- coding: utf-8 -*-
# Copyright: (c) 2026, proxlb.balancer contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Errors the engine raises. Each carries a one-line message a person can act on; modules turn them into
``fail_json(msg=...)`` without a traceback."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class ProxLBError(Exception):
    """Base of every error the engine reports to the user."""

    # a message quotes values the user gave: however large or odd they are, it stays one readable line
    MAX_MESSAGE = 2000

    def __init__(self, message, hint=None):
        message = " ".join(str(message).splitlines())
        if len(message) > self.MAX_MESSAGE:
            message = message[:self.MAX_MESSAGE - 10] + " ... (cut)"
        super(ProxLBError, self).__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self):
        if self.hint:
            return "%s (%s)" % (self.message, self.hint)
        return self.message


class ConfigError(ProxLBError):
    """An option, a config file key or a tag is invalid; the message names its path."""


class SnapshotError(ProxLBError):
    """A snapshot document does not follow the schema; the message names the offending field."""


class ApiError(ProxLBError):
    """The Proxmox VE API answered with an error or could not be reached."""

    def __init__(self, message, hint=None, status_code=None):
        super(ApiError, self).__init__(message, hint)
        self.status_code = status_code


class AuthError(ApiError):
    """The credentials were refused."""


class PermissionDenied(ApiError):
    """The credentials lack a privilege that the requested work needs."""


class PlanError(ProxLBError):
    """A plan cannot be computed or carried out as given (stale, infeasible, malformed)."""


class LockHeld(ProxLBError):
    """Another run holds the cluster lease or the journal lock; the message names the holder."""
