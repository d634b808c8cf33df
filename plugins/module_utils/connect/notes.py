# -*- coding: utf-8 -*-
# Copyright: (c) 2026, proxlb.balancer contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Read-modify-write of the datacenter notes (``/cluster/options`` ``description``) with PVE's ``digest``.

PVE answers ``GET /cluster/options`` with a ``digest`` of datacenter.cfg and refuses a ``PUT`` carrying an
older one ("detected modified configuration - file changed by other user? Try again."). ``edit`` reads,
applies a change to the text, writes with the digest it read and, on a mismatch, reads and applies the
change again: two writers (two maintenance runs, a maintenance run and a migration's lease) never lose
each other's lines. Real PVE may answer without a ``digest`` (docs/pve-answers.md): then the write is
made without it and read back after a pause; a line another writer overwrote is written again.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import random
import time

from ansible_collections.proxlb.balancer.plugins.module_utils.common.errors import ApiError

ATTEMPTS = 8
SETTLE = 0.5   # seconds between a write without digest and the check that it stayed
_MISMATCH = ("detected modified configuration", "digest")


def read(client, sleep=time.sleep, attempts=4):
    """(notes text, digest or None); transient errors (5xx, no answer) are retried a few times."""
    for attempt in range(attempts):
        try:
            options = client.get("/cluster/options") or {}
            break
        except ApiError as exc:
            if getattr(exc, "status_code", None) not in (500, 502, 503, 504, 595, 596, None) \
                    or attempt + 1 == attempts:
                raise
            sleep(0.5 * (attempt + 1))
    if not isinstance(options, dict):
        return "", None
    return str(options.get("description") or ""), options.get("digest") or None


def is_mismatch(exc):
    text = str(exc).lower()
    return any(word in text for word in _MISMATCH)


def edit(client, change, attempts=ATTEMPTS, sleep=time.sleep, settle=SETTLE):
    """Apply ``change(text) -> new text`` to the notes; returns (text after, written?).

    ``change`` may raise to abort (nothing is written); it is called again after each digest mismatch,
    on the text as it is then."""
    for attempt in range(attempts):
        text, digest = read(client, sleep)
        new = change(text)
        if new is None or new == text:
            return text, False
        extra = {"digest": digest} if digest else {}
        try:
            if new:
                client.put("/cluster/options", description=new, **extra)
            else:
                client.put("/cluster/options", delete="description", **extra)
        except ApiError as exc:
            if digest and is_mismatch(exc) and attempt + 1 < attempts:
                sleep(random.uniform(0.05, 0.25) * (attempt + 1))   # another writer: read again
                continue
            raise
        if digest is None:
            # no digest (PVE's datacenter.cfg has none): a writer that read before us may still overwrite
            # our line; after a pause longer than such a read-modify-write, check it is there, else again
            sleep(settle)
            after, _digest = read(client, sleep)
            if change(after) not in (None, after) and attempt + 1 < attempts:
                continue
        return new, True
    raise ApiError("datacenter notes: changed by someone else %d times in a row while writing" % attempts)
