# -*- coding: utf-8 -*-
# Copyright: (c) 2026, proxlb.balancer contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""When balancing may move guests: ``balancing.windows`` and ``balancing.blackouts`` (docs/operations.md).

Each entry is ``"DAYS HH:MM-HH:MM"``: DAYS ``mon-fri``, ``sat,sun``, ``fri-mon`` (a range may wrap), ``*`` (every
day; also the meaning when DAYS is left out); an end before the start runs past midnight into the next day
(``mon-fri 22:00-06:00`` covers Tuesday 03:00); ``24:00`` ends at midnight. Times are wall-clock times in
``balancing.timezone`` (an IANA name such as ``Europe/Berlin``; the controller's zone when not set), so a
window keeps its local hours across daylight-saving changes.

Moves may run when no blackout is active and, if windows are set, one window is. A blackout wins over a
window. Pure functions of the time given (epoch seconds); ``clock.now()`` when none is given.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import datetime
import re

from ansible_collections.proxlb.balancer.plugins.module_utils.common import clock
from ansible_collections.proxlb.balancer.plugins.module_utils.common.constants import utc_stamp
from ansible_collections.proxlb.balancer.plugins.module_utils.common.errors import ConfigError

try:
    import zoneinfo
    HAS_ZONEINFO = True
except ImportError:  # Python < 3.9: only the controller's own zone
    HAS_ZONEINFO = False

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_FULL = dict((name, i) for i, name in enumerate(
    ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")))
_ENTRY = re.compile(r"^\s*(?:(?P<days>\S+)\s+)?(?P<start>\d{1,2}:\d{2})\s*-\s*(?P<end>\d{1,2}:\d{2})\s*$")
_HINT = "expected \"DAYS HH:MM-HH:MM\" like \"mon-fri 22:00-06:00\", \"sat,sun 00:00-24:00\" or \"* 01:00-05:00\""
MAX_ENTRIES = 100


def _day(text, path, entry):
    name = text.strip().lower()
    if name in DAYS:
        return DAYS.index(name)
    if name in _FULL:
        return _FULL[name]
    raise ConfigError("%s: %r: unknown day %r (mon, tue, wed, thu, fri, sat, sun; ranges like mon-fri, lists like "
                      "sat,sun, or *)" % (path, entry, text[:20]))


def _days(text, path, entry):
    if text is None or text.strip() in ("*", "daily"):
        return frozenset(range(7))
    out = set()
    for part in text.split(","):
        if not part.strip():
            raise ConfigError("%s: %r: an empty day in %r" % (path, entry, text[:40]))
        first, sep, last = part.partition("-")
        if sep:
            a, b = _day(first, path, entry), _day(last, path, entry)
            out.update((a + i) % 7 for i in range(((b - a) % 7) + 1))
        else:
            out.add(_day(part, path, entry))
    return frozenset(out)


def _minutes(text, path, entry, end):
    hours, minutes = (int(x) for x in text.split(":"))
    if minutes > 59 or hours > 24 or (hours == 24 and (minutes or not end)):
        raise ConfigError("%s: %r: %s is not a time of day (00:00 to 23:59%s)"
                          % (path, entry, text, ", or 24:00 as an end" if end else ""))
    return hours * 60 + minutes


class Entry(object):
    """One ``DAYS HH:MM-HH:MM``: the days it starts on, start and end in minutes of the day."""

    __slots__ = ("text", "days", "start", "end")

    def __init__(self, text, days, start, end):
        self.text, self.days, self.start, self.end = text, days, start, end

    @property
    def overnight(self):
        return self.end <= self.start

    def active(self, weekday, minute):
        """True when this entry covers ``minute`` (may be fractional) of a day with ``weekday`` (0 = Monday)."""
        if not self.overnight:
            return weekday in self.days and self.start <= minute < self.end
        return (weekday in self.days and minute >= self.start) or \
            ((weekday - 1) % 7 in self.days and minute < self.end)

    def __repr__(self):
        return "Entry(%r)" % self.text


def parse_entry(value, path):
    if not isinstance(value, str) or not value.strip():
        raise ConfigError("%s: %s, got %s" % (path, _HINT, repr(value)[:60]))
    text = " ".join(value.split())
    match = _ENTRY.match(text)
    if not match or len(text) > 200:
        raise ConfigError("%s: %r: %s" % (path, text[:60], _HINT))
    start = _minutes(match.group("start"), path, text, end=False)
    end = _minutes(match.group("end"), path, text, end=True)
    if start == end:
        raise ConfigError("%s: %r: start and end are the same time; for a whole day write 00:00-24:00" % (path, text))
    return Entry(text, _days(match.group("days"), path, text), start, end)


def parse(entries, path):
    """A list of entries (or one string) -> [Entry]; ConfigError naming the first bad entry."""
    if entries is None:
        return []
    if isinstance(entries, str):
        entries = [entries]
    if not isinstance(entries, (list, tuple)):
        raise ConfigError("%s: expected a list of \"DAYS HH:MM-HH:MM\" entries, got %s" % (path, repr(entries)[:60]))
    if len(entries) > MAX_ENTRIES:
        raise ConfigError("%s: more than %d entries" % (path, MAX_ENTRIES))
    return [parse_entry(item, "%s[%d]" % (path, i)) for i, item in enumerate(entries)]


def check_entries(value, path):
    """config.py's check for ``balancing.windows`` / ``balancing.blackouts``: the entries, normalised text."""
    return [entry.text for entry in parse(value, path)]


def zone(name, path="balancing.timezone"):
    """The tzinfo of an IANA name; None (the controller's zone) for None or ''."""
    if name is None or (isinstance(name, str) and not name.strip()):
        return None
    if not isinstance(name, str) or len(name) > 64:
        raise ConfigError("%s: expected an IANA time zone name like Europe/Berlin, got %s" % (path, repr(name)[:60]))
    if not HAS_ZONEINFO:
        raise ConfigError("%s: time zones need Python 3.9 or later on the controller (zoneinfo)" % path)
    try:
        return zoneinfo.ZoneInfo(name.strip())
    except (zoneinfo.ZoneInfoNotFoundError, ValueError, OSError):
        raise ConfigError("%s: unknown time zone %r (an IANA name like Europe/Berlin or UTC)" % (path, name[:64]))


def check_timezone(value, path):
    """config.py's check for ``balancing.timezone``."""
    zone(value, path)
    return value.strip() if isinstance(value, str) and value.strip() else None


class Schedule(object):
    """Windows and blackouts in one time zone; ``allowed(now)`` says whether moves may run now and why."""

    def __init__(self, windows=(), blackouts=(), timezone=None):
        self.windows = parse(list(windows or ()), "balancing.windows")
        self.blackouts = parse(list(blackouts or ()), "balancing.blackouts")
        self.timezone = timezone or None
        self.tz = zone(timezone)

    @classmethod
    def from_balancing(cls, balancing):
        """The schedule of a ``balancing`` section, or None when it sets neither windows nor blackouts."""
        balancing = balancing or {}
        if not balancing.get("windows") and not balancing.get("blackouts"):
            return None
        return cls(balancing.get("windows"), balancing.get("blackouts"), balancing.get("timezone"))

    # --- local time --------------------------------------------------------------------------------------
    def local(self, when):
        if self.tz is None:
            return datetime.datetime.fromtimestamp(when).astimezone()
        return datetime.datetime.fromtimestamp(when, self.tz)

    def zone_name(self, when=None):
        if self.timezone:
            return self.timezone
        return self.local(clock.now() if when is None else when).tzname() or "local time"

    def describe(self, when):
        local = self.local(when)
        return "%s %s %s" % (DAYS[local.weekday()].capitalize(), local.strftime("%H:%M"), self.zone_name(when))

    def _epoch(self, date, minute):
        naive = datetime.datetime(date.year, date.month, date.day) + datetime.timedelta(minutes=minute)
        if self.tz is None:
            return naive.timestamp()
        return naive.replace(tzinfo=self.tz).timestamp()

    # --- the questions ------------------------------------------------------------------------------------
    def active(self, when):
        """(blackout entry or None, window entry or None) active at ``when``."""
        local = self.local(when)
        minute = local.hour * 60 + local.minute + (local.second + local.microsecond / 1e6) / 60.0
        day = local.weekday()
        blackout = next((e for e in self.blackouts if e.active(day, minute)), None)
        window = next((e for e in self.windows if e.active(day, minute)), None)
        return blackout, window

    def allowed(self, now=None):
        """(True, reason) when moves may run at ``now`` (epoch seconds; the clock's now by default), else
        (False, reason): the blackout that is active, or the windows that are not."""
        when = clock.now() if now is None else now
        blackout, window = self.active(when)
        if blackout is not None:
            until = self.opens_at(when)
            return False, "blackout %r (now %s%s)" % (blackout.text, self.describe(when), self._next(until, "moves may run"))
        if self.windows and window is None:
            until = self.opens_at(when)
            return False, "outside the balancing windows %s (now %s%s)" % (
                ", ".join(repr(e.text) for e in self.windows), self.describe(when), self._next(until, "next opens"))
        if window is not None:
            return True, "inside the balancing window %r (now %s)" % (window.text, self.describe(when))
        return True, "no blackout (now %s)" % self.describe(when)

    def _next(self, when, label):
        return "; %s %s" % (label, self.describe(when)) if when is not None else ""

    def _boundaries(self, when):
        """Every start and end of an entry from a day before to eight days after ``when``, ascending."""
        today = self.local(when).date()
        out = set()
        for entry in self.windows + self.blackouts:
            for offset in range(-1, 9):
                date = today + datetime.timedelta(days=offset)
                if date.weekday() not in entry.days:
                    continue
                out.add(self._epoch(date, entry.start))
                out.add(self._epoch(date, entry.end + (1440 if entry.overnight else 0)))
        return sorted(t for t in out if t > when)

    def closes_at(self, now=None):
        """Epoch seconds when moves stop being allowed (the next window end or blackout start), ``now``
        itself when they are not allowed, None when nothing ever stops them (within a week)."""
        when = clock.now() if now is None else now
        if not self.allowed(when)[0]:
            return when
        for boundary in self._boundaries(when):
            if not self.allowed(boundary)[0]:
                return boundary
        return None

    def opens_at(self, now=None):
        """Epoch seconds when moves are next allowed (``now`` when they are), None when not within a week."""
        when = clock.now() if now is None else now
        if self._open(when):
            return when
        for boundary in self._boundaries(when):
            if self._open(boundary):
                return boundary
        return None

    def _open(self, when):
        blackout, window = self.active(when)
        return blackout is None and (window is not None or not self.windows)

    def status(self, now=None):
        """What a plan records: {allowed, reason, timezone, at, closes_at|opens_at} (times ISO 8601 UTC)."""
        when = clock.now() if now is None else now
        ok, reason = self.allowed(when)
        out = {"allowed": ok, "reason": reason, "timezone": self.zone_name(when), "at": utc_stamp(when),
               "windows": [e.text for e in self.windows], "blackouts": [e.text for e in self.blackouts]}
        edge = self.closes_at(when) if ok else self.opens_at(when)
        out["closes_at" if ok else "opens_at"] = utc_stamp(edge) if edge is not None else None
        return out


_CACHE = {}


def schedule_of(balancing):
    """``Schedule.from_balancing`` remembered per distinct setting (the executor asks once per round)."""
    balancing = balancing or {}
    key = (tuple(balancing.get("windows") or ()), tuple(balancing.get("blackouts") or ()), balancing.get("timezone"))
    if key == ((), (), key[2]):
        return None
    if key not in _CACHE:
        if len(_CACHE) > 32:
            _CACHE.clear()
        _CACHE[key] = Schedule.from_balancing(balancing)
    return _CACHE[key]


def closed_reason(balancing, now=None):
    """None when moves may run now under ``balancing``'s windows and blackouts, else the reason."""
    schedule = schedule_of(balancing)
    if schedule is None:
        return None
    ok, reason = schedule.allowed(now)
    return None if ok else reason


def governs(plan_options):
    """Windows and blackouts govern balancing: every plan except a maintenance drain (mode ``evacuate``) and a
    maintenance return (proxlb_maintenance's plan: options without a mode), which are asked for now."""
    if not isinstance(plan_options, dict):
        return True
    mode = plan_options.get("mode")
    if mode == "evacuate":
        return False
    return not (mode is None and "balancing" in plan_options)


def executor_stop(balancing, left, warnings, plan=None):
    """What the executor asks as moves start: None while moves may run; else the reason, and a warning
    saying how many planned moves are left for a later run."""
    if plan is not None and not governs(plan.get("options")):
        return None
    reason = closed_reason(balancing)
    if reason:
        warnings.append("no more moves started: %s; %d planned move(s) left for a later run" % (reason, left))
    return reason
