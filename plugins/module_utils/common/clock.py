# -*- coding: utf-8 -*-
# Copyright: (c) 2026, proxlb.balancer contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The wall clock every time-of-day decision reads: balancing windows, the cooldown, a plan's age.

``now()`` is seconds since the epoch. It is the controller's clock unless ``use(clock)`` put another
callable in its place (tests hand it the simulator's clock, so a window closing or a plan expiring happens
when the test advances simulated time, never by waiting). Durations measured inside one run (poll
intervals, timeouts) keep using ``time.monotonic``; this clock answers "what time is it".
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import calendar
import contextlib
import time

from ansible_collections.proxlb.balancer.plugins.module_utils.common import documents
from ansible_collections.proxlb.balancer.plugins.module_utils.common.errors import PlanError

_CLOCK = [time.time]
DEFAULT_PLAN_TTL = 86400


def now():
    """Seconds since the epoch, from the clock in use."""
    return float(_CLOCK[0]())


def set_clock(clock):
    """Replace the clock (a callable returning epoch seconds); ``None`` restores the controller's."""
    _CLOCK[0] = clock or time.time


@contextlib.contextmanager
def use(clock):
    """``with clock.use(fn): ...``: ``now()`` asks ``fn`` inside the block."""
    previous = _CLOCK[0]
    _CLOCK[0] = clock
    try:
        yield
    finally:
        _CLOCK[0] = previous


def parse_stamp(text):
    """``2026-05-04T02:30:11Z`` (what every artifact writes) -> epoch seconds, or None when not that form."""
    if not isinstance(text, str):
        return None
    value = text.strip()
    if value.endswith("Z"):
        value = value[:-1]
    elif value.endswith("+00:00"):
        value = value[:-6]
    for layout in ("%Y-%m-%dT%H:%M:%S", "%Y-%m-%dT%H:%M:%S.%f", "%Y-%m-%d %H:%M:%S"):
        try:
            return float(calendar.timegm(time.strptime(value, layout)))
        except ValueError:
            continue
    return None


def _span(seconds):
    seconds = int(abs(seconds))
    if seconds >= 172800:
        return "%d days" % (seconds // 86400)
    if seconds >= 7200:
        return "%d h" % (seconds // 3600)
    if seconds >= 120:
        return "%d min" % (seconds // 60)
    return "%d s" % seconds


def check_plan_age(plan, ttl=None, at=None):
    """Refuse a plan older than ``ttl`` seconds (default 86400; 0 never expires) with one line.

    A plan without ``created`` (written by hand, or by an older version) has no age to judge and passes;
    a ``created`` that is not an ISO 8601 UTC time is refused, since its age cannot be told."""
    ttl = DEFAULT_PLAN_TTL if ttl is None else ttl
    if isinstance(ttl, bool) or not isinstance(ttl, (int, float)) or ttl < 0:
        raise PlanError("plan_ttl: expected seconds >= 0 (0 = a plan never expires), got %s" % documents.shown(ttl))
    if not ttl or not isinstance(plan, dict) or plan.get("created") is None:
        return None
    created = parse_stamp(plan["created"])
    if created is None:
        raise PlanError("plan.created: %r is not an ISO 8601 UTC time like 2026-05-04T02:30:11Z; cannot tell the "
                        "plan's age, nothing was migrated" % (str(plan["created"])[:40],))
    age = (now() if at is None else at) - created
    if age > ttl:
        raise PlanError("plan expired, nothing was migrated: created %s, %s ago, plan_ttl is %s (%d s); plan again "
                        "or raise plan_ttl" % (plan["created"], _span(age), _span(ttl), ttl))
    return age
