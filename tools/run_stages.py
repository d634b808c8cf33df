"""Run `make` stages side by side and say how long each took (used by `make test`).

    python tools/run_stages.py --logs DIR --live unit sanity lint molecule -- unit-serial check-tests

Stages before ``--`` run at the same time: the ``--live`` one prints as it goes, the others write to
DIR/<date>-<time>-<pid>/<stage>.log only (printed at the end when they fail). Stages after ``--`` run one after the other
once all of those have ended, printing as they go: what must not share the machine (tests that measure
real overlap) or must come last. At the end: one line per stage with its result and time, then the live
stage's summary line again (pytest's summary closes the output). Exit status 1 when any stage failed.
"""

import argparse
import os
import re
import subprocess
import sys
import threading
import time

TAIL = 80
SUMMARY = re.compile(r"\b(passed|failed|errors?|no tests ran)\b.* in [0-9.]+s")


def make(stage):
    return ["make", "--no-print-directory", stage]


def tail(path, lines=TAIL):
    with open(path, errors="replace") as handle:
        return handle.readlines()[-lines:]


def _finish(stage, proc, handle, log, begin, results):
    code = proc.wait()
    results[stage] = (code, time.monotonic() - begin, log)
    handle.close()


def main(argv):
    parser = argparse.ArgumentParser()
    parser.add_argument("--logs", required=True)
    parser.add_argument("--live", required=True)
    parser.add_argument("stages", nargs="*")
    after = []
    if "--" in argv:
        argv, after = argv[:argv.index("--")], argv[argv.index("--") + 1:]
    args = parser.parse_args(argv)
    together = args.stages
    # one directory per run: two runs in one checkout do not write the same logs
    args.logs = os.path.join(args.logs, "%s-%d" % (time.strftime("%Y%m%d-%H%M%S"), os.getpid()))
    os.makedirs(args.logs, exist_ok=True)
    results = {}
    started = {}
    running = {}
    for stage in [args.live] + [s for s in together if s != args.live]:
        log = os.path.join(args.logs, stage + ".log")
        print("=== %s started %s (log: %s)" % (stage, time.strftime("%H:%M:%S"), log), flush=True)
        started[stage] = time.monotonic()
        handle = open(log, "w")
        if stage == args.live:
            proc = subprocess.Popen(make(stage), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        else:
            proc = subprocess.Popen(make(stage), stdout=handle, stderr=subprocess.STDOUT)
        running[stage] = (proc, handle, log)
        if stage != args.live:   # note when it ends, not when we get round to asking
            threading.Thread(target=_finish, args=(stage, proc, handle, log, started[stage], results),
                             daemon=True).start()
    live, live_handle, live_log = running[args.live]
    last = ""
    for line in live.stdout:
        sys.stdout.write(line)
        sys.stdout.flush()
        live_handle.write(line)
        if SUMMARY.search(line):
            last = line.rstrip("\n")
    _finish(args.live, live, live_handle, live_log, started[args.live], results)
    while len(results) < len(running):
        time.sleep(0.2)
    results = dict((stage, results[stage]) for stage in running)   # in the order they were started
    for stage, (code, seconds, log) in results.items():
        if stage != args.live:
            print("=== %s: %s in %.0f s" % (stage, "passed" if code == 0 else "FAILED (exit %d)" % code, seconds))
            if code != 0:
                sys.stdout.write("".join(tail(log)))
    for stage in after:
        print("\n=== %s started %s" % (stage, time.strftime("%H:%M:%S")), flush=True)
        begin = time.monotonic()
        code = subprocess.call(make(stage))
        results[stage] = (code, time.monotonic() - begin, None)
    print("\n=== stage times")
    for stage, (code, seconds, _log) in results.items():
        print("    %-12s %-8s %5.0f s" % (stage, "passed" if code == 0 else "FAILED", seconds))
    if last:
        print(last)   # pytest's summary line closes the output
    return 1 if any(code for code, _s, _l in results.values()) else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
