"""Every ``air.<Name>`` the README and docs mention exists in the SDK (a renamed class or enum fails here)."""

from __future__ import annotations

import re
from pathlib import Path

import pulumi_defender_air as air

ROOT = Path(__file__).resolve().parents[2]
NAME = re.compile(r"(?<![\w/-])air\.([A-Z][A-Za-z0-9_]*|[A-Z_]{3,})\b")


def test_every_air_name_in_the_docs_exists() -> None:
    pages = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]
    mentioned = {(page.relative_to(ROOT).as_posix(), name) for page in pages
                 for name in NAME.findall(page.read_text(encoding="utf-8"))}
    assert len(mentioned) > 10
    missing = sorted(f"{page}: air.{name}" for page, name in mentioned if not hasattr(air, name))
    assert not missing, "\n".join(missing)
