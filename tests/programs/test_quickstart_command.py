"""`defender-air quickstart`: everything up to `pulumi up` works; a missing CLI is named exactly."""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from defender_air_provider.cli import build_parser, main
from defender_air_provider.quickstart import MISSING_CLI

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


def _run_missing_cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                     capsys: pytest.CaptureFixture[str]) -> tuple[Path, str, str]:
    project = tmp_path / "project"
    project.mkdir()
    (project / "Pulumi.yaml").write_text((REPO / "Pulumi.yaml").read_text())
    monkeypatch.setenv("PATH", str(tmp_path / "empty-bin"))
    assert main(["quickstart", "--project-dir", str(project)]) == MISSING_CLI
    out = capsys.readouterr()
    return project, out.out, out.err


def test_missing_cli_message_names_no_closed_port_and_gives_the_commands_to_run_by_hand(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    project, out, err = _run_missing_cli(tmp_path, monkeypatch, capsys)
    served = re.search(r"emulator listening on (http://\S+)", out)
    assert served is not None
    # That emulator is gone by now: the message must neither offer its URL nor pretend it still runs.
    assert served.group(1) not in err
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"{served.group(1)}/_emulator/health", timeout=2)
    assert "The emulator has been stopped" in err
    # The hand-run emulator command is a valid `defender-air emulator` call on the state the quickstart kept,
    # and the stack is pointed at the port it listens on.
    [line] = [line for line in err.splitlines() if " emulator --port " in line]
    argv = shlex.split(line)
    assert Path(argv[0]).exists()
    emulator_args = build_parser().parse_args(argv[argv.index("emulator"):])
    assert emulator_args.command == "emulator"
    assert Path(emulator_args.state) == project / ".quickstart" / "emulator-state.json"
    assert f"pulumi config set defender-air:emulatorUrl http://127.0.0.1:{emulator_args.port}" in err
    # The environment `pulumi` needs for the throwaway stack, exactly as the quickstart set it.
    backend = (project / ".quickstart" / "backend").as_uri()
    assert f"export PULUMI_BACKEND_URL={shlex.quote(backend)}" in err
    assert "export PULUMI_CONFIG_PASSPHRASE=quickstart-throwaway-stack" in err
    assert f"cd {shlex.quote(str(project))}" in err
    assert "pulumi stack select --create quickstart" in err and "pulumi up --yes" in err


def test_readme_documents_the_missing_cli_exit_status() -> None:
    readme = (REPO / "README.md").read_text()
    assert f"exits with status {MISSING_CLI}" in readme


def test_git_ignores_the_quickstart_stack_and_work_folder(tmp_path: Path) -> None:
    git = shutil.which("git")
    if git is None:
        pytest.skip("git is not installed")
    # A scratch repository with the project's .gitignore: asks git itself, independent of this checkout's state.
    shutil.copy(REPO / ".gitignore", tmp_path / ".gitignore")
    subprocess.run([git, "init", "-q", str(tmp_path)], check=True)
    for path in ("Pulumi.quickstart.yaml", ".quickstart/emulator-state.json", ".quickstart/backend/x.json"):
        ignored = subprocess.run([git, "-C", str(tmp_path), "check-ignore", "-q", path], check=False)
        assert ignored.returncode == 0, f"{path} is not ignored by .gitignore"
    kept = subprocess.run([git, "-C", str(tmp_path), "check-ignore", "-q", "Pulumi.yaml"], check=False)
    assert kept.returncode == 1


# Stands in for .venv/bin/python in a copy of `run`: records each call with the PYTHONWARNINGS it got.
FAKE_VENV_PYTHON = f"""#!{sys.executable}
import json, os, sys
with open(os.environ["FAKE_PYTHON_LOG"], "a") as f:
    f.write(json.dumps({{"argv": sys.argv[1:], "warnings": os.environ.get("PYTHONWARNINGS")}}) + "\\n")
"""


def _stub_checkout(tmp_path: Path) -> tuple[Path, Path]:
    checkout = tmp_path / "checkout"
    (checkout / ".venv" / "bin").mkdir(parents=True)
    shutil.copy(REPO / "run", checkout / "run")
    shutil.copy(REPO / "pyproject.toml", checkout / "pyproject.toml")
    for name in ("python", "defender-air"):
        stub = checkout / ".venv" / "bin" / name
        stub.write_text(FAKE_VENV_PYTHON)
        stub.chmod(0o755)
    return checkout, tmp_path / "python-calls.jsonl"


def test_run_says_it_is_installing_and_hides_only_the_editable_install_box(tmp_path: Path) -> None:
    checkout, log = _stub_checkout(tmp_path)
    env = {**os.environ, "FAKE_PYTHON_LOG": str(log)}
    env.pop("PYTHONWARNINGS", None)
    first = subprocess.run(["bash", str(checkout / "run"), "quickstart"], env=env, capture_output=True, text=True,
                           check=True, timeout=60)
    assert "==> installing pulumi-defender-air" in first.stderr
    calls = [json.loads(line) for line in log.read_text().splitlines()]
    installs = [c for c in calls if c["argv"][:3] == ["-m", "pip", "install"]]
    assert installs and installs[-1]["argv"][-2:] == ["-e", ".[test]"]
    assert calls[-1]["argv"] == ["quickstart"]  # the stub defender-air, after the install
    assert calls[-1]["warnings"] is None  # the filter is for pip only, not for the quickstart
    [quiet] = {c["warnings"] for c in installs}
    assert quiet is not None
    # The filter hides setuptools' box, whose message starts "Editable installation." (setuptools
    # command/editable_wheel.py, InformationOnly.emit), and nothing else.
    editable_wheel = subprocess.run(
        [sys.executable, "-c", "import inspect, setuptools.command.editable_wheel as m; print(inspect.getsource(m))"],
        capture_output=True, text=True, check=True).stdout
    assert 'InformationOnly.emit("Editable installation."' in editable_wheel
    shown = subprocess.run(
        [sys.executable, "-c", "import warnings\n"
         "warnings.warn('Editable installation.\\n!!\\n  Please be careful with folders', UserWarning)\n"
         "warnings.warn('some other backend warning', UserWarning)"],
        env={**env, "PYTHONWARNINGS": quiet}, capture_output=True, text=True, check=True).stderr
    assert "Editable installation" not in shown and "some other backend warning" in shown
    # Installed: the second run neither installs again nor says so.
    log.unlink()
    second = subprocess.run(["bash", str(checkout / "run"), "quickstart"], env=env, capture_output=True, text=True,
                            check=True, timeout=60)
    assert "installing" not in second.stderr
    assert [json.loads(line)["argv"] for line in log.read_text().splitlines()] == [["quickstart"]]


def test_a_malformed_quickstart_state_file_is_one_line_and_exit_2(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    project = tmp_path / "project"
    (project / ".quickstart").mkdir(parents=True)
    (project / "Pulumi.yaml").write_text((REPO / "Pulumi.yaml").read_text())
    (project / ".quickstart" / "emulator-state.json").write_text("{truncated")
    monkeypatch.setenv("PATH", str(tmp_path / "empty-bin"))
    assert main(["quickstart", "--project-dir", str(project)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err
    assert err.startswith("defender-air quickstart: error: state file ") and "is not valid JSON" in err
