"""The built wheel, installed without extras in a clean venv, runs the CLI (docs/testing.md, layer 7).

Proves what a user's ``pip install pulumi-defender-air`` gets: no tests in the wheel, the licence and the data files
in it, and an installed package that imports and serves ``defender-air emulator`` with none of the test tools
(respx, pytest, hypothesis) present.

Fast and offline by design: the wheel is built with ``--no-build-isolation`` (the build backend is in the test
extra), and the clean venv (``--without-pip``, no system site-packages) gets the wheel from a real ``pip install
--no-deps`` and its runtime dependencies as links to the distributions already in this environment, exactly the
closure of the wheel's own ``Requires-Dist`` without extras (``installed.py``; ``conftest.py`` builds both once for
this folder). ``pip check`` in the clean venv confirms every declared requirement is met.
"""

from __future__ import annotations

import re
import subprocess
import zipfile
from email.parser import Parser
from pathlib import Path

import httpx
import pytest

from tests.packaging.installed import REPO, TEST_TOOLS, CleanVenv

PACKAGE = REPO / "provider" / "defender_air_provider"

pytestmark = pytest.mark.packaging


def test_the_wheel_has_no_tests_and_has_the_licence_and_every_data_file(wheel: Path) -> None:
    names = zipfile.ZipFile(wheel).namelist()
    tops = {name.split("/", 1)[0] for name in names}
    assert {top for top in tops if not top.endswith(".dist-info")} == {"defender_air_provider", "pulumi_defender_air"}
    assert not [n for n in names if re.search(r"(^|/)(tests?|conftest\.py|test_[^/]*\.py|[^/]*_test\.py)($|/)", n)]
    [dist_info] = [top for top in tops if top.endswith(".dist-info")]
    licence = zipfile.ZipFile(wheel).read(f"{dist_info}/licenses/LICENSE").decode()
    assert licence == (REPO / "LICENSE").read_text()
    assert "Apache License" in licence and "Version 2.0, January 2004" in licence
    assert "END OF TERMS AND CONDITIONS" in licence and "APPENDIX: How to apply the Apache License" in licence
    meta = Parser().parsestr(zipfile.ZipFile(wheel).read(f"{dist_info}/METADATA").decode())
    assert meta["License-Expression"] == "Apache-2.0" and meta.get_all("License-File") == ["LICENSE"]
    data = sorted(str(p.relative_to(PACKAGE.parent)) for pattern in ("data/*.json", "fakes/*/*.json")
                  for p in PACKAGE.glob(pattern))
    assert data and set(data) <= set(names)
    assert "defender_air_provider/py.typed" in names and "pulumi_defender_air/py.typed" in names
    # The installed package imports nothing of the test tools (the respx adapter lives in tests/).
    for name in names:
        if name.endswith(".py"):
            text = zipfile.ZipFile(wheel).read(name).decode()
            for tool in TEST_TOOLS:
                assert not re.search(rf"^\s*(import|from)\s+{tool}\b", text, re.M), f"{name} imports {tool}"


def test_the_installed_wheel_serves_the_emulator_without_the_test_tools(clean_venv: CleanVenv, tmp_path: Path) -> None:
    python, site, env = clean_venv.python, clean_venv.site, clean_venv.env
    assert clean_venv.needed and not clean_venv.needed & set(TEST_TOOLS)
    checked = subprocess.run([*clean_venv.pip(), "check"], env=env, capture_output=True, text=True)
    assert checked.returncode == 0, checked.stdout + checked.stderr

    # Run from a folder with no sources, so only the installed package can be imported.
    # Every module of both packages imports (not only the CLI's): none may need a test tool.
    probe = subprocess.run(
        [str(python), "-c", "import importlib, importlib.util, pkgutil\n"
         "import defender_air_provider, pulumi_defender_air\n"
         "for package in (defender_air_provider, pulumi_defender_air):\n"
         "    for module in pkgutil.walk_packages(package.__path__, package.__name__ + '.'):\n"
         "        importlib.import_module(module.name)\n"
         "print(importlib.import_module('defender_air_provider.cli').__file__)\n"
         f"print([t for t in {TEST_TOOLS!r} if importlib.util.find_spec(t)])"],
        cwd=tmp_path, env=env, capture_output=True, text=True)
    assert probe.returncode == 0, probe.stderr
    module_file, missing_tools = probe.stdout.splitlines()
    assert Path(module_file).is_relative_to(site) and not Path(module_file).is_symlink()
    assert missing_tools == "[]"

    emulator = subprocess.Popen([str(clean_venv.script("defender-air")), "emulator", "--port", "0"], cwd=tmp_path,
                                env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert emulator.stdout is not None
        first = emulator.stdout.readline()
        served = re.match(r"defender-air emulator listening on (http://127\.0\.0\.1:\d+) ", first)
        assert served is not None, first + (emulator.stderr.read() if emulator.poll() is not None and emulator.stderr
                                            else "")
        url = served.group(1)
        assert httpx.get(f"{url}/_emulator/health", timeout=10).json() == {"ok": True}
        rules = httpx.post(
            f"{url}/exchange/adminapi/beta/00000000-0000-0000-0000-000000000000/InvokeCommand",
            json={"CmdletInput": {"CmdletName": "Get-EOPProtectionPolicyRule", "Parameters": {}}},
            headers={"Authorization": "Bearer placeholder"}, timeout=10)
        assert rules.status_code == 200 and rules.json()["value"]
    finally:
        emulator.terminate()  # SIGTERM: the emulator treats it like Ctrl-C and closes its socket
        _, err = emulator.communicate(timeout=10)
    assert emulator.returncode == 0, err
