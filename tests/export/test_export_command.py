"""``defender-air export`` end to end, in-process (``cli.main``): against the emulator (a real HTTP server on a free
port), and against the real hosts routed to the fakes (respx) for a configuration that is not the emulator's.

What the command promises (docs/export.md): three files, or none; an existing program kept unless ``--force``, with
nothing read; a failed read names the backend and what to do, exit 2, no traceback; progress on stderr; the same
bytes for the same tenant, whatever order the services list objects in."""

from __future__ import annotations

import ast
import copy
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from defender_air_provider import cli
from defender_air_provider.core.http import RetryPolicy
from defender_air_provider.core.settings import CONFIG_KEYS
from defender_air_provider.export import command as export_command
from defender_air_provider.export.files import FILES
from defender_air_provider.fakes.server import EmulatorServer
from defender_air_provider.fakes.tenant import FakeTenant
from defender_air_provider.handlers import context as context_module
from tests.support import TENANT_ID, FakeTokenSource, assert_read_only

MINE = "# my own program\n"


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """Settings come from the environment and the flags only: start every test from none of them."""
    for variable in [*(v for v in CONFIG_KEYS.values() if v), "AZURE_FEDERATED_TOKEN_FILE"]:
        monkeypatch.delenv(variable, raising=False)


@pytest.fixture(autouse=True)
def fast_retries(monkeypatch: pytest.MonkeyPatch) -> None:
    """The command's retry policy without its back-off waits (the number of attempts is kept)."""
    monkeypatch.setattr(export_command, "RetryPolicy", lambda: RetryPolicy(base_delay=0.0, max_delay=0.0))


@pytest.fixture
def emulated() -> Iterator[tuple[FakeTenant, str]]:
    tenant = FakeTenant()
    with EmulatorServer(tenant, host="127.0.0.1", port=0) as server:
        yield tenant, server.url


def export(capsys: pytest.CaptureFixture[str], *args: str | Path) -> tuple[int, str]:
    """Run the command; its exit status and its stderr (stdout must stay empty: it is for the program's files)."""
    code = cli.main(["export", *(str(a) for a in args)])
    captured = capsys.readouterr()
    assert captured.out == ""
    assert "Traceback" not in captured.err
    return code, captured.err


def files_in(folder: Path) -> dict[str, str]:
    return {p.name: p.read_text(encoding="utf-8") for p in sorted(folder.iterdir())} if folder.exists() else {}


# ---------------------------------------------------------------------------------------------- written
def test_writes_the_three_files_with_progress_on_stderr(emulated: tuple[FakeTenant, str], tmp_path: Path,
                                                        capsys: pytest.CaptureFixture[str]) -> None:
    tenant, url = emulated
    out = tmp_path / "air"  # created
    code, err = export(capsys, "--out", out, "--emulator-url", url)
    assert code == 0, err
    written = files_in(out)
    assert sorted(written) == sorted(FILES)

    lines = err.splitlines()
    assert lines[0] == f"defender-air export: using the emulator at {url}"
    progress = dict(re.findall(r"^  read (.+?) {2,}(\S.*)$", err, re.MULTILINE))
    assert len(progress) == len([line for line in lines if line.startswith("  read ")])  # one line per kind
    policies = tenant.compliance.policies()
    built_in = sum(1 for p in policies if p["IsSystemRule"])
    groups = [g for g in tenant.portal.groups() if not g["IsUnassignedMachineGroup"]]
    assert progress == {
        "alert policies": f"{built_in} built-in, {len(policies) - built_in} custom",
        "preset rules": "standard on, strict off",
        "device groups": f"{len(groups)} groups and the default group",
        "endpoint advanced features": progress["endpoint advanced features"],
        "Entra groups": "2 assigned to device groups",
    }
    assert re.fullmatch(r"\d+ toggles", progress["endpoint advanced features"])
    summary = lines[-1] if "note" not in err else next(line for line in lines if " wrote " in line)
    assert summary.startswith(f"defender-air export: wrote {out / '__main__.py'}, {out / 'Pulumi.yaml'}, "
                              f"{out / 'requirements.txt'} in ")
    assert summary.endswith(f"(1 EndpointAdvancedFeatures, 1 DefaultDeviceGroup, {len(groups)} DeviceGroup, "
                            f"{len(policies)} AlertPolicy, 2 PresetPolicyAssignment)")

    program = ast.parse(written["__main__.py"])
    assert len([n for n in program.body if isinstance(n, ast.Assign)]) == 1 + 1 + len(groups) + len(policies) + 2
    project = written["Pulumi.yaml"].splitlines()
    assert project[0] == "name: defender-air" and project[project.index("runtime:") + 1] == "  name: python"
    assert "pulumi config set defender-air:emulatorUrl" in written["Pulumi.yaml"]
    assert written["requirements.txt"].splitlines()[0].startswith("pulumi>=")
    assert any(line.startswith("pulumi-defender-air") for line in written["requirements.txt"].splitlines())
    assert_read_only(tenant)


