"""Read the tenant and build the program's files in memory (``export_tenant``), then write them (``write_files``),
nothing at all when a read fails."""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

from ..core.errors import DefenderAirError
from ..handlers.context import ProviderContext
from .declarations import Declaration, declarations
from .program import render_program, render_pulumi_yaml, render_requirements
from .snapshot import Progress, Snapshot, read_tenant

FILES = ("__main__.py", "Pulumi.yaml", "requirements.txt")

class ExistingProgram(DefenderAirError):
    """The output folder already holds a program and ``--force`` was not given."""


@dataclass(frozen=True)
class Export:
    snapshot: Snapshot
    declarations: tuple[Declaration, ...]
    files: dict[str, str]  # file name -> text

    @property
    def problems(self) -> list[str]:
        """What could not be declared exactly as the tenant has it, one line each (stderr shows them)."""
        return [f"{d.definition.name} {d.resource_name}: {problem}" for d in self.declarations
                for problem in d.problems]

    def counts(self) -> dict[str, int]:
        """Declared resources per kind (those commented out not counted)."""
        found: dict[str, int] = {}
        for d in self.declarations:
            if d.declared:
                found[d.definition.name] = found.get(d.definition.name, 0) + 1
        return found


def export_tenant(ctx: ProviderContext, progress: Progress | None = None) -> Export:
    """Read the tenant (reads only) and build the program's files in memory."""
    snapshot = read_tenant(ctx, progress)
    found = tuple(declarations(snapshot))
    files = {
        "__main__.py": render_program(found, tenant=snapshot.tenant, emulated=snapshot.emulated),
        "Pulumi.yaml": render_pulumi_yaml(tenant=snapshot.tenant, emulated=snapshot.emulated),
        "requirements.txt": render_requirements(),
    }
    return Export(snapshot, found, files)


def refuse_existing(out: Path, *, force: bool) -> None:
    """Before anything is read: an existing program in ``out`` is kept unless ``force``."""
    existing = [name for name in FILES if (out / name).exists()]
    if existing and not force:
        raise ExistingProgram(f"{out} already holds {', '.join(existing)}; nothing was read or written. Choose "
                              "another folder, or pass --force to overwrite them.")


def write_files(export: Export, out: Path, *, force: bool) -> list[Path]:
    """Write the three files into ``out`` (created if missing), each replaced atomically."""
    refuse_existing(out, force=force)
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for name in FILES:
        target = out / name
        handle, tmp = tempfile.mkstemp(prefix=f".{name}.", dir=out)
        try:
            with os.fdopen(handle, "w", encoding="utf-8", newline="\n") as stream:
                stream.write(export.files[name])
            os.replace(tmp, target)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        written.append(target)
    return written
