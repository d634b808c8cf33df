# -*- coding: utf-8 -*-
# Copyright: (c) 2026, proxlb.balancer contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A plan's moves as the executor runs them: checked, in order, and which earlier moves each one waits for."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.proxlb.balancer.plugins.module_utils.common import documents
from ansible_collections.proxlb.balancer.plugins.module_utils.common.constants import PLAN_SCHEMA
from ansible_collections.proxlb.balancer.plugins.module_utils.common.errors import PlanError


def load_plan(plan):
    """Check a plan document enough to execute it safely; returns its moves in order (step, position)."""
    documents.check_plan(plan)  # field by field, one line naming the first wrong one (common/documents.py)
    if not isinstance(plan, dict):
        raise PlanError("plan: expected the plan dict that proxlb_plan returns, got %s" % type(plan).__name__)
    if plan.get("schema", PLAN_SCHEMA) != PLAN_SCHEMA:
        raise PlanError("plan: schema %r is not %s" % (plan.get("schema"), PLAN_SCHEMA))
    moves = plan.get("moves")
    if not isinstance(moves, list):
        raise PlanError("plan.moves: expected a list of {step, vmid, source, target}")
    out, seen = [], {}
    for i, move in enumerate(moves):
        path = "plan.moves[%d]" % i
        if not isinstance(move, dict):
            raise PlanError("%s: expected an object" % path)
        for key in ("vmid", "source", "target"):
            if move.get(key) in (None, ""):
                raise PlanError("%s.%s: missing" % (path, key))
        try:
            vmid, step = int(move["vmid"]), int(move.get("step", i + 1))
        except (TypeError, ValueError):
            raise PlanError("%s: vmid and step must be integers" % path)
        if vmid in seen and not _continues_park(seen[vmid], step, move):
            raise PlanError("%s: guest %d appears twice; a plan moves each guest at most once, besides a park "
                            "step (kind: park) in an earlier step that ends where the next move starts" % (path, vmid))
        if move["source"] == move["target"]:
            raise PlanError("%s: source and target are both %s" % (path, move["source"]))
        seen[vmid] = {"step": step, "kind": move.get("kind"), "target": str(move["target"])}
        out.append({"index": i, "step": step, "vmid": vmid, "name": str(move.get("name") or ""),
                    "type": move.get("type"), "source": str(move["source"]), "target": str(move["target"]),
                    "kind": move.get("kind") or "move"})
    return sorted(out, key=lambda m: (m["step"], m["index"]))


def _continues_park(earlier, step, move):
    """A guest's second move is allowed after its park step: a later step, from where the park left it."""
    return earlier["kind"] == "park" and earlier["step"] < step and str(move["source"]) == earlier["target"]


def dependencies(moves):
    """{i: set(j)}: move i waits for the earlier-step moves j out of its target (they free its room) and for
    the guest's own park step."""
    deps = {}
    for i, move in enumerate(moves):
        deps[i] = set(j for j in range(i) if moves[j]["step"] < move["step"]
                      and (moves[j]["source"] == move["target"] or moves[j]["vmid"] == move["vmid"]))
    return deps
