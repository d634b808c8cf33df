# -*- coding: utf-8 -*-
# Copyright: (c) 2026, proxlb.balancer contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Progress of a migration run for people watching it: ``n/N``, time elapsed, an estimate of what is left,
and once, early in a long run made one move at a time, a hint that ``parallel`` would shorten it.

Pure functions of the executor's move records (``status`` set once a move ended, ``t0`` the clock when it
started) and the clock: the executor calls ``counted`` where it reports the end of a move.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

# a sequential run estimated to take longer than this gets the hint, once, after HINT_AFTER moves ended
LONG_RUN_SECONDS = 120
HINT_AFTER = 3


def duration(seconds):
    """42s, 5m24s, 1h02m."""
    seconds = int(round(max(seconds, 0)))
    if seconds < 60:
        return "%ds" % seconds
    if seconds < 3600:
        return "%dm%02ds" % (seconds // 60, seconds % 60)
    return "%dh%02dm" % (seconds // 3600, (seconds % 3600) // 60)


def estimate(ended, total, elapsed):
    """Seconds left at the pace so far (moves ended per second of the run), or None before the first end."""
    if ended <= 0 or elapsed <= 0:
        return None
    return elapsed / ended * max(total - ended, 0)


def status_line(ended, total, elapsed):
    """``[3/12, 42s elapsed, about 2m48s left]``; the estimate is left out once nothing is left."""
    left = estimate(ended, total, elapsed)
    text = "[%d/%d, %s elapsed" % (ended, total, duration(elapsed))
    if left is not None and ended < total:
        text += ", about %s left" % duration(left)
    return text + "]"


def hint(ended, total, elapsed, parallel):
    """The hint for a long run made one move at a time, or None. Given once: when the HINT_AFTER-th move
    ended (or the last, in a shorter run)."""
    if parallel or total < 2 or ended != min(HINT_AFTER, total):
        return None
    left = estimate(ended, total, elapsed)
    if left is None or elapsed + left < LONG_RUN_SECONDS:
        return None
    return ("hint: the moves run one at a time (balancing.parallel is off) and this run will take about %s; "
            "balancing: {parallel: true} runs up to parallel_jobs moves at once (per_node_jobs per node), "
            "within the same capacity and rule checks" % duration(elapsed + left))


def counted(moves, now, parallel, line):
    """``line`` (the end of one move) with the run's progress, and the hint below it when one is due.

    ``moves``: the executor's move records; ``now``: its clock."""
    ended = sum(1 for m in moves if m.get("status") is not None)
    starts = [m["t0"] for m in moves if m.get("t0") is not None]
    elapsed = now - min(starts) if starts else 0.0
    text = "%s %s" % (line, status_line(ended, len(moves), elapsed))
    note = hint(ended, len(moves), elapsed, parallel)
    return text + "\n" + note if note else text


def totals_line(totals, check_mode=False):
    """The last line of a run: ``12 move(s): 11 done, 1 skipped``; in check mode ``12 move(s) would be made``
    (nothing was moved, so nothing is done)."""
    others = ("already_done", "skipped", "failed", "timed_out")
    if check_mode:
        parts = ["%d move(s) would be made" % totals.get("done", 0)]
        parts += ["%d %s" % (totals[s], s.replace("_", " ")) for s in others if totals.get(s)]
        return ", ".join(parts)
    return "%d move(s): %s" % (totals["moves"], ", ".join(
        "%d %s" % (totals[s], s) for s in ("done",) + others if totals.get(s)) or "nothing to do")
