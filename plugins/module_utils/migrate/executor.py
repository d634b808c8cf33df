# -*- coding: utf-8 -*-
# Copyright: (c) 2026, proxlb.balancer contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Carry a plan out: preflight each move, start moves in plan order within the concurrency limits and the
live capacity, follow every UPID to its end, verify the guest on its target, journal, resume.

Ordering: a move never starts before the earlier-step moves out of its target have finished (they make
the room it needs); moves between other nodes do not wait for each other, so a busy node does not hold
the whole cluster back. A failed move stops the moves that depend on it; ``on_failure: stop`` also stops
every move not yet started. Every guest of the plan ends in the results with one of ``STATUSES``.

Trust: what a hard rule depends on (the maintenance marker, HA rules) is read before any move or the run
stops; one run per cluster (a lease in the datacenter notes, ``lease.py``) and per journal (an OS lock);
migrations started by others count against the limits and are waited for; a POST whose answer is lost is
reconciled from the node's task list, never sent twice; a worker whose controller died starts nothing more.
API economy: tasks are tracked through one ``/cluster/tasks`` read per round, the full ``/cluster/resources``
is read again only every few rounds or when a step begins, the migrate precondition once per move.
The shapes are in docs/migrate.md; ``entry/migrate.py`` (``run_migrate``) is what the module and the action
plugin call.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import re
import time

from ansible_collections.proxlb.balancer.plugins.module_utils.common.constants import RESULTS_SCHEMA, STATUSES, utc_stamp
from ansible_collections.proxlb.balancer.plugins.module_utils.migrate import migration_params, tasks
from ansible_collections.proxlb.balancer.plugins.module_utils.common.errors import ApiError, PermissionDenied
from ansible_collections.proxlb.balancer.plugins.module_utils.common import windows
from ansible_collections.proxlb.balancer.plugins.module_utils.migrate.journal import Journal
from ansible_collections.proxlb.balancer.plugins.module_utils.migrate.limits import Limits
from ansible_collections.proxlb.balancer.plugins.module_utils.migrate.live import Live, measure, stale_reason
from ansible_collections.proxlb.balancer.plugins.module_utils.migrate.plan_moves import dependencies, load_plan
from ansible_collections.proxlb.balancer.plugins.module_utils.migrate.tasks import upid_fields
from ansible_collections.proxlb.balancer.plugins.module_utils.migrate.live_check import CAPACITY_FILTERS, LivePlacement, live_snapshot
from ansible_collections.proxlb.balancer.plugins.module_utils.migrate import progress as progress_lines
from ansible_collections.proxlb.balancer.plugins.module_utils.facts import maintenance_marker
from ansible_collections.proxlb.balancer.plugins.module_utils.placement.precondition import verdict
from ansible_collections.proxlb.balancer.plugins.module_utils.facts.snapshot import version_tuple

TASK_TYPES = {"qemu": "qmigrate", "lxc": "vzmigrate"}
SETTINGS = {"poll_interval": 2.0, "on_stale": "skip", "on_failure": "continue", "targetstorage": None,
            "restart_timeout": migration_params.DEFAULT_RESTART_TIMEOUT, "fail_task": True, "lock_timeout": 120}
# a POST answered with one of these may be a passing proxy or node hiccup: look for the task, then retry
_TRANSIENT = (500, 502, 503, 504, 595, 596, None)
_POST_ATTEMPTS = 3
_VERIFY_POLLS = 5
_READ_ATTEMPTS = 5
# The full /cluster/resources is read again when a step begins; before further starts only when the view
# is REFRESH_ROUNDS rounds old and REFRESH_STARTS moves were started on it, or REFRESH_MAX_ROUNDS old; while
# moves wait for others' migrations every REFRESH_ROUNDS rounds; once at the end (verification, measured).
REFRESH_ROUNDS = 5
REFRESH_STARTS = 10
REFRESH_MAX_ROUNDS = 30
# /cluster/tasks is read every round while a task of ours may end; after a read in which none ended, the
# next reads are spaced out up to every TASKS_BACKOFF + 1 rounds
TASKS_BACKOFF = 3
# a POST whose answer was lost: how long (s, at least) its task is looked for before the move is given up
_LOST_GRACE = 10.0
_MIGRATE_TYPES = ("qmigrate", "vzmigrate", "hamigrate")
_TARGET_IN_LOG = re.compile(r"to node '([^']+)'")


def _stamp():
    return utc_stamp()


def _transient(exc):
    return getattr(exc, "status_code", None) in _TRANSIENT


def parent_watch(getppid=os.getppid):
    """A callable that is False once the process that started us (the controller) is gone.

    Ansible's workers leave the controller's session, so a killed ``ansible-playbook`` does not take them
    along: the worker sees its parent process id change (re-parented to init or a subreaper)."""
    first = getppid()
    return lambda: getppid() == first


