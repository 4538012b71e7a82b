"""`python -m transports.sim serve --port N [--state-dir DIR] [--host 127.0.0.1]`

Also the control calls, handy when poking at a running sim by hand:
send --from +C --to +M TEXT, inbox +C, fault +M KIND [--seconds N] [--ms N],
heal +M, status. The `whitecaves sim ...` commands wrap the same functions.
"""
from __future__ import annotations

import argparse
import json
import sys

from transports.sim import control, protocol, server


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m transports.sim",
                                     description="The simulated WhatsApp network (a test double).")
    sub = parser.add_subparsers(dest="command", required=True)

    serve = sub.add_parser("serve", help="run the simulated network until SIGTERM/SIGINT")
    serve.add_argument("--port", type=int, required=True)
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--state-dir", default=None, help="keep state here across restarts (LMDB)")

    def client(name: str, help_: str) -> argparse.ArgumentParser:
        sp = sub.add_parser(name, help=help_)
        sp.add_argument("--port", type=int, required=True)
        sp.add_argument("--host", default="127.0.0.1")
        return sp

    send = client("send", "a customer writes to an account")
    send.add_argument("--from", dest="from_", required=True)
    send.add_argument("--to", required=True)
    send.add_argument("text")
    client("inbox", "what a customer received (JSON)").add_argument("customer")
    fault = client("fault", "inject a fault into an account")
    fault.add_argument("account")
    fault.add_argument("kind", choices=protocol.FAULT_KINDS)
    fault.add_argument("--seconds", type=float)
    fault.add_argument("--ms", type=float)
    client("heal", "clear hang, latency and ban").add_argument("account")
    client("status", "accounts and counters (JSON)")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.command == "serve":
        try:
            server.serve(args.host, args.port, args.state_dir)
        except (OSError, ValueError) as exc:
            print(f"cannot serve: {exc}", file=sys.stderr)
            return 1
        return 0
    try:
        if args.command == "send":
            print(control.send(args.host, args.port, args.from_, args.to, args.text))
        elif args.command == "inbox":
            print(json.dumps(control.inbox(args.host, args.port, args.customer)))
        elif args.command == "fault":
            control.fault(args.host, args.port, args.account, args.kind, args.seconds, args.ms)
        elif args.command == "heal":
            control.heal(args.host, args.port, args.account)
        elif args.command == "status":
            print(json.dumps(control.status(args.host, args.port), indent=2))
    except control.SimError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
