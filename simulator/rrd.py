"""``rrddata``: a deterministic history for nodes and guests that ends at their current usage.

PVE keeps 60 s samples (``pve-*-9.0`` RRD format) and older, coarser ``pve2`` files; the shapes and
resolutions follow ../shared/pve-api/FACTS.md §3.15. Pressure fields exist from PVE 9.0 on. A node or guest
may carry ``psi`` in the scenario; otherwise pressure is derived from its cpu load.
"""

import math
import zlib

# timeframe -> (step seconds, points) for PVE 9 and for PVE 8
RESOLUTION = {
    "hour": ((60, 60), (60, 70)),
    "day": ((60, 1440), (1800, 70)),
    "week": ((1800, 336), (10800, 70)),
    "month": ((1800, 1440), (43200, 70)),
    "year": ((21600, 1440), (604800, 70)),
    "decade": ((604800, 570), (604800, 70)),
}
NODE_PSI = ("pressurecpusome", "pressureiosome", "pressureiofull", "pressurememorysome", "pressurememoryfull")
GUEST_PSI = ("pressurecpusome", "pressurecpufull", "pressureiosome", "pressureiofull", "pressurememorysome",
             "pressurememoryfull")


def _wave(seed, t, period, amplitude):
    """A smooth, repeatable variation around 1.0; 0 at the newest sample so history ends at the live value."""
    return 1.0 + amplitude * math.sin(2 * math.pi * t / period + seed) - amplitude * math.sin(seed)


def _pressure(record, key, load):
    psi = record.get("psi") or {}
    if key in psi:
        return float(psi[key])
    if key.startswith("pressurecpu"):
        return round(max(0.0, load - 0.6) * (60 if key.endswith("some") else 30), 2)
    return 0.0


def rows(record, is_node, now, timeframe, cf, pve9):
    step, points = RESOLUTION[timeframe][0 if pve9 else 1]
    end = int(now) // step * step
    # crc32, not hash(): str hashes change with every process, and the history must be repeatable
    seed = (zlib.crc32(str(record.get("node") if is_node else record.get("vmid")).encode()) % 628) / 100.0
    peak = 1.1 if cf == "MAX" else 1.0
    running = is_node or record.get("status") == "running"
    out = []
    for i in range(points):
        t = end - (points - 1 - i) * step
        offset = t - end
        row = {"time": t}
        if running:
            cpu = min(1.0, max(0.0, record["cpu"] * _wave(seed, offset, 3600 * 6, 0.15) * (peak if i < points - 1 else 1)))
            mem = max(0, min(record["maxmem"], int(record["mem"] * _wave(seed + 1, offset, 3600 * 24, 0.05))))
            if i == points - 1:
                mem = record["mem"]  # the newest sample is the live value exactly, not a rounded product
        else:
            cpu, mem = 0.0, 0
        if is_node:
            row.update({"cpu": cpu, "maxcpu": record["maxcpu"], "iowait": cpu / 50, "loadavg": cpu * record["maxcpu"],
                        "memtotal": record["maxmem"], "memused": mem, "swaptotal": 8 * 1024 ** 3, "swapused": 0,
                        "roottotal": record["maxdisk"], "rootused": record["disk"], "netin": 1.0e6, "netout": 1.0e6})
            if pve9:
                row["memavailable"] = record["maxmem"] - mem
                row["arcsize"] = 0
                row.update((k, _pressure(record, k, cpu)) for k in NODE_PSI)
        else:
            row.update({"cpu": cpu, "maxcpu": record["maxcpu"], "mem": mem, "maxmem": record["maxmem"],
                        "disk": record["disk"], "maxdisk": record["maxdisk"], "netin": 0.0, "netout": 0.0,
                        "diskread": 0.0, "diskwrite": 0.0})
            if pve9:
                row["memhost"] = mem
                keys = GUEST_PSI if record["type"] == "qemu" else tuple(k for k in GUEST_PSI if k != "pressurecpufull")
                row.update((k, _pressure(record, k, cpu) if running else 0.0) for k in keys)
        out.append(row)
    return out