@pytest.mark.parametrize("existing", FILES)
def test_an_existing_program_is_kept_and_nothing_is_read(emulated: tuple[FakeTenant, str], tmp_path: Path,
                                                         capsys: pytest.CaptureFixture[str], existing: str) -> None:
    tenant, url = emulated
    (tmp_path / existing).write_text(MINE, encoding="utf-8")
    code, err = export(capsys, "--out", tmp_path, "--emulator-url", url)
    assert code == 1
    assert existing in err and "--force" in err and "nothing was read or written" in err
    assert files_in(tmp_path) == {existing: MINE}
    assert tenant.log.entries == []  # refused before any request

    code, err = export(capsys, "--out", tmp_path, "--emulator-url", url, "--force")
    assert code == 0, err
    written = files_in(tmp_path)
    assert sorted(written) == sorted(FILES) and written[existing] != MINE
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(FILES)  # no temporary file left behind


# ---------------------------------------------------------------------------------------------- failed reads
# (name, fault, the backend the message names, what it says to do)
FAILURES: list[tuple[str, Callable[[FakeTenant], object], str, str]] = [
    ("alert policies: HTTP 500", lambda t: t.faults.unavailable("compliance", "Get-ProtectionAlert", status=500,
                                                                  times=100),
     "Security & Compliance", "run the export again"),
    ("alert policies: throttled", lambda t: t.faults.throttle("compliance", "Get-ProtectionAlert", retry_after=0,
                                                                times=100),
     "Security & Compliance", "Run again later"),
    ("alert policies: no answer", lambda t: t.faults.drop("compliance", "Get-ProtectionAlert", times=100),
     "Security & Compliance", "try again"),
    ("EOP rules: HTTP 500", lambda t: t.faults.unavailable("exchange", "Get-EOPProtectionPolicyRule", status=500,
                                                             times=100),
     "Exchange Online", "run the export again"),
    ("ATP rules: HTTP 500 (not a refusal)", lambda t: t.faults.unavailable(
        "exchange", "Get-ATPProtectionPolicyRule", status=500, times=100), "Exchange Online", "run the export again"),
    ("device groups: HTTP 500", lambda t: t.faults.unavailable("portal", "GET machine_groups", status=500,
                                                                 times=100),
     "Defender portal", "run the export again"),
    ("portal: role refused", lambda t: t.portal.forbid(), "Defender portal", "Security Administrator"),
    ("advanced features: no answer", lambda t: t.faults.drop("portal", "GET advanced_features", times=100),
     "Defender portal", "try again"),
    ("Entra groups: HTTP 500", lambda t: t.faults.unavailable("graph", "GET groups", status=500, times=100),
     "Microsoft Graph", "run the export again"),
    ("Entra groups: refused", lambda t: t.faults.unavailable("graph", "GET groups", status=403, times=100),
     "Microsoft Graph", "Group.Read.All"),
    ("Entra groups: no answer", lambda t: t.faults.drop("graph", "GET groups", times=100),
     "Microsoft Graph", "try again"),
]


@pytest.mark.parametrize(("fault", "backend", "advice"), [f[1:] for f in FAILURES], ids=[f[0] for f in FAILURES])
def test_a_failed_read_writes_nothing(emulated: tuple[FakeTenant, str], tmp_path: Path,
                                      capsys: pytest.CaptureFixture[str], fault: Callable[[FakeTenant], object],
                                      backend: str, advice: str) -> None:
    tenant, url = emulated
    fault(tenant)
    fresh = tmp_path / "fresh"
    code, err = export(capsys, "--out", fresh, "--emulator-url", url)
    assert code == 2
    assert err.rstrip().endswith("Nothing was written.")
    failure = next(line for line in err.splitlines() if "failed" in line or "refused" in line)
    assert backend in failure and advice in failure, failure
    assert not fresh.exists()

    kept = tmp_path / "kept"  # a program already there, --force: left as it was
    kept.mkdir()
    for name in FILES:
        (kept / name).write_text(MINE, encoding="utf-8")
    code, err = export(capsys, "--out", kept, "--emulator-url", url, "--force")
    assert code == 2 and "Nothing was written." in err
    assert files_in(kept) == dict.fromkeys(FILES, MINE)
    assert_read_only(tenant)


