"""Injected faults: latency, HTTP errors or hanging requests for the next N calls, failing migrations,
nodes that go offline at a given simulated time. Set through ``POST /_sim/faults`` or the scenario."""

import threading

from simulator.pveerror import PveError


def _int(data, key, default=None):
    value = data.get(key, default)
    if value is None:
        return None
    try:
        return int(float(value))
    except (TypeError, ValueError):
        raise PveError(400, "Parameter verification failed.", {key: "expected a number, got %r" % (value,)})


def _matches(rule, method, template, path):
    want = rule.get("path")
    if not want:
        return True
    return want in (template, path, "%s %s" % (method, template)) or path.startswith(want.rstrip("*"))


class Faults(object):
    def __init__(self):
        self.lock = threading.Lock()
        self.latency_ms = 0
        self.latency_path = None
        self.errors = []    # [{status, message, count, path}]
        self.timeouts = []  # [{seconds, count, path}]

    def describe(self, cluster):
        with self.lock:
            return {"latency_ms": self.latency_ms, "latency_path": self.latency_path,
                    "http_errors": [dict(e) for e in self.errors], "timeouts": [dict(t) for t in self.timeouts],
                    "task_failures": dict((str(k), v) for k, v in cluster.task_faults.items()),
                    "node_offline": [{"node": n, "at": at} for at, n in cluster.scheduled_offline]}

    def apply(self, data, cluster):
        """Add the faults in ``data`` (see simulator/README.md); ``clear=1`` removes every fault first."""
        if str(data.get("clear", "0")) in ("1", "true", "True"):
            with self.lock:
                self.latency_ms, self.latency_path, self.errors, self.timeouts = 0, None, [], []
            cluster.task_faults.clear()
            del cluster.scheduled_offline[:]
        if "latency_ms" in data:
            with self.lock:
                self.latency_ms = max(0, _int(data, "latency_ms"))
                self.latency_path = data.get("path") or None
        if "http_status" in data or "http_error" in data:
            status = _int(data, "http_status", data.get("http_error"))
            if not 400 <= status <= 599:
                raise PveError(400, "Parameter verification failed.", {"http_status": "must be 400..599"})
            with self.lock:
                self.errors.append({"status": status, "count": _int(data, "count", 1),
                                    "message": str(data.get("message") or "simulated failure"),
                                    "path": data.get("path") or None})
        if "timeout_s" in data:
            with self.lock:
                self.timeouts.append({"seconds": float(data["timeout_s"]), "count": _int(data, "count", 1),
                                      "path": data.get("path") or None})
        if "fail_vmid" in data:
            cluster.task_faults[_int(data, "fail_vmid")] = {
                "exitstatus": str(data.get("exitstatus") or "migration problems"),
                "message": str(data.get("message") or "simulated migration failure"),
                "after": float(data.get("after", cluster.sim["migration_overhead"]))}
        if "warn_vmid" in data:
            # the next migration of that guest succeeds with warnings: exit status 'WARNINGS: n'
            count = _int(data, "warnings", 1)
            if count < 1:
                raise PveError(400, "Parameter verification failed.", {"warnings": "must be at least 1"})
            cluster.task_faults[_int(data, "warn_vmid")] = {
                "warnings": count, "message": str(data.get("message") or "simulated migration warning")}
        if "node_offline" in data:
            node = str(data["node_offline"])
            if node not in cluster.nodes:
                raise PveError(400, "Parameter verification failed.", {"node_offline": "no such node '%s'" % node})
            if "at" in data:
                at = float(data["at"])
            else:
                at = cluster.now() + float(data.get("in", 0))
            cluster.scheduled_offline.append((at, node))

    def before(self, method, template, path):
        """Return (latency seconds, hang seconds or None, PveError or None) for this request."""
        with self.lock:
            latency = 0.0
            if self.latency_ms and _matches({"path": self.latency_path}, method, template, path):
                latency = self.latency_ms / 1000.0
            for rule in self.timeouts:
                if rule["count"] > 0 and _matches(rule, method, template, path):
                    rule["count"] -= 1
                    return latency, rule["seconds"], None
            for rule in self.errors:
                if rule["count"] > 0 and _matches(rule, method, template, path):
                    rule["count"] -= 1
                    return latency, None, PveError(rule["status"], rule["message"])
            self.errors = [r for r in self.errors if r["count"] > 0]
            self.timeouts = [r for r in self.timeouts if r["count"] > 0]
            return latency, None, None
