"""The simulator's own API under /_sim/ (same credentials as PVE's API): tasks, request counts, state,
node status, faults and the clock."""

from simulator.pveerror import PveError, param_error


def _tasks(cluster):
    migrations = [t for t in cluster.tasks if t.type in ("qmigrate", "vzmigrate")]
    now = cluster.now()
    events = []
    for task in migrations:
        events.append((task.started, 1))
        events.append((task.finished if task.finished is not None else now, -1))
    running = peak = 0
    for _, delta in sorted(events, key=lambda e: (e[0], e[1])):
        running += delta
        peak = max(peak, running)
    tasks = [{"upid": t.upid, "node": t.node, "type": t.type, "vmid": t.vmid, "user": t.user, "source": t.source,
              "target": t.target, "started": t.started, "finished": t.finished, "status": t.status,
              "exitstatus": t.exitstatus} for t in cluster.tasks]
    return {"tasks": tasks, "max_concurrent": peak, "now": now}


def handle(server, method, path, data):
    """Answer an /_sim/ request; ``path`` is the part after /_sim."""
    cluster = server.cluster
    parts = [p for p in path.split("/") if p]
    key = (method, "/".join(parts[:1]))
    if key == ("GET", "tasks"):
        return _tasks(cluster)
    if key == ("GET", "requests"):
        return server.counter.snapshot()
    if (method, parts) == ("POST", ["requests", "reset"]):
        server.counter.reset()
        return server.counter.snapshot()
    if key == ("GET", "state"):
        return cluster.dump()
    if key == ("GET", "info"):
        return {"down_port": server.down_socket.getsockname()[1], "version": cluster.version,
                "nodes": list(cluster.node_order), "guests": len(cluster.guests)}
    if key == ("GET", "clock"):
        return {"now": cluster.now(), "factor": cluster.clock.factor}
    if key == ("POST", "clock"):
        try:
            seconds = float(data.get("seconds", 0))
        except (TypeError, ValueError):
            raise param_error({"seconds": "expected a number of seconds"})
        if seconds < 0 or seconds > 10 ** 9:
            raise param_error({"seconds": "must be between 0 and 1e9"})
        cluster.clock.advance(seconds)
        cluster.tick()
        return {"now": cluster.now(), "factor": cluster.clock.factor}
    if key == ("POST", "nodes") and len(parts) == 2:
        name = parts[1]
        if name not in cluster.nodes:
            raise PveError(404, "no such node '%s'" % name)
        status, hastate = data.get("status"), data.get("hastate")
        if status not in (None, "online", "offline") or hastate not in (None, "online", "maintenance"):
            raise param_error({"status": "online|offline", "hastate": "online|maintenance"})
        if status:
            cluster.offline_until.pop(name, None)
            cluster.set_node_status(name, status)
        if hastate:
            cluster.set_ha_maintenance(name, hastate == "maintenance")
        return dict(cluster.nodes[name])
    if key == ("GET", "faults"):
        return server.faults.describe(cluster)
    if key == ("POST", "faults"):
        server.faults.apply(data, cluster)
        return server.faults.describe(cluster)
    if key == ("DELETE", "faults"):
        server.faults.apply({"clear": 1}, cluster)
        return server.faults.describe(cluster)
    raise PveError(501, "Method '%s /_sim/%s' not implemented" % (method, "/".join(parts)))
