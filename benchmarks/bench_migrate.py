"""Migration makespan on the simulator's clock: 100 moves on 16 nodes, parallel_jobs 5, per_node_jobs 2,
against the lower bound max(longest move, sum of durations per node / per-node limit, sum / parallel_jobs),
and against the same plan run sequentially (ProxLB's default), as ratios.

Durations are the simulator's task times (start to end of each qmigrate), so polling delays show up in the
makespan but not in the bound. ``BENCH_QUICK=1`` runs 40 moves.
"""

import os
import pathlib
import sys
import time

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1] / "tests"))
sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1] / "tests" / "integration"))

import simulator  # noqa: E402,F401  (makes the collection importable)
from conftest import SimulatorProcess  # noqa: E402
from test_migrate import make_plan, params, scenario  # noqa: E402

from ansible_collections.proxlb.balancer.plugins.module_utils.migrate.executor import run_migrate  # noqa: E402

NODES = 16
MOVES = 40 if os.environ.get("BENCH_QUICK") else 100
JOBS, PER_NODE = 5, 2


def cluster_and_plan():
    nodes = [("pve%02d" % i, "9.1.2", 512) for i in range(NODES)]
    # skewed sizes (2..12 GiB) so durations differ, as in real clusters
    guests = [(1000 + i, "qemu", "pve%02d" % (i % NODES), "running", 2 + (i * 7) % 11) for i in range(MOVES)]
    moves = [(1, vmid, node, "pve%02d" % ((int(node[3:]) + 1 + i % 5) % NODES))
             for i, (vmid, _k, node, _s, _m) in enumerate(guests)]
    return scenario(nodes, guests), make_plan(*moves)


def run(parallel, clock):
    doc, plan = cluster_and_plan()
    sim = SimulatorProcess(doc, clock=clock)
    try:
        balancing = {"parallel": parallel, "parallel_jobs": JOBS, "per_node_jobs": PER_NODE}
        began = time.perf_counter()
        result = run_migrate(params(sim, plan=plan, balancing=balancing, poll_interval=0.02), environ={})
        wall = time.perf_counter() - began
        log = sim.admin("GET", "/tasks")
    finally:
        sim.stop()
    tasks = [t for t in log["tasks"] if t["type"] == "qmigrate"]
    done = result["results"]["totals"]["done"]
    assert done == MOVES, result["results"]["totals"]
    durations = [t["finished"] - t["started"] for t in tasks]
    per_node = {}
    for task, seconds in zip(tasks, durations):
        for node in (task["source"], task["target"]):
            per_node[node] = per_node.get(node, 0.0) + seconds
    jobs = JOBS if parallel else 1
    bound = max(max(durations), max(per_node.values()) / PER_NODE, sum(durations) / jobs)
    makespan = max(t["finished"] for t in tasks) - min(t["started"] for t in tasks)
    return makespan, bound, log["max_concurrent"], wall


def main():
    par = run(True, clock=10)
    seq = run(False, clock=60)
    print("%d moves, %d nodes, parallel_jobs %d, per_node_jobs %d (simulated seconds)" % (MOVES, NODES, JOBS,
                                                                                         PER_NODE))
    print("%-12s %10s %10s %8s %14s %8s" % ("run", "makespan", "bound", "ratio", "max in flight", "wall s"))
    for name, (makespan, bound, peak, wall) in (("parallel", par), ("sequential", seq)):
        print("%-12s %10.1f %10.1f %8.2f %14d %8.1f" % (name, makespan, bound, makespan / bound, peak, wall))
    print("speed-up parallel vs sequential: %.2fx (target: parallel makespan <= 1.2x its bound)" % (
        seq[0] / par[0]))


if __name__ == "__main__":
    main()