class Executor(object):
    """One run over one plan. ``prepare()`` reads the cluster and reports stale moves; ``run()`` executes."""

    def __init__(self, client, plan, behaviour, settings=None, journal=None, check_mode=False, progress=None,
                 sleep=time.sleep, clock=time.monotonic, alive=None, lease=None):
        self.client = client
        self.plan = plan
        self.moves = load_plan(plan)
        self.deps = dependencies(self.moves)
        self.behaviour = behaviour
        self.balancing = behaviour["balancing"]
        self.settings = dict(SETTINGS)
        self.settings.update(dict((k, v) for k, v in (settings or {}).items() if v is not None))
        self.journal = journal or Journal(None)
        self.check_mode = check_mode
        self.say = progress or (lambda message: None)
        self.sleep = sleep
        self.clock = clock
        self.alive = alive or parent_watch()
        self.lease = lease
        jobs = self.balancing.get("parallel_jobs", 5) if self.balancing.get("parallel") else 1
        self.limits = Limits(jobs, self.balancing.get("per_node_jobs", 2))
        self.timeout = float(self.balancing.get("max_job_validation") or 1800)
        self.live = Live(self.balancing, behaviour["proxmox_cluster"])
        self.state = [dict(m, status=None, upid=None, started=None, finished=None, error=None, phase=None,
                           attempts=0, polls_failed=0, verify=0, t0=None, failure=False) for m in self.moves]
        self.pending = []
        self.inflight = []
        self.verifying = []
        self.foreign = []            # [(source, target)] of migrations we did not start
        self.foreign_moves = {}      # vmid -> (source, target, upid)
        self._foreign_targets = {}   # upid -> target read from the task log (it never changes)
        self.answers = {}            # (vmid, source) -> the migrate precondition's answer (asked once per move)
        self.lock_suspects = set()   # guests locked for migrate without a running task, seen once
        self.stale_locks = set()     # ... seen so twice: a stale lock
        self.versions = {}
        self.stop_reason = None
        self.fatal = None
        self.orphaned = False
        self.warnings = []
        self.retry = False
        self.refresh_failures = 0
        self.refreshed_at = None
        self.round = 0
        self.refreshed_round = None
        self.started_steps = set()
        self.starts_since_refresh = 0
        self.tasks_read_round = None
        self.tasks_skip = 0
        self._tasks_round = None
        self._tasks = None
        self.measured = {}
        self.placement = None        # the placement core's view of the live cluster (migrate/live_check.py)

    # ------------------------------------------------------------------ reading the cluster
    def refresh(self):
        self.live.load(self.client.get("/cluster/resources") or [])
        self.refreshed_at = self.clock()
        self.refreshed_round = self.round
        self.starts_since_refresh = 0
        for vmid, target in list(self.live.moved.items()):
            if (self.live.guests.get(vmid) or {}).get("node") == target:
                del self.live.moved[vmid]
        self.foreign = self._foreign_flows()

    def cluster_tasks(self):
        """``/cluster/tasks`` (every node's running and recent tasks), read at most once per round."""
        if self._tasks_round != self.round:
            self._tasks = None
            self._tasks_round = self.round
            try:
                self._tasks = self.client.get("/cluster/tasks") or []
            except ApiError as exc:
                self._tasks_error = exc
        return self._tasks

    def _foreign_flows(self):
        """(source, target) of migrations we did not start; target None when PVE does not tell it.

        A guest locked for migrate without a running migration task in ``/cluster/tasks`` is not a flow;
        seen so in two reads, it is a stale lock (a crashed migration leaves one) and is said once."""
        ours = set(m["vmid"] for m in self.inflight + self.verifying)
        locked = dict((v, g) for v, g in self.live.guests.items() if g.get("lock") == "migrate" and v not in ours)
        known = dict((v, f) for v, f in self.foreign_moves.items() if v in locked and f[2])
        missing = set(locked) - set(known)
        if missing:
            listed = self.cluster_tasks()
            for task in listed or []:
                vmid = str(task.get("id") or "")
                if task.get("type") not in TASK_TYPES.values() or _ended(task) or not vmid.isdigit() \
                        or int(vmid) not in missing or int(vmid) in known:
                    continue
                upid = task.get("upid")
                if upid not in self._foreign_targets:
                    self._foreign_targets[upid] = self._task_target(task)
                known[int(vmid)] = (locked[int(vmid)].get("node"), self._foreign_targets[upid], upid)
            for vmid in sorted(missing - set(known)):
                if listed is None:
                    # the task list is not readable now: it counts at its source
                    known[vmid] = (locked[vmid].get("node"), None, None)
                elif vmid in self.lock_suspects and vmid not in self.stale_locks:
                    self.stale_locks.add(vmid)
                    self.warnings.append("guest %d is locked (migrate) but no migration task runs: a stale lock? "
                                         "('qm unlock %d' clears it)" % (vmid, vmid))
                else:
                    self.lock_suspects.add(vmid)
        self.lock_suspects &= set(locked)
        self.foreign_moves = known
        return [(f[0], f[1]) for _v, f in sorted(known.items())]

    def _task_target(self, task):
        try:
            log = self.client.get("/nodes/%s/tasks/%s/log" % (task["node"], task["upid"]), limit=5) or []
        except ApiError:
            return None
        for line in log:
            found = _TARGET_IN_LOG.search(str(line.get("t", "")))
            if found:
                return found.group(1)
        return None

    def _refresh_or_retry(self):
        """Refresh; a failed read (a 5xx burst) is retried on the next round, a lasting one stops the run."""
        try:
            self.refresh()
        except ApiError as exc:
            self.refresh_failures += 1
            if self.refresh_failures >= _READ_ATTEMPTS:
                self.stop("cannot read the cluster (%s)" % exc)
            else:
                self.retry = True
            return False
        self.refresh_failures = 0
        self._verify()
        return True

    def view_is_old(self, rounds=REFRESH_ROUNDS):
        """True when the last full read is more than ``rounds`` rounds old."""
        return self.refreshed_round is None or self.round - self.refreshed_round >= rounds

    def view_due_before_start(self):
        """Read the cluster again before this start? Not per start: after REFRESH_STARTS starts on an old view."""
        if self.refreshed_round == self.round:
            return False
        return (self.view_is_old() and self.starts_since_refresh >= REFRESH_STARTS) \
            or self.view_is_old(REFRESH_MAX_ROUNDS)

    def _read_required(self, path, what, **params):
        """Read what a hard rule depends on: transient errors are retried a few times, then the run stops
        before any move (fail closed)."""
        for attempt in range(_READ_ATTEMPTS):
            try:
                return self.client.get(path, **params)
            except PermissionDenied as exc:
                raise PermissionDenied("stopped before any move: %s cannot be read (%s); rules depend on it"
                                       % (what, exc), status_code=403)
            except ApiError as exc:
                if _transient(exc) and attempt + 1 < _READ_ATTEMPTS:
                    self.sleep(min(float(self.settings["poll_interval"]), 1.0) * (attempt + 1))
                    continue
                raise ApiError("stopped before any move: %s cannot be read (%s); rules depend on it, so "
                               "nothing was migrated" % (what, exc), status_code=getattr(exc, "status_code", None))

    def read_rule_inputs(self):
        """The maintenance marker (datacenter notes) and the HA configuration, or the run stops."""
        options = self._read_required("/cluster/options", "the maintenance marker (GET /cluster/options)") or {}
        self.live.marker = maintenance_marker.parse(options.get("description", "") if isinstance(options, dict)
                                                    else "")
        self.live.ha = {"ha_resources": self._read_required("/cluster/ha/resources",
                                                            "the HA resources (GET /cluster/ha/resources)") or []}
        try:
            self.live.ha["ha_rules"] = self.client.get("/cluster/ha/rules") or []
        except PermissionDenied:
            self._read_required("/cluster/ha/rules", "the HA rules (GET /cluster/ha/rules)")
        except ApiError as exc:
            if getattr(exc, "status_code", None) in (400, 404, 501):
                # PVE 8 has no HA rules: its HA groups say where HA guests may run
                self.live.ha["ha_groups"] = self._read_required("/cluster/ha/groups",
                                                                "the HA groups (GET /cluster/ha/groups)") or []
            else:
                self.live.ha["ha_rules"] = self._read_required("/cluster/ha/rules",
                                                               "the HA rules (GET /cluster/ha/rules)") or []

    def node_version(self, node):
        if node not in self.versions:
            self.versions[node] = self.client.node_version(node)
        return self.versions[node]

    # ------------------------------------------------------------------ bookkeeping
    def finish(self, move, status, error=None, record=True):
        move["status"] = status
        move["error"] = error
        if move["started"]:
            move["finished"] = _stamp()
        for queue in (self.inflight, self.pending, self.verifying):
            if move in queue:
                queue.remove(move)
        self.live.moved.pop(move["vmid"], None)
        if status == "done" and move["vmid"] in self.live.guests:
            self.live.guests[move["vmid"]]["node"] = move["target"]
        if record and status != "already_done" and (move["upid"] or move["started"]
                                                    or status in ("failed", "timed_out")):
            self.journal.ended(move, status, move["upid"], error)
        if status in ("failed", "timed_out") and self.settings["on_failure"] == "stop":
            self.stop("guest %d did not migrate (on_failure: stop)" % move["vmid"])
        if move["started"] or status in ("failed", "timed_out"):
            took = " in %ds" % (self.clock() - move["t0"]) if move["t0"] else ""
            # n/N, elapsed and what is left after each end (migrate/progress.py)
            self.say(progress_lines.counted(
                self.state, self.clock(), self.balancing.get("parallel"), "%d %s -> %s: %s%s%s" % (
                    move["vmid"], move["source"], move["target"], status, took, ": " + error if error else "")))

    def stop(self, reason):
        if self.stop_reason is None:
            self.stop_reason = reason

    # ------------------------------------------------------------------ phases
    def prepare(self):
        """Read the cluster and what its rules depend on, adopt migrations a previous run left running, sort
        out moves already done.

        Returns [(vmid, reason)] of stale moves (not on their source any more, or locked by someone)."""
        for attempt in range(_READ_ATTEMPTS):
            try:
                self.refresh()
                break
            except ApiError as exc:
                if attempt + 1 == _READ_ATTEMPTS or not _transient(exc):
                    raise
                self.sleep(float(self.settings["poll_interval"]))
        self.read_rule_inputs()
        if self.moves:
            self.started_steps.add(self.moves[0]["step"])   # this read is the first step's
        unfinished = self.journal.unfinished() if not self.check_mode else {}
        stale = []
        parked = set()
        for move in self.state:
            if move["vmid"] in parked:
                self.pending.append(move)   # after its park step: checked when it starts
                continue
            if move["kind"] == "park":
                parked.add(move["vmid"])
            record = unfinished.get(move["vmid"])
            if record and record.get("source") == move["source"] and record.get("target") == move["target"] \
                    and self._adopt(move, record):
                continue
            status, reason = stale_reason(move, self.live.guests.get(move["vmid"]))
            if status == "already_done":
                self.finish(move, status)
            elif status and status != "busy":
                stale.append((move["vmid"], reason))
                move["stale"] = reason
                self.pending.append(move)
            else:
                self.pending.append(move)
        return stale

    def _adopt(self, move, record):
        """Follow the task of an earlier, interrupted run instead of posting again."""
        upid = record.get("upid") or self._find_task(move, since=None, running=True)
        if not upid:
            return False
        move.update(upid=upid, started=record.get("at") or _stamp(), t0=self.clock(), phase=self._phase(upid))
        self.inflight.append(move)
        self.foreign_moves.pop(move["vmid"], None)
        self.foreign = [(f[0], f[1]) for v, f in sorted(self.foreign_moves.items())]
        self.say("%d %s -> %s: following task %s from the journal" % (move["vmid"], move["source"],
                                                                      move["target"], upid))
        return True

    @staticmethod
    def _phase(upid):
        return "ha" if upid_fields(upid)[2] == "hamigrate" else "task"

    def _find_task(self, move, since, running):
        """The newest qmigrate/vzmigrate task of the guest on its source since ``since`` (sim/PVE time)."""
        kind = move.get("type") or (self.live.guests.get(move["vmid"]) or {}).get("type") or "qemu"
        params = {"typefilter": TASK_TYPES.get(kind, "qmigrate"), "vmid": move["vmid"], "source": "all"}
        if since is not None:
            params["since"] = int(since)
        try:
            answer = self.client.get("/nodes/%s/tasks" % move["source"], **params) or []
        except ApiError:
            return None
        items = answer.get("data", []) if isinstance(answer, dict) else answer
        for task in items:
            if running and task.get("endtime") is not None and task.get("status") != "RUNNING":
                continue
            return task.get("upid")
        return None

    def _waiting_on_others(self):
        """Moves that wait for migrations someone else runs (within max_job_validation)."""
        return [m for m in self.pending if m.get("foreign_since") is not None]

    def run(self):
        """Execute the prepared plan; returns the results document."""
        begun = self.clock()
        while self.pending or self.inflight or self.verifying:
            self.round += 1
            if not self.alive():
                self._orphaned()
                break
            self._renew_lease()
            if self.inflight:
                self.poll()
            self.retry = False
            self.start_eligible()
            if not self.inflight and not self.retry and not self._waiting_on_others():
                if self.verifying:
                    self._settle()
                for move in list(self.pending):
                    self.finish(move, "skipped", move.get("waiting") or self.stop_reason or "could not start")
                break
            if (self._waiting_on_others() and self.view_is_old()) or \
                    (self.verifying and self.view_is_old(REFRESH_MAX_ROUNDS)):
                self._refresh_or_retry()
            self.sleep(float(self.settings["poll_interval"]))
        if not self.orphaned and not self.check_mode:
            self._measure()
        return self.results(self.clock() - begun)

    def _orphaned(self):
        """The controller is gone: start nothing more and leave the journal as it is, so the next run follows
        the tasks in flight (their ``posted`` lines have no end) instead of posting them again."""
        self.orphaned = True
        self.stop("the controller process ended; nothing more is started")
        self.warnings.append("the controller process ended: %d migration(s) in flight are left to PVE and "
                             "followed by the next run" % len(self.inflight))
        for move in list(self.inflight) + list(self.verifying):
            self.finish(move, "skipped", "controller ended while this migration ran (task %s); the next run "
                        "follows it" % move["upid"], record=False)
        for move in list(self.pending):
            self.finish(move, "skipped", "not started: %s" % self.stop_reason, record=False)

    def _renew_lease(self):
        if self.lease is None:
            return
        try:
            kept = self.lease.renew()
        except ApiError as exc:
            self.warnings.append("cluster lease not renewed: %s" % exc)
            return
        if not kept:
            self.stop("the cluster lease was taken over by another run")

    def _settle(self):
        """Nothing runs any more: read the cluster until every finished task's guest is seen on its target."""
        for _round in range(_VERIFY_POLLS + 1):
            if not self.verifying:
                return
            if self.refreshed_round != self.round:
                self._refresh_or_retry()
            if self.verifying:
                self.round += 1
                self.sleep(float(self.settings["poll_interval"]))

    def _verify(self):
        """Moves whose task ended OK are done once a read shows the guest on its target."""
        if self.refreshed_round != self.round:
            return
        for move in list(self.verifying):
            guest = self.live.guests.get(move["vmid"]) or {}
            if guest.get("node") == move["target"]:
                self.finish(move, "done")
                continue
            move["verify"] += 1
            if move["verify"] >= _VERIFY_POLLS:
                self.finish(move, "failed", "task ended OK but the guest is on %s, not %s"
                            % (guest.get("node"), move["target"]))

    # ------------------------------------------------------------------ starting
    def _dependency_state(self, index):
        """('wait'|'failed'|None, vmid of the dependency)."""
        for j in sorted(self.deps[index]):
            dep = self.state[j]
            if dep["status"] is None and dep["phase"] != "verify":
                return "wait", dep["vmid"]
            if dep["status"] in ("failed", "timed_out") or dep["failure"]:
                return "failed", dep["vmid"]
        return None, None

    def start_eligible(self):
        if self.pending and self.stop_reason is None:   # balancing windows, checked as moves start (docs/operations.md)
            self.stop(windows.executor_stop(self.balancing, len(self.pending), self.warnings, self.plan))
        for move in list(self.pending):
            if self.stop_reason:
                self.finish(move, "skipped", "not started: %s" % self.stop_reason)
                continue
            index = self.state.index(move)
            dep, vmid = self._dependency_state(index)
            if dep == "failed":
                move["failure"] = True
                self.finish(move, "skipped", "not started: the move of guest %d out of %s did not succeed"
                            % (vmid, move["target"]))
                continue
            if dep == "wait":
                move["waiting"] = "waited for guest %d to leave %s" % (vmid, move["target"])
                continue
            ours = [(m["source"], m["target"]) for m in self.inflight]
            blocked = self.limits.blocked(move, ours, self.foreign)
            if blocked:
                move["waiting"] = blocked
                if self.limits.full(ours):
                    return
                if self.limits.blocked(move, ours, ()) is None:
                    self._wait_for_others(move, blocked)   # only others' migrations hold it back
                continue
            if move["step"] not in self.started_steps and self.refreshed_round != self.round:
                # a new step: read the cluster once before its first move (between steps, others act)
                if not self._refresh_or_retry():
                    return
            if self.view_due_before_start():
                if not self._refresh_or_retry():
                    return
            self.started_steps.add(move["step"])
            self.starts_since_refresh += 1
            self._try_start(move)
            if self.fatal:
                self.stop(self.fatal)

    def _wait_for_others(self, move, why):
        """Wait for migrations started by others, at most max_job_validation seconds, then skip."""
        if move.get("foreign_since") is None:
            move["foreign_since"] = self.clock()
            self.say("%d %s -> %s: waiting: %s" % (move["vmid"], move["source"], move["target"], why))
        waited = self.clock() - move["foreign_since"]
        if waited > self.timeout:
            self.finish(move, "skipped", "waited %ds for migrations started by others (balancing."
                        "max_job_validation): %s" % (waited, why))
            return False
        move["waiting"] = "waited for migrations started by others: %s" % why
        return True

    def preflight(self, move):
        """('go', params) | ('skip', reason) | ('wait', reason) for one move, against the live cluster.

        The one place a move is checked before its POST."""
        guest = self.live.guests.get(move["vmid"])
        status, reason = stale_reason(move, dict(guest, node=self.live.node_of(move["vmid"])) if guest else None)
        if status == "already_done":
            return "already_done", None
        if status == "busy" and move["vmid"] in self.stale_locks:
            return "skip", "guest is locked (migrate) but no migration task runs: a stale lock? ('qm unlock %d' " \
                "clears it)" % move["vmid"]
        if status == "busy":
            return "wait_others", reason
        if status:
            return "skip", reason
        problem = self.live.node_problem(move["source"])
        if problem:
            return "skip", problem
        kind = guest.get("type")
        try:
            name, refused = self.placement_refusal(move)
        except PermissionDenied as exc:
            self.fatal = str(exc)
            return "skip", "permission denied: %s" % exc
        except ApiError as exc:
            return "skip", "preflight failed: %s" % exc
        if refused and name in CAPACITY_FILTERS:
            if [m for m in self.inflight if m["source"] == move["target"]]:
                return "wait", "waited for room: %s" % refused
            if [f for f in self.foreign if f[0] == move["target"]]:
                return "wait_others", "room on %s: %s" % (move["target"], refused)
            return "skip", "not enough room now: %s" % refused
        if refused:
            return "skip", refused
        try:
            source_version = self.node_version(move["source"])
            answer = self.answers.get((move["vmid"], move["source"]))
            if answer is None and (kind == "qemu" or version_tuple(source_version) >= (9, 0)):
                answer = self.client.get("/nodes/%s/%s/%d/migrate" % (move["source"], kind, move["vmid"]),
                                         target=move["target"]) or {}
                self.answers[(move["vmid"], move["source"])] = answer
        except PermissionDenied as exc:
            self.fatal = str(exc)
            return "skip", "permission denied: %s" % exc
        except ApiError as exc:
            return "skip", "preflight failed: %s" % exc
        if answer is not None:
            refusal = verdict(answer, move["target"], self.balancing.get("with_local_disks", True))
            if refusal:
                return "skip", refusal
        params, refusal = migration_params.build(guest, move["target"], self.balancing, source_version, answer,
                                                 self.settings["targetstorage"], self.settings["restart_timeout"])
        if refusal:
            return "skip", refusal
        return "go", params

    def placement_refusal(self, move):
        """(filter, reason) from the placement core against the cluster now, or (None, None)."""
        if self.placement is None:
            self.placement = LivePlacement(self.behaviour, self.plan.get("options"))
            # every node of the plan at once: a version learnt later would change the key and the live
            # state would be built again (a few seconds on 8000 guests)
            for name in sorted(set(m[k] for m in self.pending for k in ("source", "target"))):
                if (self.live.nodes.get(name) or {}).get("status") == "online":
                    self.node_version(name)
        for name in (move["source"], move["target"]):
            if (self.live.nodes.get(name) or {}).get("status") == "online":
                self.node_version(name)
        placements = dict((v, self.live.node_of(v)) for v in self.live.guests)

        def build():
            entries = list(self.live.nodes.values())
            entries += [dict(g, node=placements[v]) for v, g in sorted(self.live.guests.items())]
            return live_snapshot(entries, self.live.base, self.live.marker, self.live.ha, self.versions)
        self.placement.sync(self.live.nodes, placements, self.live.marker, self.versions, build)
        in_flight = [(m["vmid"], m["target"]) for m in self.inflight + self.verifying]
        in_flight += [(v, f[1]) for v, f in sorted(self.foreign_moves.items()) if f[1]]
        planned = dict((m["vmid"], m["target"]) for m in self.pending)
        return self.placement.refusal(move, in_flight, planned)

    def _try_start(self, move):
        verdict_, detail = self.preflight(move)
        if verdict_ == "already_done":
            self.finish(move, "already_done")
            return
        if verdict_ == "skip":
            self.finish(move, "skipped", detail)
            return
        if verdict_ == "wait":
            move["waiting"] = detail
            return
        if verdict_ == "wait_others":
            self._wait_for_others(move, detail)
            return
        move["foreign_since"] = None
        if self.check_mode:
            # nothing is posted: the guest counts as moved for the capacity of the moves after it
            self.live.guests[move["vmid"]]["node"] = move["target"]
            self.finish(move, "done")
            return
        self._post(move, detail)

    def our_user(self):
        """The user a UPID of ours names: 'user@realm!token' for a token, else 'user@realm'."""
        user, token = getattr(self.client, "user", None), getattr(self.client, "token_id", None)
        if not user:
            return None
        return "%s!%s" % (user, token) if token else user

    def _post(self, move, params):
        kind = self.live.guests[move["vmid"]]["type"]
        self.journal.intent(move)
        move["attempts"] += 1
        move["started"] = move["started"] or _stamp()
        try:
            upid = self.client.post("/nodes/%s/%s/%d/migrate" % (move["source"], kind, move["vmid"]), **params)
        except PermissionDenied as exc:
            self.fatal = str(exc)
            self.journal.ended(move, "skipped", None, str(exc))
            move["started"] = None
            self.finish(move, "skipped", "permission denied: %s" % exc)
            return
        except ApiError as exc:
            if getattr(exc, "status_code", None) is None:
                # no answer (timeout, connection lost): PVE may have started it; never POST it again
                move.update(phase="lost", t0=self.clock(), lost_error=str(exc))
                self.pending.remove(move)
                self.inflight.append(move)
                self.say("%d %s -> %s: no answer to the migrate request (%s); looking for its task" % (
                    move["vmid"], move["source"], move["target"], exc))
                return
            # an answer with an error: the request may still have started a task before failing
            upid = self._find_task(move, since=None, running=True)
            if not upid:
                if _transient(exc) and move["attempts"] < _POST_ATTEMPTS:
                    self.journal.ended(move, "retry", None, str(exc))
                    move["waiting"] = "migrate request failed %d times: %s" % (move["attempts"], exc)
                    self.retry = True
                    return
                if self._refresh_or_retry():
                    status, reason = stale_reason(move, self.live.guests.get(move["vmid"]))
                    if status == "already_done" or status == "busy":
                        self.journal.ended(move, "retry", None, str(exc))
                        move["started"] = None
                        if status == "busy":
                            self._wait_for_others(move, reason)
                        else:
                            self.finish(move, "already_done")
                        return
                self.finish(move, "failed", "migrate request refused: %s" % exc)
                return
        self._following(move, upid)
        shown = " ".join("%s=%s" % kv for kv in sorted(params.items()) if kv[0] != "target")
        self.say("%d (%s) %s -> %s: started %s" % (
            move["vmid"], move["name"] or kind, move["source"], move["target"], shown))

    def _following(self, move, upid):
        move.update(upid=upid, started=move["started"] or _stamp(), t0=move["t0"] or self.clock(),
                    phase=self._phase(upid))
        self.journal.posted(move, upid)
        if move in self.pending:
            self.pending.remove(move)
        if move not in self.inflight:
            self.inflight.append(move)

    # ------------------------------------------------------------------ tracking
    def poll(self):
        """One look at every move in flight: their tasks from one ``/cluster/tasks`` read (a task not listed
        there is asked for by its UPID), HA requests followed to their real task, lost POSTs reconciled."""
        need_refresh = False
        listed = {}
        tracked = [m for m in self.inflight if m["phase"] in ("task", "ha", "find")]
        if tracked and (self.tasks_read_round is None or self.round - self.tasks_read_round > self.tasks_skip
                        or any(self.clock() - m["t0"] > self.timeout for m in tracked)):
            self.tasks_read_round = self.round
            answer = self.cluster_tasks()
            listed = dict((t.get("upid"), t) for t in (answer or []))
            ended = [m for m in tracked if m["phase"] in ("task", "ha") and _ended(listed.get(m["upid"]))]
            self.tasks_skip = 0 if ended or answer is None else min(self.tasks_skip + 1, TASKS_BACKOFF)
        elif tracked:
            tracked = []   # this round rests: nothing of ours ended in the last read
        for move in list(self.inflight):
            if move["phase"] == "lost":
                self._reconcile_lost(move)
                continue
            if move["phase"] == "find":
                continue
            if move not in tracked:
                continue
            node = upid_fields(move["upid"])[0]
            task = listed.get(move["upid"])
            if task is not None and task.get("endtime") is None and task.get("status") in (None, "RUNNING"):
                continue
            if task is None:
                # not in the list (its node's window of finished tasks moved on): ask for it by UPID
                try:
                    task = self.client.get("/nodes/%s/tasks/%s/status" % (node, move["upid"])) or {}
                except ApiError as exc:
                    move["polls_failed"] += 1
                    move["last_error"] = str(exc)
                    need_refresh = need_refresh or self.view_is_old()
                    continue
                if task.get("status") != "stopped":
                    continue
            else:
                task = dict(task, exitstatus=task.get("status"), status="stopped")
            self._task_stopped(move, node, task)
        if need_refresh and self.refreshed_round != self.round and not self._refresh_or_retry():
            return
        for move in list(self.inflight):
            if move["phase"] == "lost":
                continue
            if move["phase"] == "find" and move in tracked:
                real = self._real_task(move, listed)
                if real and real != move["upid"]:
                    move["upid"], move["phase"] = real, "task"
                    self.journal.posted(move, real)
                    continue
                guest = self.live.guests.get(move["vmid"]) or {}
                if self.refreshed_round == self.round and guest.get("node") == move["target"] \
                        and not guest.get("lock"):
                    self.finish(move, "done")
                    continue
                move["find_rounds"] = move.get("find_rounds", 0) + 1
            self._check_overdue(move)

    def _real_task(self, move, listed):
        """The qmigrate/vzmigrate task HA started for an HA guest's request: from the ``/cluster/tasks`` read
        of this round; every REFRESH_ROUNDS rounds also from the source node's own list (older tasks)."""
        kind = move.get("type") or (self.live.guests.get(move["vmid"]) or {}).get("type") or "qemu"
        wanted = TASK_TYPES.get(kind, "qmigrate")
        found = [t for t in listed.values() if t.get("type") == wanted and str(t.get("id")) == str(move["vmid"])
                 and t.get("node") == move["source"] and int(t.get("starttime") or 0) >= int(move["ha_since"])]
        if found:
            return max(found, key=lambda t: int(t.get("starttime") or 0))["upid"]
        if move.get("find_rounds", 0) % REFRESH_ROUNDS == REFRESH_ROUNDS - 1:
            if self.refreshed_round != self.round:
                self._refresh_or_retry()
            return self._find_task(move, move["ha_since"], running=False)
        return None

    def _task_stopped(self, move, node, task):
        """A task of ours ended: failed, or (HA request) look for the real task, or verify the guest."""
        exitstatus = task.get("exitstatus")
        ok, warning_count = tasks.task_outcome(task)
        if not ok:
            what = "HA migration request" if move["phase"] == "ha" else "migration task"
            self.finish(move, "failed", "%s ended with exit status '%s'%s" % (
                what, exitstatus, self._task_error(node, move["upid"])))
            return
        if warning_count:
            # 'WARNINGS: n' is a success in PVE; the warnings themselves are only in the task log
            found = tasks.task_warnings(self._task_log(node, move["upid"]))
            move["warnings"] = (move.get("warnings") or []) + (found or [exitstatus])
        if move["phase"] == "ha":
            move["phase"] = "find"
            move["ha_since"] = upid_fields(move["upid"])[1]
            return
        # PVE says OK: the guest counts at its target now; a later read of the cluster confirms it
        move["phase"] = "verify"
        self.inflight.remove(move)
        self.verifying.append(move)
        self.live.moved[move["vmid"]] = move["target"]

    def _reconcile_lost(self, move):
        """A POST without answer: find this run's task in the source node's task list before anything else.

        Running, or ended while the guest went to its target: it is ours (the guest was on its source and
        unlocked when we posted, and the lease keeps other runs away). Nothing after the grace time: failed,
        never posted again (a rerun with the journal looks once more)."""
        user = self.our_user()
        try:
            answer = self.client.get("/nodes/%s/tasks" % move["source"], vmid=move["vmid"], source="all",
                                     limit=10) or []
        except ApiError:
            answer = []
        items = answer.get("data", []) if isinstance(answer, dict) else answer
        ours = [t for t in items if t.get("type") in _MIGRATE_TYPES and (not user or _task_user(t) == user)]
        grace = max(_LOST_GRACE, 2.0 * float(getattr(self.client, "timeout", 0) or 0))
        over = self.clock() - move["t0"] > grace
        if ours and (ours[0].get("endtime") is None or ours[0].get("status") == "RUNNING"):
            self._adopt_lost(move, ours[0]["upid"])
            return
        if ours or over:
            if self.refreshed_round != self.round and not self._refresh_or_retry():
                return
            guest = self.live.guests.get(move["vmid"]) or {}
            if ours and guest.get("node") == move["target"] and ours[0].get("status") == "OK":
                self._adopt_lost(move, ours[0]["upid"])
                return
            if guest.get("lock") == "migrate" and not over:
                return   # started; its task shows up in the list on the next look
            if over:
                self.finish(move, "failed", "the migrate request got no answer (%s) and no task of this run "
                            "appeared on %s within %ds; not sent again" % (
                                move["lost_error"], move["source"], grace))

    def _adopt_lost(self, move, upid):
        self.say("%d %s -> %s: the unanswered migrate request started task %s" % (
            move["vmid"], move["source"], move["target"], upid))
        move["t0"] = self.clock()
        self._following(move, upid)

    def _task_log(self, node, upid):
        try:
            return self.client.get("/nodes/%s/tasks/%s/log" % (node, upid), start=0, limit=500) or []
        except ApiError:
            return []

    def _task_error(self, node, upid):
        """The cause from the task log (PVE's exit status alone, e.g. 'migration aborted', does not say why)."""
        cause = tasks.task_error(self._task_log(node, upid))
        return ": %s" % cause if cause else ""

    def _check_overdue(self, move):
        if move not in self.inflight:
            return
        node = upid_fields(move["upid"])[0]
        if move["polls_failed"] and self.live.node_problem(node):
            self.finish(move, "failed", "%s; the task cannot be followed (%s); guest last seen on %s" % (
                self.live.node_problem(node), move.get("last_error"),
                (self.live.guests.get(move["vmid"]) or {}).get("node")))
        elif self.clock() - move["t0"] > self.timeout:
            self.finish(move, "timed_out", "still running after %ds (balancing.max_job_validation); PVE goes on "
                        "with task %s" % (self.timeout, move["upid"]))

    # ------------------------------------------------------------------ results
    def _measure(self):
        """The cluster read once more after the run: per-node loads and spread, beside the plan's prediction."""
        try:
            if self.refreshed_round != self.round:
                self.refresh()
        except ApiError as exc:
            self.warnings.append("cluster not read after the run: %s" % exc)
            return
        self.measured = measure(self.live, self.balancing)

    def results(self, seconds=0.0):
        results = []
        for move in self.state:
            results.append({"vmid": move["vmid"], "source": move["source"], "target": move["target"],
                            "status": move["status"], "upid": move["upid"], "started": move["started"],
                            "finished": move["finished"], "error": move["error"],
                            "warnings": move.get("warnings") or []})
        totals = dict((s, sum(1 for r in results if r["status"] == s)) for s in STATUSES)
        totals["moves"] = len(results)
        totals["seconds"] = round(seconds, 1)
        return {"schema": RESULTS_SCHEMA, "fingerprint": self.plan.get("fingerprint"), "results": results,
                "totals": totals, "measured": self.measured}


def _ended(task):
    """True when a ``/cluster/tasks`` entry is a finished task."""
    return task is not None and (task.get("endtime") is not None or task.get("status") not in (None, "RUNNING"))


def _task_user(task):
    user = str(task.get("user") or "")
    if task.get("tokenid"):
        return "%s!%s" % (user, task["tokenid"])
    if not user and task.get("upid"):
        parts = str(task["upid"]).split(":")
        return parts[7] if len(parts) > 7 else ""
    return user
