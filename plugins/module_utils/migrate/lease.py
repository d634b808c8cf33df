# -*- coding: utf-8 -*-
# Copyright: (c) 2026, proxlb.balancer contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""One migration run at a time per cluster: a lease line in the datacenter notes.

    proxlb.balancer lease: owner=ctl01:4711:3f9c2a10 since=2026-11-28T08:00:00Z until=2026-11-28T08:10:00Z

written with PVE's digest (``connect/notes.py``), so two runs cannot both take it. A run waits up to
``lock_timeout`` seconds for a lease held by another run, then fails naming the holder. A lease past its
``until`` (its run died without releasing it), or held by a process of this host that no longer exists, is
taken over with a warning. The holder renews it while it runs and removes it at the end, also on failure.
Times are the controllers' UTC clocks; keep them in NTP sync (the expiry has minutes of slack).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import calendar
import os
import re
import socket
import time
import uuid

from ansible_collections.proxlb.balancer.plugins.module_utils.common.errors import LockHeld
from ansible_collections.proxlb.balancer.plugins.module_utils.connect import notes

PREFIX = "proxlb.balancer lease:"
TTL = 600          # seconds a lease lasts without renewal
RENEW_AFTER = 120  # renewed when older than this
_LINE = re.compile(r"^\s*proxlb\.balancer lease:\s*owner=(\S+)\s+since=(\S+)\s+until=(\S+)\s*$", re.MULTILINE)
_ANY = re.compile(r"^\s*proxlb\.balancer lease:.*$")
_FORMAT = "%Y-%m-%dT%H:%M:%SZ"


def _iso(seconds):
    return time.strftime(_FORMAT, time.gmtime(seconds))


def _epoch(text):
    try:
        return calendar.timegm(time.strptime(text, _FORMAT))
    except (TypeError, ValueError):
        return 0   # unreadable: treated as expired


def parse(text):
    """The lease in the notes as {owner, since, until (epoch)}, or None."""
    match = _LINE.search(text or "")
    if not match:
        return None
    return {"owner": match.group(1), "since": match.group(2), "until": _epoch(match.group(3)),
            "until_text": match.group(3)}


def render(text, line):
    """The notes with the lease line replaced by ``line`` (removed when None); other lines kept."""
    kept = [entry for entry in (text or "").splitlines() if not _ANY.match(entry)]
    while kept and not kept[-1].strip():
        kept.pop()
    if line:
        kept.append(line)
    return "\n".join(kept)


def new_owner():
    """``host:pid:run``: who holds the lease, readable by an admin in the notes."""
    host = (socket.gethostname() or "controller").split(".")[0].replace(" ", "_") or "controller"
    return "%s:%d:%s" % (host, os.getpid(), uuid.uuid4().hex[:8])


def _dead_local(owner):
    """True when ``owner`` is a process of this host that no longer runs."""
    parts = owner.split(":")
    if len(parts) != 3 or not parts[1].isdigit():
        return False
    host = (socket.gethostname() or "controller").split(".")[0].replace(" ", "_") or "controller"
    if parts[0] != host:
        return False
    try:
        os.kill(int(parts[1]), 0)
    except ProcessLookupError:
        return True
    except OSError:
        return False   # exists, owned by someone else
    return False


class _Held(Exception):
    def __init__(self, holder):
        Exception.__init__(self)
        self.holder = holder


class Lease(object):
    """The cluster lease of one run. ``acquire`` waits and takes it; ``renew`` keeps it; ``release`` ends it."""

    def __init__(self, client, owner=None, ttl=TTL, now=time.time, sleep=time.sleep, clock=time.monotonic):
        self.client = client
        self.owner = owner or new_owner()
        self.ttl = ttl
        self.now = now
        self.sleep = sleep
        self.clock = clock
        self.held = False
        self.renewed = None
        self.since = None
        self.warnings = []

    def line(self):
        if self.since is None:
            self.since = self.now()
        return "%s owner=%s since=%s until=%s" % (PREFIX, self.owner, _iso(self.since), _iso(self.now() + self.ttl))

    def _take(self, text):
        holder = parse(text)
        if holder and holder["owner"] != self.owner:
            if holder["until"] > self.now() and not _dead_local(holder["owner"]):
                raise _Held(holder)
            why = "expired at %s" % holder["until_text"] if holder["until"] <= self.now() else \
                "its process is gone"
            self._took_over = "took over the cluster lease of %s (%s)" % (holder["owner"], why)
        return render(text, self.line())

    def acquire(self, timeout, poll=2.0):
        """Take the lease, waiting up to ``timeout`` seconds for another run to release it."""
        deadline = self.clock() + max(0.0, float(timeout or 0))
        while True:
            self._took_over = None
            try:
                notes.edit(self.client, self._take, sleep=self.sleep)
            except _Held as held:
                left = deadline - self.clock()
                if left <= 0:
                    holder = held.holder
                    raise LockHeld("another run holds the cluster lease: %s since %s (until %s); waited %ds "
                                   "(lock_timeout)" % (holder["owner"], holder["since"], holder["until_text"],
                                                       int(round(float(timeout or 0)))))
                self.sleep(min(max(float(poll), 0.05), left))
                continue
            if self._took_over:
                self.warnings.append(self._took_over)
            self.held = True
            self.renewed = self.clock()
            return self

    def renew(self, force=False):
        """Push the expiry on (at most every RENEW_AFTER seconds). False when the lease was taken from us."""
        if not self.held or (not force and self.clock() - self.renewed < RENEW_AFTER):
            return True
        lost = []

        def change(text):
            holder = parse(text)
            if not holder or holder["owner"] != self.owner:
                lost.append(holder)
                return None
            return render(text, self.line())
        notes.edit(self.client, change, sleep=self.sleep)
        self.renewed = self.clock()
        if lost:
            self.held = False
            return False
        return True

    def release(self):
        """Remove our lease line (someone else's is left alone)."""
        if not self.held:
            return

        def change(text):
            holder = parse(text)
            if not holder or holder["owner"] != self.owner:
                return None
            return render(text, None)
        notes.edit(self.client, change, sleep=self.sleep)
        self.held = False
