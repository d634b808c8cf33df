# -*- coding: utf-8 -*-
# Copyright: (c) 2026, proxlb.balancer contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Carry a plan out: preflight each move, start moves in plan order within the concurrency limits and the
live capacity, follow every UPID to its end, verify the guest on its target, journal, resume.

Ordering: a move never starts before the earlier-step moves out of its target have finished (they make
the room it needs); moves between other nodes do not wait for each other, so a busy node does not hold
the whole cluster back. A failed move stops the moves that depend on it; ``on_failure: stop`` also stops
every move not yet started. Every guest of the plan ends in the results with one of ``STATUSES``.
The shapes are in docs/migrate.md; ``run_migrate`` is what the module and the action plugin call.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re
import time

from ansible_collections.proxlb.balancer.plugins.module_utils.migrate import migration_params
from ansible_collections.proxlb.balancer.plugins.module_utils.common.errors import ApiError, PermissionDenied, PlanError
from ansible_collections.proxlb.balancer.plugins.module_utils.common import documents
from ansible_collections.proxlb.balancer.plugins.module_utils.migrate.journal import Journal
from ansible_collections.proxlb.balancer.plugins.module_utils.migrate import progress as progress_lines
from ansible_collections.proxlb.balancer.plugins.module_utils.placement.load import reserve_bytes, GIB
from ansible_collections.proxlb.balancer.plugins.module_utils.placement.precondition import verdict
from ansible_collections.proxlb.balancer.plugins.module_utils.facts.snapshot import version_tuple

RESULTS_SCHEMA = "proxlb.balancer/results/1"
PLAN_SCHEMA = "proxlb.balancer/plan/1"
STATUSES = ("done", "already_done", "skipped", "failed", "timed_out")
TASK_TYPES = {"qemu": "qmigrate", "lxc": "vzmigrate"}
SETTINGS = {"poll_interval": 2.0, "on_stale": "skip", "on_failure": "continue", "targetstorage": None,
            "restart_timeout": migration_params.DEFAULT_RESTART_TIMEOUT}
# a POST answered with one of these may be a passing proxy or node hiccup: look for the task, then retry
_TRANSIENT = (500, 502, 503, 504, 595, 596, None)
_POST_ATTEMPTS = 3
_VERIFY_POLLS = 5
_READ_ATTEMPTS = 5
_TARGET_IN_LOG = re.compile(r"to node '([^']+)'")


def _stamp():
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


def upid_fields(upid):
    """(node, start time in seconds, task type) of a UPID 'UPID:node:pid:pstart:starttime:type:id:user:'."""
    parts = str(upid).split(":")
    if len(parts) < 8 or parts[0] != "UPID":
        raise ApiError("not a UPID: %r" % (upid,))
    return parts[1], int(parts[4], 16), parts[5]


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
    out, seen = [], set()
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
        if vmid in seen:
            raise PlanError("%s: guest %d appears twice; a plan moves each guest at most once" % (path, vmid))
        if move["source"] == move["target"]:
            raise PlanError("%s: source and target are both %s" % (path, move["source"]))
        seen.add(vmid)
        out.append({"index": i, "step": step, "vmid": vmid, "name": str(move.get("name") or ""),
                    "type": move.get("type"), "source": str(move["source"]), "target": str(move["target"])})
    return sorted(out, key=lambda m: (m["step"], m["index"]))


def dependencies(moves):
    """{i: set(j)}: move i waits for the earlier-step moves j out of its target (they free its room)."""
    deps = {}
    for i, move in enumerate(moves):
        deps[i] = set(j for j in range(i) if moves[j]["step"] < move["step"] and moves[j]["source"] == move["target"])
    return deps


