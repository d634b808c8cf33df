"""proxlb_migrate on the simulator: migration makespan and API economy.

Both run by default (``make bench``). Makespan (``--makespan`` only): 100 moves on 16 nodes, parallel_jobs 5,
per_node_jobs 2, against the lower bound max(longest move, sum of durations per node / per-node limit,
sum / parallel_jobs), and against the same
plan run sequentially (ProxLB's default), as ratios. Durations are the simulator's task times (start to end
of each qmigrate), so polling delays show up in the makespan but not in the bound. ``BENCH_QUICK=1`` runs
40 moves.

API economy (``--economy`` only): generated clusters (``python -m simulator generate``) of 16 nodes x
500 guests and 64 x 8000, planned by the collection's planner from the snapshot, the first ``--moves`` moves
(120) carried out with parallel_jobs 5, per_node_jobs 2 and a poll every 2 simulated seconds (the default
poll_interval against PVE's clock). The simulator's request counter (``/_sim/requests``) gives every API
call of the run: calls per planned move, and full ``GET /cluster/resources`` reads per move. Targets (issue
16): <= 4 calls and <= 0.2 full reads per move.

``--collection DIR`` runs the engine of another checkout (e.g. ``git archive a6594d1 | tar -x -C DIR`` for the
code before issue 14) against this checkout's simulator, with the same cluster and the same plan.
"""

import argparse
import json
import os
import pathlib
import sys
import tempfile
import time

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT / "tests" / "integration"))

NODES = 16
MOVES = 40 if os.environ.get("BENCH_QUICK") else 100
JOBS, PER_NODE = 5, 2
POLL = 0.5          # real seconds; the smallest poll_interval the modules accept
SIM_PER_POLL = 2.0  # simulated seconds per poll: the default poll_interval against PVE's own clock


def _engine(collection):
    """Import the collection (this checkout, or ``collection``) as ansible_collections.proxlb.balancer."""
    if collection:
        import types
        parent = types.ModuleType("ansible_collections")
        parent.__path__ = []
        namespace = types.ModuleType("ansible_collections.proxlb")
        namespace.__path__ = []
        package = types.ModuleType("ansible_collections.proxlb.balancer")
        package.__path__ = [str(pathlib.Path(collection).resolve())]
        parent.proxlb, namespace.balancer = namespace, package
        sys.modules.update({"ansible_collections": parent, "ansible_collections.proxlb": namespace,
                            "ansible_collections.proxlb.balancer": package})
    else:
        import simulator  # noqa: F401  (makes this checkout importable)
    from ansible_collections.proxlb.balancer.plugins.module_utils.entry.migrate import run_migrate
    return run_migrate


def _connection(sim):
    return dict(api_host=[sim.api_host], api_user=sim.user, api_token_id=sim.token_id.split("!", 1)[1],
                api_token_secret=sim.token_secret, ca_path=sim.ca_path)


# ---------------------------------------------------------------------- makespan
def makespan_cluster_and_plan():
    from helpers import make_plan, scenario
    nodes = [("pve%02d" % i, "9.1.2", 512) for i in range(NODES)]
    # skewed sizes (2..12 GiB) so durations differ, as in real clusters
    guests = [(1000 + i, "qemu", "pve%02d" % (i % NODES), "running", 2 + (i * 7) % 11) for i in range(MOVES)]
    moves = [(1, vmid, node, "pve%02d" % ((int(node[3:]) + 1 + i % 5) % NODES))
             for i, (vmid, _k, node, _s, _m) in enumerate(guests)]
    return scenario(nodes, guests), make_plan(*moves)


def makespan_run(run_migrate, parallel, clock):
    from conftest import SimulatorProcess
    doc, plan = makespan_cluster_and_plan()
    sim = SimulatorProcess(doc, clock=clock)
    try:
        balancing = {"parallel": parallel, "parallel_jobs": JOBS, "per_node_jobs": PER_NODE}
        began = time.perf_counter()
        result = run_migrate(dict(_connection(sim), plan=plan, balancing=balancing, poll_interval=POLL), environ={})
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


def makespan(run_migrate):
    par = makespan_run(run_migrate, True, clock=SIM_PER_POLL / POLL)
    seq = makespan_run(run_migrate, False, clock=4 * SIM_PER_POLL / POLL)
    print("%d moves, %d nodes, parallel_jobs %d, per_node_jobs %d (simulated seconds)" % (MOVES, NODES, JOBS,
                                                                                         PER_NODE))
    print("%-12s %10s %10s %8s %14s %8s" % ("run", "makespan", "bound", "ratio", "max in flight", "wall s"))
    for name, (span, bound, peak, wall) in (("parallel", par), ("sequential", seq)):
        print("%-12s %10.1f %10.1f %8.2f %14d %8.1f" % (name, span, bound, span / bound, peak, wall))
    print("speed-up parallel vs sequential: %.2fx" % (seq[0] / par[0]))


