# -*- coding: utf-8 -*-
# Copyright: (c) 2026, proxlb.balancer contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What a finished Proxmox VE task says: did it succeed, with how many warnings, and why did it fail.

Pure functions over what the API answers: ``GET /nodes/{node}/tasks/{upid}/status`` and the lines of
``GET /nodes/{node}/tasks/{upid}/log`` (``[{"n": 1, "t": "..."}]`` or plain strings). The shapes follow
the PVE sources (docs/pve-answers.md):

- a worker ends its log with ``TASK OK``, ``TASK WARNINGS: <n>`` or ``TASK ERROR: <message>``, and the
  exit status is that line without ``TASK `` (pve-common RESTEnvironment.pm ``fork_worker``); ``OK`` and
  ``WARNINGS: <n>`` are successes (``upid_status_is_error``);
- a warning is logged as ``WARN: <message>`` (RESTEnvironment.pm ``warn``);
- migration workers prefix every line with the node's local time, ``2026-11-28 10:00:01 ``, and errors
  with ``ERROR: `` after it; a failed migration says ``ERROR: migration aborted (duration 00:00:03):
  <cause>`` and its exit status is only ``migration aborted`` (pve-guest-common AbstractMigrate.pm).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

from ansible_collections.proxlb.balancer.plugins.module_utils.common.errors import ApiError

_STAMP = re.compile(r"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2} ")
_WARNINGS = re.compile(r"^WARNINGS: (\d+)$")
_ABORTED = re.compile(r"^migration aborted \(duration [\d:]+\): (.+)$")
# summary lines that say that a migration failed, not why
_SUMMARY = re.compile(r"^migration (finished with problems|aborted) \(duration [\d:]+\)$")


def task_outcome(status):
    """(ok, warnings) for a task status: ok is True for ``OK`` and ``WARNINGS: <n>``, False for any other
    exit status, None while the task still runs; warnings is the count PVE reports (0 for ``OK``)."""
    status = status or {}
    if status.get("status") != "stopped":
        return None, 0
    exitstatus = str(status.get("exitstatus") or "")
    if exitstatus == "OK":
        return True, 0
    found = _WARNINGS.match(exitstatus)
    if found:
        return True, int(found.group(1))
    return False, 0


def _text(line):
    text = line.get("t", "") if isinstance(line, dict) else line
    return _STAMP.sub("", str(text or "").strip(), count=1)


def task_warnings(log_lines):
    """The messages of the ``WARN:`` lines of a task log, in order."""
    found = []
    for line in log_lines or ():
        text = _text(line)
        if text.startswith("WARN: "):
            found.append(text[len("WARN: "):].strip())
    return found


def task_error(log_lines):
    """The cause of a failed task from its log: the first ``ERROR:`` line that says why (with or without
    the timestamp), else the message of the final ``TASK ERROR:`` line; "" when the log says nothing."""
    final = ""
    for line in log_lines or ():
        text = _text(line)
        if text.startswith("TASK ERROR: "):
            final = text[len("TASK ERROR: "):].strip()
            continue
        if not text.startswith("ERROR: "):
            continue
        message = text[len("ERROR: "):].strip()
        aborted = _ABORTED.match(message)
        if aborted:
            return aborted.group(1).strip()
        if message and not _SUMMARY.match(message):
            return message
    return final


def upid_fields(upid):
    """(node, start time in seconds, task type) of a UPID 'UPID:node:pid:pstart:starttime:type:id:user:'."""
    parts = str(upid).split(":")
    if len(parts) < 8 or parts[0] != "UPID":
        raise ApiError("not a UPID: %r" % (upid,))
    return parts[1], int(parts[4], 16), parts[5]
