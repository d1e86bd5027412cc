"""The native plugin from the installed wheel, started both ways the engine starts it (docs/wire/pulumi-engine.md
§9.3), each time with the engine's own flags before its address:

* the console script: ``<venv>/bin/pulumi-resource-defender-air <flags> <engine address>`` (on ``$PATH``, or a
  ``plugins.providers`` path to the executable);
* the ``PulumiPlugin.yaml`` folder (``plugin/``), as the Python language host runs it once the folder's ``venv``
  exists: ``<folder>/venv/bin/python <folder> <flags> <engine address>``, with cwd the program's directory. Here the
  folder is a copy of ``plugin/`` whose ``venv`` is the clean venv of ``conftest.py`` (what ``pip install -r
  requirements.txt`` would make of the pin, with the wheel instead of PyPI).

Each serves what the engine asks first, then one resource: GetPluginInfo (the package's version), GetSchema
(``defender-air schema`` of the same install), CheckConfig and Configure with an emulator URL, Check and Create of a
``PresetPolicyAssignment`` against an in-process emulator, whose tenant then shows the write. The environment has no
``PYTHON*`` variable and the cwd holds no sources, so only the installed package can serve.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from pulumi.runtime.proto import provider_pb2

import pulumi_defender_air as air
from defender_air_provider.fakes.server import EmulatorServer
from defender_air_provider.fakes.tenant import FakeTenant
from defender_air_provider.native.server import engine_address
from tests.harness.engine import capture_registration
from tests.harness.native import NativeEngine
from tests.packaging.installed import REPO, CleanVenv

pytestmark = pytest.mark.packaging


def _pyproject_version() -> str:
    found = re.search(r'^version = "([^"]+)"$', (REPO / "pyproject.toml").read_text(encoding="utf-8"), re.M)
    assert found is not None
    return found[1]


VERSION = _pyproject_version()
VIP = "priority-accounts@contoso.onmicrosoft.com"
# What the engine puts before its address when logs flow to plugins (--logtostderr, -v=<level>) and with a remote
# trace collector (--tracing <endpoint>), sdk/go/common/resource/plugin/plugin.go buildPluginArguments; --logflow is
# a flag the SDK's own plugin main accepts too.
ENGINE_FLAGS = ["--logtostderr", "-v=9", "--tracing", "http://127.0.0.1:9/traces", "--logflow"]


def test_the_plugin_folder_pins_the_package_version() -> None:
    pins = [line.strip() for line in (REPO / "plugin" / "requirements.txt").read_text(encoding="utf-8").splitlines()
            if line.strip() and not line.lstrip().startswith("#")]
    assert pins == [f"pulumi-defender-air=={VERSION}"]
    assert "runtime: python" in (REPO / "plugin" / "PulumiPlugin.yaml").read_text(encoding="utf-8").splitlines()


@pytest.fixture
def tenant() -> Iterator[tuple[FakeTenant, str]]:
    fake = FakeTenant()
    with EmulatorServer(fake, host="127.0.0.1", port=0) as server:
        yield fake, server.url


@pytest.fixture(scope="module")
def schema(clean_venv: CleanVenv, tmp_path_factory: pytest.TempPathFactory) -> object:
    """``defender-air schema`` of the installed package."""
    printed = subprocess.run([str(clean_venv.script("defender-air")), "schema"], cwd=tmp_path_factory.mktemp("cli"),
                             env=clean_venv.env, capture_output=True, text=True, check=True)
    return json.loads(printed.stdout)


def _console_script(clean_venv: CleanVenv, tmp_path: Path) -> list[str]:
    return [str(clean_venv.script("pulumi-resource-defender-air"))]


def _plugin_folder(clean_venv: CleanVenv, tmp_path: Path) -> list[str]:
    folder = tmp_path / f"resource-defender-air-v{VERSION}"  # as in the plugin cache
    shutil.copytree(REPO / "plugin", folder, ignore=shutil.ignore_patterns("__pycache__"))
    (folder / "venv").symlink_to(clean_venv.root, target_is_directory=True)
    return [str(folder / "venv" / "bin" / "python"), str(folder)]


@pytest.mark.parametrize("launch", [_console_script, _plugin_folder], ids=["console-script", "plugin-folder"])
def test_the_installed_plugin_starts_and_serves(launch: Callable[[CleanVenv, Path], list[str]], clean_venv: CleanVenv,
                                               tenant: tuple[FakeTenant, str], schema: object, tmp_path: Path) -> None:
    fake, url = tenant
    # The package is the wheel's files, not a link to the sources or the editable install's finder.
    package = clean_venv.site / "defender_air_provider"
    assert package.is_dir() and not package.is_symlink()
    assert not list(clean_venv.site.glob("__editable__*"))
    program = tmp_path / "program"  # the engine's cwd for plugins: the program's directory
    program.mkdir()
    engine = NativeEngine.start(command=[*launch(clean_venv, tmp_path), *ENGINE_FLAGS], cwd=program,
                                base_env=clean_venv.env, config={"defender-air:emulatorUrl": url})
    with engine:
        assert not engine.config_failures  # CheckConfig passed and Configure was sent (NativeEngine.start)
        assert engine.process.get_plugin_info() == VERSION
        answer = engine.process.call("GetSchema", provider_pb2.GetSchemaRequest(version=0))
        assert json.loads(answer.schema) == schema

        reg = capture_registration(lambda: air.PresetPolicyAssignment(
            "strict", preset="strict", recipients=air.RecipientScopeArgs(groups=[VIP])))
        created = engine.up(reg)
        assert created.step == "create" and created.state.id == "strict"
        assert created.state.outputs["atp_rule_state"] == "Enabled"
        for kind in ("eop", "atp"):
            rule = fake.exchange.rule(kind, "strict")
            assert rule is not None and rule["State"] == "Enabled" and rule["SentToMemberOf"] == [VIP]
        assert engine.process.returncode is None, engine.process.stderr_text()


@pytest.mark.parametrize(("args", "address"), [
    (["127.0.0.1:4242"], "127.0.0.1:4242"),
    ([*ENGINE_FLAGS, "127.0.0.1:4242"], "127.0.0.1:4242"),
    (["-v=9", "127.0.0.1:4242"], "127.0.0.1:4242"),
    (["--logtostderr"], ""),
    ([], ""),
])
def test_the_engine_address_is_the_last_argument(args: list[str], address: str) -> None:
    assert engine_address(args) == address
