"""``defender-air quickstart``: run the quickstart program with ``pulumi up`` against the embedded emulator.

Everything up to ``pulumi up`` is done here: the emulator is started on loopback and checked, a local file
backend and a throwaway stack are prepared under ``.quickstart/``. The Pulumi CLI itself (a Go binary, not a
Python package) must be on PATH; where it is missing the command says so and how to get it.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shlex
import shutil
import subprocess
import sys
import threading
from pathlib import Path

import httpx

from .fakes.server import EmulatorServer
from .fakes.tenant import FakeTenant, StateFileError

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


# The port the hand-run commands use: the emulator's own default, so they read the same as README.md's.
HAND_RUN_PORT = 8765


def _defender_air_command() -> list[str]:
    """How to start this CLI again from a shell: the ``defender-air`` script beside this interpreter (the venv's,
    not on PATH unless the venv is activated), else the module through this interpreter."""
    script = Path(sys.executable).parent / "defender-air"
    if script.exists():
        return [str(script)]
    return [sys.executable, "-m", "defender_air_provider.cli"]


def _missing_cli_message(project: Path, work: Path, env: dict[str, str]) -> str:
    url = f"http://127.0.0.1:{HAND_RUN_PORT}"
    emulator = [*_defender_air_command(), "emulator", "--port", str(HAND_RUN_PORT),
                "--state", str(work / "emulator-state.json")]
    lines = [
        "",
        "Missing: the Pulumi CLI (`pulumi` is not on PATH). It is a standalone binary, not a Python package, so "
        "this command cannot install it: see https://www.pulumi.com/docs/install/ "
        "(e.g. `curl -fsSL https://get.pulumi.com | sh`).",
        f"Everything before `pulumi up` was done: the emulator started and answered, the local backend is at "
        f"{work / 'backend'}. The emulator has been stopped now (its tenant is kept in "
        f"{work / 'emulator-state.json'}).",
        "Once the CLI is installed, run `./run quickstart` again, or do its steps yourself:",
        "  # in one terminal (Ctrl-C to stop):",
        f"  {shlex.join(emulator)}",
        "  # in another:",
        f"  cd {shlex.quote(str(project))}",
        f"  export PULUMI_BACKEND_URL={shlex.quote(env['PULUMI_BACKEND_URL'])}",
        f"  export PULUMI_CONFIG_PASSPHRASE={shlex.quote(env['PULUMI_CONFIG_PASSPHRASE'])}",
        f"  pulumi stack select --create {STACK}",
        f"  pulumi config set defender-air:emulatorUrl {url}",
        "  pulumi up --yes",
        f"(exit status {MISSING_CLI}: ready except for the Pulumi CLI)",
    ]
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    project = _project_dir(args.project_dir)
    work = project / ".quickstart"
    (work / "backend").mkdir(parents=True, exist_ok=True)
    try:
        tenant = FakeTenant("presets_on", state_file=work / "emulator-state.json")
    except StateFileError as error:  # e.g. a hand-edited state file: one line, no traceback
        print(f"defender-air quickstart: error: {error}", file=sys.stderr)
        return 2
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
            # Stop the emulator first: the message must not point at a port that closes when this command exits.
            server.stop()
            print(_missing_cli_message(project, work, env), file=sys.stderr)
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
