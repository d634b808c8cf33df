# -*- coding: utf-8 -*-
# Copyright: (c) 2026, proxlb.balancer contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The POST parameters of one migration, by guest type, guest state and the source node's PVE version.

PVE refuses a parameter its version does not know with a 400 for the whole request (gyptazy/ProxLB#326:
``with-conntrack-state`` sent to PVE 8), so a parameter is only sent where the source node accepts it and
the migrate precondition says it makes sense. Booleans go out as 1/0, the only form PVE accepts.
``build`` returns ``(params, None)`` or ``(None, reason)`` when the guest must not be moved this way.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.proxlb.balancer.plugins.module_utils.facts.snapshot import version_tuple

# PVE's default shutdown timeout for a container restart migration (pct migrate --timeout)
DEFAULT_RESTART_TIMEOUT = 180
CONNTRACK_SINCE = (9, 0)


def storage_pairs(mapping):
    """The ``targetstorage`` option as PVE's storage-pair-list: a dict {source: target} or a string
    ('local-lvm:fast,local:local' or one storage for all disks). None when not given."""
    if not mapping:
        return None
    if isinstance(mapping, dict):
        return ",".join("%s:%s" % (src, dst) for src, dst in sorted(mapping.items()))
    return str(mapping)


def _local_disks(guest, answer):
    """Local disks PVE will copy: the precondition's list when it gave one (CD-ROMs and unused volumes
    are not copied by themselves), else the snapshot's."""
    if answer and answer.get("local_disks") is not None:
        return [d for d in answer["local_disks"] if not d.get("cdrom")]
    return list(guest.get("local_disks") or [])


def build(guest, target, balancing, source_version, answer=None, targetstorage=None,
          restart_timeout=DEFAULT_RESTART_TIMEOUT):
    """POST parameters for migrating ``guest`` (a snapshot guest record, live status) to ``target``.

    ``balancing``: the behaviour section (live, with_local_disks, with_conntrack_state, running_ct);
    ``answer``: PVE's GET .../migrate answer or None when PVE has none (containers before 9.0)."""
    running = guest.get("status") == "running"
    live = bool(balancing.get("live", True))
    params = {"target": target}
    disks = _local_disks(guest, answer)
    pairs = storage_pairs(targetstorage)
    if disks and not balancing.get("with_local_disks", True):
        return None, "local disks and balancing.with_local_disks is false"
    if guest["type"] == "qemu":
        if running:
            if not live:
                return None, "running VM and balancing.live is false: an offline migration needs it stopped"
            params["online"] = 1
        if disks:
            params["with-local-disks"] = 1
            if pairs:
                params["targetstorage"] = pairs
        if (running and balancing.get("with_conntrack_state", True)
                and version_tuple(source_version)[:2] >= CONNTRACK_SINCE
                and answer and answer.get("has-dbus-vmstate")):
            params["with-conntrack-state"] = 1
    else:
        if running:
            if balancing.get("running_ct", "restart") == "skip":
                return None, "running container and balancing.running_ct is skip (containers move only by restart)"
            # LXC has no live migration: PVE stops it, moves it and starts it again
            params["restart"] = 1
            params["timeout"] = int(restart_timeout)
        if disks and pairs:
            params["target-storage"] = pairs
    return params, None