# ---------------------------------------------------------------------------------------------- a real configuration
@pytest.fixture
def real_configuration(make_tenant: Callable[..., FakeTenant], monkeypatch: pytest.MonkeyPatch) -> FakeTenant:
    """AZURE_TENANT_ID set, no emulator: the real hosts, routed to the fakes, with a stand-in for azure-identity."""
    tenant = make_tenant()
    tenant.portal.allow_anonymous = False
    monkeypatch.setattr(context_module, "token_source_for", lambda settings: FakeTokenSource())
    monkeypatch.setenv("AZURE_TENANT_ID", TENANT_ID)
    return tenant


def test_missing_portal_session_says_to_set_the_environment_variable(
        real_configuration: FakeTenant, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, err = export(capsys, "--out", tmp_path / "air")
    assert code == 2
    assert "using the emulator" not in err
    assert "Defender portal" in err and "DEFENDER_AIR_PORTAL_SESSION" in err and "sccauth" in err
    assert "Nothing was written." in err and not (tmp_path / "air").exists()
    assert real_configuration.log.count("portal") == 0  # nothing sent to the portal without a session


def test_real_configuration_with_a_session(real_configuration: FakeTenant, tmp_path: Path,
                                           capsys: pytest.CaptureFixture[str],
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DEFENDER_AIR_PORTAL_SESSION", real_configuration.portal.cookie_header())
    code, err = export(capsys, "--out", tmp_path)
    assert code == 0, err
    assert "using the emulator" not in err
    written = files_in(tmp_path)
    assert f"exported by `defender-air export` from tenant {TENANT_ID}." in written["__main__.py"]
    assert f"pulumi config set defender-air:tenantId {TENANT_ID}" in written["Pulumi.yaml"]
    portal = [e for e in real_configuration.log.entries if e.service == "portal"]
    assert portal and all("sccauth=" in (e.cookie or "") and e.status == 200 for e in portal)  # with the session
    assert_read_only(real_configuration)


# ---------------------------------------------------------------------------------------------- determinism
def _reversed(state: dict[str, Any]) -> dict[str, Any]:
    """The same tenant, every collection listed in the opposite order (and the lists inside each object too)."""
    state = copy.deepcopy(state)

    def flip(item: dict[str, Any], *keys: str) -> None:
        for key in keys:
            if isinstance(item.get(key), list):
                item[key].reverse()

    state["compliance"]["policies"].reverse()
    for policy in state["compliance"]["policies"]:
        flip(policy, "NotifyUser", "Operation")
    for rules in state["exchange"]["rules"].values():
        rules.reverse()
        for rule in rules:
            flip(rule, "SentTo", "SentToMemberOf", "RecipientDomainIs", "ExceptIfSentTo", "ExceptIfSentToMemberOf",
                 "ExceptIfRecipientDomainIs")
    state["portal"]["groups"].reverse()
    for group in state["portal"]["groups"]:
        flip(group, "MachineGroupAssignments")
    state["portal"]["advanced_features"] = {
        key: dict(reversed(value.items())) if isinstance(value, dict) else value
        for key, value in reversed(state["portal"]["advanced_features"].items())}
    state["graph"]["groups"].reverse()
    return state


def _export_of(tenant: FakeTenant, out: Path, capsys: pytest.CaptureFixture[str]) -> dict[str, bytes]:
    with EmulatorServer(tenant, host="127.0.0.1", port=0) as server:
        code, err = export(capsys, "--out", out, "--emulator-url", server.url)
    assert code == 0, err
    return {p.name: p.read_bytes() for p in sorted(out.iterdir())}


def test_same_tenant_same_bytes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    tenant = FakeTenant()
    # Something to sort in every kind: several recipients and users, a custom policy and a group more.
    tenant.compliance.add_custom(Name="Zeta custom", NotifyUser=["z@contoso.com", "a@contoso.com", "M@contoso.com"])
    tenant.exchange.edit_rule("eop", "standard", SentTo=["zed@contoso.com", "amy@contoso.com"])
    tenant.exchange.edit_rule("atp", "standard", SentTo=["zed@contoso.com", "amy@contoso.com"])
    first = _export_of(tenant, tmp_path / "first", capsys)
    assert b'"Zeta custom"' in first["__main__.py"] and b'"amy@contoso.com", "zed@contoso.com"' in first["__main__.py"]
    assert _export_of(tenant, tmp_path / "second", capsys) == first

    shuffled = FakeTenant()
    shuffled.load_state(_reversed(tenant.to_state()))
    assert shuffled.compliance.policies()[0] != tenant.compliance.policies()[0]  # really listed in another order
    assert _export_of(shuffled, tmp_path / "reversed", capsys) == first
