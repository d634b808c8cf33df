# -*- coding: utf-8 -*-
# Copyright: (c) 2026, proxlb.balancer contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Names and units every stage shares: document schema ids, result statuses, byte units, timestamps."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import time

SNAPSHOT_SCHEMA = "proxlb.balancer/snapshot/1"
PLAN_SCHEMA = "proxlb.balancer/plan/1"
RESULTS_SCHEMA = "proxlb.balancer/results/1"
# what can become of one planned move (CONTRACTS.md "Results")
STATUSES = ("done", "already_done", "skipped", "failed", "timed_out")
MIB = 1024 ** 2
GIB = 1024 ** 3
TIMESTAMP_FORMAT = "%Y-%m-%dT%H:%M:%SZ"


def utc_stamp(seconds=None):
    """ISO 8601 UTC time (now, or of ``seconds`` since the epoch), as every artifact writes it."""
    return time.strftime(TIMESTAMP_FORMAT, time.gmtime(seconds))
