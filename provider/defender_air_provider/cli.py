"""The ``defender-air`` command line (README.md, docs/emulator.md, docs/schema.md, docs/preflight.md).

Each subcommand registers itself with one ``_add_<name>(subparsers)`` function listed in ``SUBCOMMANDS``
and sets ``func`` to the function that runs it, so adding a command (``quickstart``) is one function plus
one entry in that tuple.
"""

from __future__ import annotations

import argparse
import ipaddress
import json
import os
import signal
import sys
import threading
from collections.abc import Callable, Sequence
from types import FrameType
from typing import Any

from . import quickstart
from .export import command as export_command
from .fakes.exchange import SCENARIOS
from .fakes.server import EmulatorServer
from .fakes.tenant import FakeTenant, StateFileError
from .package_schema import package_schema
from .preflight import add_settings_arguments


def _is_loopback(host: str) -> bool:
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False  # another host name: can't tell, so warn


def run_emulator(args: argparse.Namespace) -> int:
    """Serve the emulator until Ctrl-C. Returns the process exit code."""
    if not _is_loopback(args.host):
        # The emulator accepts any bearer token and exposes a control surface that rewrites its behaviour.
        print(f"warning: --host {args.host} is not a loopback address; the emulator has no authentication and "
              "anyone who can reach it can read and change its state", file=sys.stderr)
    try:
        tenant = FakeTenant(args.scenario, args.state, compliance_e5=not args.no_e5, graph_licences=args.licences)
    except StateFileError as error:  # a bad --state path or file: the user's to fix, so one line and no traceback
        print(f"defender-air emulator: error: {error}", file=sys.stderr)
        return 2
    server = EmulatorServer(tenant, host=args.host, port=args.port)
    try:
        server.bind()  # bind first, so port 0 prints the real port
    except OSError as error:
        print(f"error: cannot listen on {args.host}:{args.port}: {error.strerror or error}", file=sys.stderr)
        return 1
    print(f"defender-air emulator listening on {server.url} (state: {args.state or 'in memory'})", flush=True)
    previous = _stop_on_sigterm()
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass  # Ctrl-C is the normal way to stop it
    finally:
        server.stop()
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)
    return 0


def _stop_on_sigterm() -> signal.Handlers | Callable[[int, FrameType | None], Any] | int | None:
    """Treat SIGTERM (``docker stop``, a CI runner) like Ctrl-C, so the socket is closed cleanly.

    Returns the previous handler to restore; None when not on the main thread (signals can't be set there).
    """
    if threading.current_thread() is not threading.main_thread():
        return None

    def interrupt(signum: int, frame: FrameType | None) -> None:
        raise KeyboardInterrupt

    return signal.signal(signal.SIGTERM, interrupt)


def _add_emulator(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "emulator",
        help="serve a local emulator of the Microsoft APIs, seeded with a realistic tenant",
        description="Serve the fake Microsoft 365 tenant on HOST:PORT. Point the provider at it with "
                    "defender-air:emulatorUrl (or DEFENDER_AIR_EMULATOR_URL); no credentials are needed.",
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default: 127.0.0.1, loopback)")
    parser.add_argument("--port", type=int, default=8765, help="port to listen on; 0 picks a free one "
                                                               "(default: 8765)")
    parser.add_argument("--state", metavar="FILE", default=None,
                        help="JSON file that keeps the tenant's state across restarts (default: in memory)")
    parser.add_argument("--scenario", choices=SCENARIOS, default="presets_on",
                        help="seed of the tenant when there is no state file yet (default: presets_on)")
    parser.add_argument("--no-e5", action="store_true",
                        help="seed a tenant without Office 365 E5: only single-event alert policies (aggregation "
                             "None) can be created")
    parser.add_argument("--licences", choices=("e5", "e3"), default="e5",
                        help="Microsoft Graph licence seed: e5 (Microsoft 365 E5) or e3 (Microsoft 365 E3, none of "
                             "the AIR service plans) (default: e5)")
    parser.set_defaults(func=run_emulator)


def run_schema(_args: argparse.Namespace) -> int:
    """Print the Pulumi package schema. Keys keep the definitions' order, which is fixed, so the output is the
    same bytes on every run (diffable in review)."""
    print(json.dumps(package_schema(), indent=2))
    return 0


def _add_schema(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "schema",
        help="print the Pulumi package schema (JSON) of every resource",
        description="Print the Pulumi package schema of defender-air (resources, inputs, outputs, enums, nested "
                    "types, provider configuration), generated from the resource definitions.",
    )
    parser.set_defaults(func=run_schema)


def run_preflight(args: argparse.Namespace) -> int:
    """Check the guide's prerequisites (read-only); exit 0 nothing fails, 1 a check fails, 2 tenant unreachable."""
    from .core.errors import DefenderAirError
    from .preflight import load_settings, render_table, run_checks

    try:
        settings = load_settings(tenant_id=args.tenant_id, client_id=args.client_id, cloud=args.cloud,
                                 emulator_url=args.emulator_url)
        report = run_checks(settings)
    except DefenderAirError as exc:  # bad configuration, no credential: expected, no traceback
        print(f"defender-air preflight: {exc}", file=sys.stderr)
        return 2
    if settings.emulated:
        print(f"defender-air preflight: using the emulator at {settings.emulator_url}", file=sys.stderr)
    print(json.dumps(report.to_json(), indent=2) if args.json else render_table(report))
    return report.exit_status


def _add_preflight(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "preflight",
        help="check the tenant's prerequisites for AIR (read-only)",
        description="Check licences, the app's directory role, each backend, the presets and (with a portal "
                    "session) the tenant context. Reads only. Exit status: 0 nothing fails, 1 a check fails, 2 the "
                    "tenant cannot be reached. Settings come from the environment and these flags (no stack config).",
    )
    parser.add_argument("--json", action="store_true", help='print {"checks": [{"name", "status", "detail", "fix"}]}')
    add_settings_arguments(parser, "check the local emulator")
    parser.set_defaults(func=run_preflight)


SUBCOMMANDS: tuple[Callable[[argparse._SubParsersAction[argparse.ArgumentParser]], None], ...] = (
    _add_emulator,
    _add_schema,
    _add_preflight,
    export_command.add_parser,
    quickstart.add_parser,
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="defender-air",
                                     description="Tools for pulumi-defender-air (Microsoft Defender AIR settings).")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for add in SUBCOMMANDS:
        add(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    func: Callable[[argparse.Namespace], int] = args.func
    try:
        return func(args)
    except BrokenPipeError:
        # The reader went away (`defender-air schema | head`): not a failure. Point stdout at /dev/null so the
        # interpreter's final flush does not raise again.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0


if __name__ == "__main__":
    sys.exit(main())
