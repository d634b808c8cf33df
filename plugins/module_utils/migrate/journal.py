# -*- coding: utf-8 -*-
# Copyright: (c) 2026, proxlb.balancer contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The migration journal: one JSON object per line, appended and flushed to disk before each POST (the
intent), after it (the UPID) and after each end (the outcome).

A controller killed mid-run leaves the journal telling which migrations may still be running; a rerun
with the same journal follows those UPIDs instead of posting again. A run holds an OS lock (``flock``) on
the journal file for its whole length, so a second run with the same journal waits (``lock_timeout``) and
then fails naming the holder, instead of running beside it. Lines hold only plan data (vmid,
nodes, UPID, status), never connection options.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import time

try:
    import fcntl
    HAS_FCNTL = True
except ImportError:  # not on this platform: the cluster lease still keeps runs apart
    HAS_FCNTL = False

from ansible_collections.proxlb.balancer.plugins.module_utils.common.constants import utc_stamp
from ansible_collections.proxlb.balancer.plugins.module_utils.common import artifacts
from ansible_collections.proxlb.balancer.plugins.module_utils.common.errors import ConfigError, LockHeld

SCHEMA = "proxlb.balancer/journal/1"
# outcomes after which nothing of ours can still be running for that guest
FINAL = ("done", "already_done", "skipped", "failed")


def _now():
    return utc_stamp()


class Journal(object):
    """Append-only JSON lines at ``path``; ``None`` as path keeps everything in memory only."""

    def __init__(self, path=None):
        self.path = path
        self.records = []
        if path and os.path.exists(path):
            self.records = read(path)

    def _write(self, record):
        record = dict(record, at=_now())
        self.records.append(record)
        if not self.path:
            return
        # 0600, O_NOFOLLOW|O_APPEND, fsync'ed (common/artifacts.py); errors are one line naming the path
        artifacts.append_line(self.path, json.dumps(record, sort_keys=True), what="journal")

    def lock(self, timeout, owner=None, sleep=time.sleep, clock=time.monotonic):
        """Hold an exclusive OS lock on the journal file until ``unlock`` (or the process ends), waiting up to
        ``timeout`` seconds for another run to let go of it."""
        if not self.path or not HAS_FCNTL or getattr(self, "_lock_fd", None) is not None:
            return
        flags = os.O_RDONLY | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)
        try:
            fd = os.open(self.path, flags, 0o600)
        except OSError as exc:
            raise ConfigError("journal %s: cannot open it (%s)" % (self.path, exc.strerror or exc))
        deadline = clock() + max(0.0, float(timeout or 0))
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except (IOError, OSError):
                if clock() >= deadline:
                    os.close(fd)
                    holder = self.last_owner()
                    raise LockHeld("journal %s is in use by another run%s; waited %ds (lock_timeout)" % (
                        self.path, " (%s)" % holder if holder else "", int(round(float(timeout or 0)))))
                sleep(min(0.2, max(deadline - clock(), 0.01)))
        self._lock_fd = fd
        self.records = read(self.path)   # what the previous run wrote, read under the lock
        if owner:
            self._write({"event": "locked", "owner": owner})

    def unlock(self):
        fd = getattr(self, "_lock_fd", None)
        if fd is not None:
            self._lock_fd = None
            try:
                fcntl.flock(fd, fcntl.LOCK_UN)
            finally:
                os.close(fd)

    def last_owner(self):
        """Who started the last run recorded in the journal ('host:pid:run'), if it says."""
        try:
            records = read(self.path)
        except ConfigError:
            return None
        runs = [r for r in records if r.get("event") in ("locked", "run") and r.get("owner")]
        return runs[-1]["owner"] if runs else None

    def run_started(self, fingerprint, moves, owner=None):
        record = {"event": "run", "schema": SCHEMA, "fingerprint": fingerprint, "moves": moves}
        if owner:
            record["owner"] = owner
        self._write(record)

    def intent(self, move):
        self._write({"event": "intent", "vmid": move["vmid"], "source": move["source"], "target": move["target"]})

    def posted(self, move, upid):
        self._write({"event": "posted", "vmid": move["vmid"], "source": move["source"], "target": move["target"],
                     "upid": upid})

    def ended(self, move, status, upid=None, error=None):
        self._write({"event": "end", "vmid": move["vmid"], "source": move["source"], "target": move["target"],
                     "status": status, "upid": upid, "error": error})

    def unfinished(self):
        """{vmid: record} of moves whose last line is an intent, a POST or a timeout: possibly still running.

        A record holds ``upid`` when the POST was answered (None when the controller died in between)."""
        last = {}
        for record in self.records:
            if record.get("event") in ("intent", "posted", "end") and "vmid" in record:
                key = int(record["vmid"])
                previous = last.get(key)
                if record["event"] == "intent" and previous and previous.get("upid") and \
                        previous.get("status") not in FINAL:
                    record = dict(record, upid=previous["upid"])
                last[key] = record
        return dict((vmid, r) for vmid, r in last.items()
                    if r["event"] in ("intent", "posted") or r.get("status") not in FINAL)


def read(path):
    """The journal's records; a torn last line (the controller died while writing) is ignored."""
    try:
        with open(path, "r") as handle:
            lines = handle.read().splitlines()
    except (IOError, OSError) as exc:
        raise ConfigError("journal %s: cannot read it (%s)" % (path, exc.strerror or exc))
    records = []
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except ValueError:
            if number == len(lines):
                break
            raise ConfigError("journal %s: line %d is not JSON; give a new journal path or repair the file"
                              % (path, number))
        if isinstance(record, dict):
            records.append(record)
    return records
