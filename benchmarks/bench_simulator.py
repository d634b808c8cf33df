"""How fast the simulator answers on a large cluster: /cluster/resources on 64 nodes x 8,000 guests.

    .venv/bin/python benchmarks/bench_simulator.py [--nodes 64] [--guests 8000] [--repeat 20]

Starts a real simulator subprocess on a generated cluster and times, over one keep-alive HTTPS session,
the baseline ``/version`` and the large answers (cold = first call after a change, warm = cached).
"""

import argparse
import json
import os
import statistics
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
sys.path.insert(0, os.path.join(ROOT, "tests"))

import simulator  # noqa: E402,F401  (makes the collection importable)
from simulator.generate import generate  # noqa: E402
from conftest import SimulatorProcess  # noqa: E402


def timed(session, url, verify, repeat, before=None):
    samples, size = [], 0
    for _ in range(repeat):
        if before:
            before()
        started = time.perf_counter()
        response = session.get(url, verify=verify, timeout=60)
        samples.append(time.perf_counter() - started)
        response.raise_for_status()
        size = len(response.content)
    return samples, size


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nodes", type=int, default=64)
    parser.add_argument("--guests", type=int, default=8000)
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    import requests

    started = time.perf_counter()
    scenario = generate(args.nodes, args.guests, args.seed)
    generated = time.perf_counter() - started
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as handle:
        json.dump(scenario, handle)
    started = time.perf_counter()
    sim = SimulatorProcess(handle.name, clock=0)
    startup = time.perf_counter() - started
    try:
        session = requests.Session()
        session.headers["Authorization"] = "PVEAPIToken=%s=%s" % (sim.token_id, sim.token_secret)
        base = sim.url + "/api2/json"
        vmid = scenario["guests"][0]["vmid"]
        node = scenario["guests"][0]["node"]

        def change():  # a tag change invalidates the cached answers, like any state change
            session.put("%s/nodes/%s/qemu/%d/config" % (base, node, vmid), data={"tags": "t%d" % time.time_ns()},
                        verify=sim.ca_path, timeout=60).raise_for_status()
        rows = [
            ("GET /version (baseline)", timed(session, base + "/version", sim.ca_path, args.repeat)),
            ("GET /cluster/resources?type=vm warm", timed(session, base + "/cluster/resources?type=vm",
                                                          sim.ca_path, args.repeat)),
            ("GET /cluster/resources?type=vm cold", timed(session, base + "/cluster/resources?type=vm",
                                                          sim.ca_path, args.repeat, change)),
            ("GET /cluster/resources (all) warm", timed(session, base + "/cluster/resources", sim.ca_path,
                                                        args.repeat)),
            ("GET /nodes/%s/qemu" % node, timed(session, "%s/nodes/%s/qemu" % (base, node), sim.ca_path,
                                                args.repeat)),
        ]
    finally:
        sim.stop()
        os.unlink(handle.name)
    print("simulator on %d nodes x %d guests (seed %d): generate %.2f s, start %.2f s, %d runs each"
          % (args.nodes, args.guests, args.seed, generated, startup, args.repeat))
    print("%-40s %10s %10s %10s %12s" % ("request", "median ms", "p90 ms", "max ms", "bytes"))
    for name, (samples, size) in rows:
        ordered = sorted(samples)
        print("%-40s %10.1f %10.1f %10.1f %12d" % (name, statistics.median(ordered) * 1000,
                                                   ordered[int(len(ordered) * 0.9) - 1] * 1000,
                                                   ordered[-1] * 1000, size))


if __name__ == "__main__":
    main()
