"""Code cites the wire facts it relies on as ``docs/wire/<page>.md §N.M``: every such citation must name a page
the repository ships and a section that page has (renumbering a page fails here, not silently)."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CITATION = re.compile(r"docs/wire/([a-z0-9-]+\.md)(?:\s+§\s?([0-9]+(?:\.[0-9]+)*))?")
HEADING = re.compile(r"^#{2,4}\s+([0-9]+(?:\.[0-9]+)*)\.?\s", re.MULTILINE)


def _sections(page: Path) -> set[str]:
    return set(HEADING.findall(page.read_text(encoding="utf-8")))


def _citing_files() -> list[Path]:
    roots = [ROOT / "provider", ROOT / "sdk", ROOT / "tests", ROOT / "benchmarks", ROOT / "docs", ROOT / "examples"]
    return [p for root in roots for p in root.rglob("*") if p.suffix in (".py", ".md") and p.is_file()]


def test_every_wire_citation_resolves() -> None:
    broken = []
    for path in _citing_files():
        for match in CITATION.finditer(path.read_text(encoding="utf-8")):
            page, section = ROOT / "docs" / "wire" / match.group(1), match.group(2)
            if not page.exists() or (section and section not in _sections(page)):
                broken.append(f"{path.relative_to(ROOT)}: {match.group(0)}")
    assert not broken, "citations of missing pages or sections:\n" + "\n".join(broken)


def test_citations_are_found_at_all() -> None:
    cited = [m for p in _citing_files() if p.suffix == ".py" for m in CITATION.finditer(p.read_text("utf-8"))]
    assert len(cited) >= 10


# The research notes, and the contract and engineering guide, live outside the repository (in shared/).
RESEARCH_NOTES = re.compile(r"o365-policies|wire-details|pulumi-dynamic|anchors\.md|shared/research|"
                            r"advanced-features-prerequisites|native-provider\.md|device-groups\.md\s*§|"
                            r"CONTRACT\.md|ENGINEERING\.md")


def test_product_code_cites_only_what_the_repository_ships() -> None:
    """The research notes live outside the repository: product code cites docs/wire instead."""
    roots = [ROOT / "provider", ROOT / "sdk", ROOT / "benchmarks", ROOT / "examples"]
    found = [f"{p.relative_to(ROOT)}:{n}" for root in roots for p in root.rglob("*.py")
             for n, line in enumerate(p.read_text(encoding="utf-8").splitlines(), start=1)
             if RESEARCH_NOTES.search(line)]
    assert not found, "cite docs/wire/<page>.md §N instead:\n" + "\n".join(found)
