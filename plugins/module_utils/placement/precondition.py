# -*- coding: utf-8 -*-
# Copyright: (c) 2026, proxlb.balancer contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""PVE's own answer to "may this guest migrate there?", asked lazily and once per guest.

``GET /nodes/{node}/qemu/{vmid}/migrate`` knows local devices, local disks, storages missing on the
target and HA resource-affinity blockers better than any tag could. Before PVE 8.4 it lists allowed nodes
only for stopped VMs; containers have it only from PVE 9.0 (hyphenated keys). Where PVE cannot answer, the
snapshot's own ``local_resources`` decide.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.proxlb.balancer.plugins.module_utils.common.errors import ApiError
from ansible_collections.proxlb.balancer.plugins.module_utils.facts.snapshot import version_tuple


def verdict(answer, target, with_local_disks):
    """Why PVE's precondition answer forbids ``target`` (None when it allows it)."""
    resources = answer.get("local_resources") or []
    if resources:
        return "local devices pin it to its node: %s" % ", ".join(sorted(resources))
    disks = answer.get("local_disks") or []
    cdroms = [d.get("volid", "?") for d in disks if d.get("cdrom")]
    if cdroms:
        return "local CD-ROM image attached: %s" % ", ".join(cdroms)
    if disks and not with_local_disks:
        return "local disks and with_local_disks is off: %s" % ", ".join(d.get("volid", "?") for d in disks)
    allowed = answer.get("allowed_nodes", answer.get("allowed-nodes"))
    if allowed is None:
        return None
    if target in allowed:
        return None
    details = (answer.get("not_allowed_nodes") or answer.get("not-allowed-nodes") or {}).get(target) or {}
    parts = []
    for key in ("unavailable_storages", "unavailable-resources"):
        if details.get(key):
            parts.append("%s: %s" % (key.replace("_", " ").replace("-", " "), ", ".join(details[key])))
    for blocker in details.get("blocking-ha-resources") or []:
        parts.append("HA %s with %s" % (blocker.get("cause", "rule"), blocker.get("sid")))
    return "PVE does not allow %s: %s" % (target, "; ".join(parts) if parts else "not in allowed nodes")


class Precondition(object):
    """A callable ``(guest, target) -> None | reason`` backed by the live API, one GET per guest."""

    def __init__(self, client, snapshot, with_local_disks=True):
        self.client = client
        self.with_local_disks = with_local_disks
        self.versions = dict((n["node"], n["pve_version"]) for n in snapshot["nodes"])
        self.answers = {}
        self.calls = 0

    def _answer(self, guest):
        vmid = guest["vmid"]
        if vmid not in self.answers:
            version = version_tuple(self.versions.get(guest["node"], ""))[:2]
            if guest["type"] == "lxc" and version < (9, 0):
                self.answers[vmid] = None
            else:
                try:
                    self.calls += 1
                    self.answers[vmid] = self.client.get("/nodes/%s/%s/%d/migrate" % (
                        guest["node"], guest["type"], vmid)) or {}
                except ApiError as exc:
                    self.answers[vmid] = {"error": str(exc)}
        return self.answers[vmid]

    def __call__(self, guest, target):
        answer = self._answer(guest)
        if answer is None:
            return None
        if "error" in answer:
            return "PVE migrate precondition failed: %s" % answer["error"]
        return verdict(answer, target, self.with_local_disks)
