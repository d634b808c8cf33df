"""Planner quality and speed on generated clusters, beside ProxLB's greedy algorithm and the fluid bounds.

One command: ``python benchmarks/bench_planner.py`` (``make bench`` runs it). Options: balanciness 5,
method memory, mode used, rules from the generated tags, pools and HA rules. Memory moved by our
planner is split: moves that repair rules (mandatory whatever the balance) and balance moves, which are
compared with the fluid minimum for the spread reached, measured after the repairs. "second plan moves"
plans again on the planned placement: it must read 0 for ours (the plan is a fixed point); the greedy
baseline's own second run shows the churn of ProxLB's algorithm. The last line of each size is the ratio of
our time to the baseline's, measured in the same run.
"""

import os
import pathlib
import statistics
import sys
import time
import tracemalloc

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))

import simulator  # noqa: E402,F401  (makes the collection importable)
from simulator.generate import generate  # noqa: E402

import fluid_bound  # noqa: E402
import greedy_baseline  # noqa: E402
from ansible_collections.proxlb.balancer.plugins.module_utils.common import config
from ansible_collections.proxlb.balancer.plugins.module_utils.placement import objective
from ansible_collections.proxlb.balancer.plugins.module_utils.rules import build as rules_mod  # noqa: E402
from ansible_collections.proxlb.balancer.plugins.module_utils.placement.capacity import step_violations  # noqa: E402
from ansible_collections.proxlb.balancer.plugins.module_utils.placement.load import LoadModel  # noqa: E402
from ansible_collections.proxlb.balancer.plugins.module_utils.plan.planner import apply, plan  # noqa: E402
from ansible_collections.proxlb.balancer.plugins.module_utils.facts.snapshot import normalize  # noqa: E402

SIZES = [(4, 40), (16, 500), (32, 2000), (64, 8000), (256, 32000)]
if os.environ.get("BENCH_QUICK"):
    SIZES = SIZES[:2]
OPTIONS = {"balancing": {"balanciness": 5, "method": "memory", "mode": "used"}}
GIB = 1024.0 ** 3


def timed(fn, repeat=3):
    """(result, (median wall seconds, median CPU seconds of this process), peak bytes). The CPU time is
    what to compare on a shared machine: other processes stretch the wall time, not the CPU time."""
    times, cpu = [], []
    for _ in range(repeat):
        start, start_cpu = time.perf_counter(), time.process_time()
        result = fn()
        times.append(time.perf_counter() - start)
        cpu.append(time.process_time() - start_cpu)
    tracemalloc.start()
    fn()
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return result, (statistics.median(times), statistics.median(cpu)), peak


def spreads(snapshot, placement, options, rules):
    nodes = sorted(n["node"] for n in snapshot["nodes"] if n["status"] == "online")
    model = LoadModel(snapshot, config.behaviour(options)["balancing"])
    for vmid, node in placement.items():
        if model.node_of[vmid] != node:
            model.move(vmid, node)
    return objective.spreads(dict((n, model.percents(n)) for n in nodes), nodes)


def row(label, before, after, moves, moved, ratio, violations, capacity, second, seconds, peak):
    print("  %-8s mem %5.1f->%5.1f  cpu %6.1f->%6.1f  disk %5.1f->%5.1f  moves %5d  moved %8.1f GiB  "
          "x fluid %5s  violations %4d  capacity %3d  second plan moves %4d  %7.3f s (cpu %7.3f s)  peak %6.1f MiB"
          % (label, before[0], after[0], before[1], after[1], before[2], after[2], moves, moved / GIB,
             ratio, violations, capacity, second, seconds[0], seconds[1], peak / 1024.0 ** 2))


def scenario(nodes, guests):
    snap = normalize(generate(nodes, guests, 1))
    options = config.behaviour(OPTIONS)
    rules = rules_mod.build_rules(snap, options)[0]
    start = dict((g["vmid"], g["node"]) for g in snap["guests"])
    before = spreads(snap, start, options, rules)
    print("%d nodes x %d guests: fluid bound: memory spread >= %.1f pp; moving >= %.1f GiB reaches 5 pp; "
          "rule violations at start %d" % (nodes, guests, fluid_bound.min_spread(snap, options, rules),
                                            fluid_bound.min_moved(snap, options, rules, 5.0) / GIB,
                                            len(greedy_baseline.violations(snap, rules, start))))

    ours, seconds, peak = timed(lambda: plan(snap, options, rules=rules))
    after_snap = apply(snap, ours)
    placement = dict((g["vmid"], g["node"]) for g in after_snap["guests"])
    after = spreads(snap, placement, options, rules)
    memory = LoadModel(snap, options["balancing"]).guest
    balance = [m for m in ours["moves"] if m["reason"].startswith("balance")]
    repairs = [m for m in ours["moves"] if not m["reason"].startswith("balance")]
    repaired = apply(snap, dict(ours, moves=[dict(m, step=1) for m in repairs]))
    moved_balance = sum(memory[m["vmid"]][0] for m in balance)
    floor = fluid_bound.min_moved(repaired, options, rules, after[0])
    ratio = "%.2f" % (moved_balance / floor) if floor > GIB else "-"
    unreported = [v for v in greedy_baseline.violations(snap, rules, placement)
                  if v["rule"] not in set(u["rule"] for u in ours["unsatisfiable"])]
    second = len(plan(after_snap, options, rules=rules)["moves"])   # a fixed point: must be 0
    row("ours", before, after, len(ours["moves"]), sum(memory[m["vmid"]][0] for m in ours["moves"]), ratio,
        len(greedy_baseline.violations(snap, rules, placement)), len(step_violations(snap, options, ours["moves"])),
        second, seconds, peak)
    ours_seconds = seconds
    print("           of which %d rule repairs (%.1f GiB) and %d balance moves (%.1f GiB, fluid minimum %.1f GiB); "
          "%d unsatisfiable reported, %d violations unreported"
          % (len(repairs), sum(memory[m["vmid"]][0] for m in repairs) / GIB, len(balance), moved_balance / GIB,
             floor / GIB, len(ours["unsatisfiable"]), len(unreported)))

    (moves, final), seconds, peak = timed(lambda: greedy_baseline.greedy_plan(snap, options, rules))
    after = spreads(snap, final, options, rules)
    moved = sum(memory[v][0] for v, _s, _t in moves)
    floor = fluid_bound.min_moved(snap, options, rules, after[0])
    ratio = "%.2f" % (moved / floor) if floor > GIB else "-"  # no bound when the spread did not improve
    baseline_moves = [{"vmid": v, "source": s, "target": t, "step": i + 1} for i, (v, s, t) in enumerate(moves)]
    again = greedy_baseline.greedy_plan(apply(snap, {"moves": baseline_moves}), options, rules)[0]
    row("greedy", before, after, len(moves), moved, ratio, len(greedy_baseline.violations(snap, rules, final)),
        len(step_violations(snap, options, baseline_moves)), len(again), seconds, peak)
    print("           time ours / greedy in this run: %.1f (cpu %.1f)" % (
        ours_seconds[0] / max(seconds[0], 1e-6), ours_seconds[1] / max(seconds[1], 1e-6)))


def main():
    print("planner benchmark: balanciness 5, method memory, mode used; spreads in pp of node capacity; "
          "'capacity' = steps where a node would exceed a hard limit; 'second plan moves' = moves of a plan "
          "made on the planned placement (0: the plan is a fixed point); wall and CPU time median of 3")
    for nodes, guests in SIZES:
        scenario(nodes, guests)


if __name__ == "__main__":
    main()