class Limits(object):
    """At most ``jobs`` of our moves in flight, and ``per_node`` in and ``per_node`` out of each node.

    Migrations someone else runs (CRS, HA, an admin) count against the per-node limits, not ``jobs``."""

    def __init__(self, jobs, per_node):
        self.jobs = max(1, int(jobs))
        self.per_node = max(1, int(per_node))

    def full(self, ours):
        return len(ours) >= self.jobs

    def blocked(self, move, ours, foreign=()):
        """None when ``move`` may start beside ``ours`` and ``foreign`` [(source, target)], else why not."""
        if self.full(ours):
            return "%d migration(s) in flight (parallel_jobs)" % len(ours)
        flows = list(ours) + list(foreign)
        out = sum(1 for s, _t in flows if s == move["source"])
        into = sum(1 for _s, t in flows if t == move["target"])
        if out >= self.per_node:
            return "%s already sends %d migration(s) (per_node_jobs)" % (move["source"], out)
        if into >= self.per_node:
            return "%s already receives %d migration(s) (per_node_jobs)" % (move["target"], into)
        return None


def stale_reason(move, guest):
    """('already_done'|'skipped'|None, reason) for a planned move given the guest's live record."""
    if guest is None:
        return "skipped", "guest %d no longer exists" % move["vmid"]
    lock = guest.get("lock") or ""
    if guest.get("node") == move["target"]:
        # placement is what the plan asked for; a lock there (a finishing migration, a backup) changes nothing
        return "already_done", None
    if guest.get("node") != move["source"]:
        return "skipped", "stale plan: guest is on %s, the plan expected %s" % (guest.get("node"), move["source"])
    if lock == "migrate":
        return "skipped", "guest is being migrated by someone else (lock: migrate)"
    if lock:
        return "skipped", "guest is locked (%s)" % lock
    return None, None


class Live(object):
    """The cluster as ``/cluster/resources`` shows it now, and the memory each node can still take.

    Node memory is taken once at the start (what is not guests' memory stays fixed), guests' memory is
    summed where they are now: placements show up at once, while PVE's node figures lag by seconds."""

    def __init__(self, balancing, proxmox_cluster):
        self.balancing = balancing
        self.assigned = balancing.get("mode") == "assigned" and not proxmox_cluster.get("overprovisioning")
        self.nodes = {}
        self.guests = {}
        self.base = None

    def load(self, resources):
        self.nodes = dict((e["node"], e) for e in resources if e.get("type") == "node")
        self.guests = dict((int(e["vmid"]), dict(e)) for e in resources if e.get("type") in ("qemu", "lxc"))
        if self.base is None:
            self.base = {}
            for name, node in self.nodes.items():
                on_node = sum(self.need(g) for g in self.guests.values() if g.get("node") == name)
                self.base[name] = 0 if self.assigned else max(0, int(node.get("mem") or 0) - on_node)

    def need(self, guest):
        if guest.get("status") != "running":
            return 0
        return int(guest.get("maxmem") or 0) if self.assigned else int(guest.get("mem") or 0)

    def usage(self, node, arriving):
        """Memory on ``node``: its base, its guests, and the guests ``arriving`` [vmid] on their way."""
        used = (self.base or {}).get(node, 0)
        used += sum(self.need(g) for g in self.guests.values() if g.get("node") == node)
        used += sum(self.need(self.guests[v]) for v in arriving if v in self.guests
                    and self.guests[v].get("node") != node)
        return used

    def fits(self, guest, node, arriving):
        entry = self.nodes.get(node) or {}
        limit = int(entry.get("maxmem") or 0) - reserve_bytes(self.balancing, node)
        need = self.need(guest)
        used = self.usage(node, arriving)
        if need and used + need > limit:
            return "%s memory: %.1f GiB free, %.1f GiB needed" % (node, max(limit - used, 0) / GIB, need / GIB)
        return None

    def node_problem(self, name, maintenance_nodes, as_target=True):
        node = self.nodes.get(name)
        if node is None:
            return "node %s is not in the cluster" % name
        if node.get("status") != "online":
            return "node %s is %s" % (name, node.get("status") or "offline")
        if not as_target:
            return None  # draining a node in maintenance is exactly what must happen
        if node.get("hastate") == "maintenance":
            return "node %s is in HA maintenance mode" % name
        if name in maintenance_nodes:
            return "node %s is listed in proxmox_cluster.maintenance_nodes" % name
        return None


