"""``defender-air quickstart``: run the quickstart program with ``pulumi up`` against the embedded emulator.

Everything up to ``pulumi up`` is done here: the emulator is started on loopback and checked, a local file
backend and a throwaway stack are prepared under ``.quickstart/``. The Pulumi CLI itself (a Go binary, not a
Python package) must be on PATH; where it is missing the command says so and how to get it.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import subprocess
import sys
import threading
from pathlib import Path

import httpx

from .fakes.server import EmulatorServer
from .fakes.tenant import FakeTenant

STACK = "quickstart"
MISSING_CLI = 3  # exit code: everything before `pulumi up` is ready, the CLI is not


def add_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "quickstart", help="run the quickstart example with `pulumi up` against the embedded emulator",
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--project-dir", type=Path, default=None,
                        help="folder with Pulumi.yaml (default: the nearest one above the current folder)")
    parser.add_argument("--keep-emulator", action="store_true",
                        help="leave the emulator running after `pulumi up` (Ctrl-C to stop)")
    parser.set_defaults(func=run)


def _project_dir(explicit: Path | None) -> Path:
    if explicit is not None:
        return explicit.resolve()
    here = Path.cwd().resolve()
    for folder in (here, *here.parents):
        if (folder / "Pulumi.yaml").exists():
            return folder
    raise SystemExit("defender-air quickstart: no Pulumi.yaml here or above; pass --project-dir")


def _say(message: str) -> None:
    print(f"==> {message}", flush=True)


def _check_emulator(url: str) -> list[str]:
    """Ask the emulator what a real client asks Exchange first: the preset rules."""
    response = httpx.post(
        f"{url}/exchange/adminapi/beta/00000000-0000-0000-0000-000000000000/InvokeCommand",
        json={"CmdletInput": {"CmdletName": "Get-EOPProtectionPolicyRule", "Parameters": {}}},
        headers={"Authorization": "Bearer emulator-placeholder-token"}, timeout=10)
    response.raise_for_status()
    return [f"{rule['Name']} ({rule['State']})" for rule in response.json()["value"]]


def run(args: argparse.Namespace) -> int:
    project = _project_dir(args.project_dir)
    work = project / ".quickstart"
    (work / "backend").mkdir(parents=True, exist_ok=True)
    tenant = FakeTenant("presets_on", state_file=work / "emulator-state.json")
    server = EmulatorServer(tenant, host="127.0.0.1", port=0).start()
    try:
        _say(f"emulator listening on {server.url} (state: {work / 'emulator-state.json'})")
        rules = _check_emulator(server.url)
        _say("emulator answers Get-EOPProtectionPolicyRule: " + "; ".join(rules))
        env = {
            **os.environ,
            "PULUMI_BACKEND_URL": (work / "backend").as_uri(),
            # A throwaway local stack: its passphrase protects nothing of value.
            "PULUMI_CONFIG_PASSPHRASE": "quickstart-throwaway-stack",
            "PULUMI_SKIP_UPDATE_CHECK": "true",
        }
        _say(f"local backend {env['PULUMI_BACKEND_URL']}, stack '{STACK}', program {project / 'Pulumi.yaml'}")
        pulumi = shutil.which("pulumi")
        if pulumi is None:
            print(
                "\nMissing: the Pulumi CLI (`pulumi` is not on PATH). It is a standalone binary, not a Python "
                "package, so this command cannot install it.\n"
                "Everything before `pulumi up` is ready: the emulator started and answered, the local backend "
                f"is at {work / 'backend'}.\n"
                "Install the CLI (https://www.pulumi.com/docs/install/, e.g. `curl -fsSL https://get.pulumi.com "
                "| sh`), then run `./run quickstart` again. It will run:\n"
                f"  pulumi stack select --create {STACK}\n"
                f"  pulumi config set defender-air:emulatorUrl {server.url}\n"
                "  pulumi up --yes",
                file=sys.stderr,
            )
            return MISSING_CLI
        steps = [
            [pulumi, "stack", "select", "--create", STACK, "--non-interactive"],
            [pulumi, "config", "set", "defender-air:emulatorUrl", server.url, "--stack", STACK],
            [pulumi, "up", "--yes", "--non-interactive", "--stack", STACK],
            [pulumi, "stack", "output", "--stack", STACK],
        ]
        for command in steps:
            _say(" ".join(command[1:]))
            completed = subprocess.run(command, cwd=project, env=env, check=False)
            if completed.returncode != 0:
                return completed.returncode
        _say(f"done: the emulator served {tenant.log.count()} requests")
        if args.keep_emulator:
            _say(f"emulator still running on {server.url}; Ctrl-C to stop")
            with contextlib.suppress(KeyboardInterrupt):
                threading.Event().wait()
        return 0
    finally:
        server.stop()