# ---------------------------------------------------------------------- API economy
def economy_case(run_migrate, nodes, guests, moves, workdir):
    """(planned moves, result totals, request counts, wall seconds) for one generated cluster."""
    from conftest import SimulatorProcess
    scenario_path = os.path.join(workdir, "cluster-%dx%d.json" % (nodes, guests))
    plan_path = os.path.join(workdir, "plan-%dx%d.json" % (nodes, guests))
    if not os.path.exists(plan_path):
        # the cluster and the plan come from this checkout's generator and planner, whichever engine runs
        import subprocess
        subprocess.check_call([sys.executable, "-c", PLAN_SCRIPT, str(nodes), str(guests), scenario_path,
                               plan_path, str(moves)], cwd=str(ROOT))
    with open(plan_path) as handle:
        plan = json.load(handle)
    sim = SimulatorProcess(scenario_path, clock=SIM_PER_POLL / POLL)
    try:
        sim.admin("POST", "/requests/reset")
        balancing = {"parallel": True, "parallel_jobs": JOBS, "per_node_jobs": PER_NODE}
        began = time.perf_counter()
        result = run_migrate(dict(_connection(sim), plan=plan, balancing=balancing, poll_interval=POLL),
                             environ={})
        wall = time.perf_counter() - began
        counts = sim.admin("GET", "/requests")
    finally:
        sim.stop()
    return len(plan["moves"]), result["results"]["totals"], counts, wall


PLAN_SCRIPT = r'''
import json, sys
import simulator
from simulator.generate import generate
from ansible_collections.proxlb.balancer.plugins.module_utils.entry import runner
nodes, guests, scenario_path, plan_path, moves = sys.argv[1:]
doc = generate(int(nodes), int(guests), 1)
json.dump(doc, open(scenario_path, "w"))
plan = runner.run_plan({"snapshot_file": scenario_path, "balancing": {}}, environ={})["plan"]
plan["moves"] = plan["moves"][:int(moves)]
json.dump(plan, open(plan_path, "w"))
'''


def economy(run_migrate, sizes, moves, workdir, label):
    print("API economy (%s): parallel_jobs %d, per_node_jobs %d, poll every %.0f simulated s" % (
        label, JOBS, PER_NODE, SIM_PER_POLL))
    print("%-12s %6s %6s %8s %8s %11s %10s %12s %8s" % ("cluster", "moves", "done", "calls", "calls/mv",
                                                        "full reads", "reads/mv", "task status", "wall s"))
    for nodes, guests in sizes:
        planned, totals, counts, wall = economy_case(run_migrate, nodes, guests, moves, workdir)
        by = counts["by_endpoint"]
        full = by.get("GET /cluster/resources", 0)
        status = by.get("GET /nodes/{node}/tasks/{upid}/status", 0)
        print("%-12s %6d %6d %8d %8.2f %11d %10.3f %12d %8.1f" % (
            "%dx%d" % (nodes, guests), planned, totals["done"], counts["total"], counts["total"] / float(planned),
            full, full / float(planned), status, wall))
        top = sorted(by.items(), key=lambda kv: -kv[1])[:8]
        print("%12s %s" % ("", ", ".join("%s %d" % kv for kv in top)))
    print("targets: <= 4 calls per move, <= 0.2 full /cluster/resources reads per move")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--makespan", action="store_true", help="only the makespan benchmark")
    parser.add_argument("--economy", action="store_true", help="only the API economy benchmark")
    parser.add_argument("--collection", help="the checkout whose engine runs (default: this one)")
    parser.add_argument("--label", default="this checkout")
    parser.add_argument("--moves", type=int, default=120)
    parser.add_argument("--sizes", default="16x500,64x8000")
    parser.add_argument("--workdir", default=os.path.join(tempfile.gettempdir(), "proxlb-bench-migrate"))
    args = parser.parse_args()
    run_migrate = _engine(args.collection)
    if not args.makespan:
        os.makedirs(args.workdir, exist_ok=True)
        sizes = [tuple(int(x) for x in size.split("x")) for size in args.sizes.split(",")]
        economy(run_migrate, sizes, args.moves, args.workdir, args.label)
    if not args.economy:
        makespan(run_migrate)


if __name__ == "__main__":
    main()
