# -*- coding: utf-8 -*-
# Copyright: (c) 2026, proxlb.balancer contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""How many migrations may run at once: in all, and in and out of each node."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class Limits(object):
    """At most ``jobs`` of our moves in flight, and ``per_node`` in and ``per_node`` out of each node.

    Migrations someone else runs (CRS, HA, an admin) count against the per-node limits, not ``jobs``."""

    def __init__(self, jobs, per_node):
        self.jobs = max(1, int(jobs))
        self.per_node = max(1, int(per_node))

    def full(self, ours):
        return len(ours) >= self.jobs

    def blocked(self, move, ours, foreign=()):
        """None when ``move`` may start beside ``ours`` and ``foreign`` [(source, target)], else why not."""
        if self.full(ours):
            return "%d migration(s) in flight (parallel_jobs)" % len(ours)
        flows = list(ours) + list(foreign)
        out = sum(1 for s, _t in flows if s == move["source"])
        into = sum(1 for _s, t in flows if t == move["target"])
        if out >= self.per_node:
            return "%s already sends %d migration(s) (per_node_jobs)" % (move["source"], out)
        if into >= self.per_node:
            return "%s already receives %d migration(s) (per_node_jobs)" % (move["target"], into)
        return None
