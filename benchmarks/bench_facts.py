"""Facts collection on generated clusters: API calls and wall time, with and without 20 ms latency.

Baseline in the same run: the same collector reading every guest's config (`guest_config: true`, one call
per guest, the least a per-guest collector such as ProxLB's makes), measured on the same simulator up to
2,000 guests. Figures are printed as ratios against it.
"""

import os
import pathlib
import statistics
import sys
import time

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1] / "tests"))

import simulator  # noqa: E402,F401  (makes the collection importable)
from conftest import SimulatorProcess  # noqa: E402
from simulator.generate import generate  # noqa: E402

from ansible_collections.proxlb.balancer.plugins.module_utils import runner  # noqa: E402

SIZES = [(4, 40), (16, 500), (32, 2000), (64, 8000)]
if os.environ.get("BENCH_QUICK"):
    SIZES = SIZES[:2]


def params(sim, **extra):
    base = dict(api_host=[sim.api_host], api_user=sim.user, api_token_id=sim.token_name,
                api_token_secret=sim.token_secret, ca_path=sim.ca_path)
    base.update(extra)
    return base


def timed_facts(sim, **extra):
    sim.admin("POST", "/requests/reset")
    times = []
    for _ in range(3):
        start = time.perf_counter()
        result = runner.run_facts(params(sim, **extra), environ={})
        times.append(time.perf_counter() - start)
    calls = sim.admin("GET", "/requests")["total"] // 3
    return result, calls, statistics.median(times)


def main():
    print("%-9s %7s %10s %8s %12s %10s %10s %11s %11s" % (
        "cluster", "calls", "calls/node", "wall s", "wall s @20ms", "base calls", "base wall", "call ratio",
        "wall ratio"))
    for nodes, guests in SIZES:
        sim = SimulatorProcess(generate(nodes, guests, seed=1, pve="9.1"))
        try:
            result, calls, wall = timed_facts(sim)
            sim.admin("POST", "/faults", latency_ms=20)
            _, _, wall_latency = timed_facts(sim)
            sim.admin("DELETE", "/faults")
            base_calls, base_wall = len(result["snapshot"]["guests"]) + calls, float("nan")
            if guests <= 2000:
                sim.admin("POST", "/requests/reset")
                start = time.perf_counter()
                runner.run_facts(params(sim, guest_config=True), environ={})
                base_wall = time.perf_counter() - start
                base_calls = sim.admin("GET", "/requests")["total"]
        finally:
            sim.stop()
        print("%-9s %7d %10.2f %8.3f %12.3f %10d %10.3f %10.3fx %10.3fx" % (
            "%dx%d" % (nodes, guests), calls, calls / float(nodes), wall, wall_latency, base_calls, base_wall,
            calls / float(base_calls), wall / base_wall))


if __name__ == "__main__":
    main()
