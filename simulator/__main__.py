"""Command line: ``python -m simulator serve ...`` and ``python -m simulator generate ...``."""

import argparse
import json
import signal
import sys
import threading

import simulator  # noqa: F401  (makes the collection importable)


def _serve(args):
    from simulator.server import build
    from ansible_collections.proxlb.balancer.plugins.module_utils.common.errors import SnapshotError
    try:
        server, _ = build(args.scenario, args.bind, args.port, args.clock, args.token or (), args.password or (),
                          args.ca_out)
    except (SnapshotError, ValueError, OSError) as error:
        print("simulator: %s" % error, file=sys.stderr)
        return 2
    if not (server.auth.tokens or server.auth.users):
        print("simulator: no credentials: pass --token or --password, or define users/tokens in the scenario's "
              "simulator block", file=sys.stderr)
        return 2
    stop = threading.Event()

    def on_signal(signum, frame):
        stop.set()
    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.2}, daemon=True)
    thread.start()
    host, port = server.server_address[:2]
    shown = "[%s]" % host if ":" in host else host
    sys.stdout.write("ready https://%s:%d\n" % (shown, port))
    sys.stdout.flush()
    while not stop.wait(0.5):
        pass
    server.shutdown()
    server.server_close()
    return 0


def _generate(args):
    from simulator.generate import generate
    json.dump(generate(args.nodes, args.guests, args.seed, pve=args.pve), sys.stdout, indent=1, sort_keys=True)
    sys.stdout.write("\n")
    return 0


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m simulator", description="A Proxmox VE API simulator.")
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="serve a scenario over HTTPS")
    serve.add_argument("--scenario", required=True, help="a snapshot-schema JSON file")
    serve.add_argument("--port", type=int, required=True, help="0 picks a free port")
    serve.add_argument("--bind", default="127.0.0.1")
    serve.add_argument("--clock", type=float, default=None,
                       help="simulated seconds per real second (default 8; 0 stops time except /_sim/clock)")
    serve.add_argument("--token", action="append", help="USER@REALM!ID=SECRET, with every privilege")
    serve.add_argument("--password", action="append", help="USER@REALM=PASS, with every privilege")
    serve.add_argument("--ca-out", help="write the CA certificate (PEM) here")
    gen = sub.add_parser("generate", help="print a seeded scenario")
    gen.add_argument("--nodes", type=int, required=True)
    gen.add_argument("--guests", type=int, required=True)
    gen.add_argument("--seed", type=int, default=1)
    gen.add_argument("--pve", default="9.1", choices=["8.4", "9.1"])
    args = parser.parse_args(argv)
    return _serve(args) if args.command == "serve" else _generate(args)


if __name__ == "__main__":
    sys.exit(main())
