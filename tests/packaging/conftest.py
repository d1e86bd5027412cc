"""The wheel and the clean venv with it installed, built once for every test of this folder (about 20 s)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.packaging.installed import CleanVenv, build_wheel, install_clean_venv


@pytest.fixture(scope="package")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_wheel(tmp_path_factory.mktemp("wheel"))


@pytest.fixture(scope="package")
def clean_venv(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> CleanVenv:
    return install_clean_venv(wheel, tmp_path_factory.mktemp("clean") / "clean-venv")
