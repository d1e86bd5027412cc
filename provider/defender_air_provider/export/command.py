"""The ``defender-air export`` subcommand: flags, progress on stderr, files, exit status (docs/export.md).

Exit status: 0 the program was written; 1 the folder already holds a program (nothing read, nothing written);
2 the tenant could not be read, or the configuration is incomplete (nothing written).
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import TextIO

from ..core.errors import DefenderAirError
from ..core.http import RetryPolicy
from ..preflight import add_settings_arguments

EXIT_WRITTEN, EXIT_EXISTS, EXIT_UNREADABLE = 0, 1, 2


def add_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "export",
        help="read the tenant's AIR configuration and write a Pulumi program that declares it (read-only)",
        description="Read the tenant (one list call per kind, reads only) and write DIR/__main__.py, DIR/Pulumi.yaml "
                    "and DIR/requirements.txt: a Pulumi program that declares the tenant's AIR configuration as it "
                    "is, so that `pulumi up` adopts everything and writes nothing. Settings come from the "
                    "environment and these flags (no stack config), as for preflight. Exit status: 0 written, 1 DIR "
                    "already holds a program (use --force), 2 the tenant could not be read (nothing written).",
    )
    parser.add_argument("--out", required=True, metavar="DIR", type=Path, help="folder to write the program into")
    parser.add_argument("--force", action="store_true", help="overwrite a program already in DIR")
    add_settings_arguments(parser, "export the local emulator's tenant")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace, *, stderr: TextIO | None = None) -> int:
    from ..handlers.context import ProviderContext
    from ..preflight import load_settings
    from .files import ExistingProgram, export_tenant, refuse_existing, write_files

    err = stderr or sys.stderr
    out: Path = args.out
    try:
        refuse_existing(out, force=args.force)
        settings = load_settings(tenant_id=args.tenant_id, client_id=args.client_id, cloud=args.cloud,
                                 emulator_url=args.emulator_url)
        if settings.emulated:
            print(f"defender-air export: using the emulator at {settings.emulator_url}", file=err)
        started = time.monotonic()
        ctx = ProviderContext(settings, retry=RetryPolicy())
        export = export_tenant(ctx, _progress(err))
        written = write_files(export, out, force=args.force)
    except ExistingProgram as exc:
        print(f"defender-air export: {exc}", file=err)
        return EXIT_EXISTS
    except DefenderAirError as exc:
        print(f"defender-air export: {exc}\nNothing was written.", file=err)
        return EXIT_UNREADABLE
    counts = ", ".join(f"{n} {kind}" for kind, n in export.counts().items())
    print(f"defender-air export: wrote {', '.join(str(p) for p in written)} in {time.monotonic() - started:.1f} s "
          f"({counts})", file=err)
    for problem in export.problems:
        print(f"  note: {problem}", file=err)
    if export.problems:
        print(f"defender-air export: {len(export.problems)} note(s) above; each is also a comment in "
              f"{out / '__main__.py'}", file=err)
    return EXIT_WRITTEN


def _progress(err: TextIO) -> Callable[[str, str], None]:
    def report(kind: str, text: str) -> None:
        print(f"  read {kind:<28} {text}", file=err, flush=True)
    return report