class Executor(object):
    """One run over one plan. ``prepare()`` reads the cluster and reports stale moves; ``run()`` executes."""

    def __init__(self, client, plan, behaviour, settings=None, journal=None, check_mode=False, progress=None,
                 sleep=time.sleep, clock=time.monotonic):
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
        jobs = self.balancing.get("parallel_jobs", 5) if self.balancing.get("parallel") else 1
        self.limits = Limits(jobs, self.balancing.get("per_node_jobs", 2))
        self.timeout = float(self.balancing.get("max_job_validation") or 1800)
        self.maintenance_nodes = set(behaviour["proxmox_cluster"].get("maintenance_nodes") or [])
        self.live = Live(self.balancing, behaviour["proxmox_cluster"])
        self.state = [dict(m, status=None, upid=None, started=None, finished=None, error=None, phase=None,
                           attempts=0, polls_failed=0, verify=0, t0=None, failure=False) for m in self.moves]
        self.pending = []
        self.inflight = []
        self.foreign = []
        self.versions = {}
        self.stop_reason = None
        self.fatal = None
        self.warnings = []
        self.retry = False
        self.refresh_failures = 0

    # ------------------------------------------------------------------ reading the cluster
    def refresh(self):
        self.live.load(self.client.get("/cluster/resources") or [])
        self.foreign = self._foreign_flows()

    def _foreign_flows(self):
        """(source, target) of migrations we did not start; target None when PVE does not tell it."""
        ours = set(m["vmid"] for m in self.inflight)
        locked = dict((v, g) for v, g in self.live.guests.items() if g.get("lock") == "migrate" and v not in ours)
        if not locked:
            return []
        targets = {}
        try:
            for task in self.client.get("/cluster/tasks") or []:
                vmid = str(task.get("id") or "")
                if task.get("type") in TASK_TYPES.values() and not task.get("endtime") and vmid.isdigit() \
                        and int(vmid) in locked:
                    log = self.client.get("/nodes/%s/tasks/%s/log" % (task["node"], task["upid"]), limit=5) or []
                    for line in log:
                        found = _TARGET_IN_LOG.search(str(line.get("t", "")))
                        if found:
                            targets[int(vmid)] = found.group(1)
                            break
        except ApiError:
            pass  # without the task list they still count at their source
        return [(g.get("node"), targets.get(v)) for v, g in sorted(locked.items())]

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
        return True

    def node_version(self, node):
        if node not in self.versions:
            self.versions[node] = self.client.node_version(node)
        return self.versions[node]

    # ------------------------------------------------------------------ bookkeeping
    def finish(self, move, status, error=None):
        move["status"] = status
        move["error"] = error
        if move["started"]:
            move["finished"] = _stamp()
        if move in self.inflight:
            self.inflight.remove(move)
        if move in self.pending:
            self.pending.remove(move)
        if status != "already_done" and (move["upid"] or move["started"] or status in ("failed", "timed_out")):
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
        """Read the cluster, adopt migrations a previous run left running, sort out moves already done.

        Returns [(vmid, reason)] of stale moves (not on their source any more, or locked by someone)."""
        for attempt in range(_READ_ATTEMPTS):
            try:
                self.refresh()
                break
            except ApiError:
                if attempt + 1 == _READ_ATTEMPTS:
                    raise
                self.sleep(float(self.settings["poll_interval"]))
        unfinished = self.journal.unfinished() if not self.check_mode else {}
        stale = []
        for move in self.state:
            record = unfinished.get(move["vmid"])
            if record and record.get("source") == move["source"] and record.get("target") == move["target"] \
                    and self._adopt(move, record):
                continue
            status, reason = stale_reason(move, self.live.guests.get(move["vmid"]))
            if status == "already_done":
                self.finish(move, status)
            elif status:
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

    def run(self):
        """Execute the prepared plan; returns the results document."""
        begun = self.clock()
        while self.pending or self.inflight:
            if self.inflight:
                self.poll()
            self.retry = False
            self.start_eligible()
            if not self.inflight and not self.retry:
                for move in list(self.pending):
                    self.finish(move, "skipped", move.get("waiting") or self.stop_reason or "could not start")
                break
            self.sleep(float(self.settings["poll_interval"]))
        return self.results(self.clock() - begun)

    # ------------------------------------------------------------------ starting
    def _dependency_state(self, index):
        """('wait'|'failed'|None, vmid of the dependency)."""
        for j in sorted(self.deps[index]):
            dep = self.state[j]
            if dep["status"] is None:
                return "wait", dep["vmid"]
            if dep["status"] in ("failed", "timed_out") or dep["failure"]:
                return "failed", dep["vmid"]
        return None, None

    def start_eligible(self):
        refreshed = False
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
                continue
            if not refreshed:
                if not self._refresh_or_retry():
                    return
                refreshed = True
            self._try_start(move)
            if self.fatal:
                self.stop(self.fatal)

    def preflight(self, move):
        """('go', params) | ('skip', reason) | ('wait', reason) for one move, against the live cluster."""
        guest = self.live.guests.get(move["vmid"])
        status, reason = stale_reason(move, guest)
        if status == "already_done":
            return "already_done", None
        if status:
            return "skip", reason
        for name, as_target in ((move["target"], True), (move["source"], False)):
            problem = self.live.node_problem(name, self.maintenance_nodes, as_target)
            if problem:
                return "skip", problem
        kind = guest.get("type")
        try:
            source_version = self.node_version(move["source"])
            older = migration_params.older_major_reason(source_version, self.node_version(move["target"]),
                                                        move["target"])
            if older:
                return "skip", older
            answer = None
            if kind == "qemu" or version_tuple(source_version) >= (9, 0):
                answer = self.client.get("/nodes/%s/%s/%d/migrate" % (move["source"], kind, move["vmid"]),
                                         target=move["target"]) or {}
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
        arriving = [m["vmid"] for m in self.inflight if m["target"] == move["target"]]
        full = self.live.fits(guest, move["target"], arriving)
        if full:
            leaving = [m for m in self.inflight if m["source"] == move["target"]]
            leaving += [f for f in self.foreign if f[0] == move["target"]]
            if leaving:
                return "wait", "waited for room: %s" % full
            return "skip", "not enough room now: %s" % full
        return "go", params

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
        if self.check_mode:
            # nothing is posted: the guest counts as moved for the capacity of the moves after it
            self.live.guests[move["vmid"]]["node"] = move["target"]
            self.finish(move, "done")
            return
        self._post(move, detail)

    def _post(self, move, params):
        kind = self.live.guests[move["vmid"]]["type"]
        self.journal.intent(move)
        move["attempts"] += 1
        try:
            upid = self.client.post("/nodes/%s/%s/%d/migrate" % (move["source"], kind, move["vmid"]), **params)
        except PermissionDenied as exc:
            self.fatal = str(exc)
            self.journal.ended(move, "skipped", None, str(exc))
            self.finish(move, "skipped", "permission denied: %s" % exc)
            return
        except ApiError as exc:
            # the request may have reached PVE before the error: never start a second migration
            upid = self._find_task(move, since=None, running=True)
            if not upid:
                if getattr(exc, "status_code", None) in _TRANSIENT and move["attempts"] < _POST_ATTEMPTS:
                    self.journal.ended(move, "retry", None, str(exc))
                    move["waiting"] = "migrate request failed %d times: %s" % (move["attempts"], exc)
                    self.retry = True
                    return
                move["started"] = move["started"] or _stamp()
                self.finish(move, "failed", "migrate request refused: %s" % exc)
                return
        move.update(upid=upid, started=_stamp(), t0=self.clock(), phase=self._phase(upid))
        self.journal.posted(move, upid)
        self.pending.remove(move)
        self.inflight.append(move)
        shown = " ".join("%s=%s" % kv for kv in sorted(params.items()) if kv[0] != "target")
        self.say("%d (%s) %s -> %s: started %s" % (
            move["vmid"], move["name"] or kind, move["source"], move["target"], shown))

    # ------------------------------------------------------------------ tracking
    def poll(self):
        need_refresh = False
        for move in list(self.inflight):
            if move["phase"] == "find":
                need_refresh = True
                continue
            node = upid_fields(move["upid"])[0]
            try:
                task = self.client.get("/nodes/%s/tasks/%s/status" % (node, move["upid"])) or {}
            except ApiError as exc:
                move["polls_failed"] += 1
                move["last_error"] = str(exc)
                continue
            if task.get("status") != "stopped":
                continue
            exitstatus = task.get("exitstatus")
            if exitstatus != "OK":
                what = "HA migration request" if move["phase"] == "ha" else "migration task"
                self.finish(move, "failed", "%s ended with exit status '%s'%s" % (
                    what, exitstatus, self._task_error(node, move["upid"])))
                continue
            if move["phase"] == "ha":
                move["phase"] = "find"
                move["ha_since"] = upid_fields(move["upid"])[1]
            else:
                move["phase"] = "verify"
            need_refresh = True
        if need_refresh and not self._refresh_or_retry():
            return
        for move in list(self.inflight):
            guest = self.live.guests.get(move["vmid"]) or {}
            arrived = guest.get("node") == move["target"]
            if move["phase"] == "verify":
                move["verify"] += 1
                if arrived:
                    self.finish(move, "done")
                elif move["verify"] >= _VERIFY_POLLS:
                    self.finish(move, "failed", "task ended OK but the guest is on %s, not %s"
                                % (guest.get("node"), move["target"]))
                continue
            if move["phase"] == "find":
                real = self._find_task(move, move["ha_since"], running=False)
                if real and real != move["upid"]:
                    move["upid"], move["phase"] = real, "task"
                    self.journal.posted(move, real)
                    continue
                if arrived and not guest.get("lock"):
                    self.finish(move, "done")
                    continue
            self._check_overdue(move)

    def _task_error(self, node, upid):
        """The task log's error line, which says why (PVE's exit status alone often does not)."""
        try:
            lines = self.client.get("/nodes/%s/tasks/%s/log" % (node, upid), start=0, limit=500) or []
        except ApiError:
            return ""
        errors = [str(l.get("t", "")) for l in lines if str(l.get("t", "")).startswith("ERROR")]
        return ": %s" % errors[-1] if errors else ""

    def _check_overdue(self, move):
        if move not in self.inflight:
            return
        node = upid_fields(move["upid"])[0]
        if move["polls_failed"] and self.live.node_problem(node, ()):
            self.finish(move, "failed", "%s; the task cannot be followed (%s); guest last seen on %s" % (
                self.live.node_problem(node, ()), move.get("last_error"),
                (self.live.guests.get(move["vmid"]) or {}).get("node")))
        elif self.clock() - move["t0"] > self.timeout:
            self.finish(move, "timed_out", "still running after %ds (balancing.max_job_validation); PVE goes on "
                        "with task %s" % (self.timeout, move["upid"]))

    # ------------------------------------------------------------------ results
    def results(self, seconds=0.0):
        results = []
        for move in self.state:
            results.append({"vmid": move["vmid"], "source": move["source"], "target": move["target"],
                            "status": move["status"], "upid": move["upid"], "started": move["started"],
                            "finished": move["finished"], "error": move["error"]})
        totals = dict((s, sum(1 for r in results if r["status"] == s)) for s in STATUSES)
        totals["moves"] = len(results)
        totals["seconds"] = round(seconds, 1)
        return {"schema": RESULTS_SCHEMA, "fingerprint": self.plan.get("fingerprint"), "results": results,
                "totals": totals}


