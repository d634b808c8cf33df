# -*- coding: utf-8 -*-
# Copyright: (c) 2026, proxlb.balancer contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What ``proxlb_migrate`` does: get the plan (given, from a file, or made now: the one place that decides
to plan before migrating), take the journal lock and the cluster lease, carry the plan out with the
executor, and shape the module result (docs/migrate.md)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.proxlb.balancer.plugins.module_utils.common import clock, config
from ansible_collections.proxlb.balancer.plugins.module_utils.common.constants import STATUSES
from ansible_collections.proxlb.balancer.plugins.module_utils.common.errors import ApiError, ConfigError, PlanError
from ansible_collections.proxlb.balancer.plugins.module_utils.entry import runner
from ansible_collections.proxlb.balancer.plugins.module_utils.migrate.executor import SETTINGS, Executor, parent_watch
from ansible_collections.proxlb.balancer.plugins.module_utils.migrate.plan_moves import load_plan
from ansible_collections.proxlb.balancer.plugins.module_utils.migrate.journal import Journal
from ansible_collections.proxlb.balancer.plugins.module_utils.migrate.lease import Lease, new_owner


def _plan_from(params, environ):
    if params.get("plan"):
        return params["plan"], []
    if params.get("plan_file"):
        # UTF-8, size-limited, one line on any error (a hand-edited or foreign file)
        return config.read_json(params["plan_file"], "plan_file", error=PlanError), []
    planned = runner.run_plan(dict(params, snapshot=None, snapshot_file=None), environ)
    return planned["plan"], planned.get("warnings", [])


def run_migrate(params, environ=None, check_mode=False, progress=None, alive=None):
    """Execute a plan (given, from a file, or made now); returns the module result with the results.

    Order: connect, lock the journal, take the cluster lease (waiting up to ``lock_timeout``), plan if no
    plan was given, read the cluster and what its rules depend on, run, read the cluster again, release.
    Check mode takes neither lock: it writes nothing."""
    alive = alive or parent_watch()   # taken first: the controller may die while we wait for the lease
    given = params.get("plan") or params.get("plan_file")
    plan, warnings = _plan_from(params, environ) if given else (None, [])
    if plan is not None:
        load_plan(plan)
        clock.check_plan_age(plan, params.get("plan_ttl"))   # an expired plan is refused before anything moves
    actions = ("read", "migrate") if check_mode else ("read", "migrate", "lease")
    client, behaviour, connect_warnings = runner.connect(params, environ, actions=actions)
    warnings = list(warnings) + connect_warnings
    settings = dict((k, params.get(k)) for k in SETTINGS)
    lock_timeout = params.get("lock_timeout")
    lock_timeout = SETTINGS["lock_timeout"] if lock_timeout is None else lock_timeout
    if not isinstance(lock_timeout, (int, float)) or isinstance(lock_timeout, bool) or not 0 <= lock_timeout <= 86400:
        raise ConfigError("lock_timeout: expected seconds between 0 and 86400, got %r" % (lock_timeout,))
    # check mode writes no journal: nothing it records would happen
    journal = Journal(None if check_mode else params.get("journal"))
    lease = None
    try:
        if not check_mode:
            owner = new_owner()
            journal.lock(lock_timeout, owner=owner)
            try:
                lease = Lease(client, owner=owner).acquire(
                    lock_timeout, poll=min(max(float(settings.get("poll_interval") or 2), 0.2), 5.0))
            except ApiError as exc:
                raise ApiError("stopped before any move: the cluster lease in the datacenter notes cannot be "
                               "taken (%s)" % exc, status_code=getattr(exc, "status_code", None))
            warnings.extend(lease.warnings)
        if plan is None:
            plan, plan_warnings = _plan_from(params, environ)
            warnings.extend(plan_warnings)
            load_plan(plan)
        result = _execute(client, plan, behaviour, settings, journal, check_mode, progress, params, environ,
                          warnings, alive, lease)
    finally:
        if lease is not None:
            try:
                lease.release()
            except ApiError as exc:
                warnings.append("cluster lease not released (it expires by itself): %s" % exc)
        journal.unlock()
    return result


def _execute(client, plan, behaviour, settings, journal, check_mode, progress, params, environ, warnings, alive,
             lease):
    def executor_for(document):
        return Executor(client, document, behaviour, settings, journal, check_mode, progress, alive=alive,
                        lease=lease)

    executor = executor_for(plan)
    stale = executor.prepare()
    on_stale = settings.get("on_stale") or "skip"
    replaced = []
    if stale and on_stale == "fail":
        listed = "; ".join("guest %d: %s" % s for s in stale[:5])
        raise PlanError("plan is stale, nothing was migrated (on_stale: fail): %s%s" % (
            listed, " and %d more" % (len(stale) - 5) if len(stale) > 5 else ""))
    if stale and on_stale == "replan":
        plan, replaced = _replan(executor, stale, params, environ, warnings)
        executor = executor_for(plan)
        executor.prepare()
    if not check_mode:
        journal.run_started(plan.get("fingerprint"), len(executor.moves), owner=lease.owner if lease else None)
    results = executor.run()
    if replaced:
        results["results"].extend(replaced)
        for status in STATUSES:
            results["totals"][status] = sum(1 for r in results["results"] if r["status"] == status)
        results["totals"]["moves"] = len(results["results"])
    warnings.extend(executor.warnings)
    return _module_result(executor, results, check_mode, settings, warnings)


def _replan(executor, stale, params, environ, warnings):
    """``on_stale: replan``: a new plan from the live cluster; the old moves it drops, marked skipped."""
    warnings.append("plan is stale (%d guest(s) moved or locked): planned again" % len(stale))
    fresh, plan_warnings = _plan_from(dict(params, plan=None, plan_file=None), environ)
    warnings.extend(plan_warnings)
    new_vmids = set(int(m["vmid"]) for m in fresh.get("moves", []))
    reasons = dict(stale)
    replaced = []
    for old in executor.results()["results"]:
        if old["vmid"] in new_vmids:
            continue
        if old["status"] is None:
            old.update(status="skipped", error="not in the new plan (%s)" % reasons.get(old["vmid"], "replanned"))
        replaced.append(old)
    return fresh, replaced


def _module_result(executor, results, check_mode, settings, warnings):
    moved = [r for r in results["results"] if r["status"] == "done"]
    result = {
        "changed": bool(moved),
        "results": results,
        "measured": results.get("measured") or {},
        "diff": {"before": dict(("%d" % r["vmid"], r["source"]) for r in moved),
                 "after": dict(("%d" % r["vmid"], r["target"]) for r in moved)},
        "warnings": warnings,
    }
    if check_mode:
        result["check_mode"] = True
    bad = [r for r in results["results"] if r["status"] in ("failed", "timed_out")]
    if executor.fatal:
        result.update(failed=True, msg="stopped before migrating: %s" % executor.fatal if not moved
                      else "stopped: %s" % executor.fatal)
    elif executor.orphaned:
        result.update(failed=True, msg="stopped: the controller process ended; the tasks in flight are followed "
                      "by the next run with the same journal")
    elif bad:
        result["msg"] = "%d of %d move(s) did not succeed; first: guest %d: %s" % (
            len(bad), len(results["results"]), bad[0]["vmid"], bad[0]["error"])
        if settings.get("fail_task") is not False:
            result["failed"] = True
    return result
