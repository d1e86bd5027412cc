"""The built wheel and a clean venv with it installed, shared by the tests of this folder (``conftest.py`` builds
each once per run): the wheel is built from a copy of the checkout, the venv holds the wheel (a real ``pip install
--no-deps``) and its runtime dependencies as links to the distributions already in this environment.

Why links and not PyPI: installing the dependencies from PyPI takes minutes (measured: ~2.5 min), for no more proof:
``pip check`` in the clean venv confirms every declared requirement is met (``test_wheel.py``).
"""

from __future__ import annotations

import importlib.metadata as metadata
import os
import shutil
import subprocess
import sys
import venv
import zipfile
from collections import defaultdict
from dataclasses import dataclass
from email.parser import Parser
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

REPO = Path(__file__).resolve().parents[2]
# What the source tree has that a checkout's copy must not carry into the build (local state, caches, other builds).
_NOT_SOURCES = shutil.ignore_patterns(".git", ".venv", "build", "dist", "*.egg-info", "__pycache__", ".quickstart",
                                      ".mypy_cache", ".ruff_cache", ".pytest_cache")
TEST_TOOLS = ("respx", "pytest", "hypothesis")


@dataclass(frozen=True)
class CleanVenv:
    root: Path
    site: Path
    needed: frozenset[str]
    """The runtime closure linked into ``site`` (distribution names)."""
    env: dict[str, str]
    """This process's environment without any ``PYTHON*`` variable: nothing but the venv can be imported."""

    @property
    def python(self) -> Path:
        return self.root / "bin" / "python"

    def script(self, name: str) -> Path:
        return self.root / "bin" / name

    def pip(self) -> list[str]:
        """This environment's pip, acting on the clean venv (which has none)."""
        return [sys.executable, "-m", "pip", "--python", str(self.python)]


def build_wheel(root: Path) -> Path:
    """Build the wheel from a copy of the checkout, so the build's own ``build/`` never lands in the work tree."""
    source = root / "source"
    shutil.copytree(REPO, source, ignore=_NOT_SOURCES, symlinks=True)
    subprocess.run([sys.executable, "-m", "pip", "wheel", str(source), "--no-deps", "--no-build-isolation",
                    "--no-index", "-q", "-w", str(root / "dist")], check=True, cwd=root, capture_output=True)
    [built] = (root / "dist").glob("pulumi_defender_air-*.whl")
    return built


def install_clean_venv(wheel: Path, root: Path) -> CleanVenv:
    """A venv (no pip, no system site-packages) with the wheel installed and its runtime closure linked."""
    venv.EnvBuilder(with_pip=False, system_site_packages=False).create(root)
    [site] = (root / "lib").glob("python3*/site-packages")
    needed = runtime_closure(wheel)
    link_runtime_dependencies(needed, site)
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTHON")}
    clean = CleanVenv(root, site, frozenset(needed), env)
    # A real install of the wheel (its files, RECORD and the console scripts), by this environment's pip.
    subprocess.run([*clean.pip(), "install", "--no-deps", "--no-index", "-q", str(wheel)], check=True, env=env,
                   capture_output=True)
    return clean


def runtime_closure(wheel: Path) -> set[str]:
    """The distributions the wheel needs without extras: its Requires-Dist, then theirs, as installed here."""
    with zipfile.ZipFile(wheel) as archive:
        [meta_name] = [n for n in archive.namelist() if n.endswith(".dist-info/METADATA")]
        root = Parser().parsestr(archive.read(meta_name).decode()).get_all("Requires-Dist") or []
    needed: set[str] = set()
    pending: list[tuple[str, frozenset[str]]] = [(line, frozenset({""})) for line in root]
    while pending:
        line, extras = pending.pop()
        requirement = Requirement(line)
        if requirement.marker is not None and not any(requirement.marker.evaluate({"extra": e}) for e in extras):
            continue
        name = canonicalize_name(requirement.name)
        if name in needed:
            continue
        needed.add(name)
        wanted = frozenset({"", *requirement.extras})
        pending.extend((sub, wanted) for sub in metadata.distribution(name).requires or [])
    return needed


def link_runtime_dependencies(needed: set[str], site: Path) -> None:
    """Link each needed distribution's files into ``site``: a whole top-level folder where only needed
    distributions own it (msgraph: 30k files), else file by file (shared namespaces such as ``azure/``)."""
    owners: dict[str, set[str]] = defaultdict(set)
    for dist in metadata.distributions():
        owner = canonicalize_name(dist.metadata["Name"])  # once per distribution: each call parses METADATA
        for top in {file.parts[0] for file in dist.files or []}:
            owners[top].add(owner)
    linked: set[str] = set()
    for name in needed:
        dist = metadata.distribution(name)
        for file in dist.files or []:
            top = file.parts[0]
            if top == ".." or top in linked:
                continue  # ../../bin/...: scripts of the dependencies, not needed to import them
            source = Path(str(dist.locate_file(file)))
            if owners[top] <= needed:
                (site / top).symlink_to(Path(str(dist.locate_file(top))))
                linked.add(top)
            elif source.exists():
                target = site / file
                target.parent.mkdir(parents=True, exist_ok=True)
                if not target.exists():
                    target.symlink_to(source)