# ---------------------------------------------------------------------- the module's entry point
def _plan_from(params, environ):
    from ansible_collections.proxlb.balancer.plugins.module_utils.entry import runner
    if params.get("plan"):
        return params["plan"], []
    if params.get("plan_file"):
        import json
        try:
            with open(params["plan_file"], "r") as handle:
                return json.load(handle), []
        except (IOError, OSError) as exc:
            raise PlanError("plan_file %s: cannot read it (%s)" % (params["plan_file"], exc.strerror or exc))
        except ValueError as exc:
            raise PlanError("plan_file %s: not valid JSON (%s)" % (params["plan_file"], exc))
    planned = runner.run_plan(dict(params, snapshot=None, snapshot_file=None), environ)
    return planned["plan"], planned.get("warnings", [])


def run_migrate(params, environ=None, check_mode=False, progress=None):
    """Execute a plan (given, from a file, or made now); returns the module result with the results."""
    from ansible_collections.proxlb.balancer.plugins.module_utils.entry import runner
    plan, warnings = _plan_from(params, environ)
    load_plan(plan)
    client, behaviour, connect_warnings = runner.connect(params, environ, actions=("read", "migrate"))
    warnings = list(warnings) + connect_warnings
    settings = dict((k, params.get(k)) for k in SETTINGS)
    # check mode writes no journal: nothing it records would happen
    journal = Journal(None if check_mode else params.get("journal"))

    def executor_for(document):
        return Executor(client, document, behaviour, settings, journal, check_mode, progress)

    executor = executor_for(plan)
    stale = executor.prepare()
    on_stale = settings.get("on_stale") or "skip"
    replaced = []
    if stale and on_stale == "fail":
        listed = "; ".join("guest %d: %s" % s for s in stale[:5])
        raise PlanError("plan is stale, nothing was migrated (on_stale: fail): %s%s" % (
            listed, " and %d more" % (len(stale) - 5) if len(stale) > 5 else ""))
    if stale and on_stale == "replan":
        warnings.append("plan is stale (%d guest(s) moved or locked): planned again" % len(stale))
        fresh, plan_warnings = _plan_from(dict(params, plan=None, plan_file=None), environ)
        warnings.extend(plan_warnings)
        new_vmids = set(int(m["vmid"]) for m in fresh.get("moves", []))
        reasons = dict(stale)
        for old in executor.results()["results"]:
            if old["vmid"] in new_vmids:
                continue
            if old["status"] is None:
                old.update(status="skipped", error="not in the new plan (%s)" % reasons.get(old["vmid"], "replanned"))
            replaced.append(old)
        executor = executor_for(fresh)
        executor.prepare()
        plan = fresh
    if not check_mode:
        journal.run_started(plan.get("fingerprint"), len(executor.moves))
    results = executor.run()
    if replaced:
        results["results"].extend(replaced)
        for status in STATUSES:
            results["totals"][status] = sum(1 for r in results["results"] if r["status"] == status)
        results["totals"]["moves"] = len(results["results"])
    warnings.extend(executor.warnings)
    moved = [r for r in results["results"] if r["status"] == "done"]
    result = {
        "changed": bool(moved),
        "results": results,
        "diff": {"before": dict(("%d" % r["vmid"], r["source"]) for r in moved),
                 "after": dict(("%d" % r["vmid"], r["target"]) for r in moved)},
        "warnings": warnings,
    }
    if check_mode:
        result["check_mode"] = True
    if executor.fatal:
        result.update(failed=True, msg="stopped before migrating: %s" % executor.fatal if not moved
                      else "stopped: %s" % executor.fatal)
    elif any(r["status"] in ("failed", "timed_out") for r in results["results"]):
        bad = [r for r in results["results"] if r["status"] in ("failed", "timed_out")]
        result["msg"] = "%d of %d move(s) did not succeed; first: guest %d: %s" % (
            len(bad), len(results["results"]), bad[0]["vmid"], bad[0]["error"])
    return result
