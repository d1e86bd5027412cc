"""`defender-air quickstart`: everything up to `pulumi up` works; a missing CLI is named exactly."""

from __future__ import annotations

import json
import os
import stat
import sys
from pathlib import Path

import pytest

from defender_air_provider.cli import main

REPO = Path(__file__).resolve().parents[2]

# Stands in for the Pulumi CLI: records each call, and on `config set` proves the emulator is up.
FAKE_PULUMI = f"""#!{sys.executable}
import json, os, sys, urllib.request
record = {{"argv": sys.argv[1:], "backend": os.environ.get("PULUMI_BACKEND_URL"), "cwd": os.getcwd()}}
if sys.argv[1:3] == ["config", "set"]:
    with urllib.request.urlopen(sys.argv[4] + "/_emulator/health") as r:
        record["health"] = json.load(r)
with open(os.environ["FAKE_PULUMI_LOG"], "a") as f:
    f.write(json.dumps(record) + "\\n")
"""


def test_missing_cli_is_named_after_everything_else_is_ready(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    project = tmp_path / "project"
    project.mkdir()
    (project / "Pulumi.yaml").write_text((REPO / "Pulumi.yaml").read_text())
    monkeypatch.setenv("PATH", str(tmp_path / "empty-bin"))
    code = main(["quickstart", "--project-dir", str(project)])
    out = capsys.readouterr()
    assert code == 3
    assert "emulator answers Get-EOPProtectionPolicyRule: Strict Preset Security Policy" in out.out
    assert "Missing: the Pulumi CLI" in out.err and "pulumi up --yes" in out.err
    assert (project / ".quickstart" / "backend").is_dir()


def test_with_a_cli_it_sets_up_the_stack_and_runs_pulumi_up(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    project = tmp_path / "project"
    project.mkdir()
    (project / "Pulumi.yaml").write_text((REPO / "Pulumi.yaml").read_text())
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    fake = bin_dir / "pulumi"
    fake.write_text(FAKE_PULUMI)
    fake.chmod(fake.stat().st_mode | stat.S_IEXEC)
    log = tmp_path / "calls.jsonl"
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setenv("FAKE_PULUMI_LOG", str(log))
    assert main(["quickstart", "--project-dir", str(project)]) == 0
    calls = [json.loads(line) for line in log.read_text().splitlines()]
    assert [c["argv"][:2] for c in calls] == [["stack", "select"], ["config", "set"], ["up", "--yes"],
                                              ["stack", "output"]]
    assert calls[1]["argv"][2] == "defender-air:emulatorUrl" and calls[1]["health"] == {"ok": True}
    assert all(c["backend"] == (project / ".quickstart" / "backend").as_uri() for c in calls)
    assert all(Path(c["cwd"]) == project for c in calls)
