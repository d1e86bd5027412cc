"""``defender-air preflight``: the checks against the in-process fakes, and the command end to end against the
emulator. Every test also proves the run is read-only from the fakes' request log."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest

from defender_air_provider import cli
from defender_air_provider.fakes.graph import EMULATOR_APP_ID, EMULATOR_SP_ID, GLOBAL_ADMINISTRATOR
from defender_air_provider.fakes.server import EmulatorServer
from defender_air_provider.fakes.tenant import FakeTenant
from defender_air_provider.handlers import context
from defender_air_provider.preflight import FAIL, PASS, SKIPPED, WARN, Report, Sku, licence_checks, run_checks
from tests.support import assert_read_only

PRODUCTS = ["Defender for Endpoint P2", "Defender for Office 365 P2", "Defender for Identity",
            "Defender for Cloud Apps", "Microsoft 365 Defender"]


def _run() -> Report:
    ctx = context.current()
    return run_checks(ctx.settings, context=ctx)


def _status(report: Report) -> dict[str, str]:
    return {c.name: c.status for c in report.checks}


def test_e5_tenant_passes_and_portal_rows_are_skipped_without_a_session(
        make_tenant: Callable[..., FakeTenant]) -> None:
    tenant = make_tenant("presets_on", client_id=EMULATOR_APP_ID)
    report = _run()
    status = _status(report)
    for product in PRODUCTS:
        assert status[f"Licence: {product}"] == PASS
    assert status["App directory role"] == PASS
    assert status["Exchange Online reachable"] == PASS
    assert status["Security & Compliance reachable"] == PASS
    assert status["Preset security policies turned on once"] == PASS
    portal_rows = [c for c in report.checks if c.name.startswith(("Tenant context", "Defender portal"))]
    assert len(portal_rows) == 5 and {c.status for c in portal_rows} == {SKIPPED}
    assert all("no portal session" in c.detail for c in portal_rows)
    assert report.exit_status == 0
    assert_read_only(tenant)
    assert tenant.log.count("portal") == 0


def test_e3_tenant_fails_naming_each_missing_product(make_tenant: Callable[..., FakeTenant]) -> None:
    tenant = make_tenant("presets_on", fake={"graph_licences": "e3"}, client_id=EMULATOR_APP_ID)
    report = _run()
    rows = {c.name: c for c in report.checks}
    for product in PRODUCTS:
        row = rows[f"Licence: {product}"]
        assert row.status == FAIL and product in row.detail and "Microsoft 365 E5" in row.fix
    assert "MDE_LITE" in rows["Licence: Defender for Endpoint P2"].detail
    assert report.exit_status == 1
    assert_read_only(tenant)


def test_presets_never_turned_on_fails_that_row(make_tenant: Callable[..., FakeTenant]) -> None:
    tenant = make_tenant("presets_never_on", client_id=EMULATOR_APP_ID)
    report = _run()
    row = next(c for c in report.checks if c.name == "Preset security policies turned on once")
    assert row.status == FAIL and "standard" in row.detail and "Defender portal" in row.fix
    assert report.exit_status == 1
    assert_read_only(tenant)


def test_app_without_an_admin_role_fails_and_global_administrator_passes(
        make_tenant: Callable[..., FakeTenant]) -> None:
    tenant = make_tenant("presets_on", client_id=EMULATOR_APP_ID)
    tenant.graph.directory.unassign_roles(EMULATOR_SP_ID)
    row = next(c for c in _run().checks if c.name == "App directory role")
    assert row.status == FAIL and "roles: none" in row.detail
    tenant.graph.directory.assign_role(EMULATOR_SP_ID, GLOBAL_ADMINISTRATOR)
    row = next(c for c in _run().checks if c.name == "App directory role")
    assert row.status == PASS and "Global Administrator" in row.detail
    assert_read_only(tenant)


def test_unknown_app_and_missing_client_id(make_tenant: Callable[..., FakeTenant]) -> None:
    make_tenant("presets_on", client_id="11111111-2222-3333-4444-555555555555")
    row = next(c for c in _run().checks if c.name == "App directory role")
    assert row.status == FAIL and "no service principal" in row.detail
    tenant = make_tenant("presets_on")
    row = next(c for c in _run().checks if c.name == "App directory role")
    assert row.status == SKIPPED and "--client-id" in row.fix
    assert_read_only(tenant)


def _sku(part: str, *plans: str, status: str = "Enabled") -> Sku:
    return Sku(part, status, tuple(("", p) for p in plans))


def test_licences_by_service_plan_with_government_variants_and_trimmed_names() -> None:
    gov = _sku("M365_G5_GCC", "WINDEFATP", "THREAT_INTELLIGENCE_GOV", "ATA ", "ADALLOM_S_STANDALONE_DOD", "MTP")
    assert {c.status for c in licence_checks([gov])} == {PASS}
    by_id = Sku("CUSTOM", "Enabled", (("871d91ec-ec1a-452b-a83f-bd76c7d770ef", "RENAMED"),))
    assert licence_checks([by_id])[0].status == PASS


def test_sources_that_disagree_warn_instead_of_failing() -> None:
    # GCC High E5 carries the four products but no MTP (docs/wire/microsoft-graph.md §3.4).
    gcc_high = _sku("SPE_E5_USGOV_GCCHIGH", "WINDEFATP", "THREAT_INTELLIGENCE", "ATA", "ADALLOM_S_STANDALONE")
    rows = {c.name: c for c in licence_checks([gcc_high])}
    assert rows["Licence: Microsoft 365 Defender"].status == WARN
    assert "GCC High" in rows["Licence: Microsoft 365 Defender"].detail
    # A subscription in its grace period (capabilityStatus Warning) still works: warn; Suspended fails.
    e5 = ("WINDEFATP", "THREAT_INTELLIGENCE", "ATA", "ADALLOM_S_STANDALONE", "MTP")
    assert {c.status for c in licence_checks([_sku("SPE_E5", *e5, status="Warning")])} == {WARN}
    assert {c.status for c in licence_checks([_sku("SPE_E5", *e5, status="Suspended")])} == {FAIL}


def _main(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = cli.main(["preflight", *argv])
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture(autouse=True)
def _clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("AZURE_TENANT_ID", "AZURE_CLIENT_ID", "AZURE_CLIENT_SECRET", "DEFENDER_AIR_CLOUD",
                 "DEFENDER_AIR_PORTAL_SESSION", "DEFENDER_AIR_EMULATOR_URL"):
        monkeypatch.delenv(name, raising=False)


def test_command_against_the_emulator_e5_passes(capsys: pytest.CaptureFixture[str]) -> None:
    tenant = FakeTenant()
    with EmulatorServer(tenant, port=0) as server:
        code, out, err = _main(capsys, "--emulator-url", server.url)
    assert code == 0, out
    assert "[ok]   Licence: Defender for Endpoint P2" in out and "[FAIL]" not in out
    assert "Tenant context: Defender for Endpoint plan P2" in out and "emulator" in err
    assert "Traceback" not in err
    assert_read_only(tenant)
    assert tenant.log.count("portal") >= 1 and tenant.log.count("graph") >= 3


def test_command_against_the_emulator_e3_fails_naming_the_product(capsys: pytest.CaptureFixture[str]) -> None:
    tenant = FakeTenant(graph_licences="e3")  # the E3 seed's tenant context matches it (plan P1, no MDO/MDI)
    with EmulatorServer(tenant, port=0) as server:
        code, out, _ = _main(capsys, "--emulator-url", server.url, "--json")
    assert code == 1
    payload = json.loads(out)
    assert list(payload) == ["checks"]
    assert all(list(c) == ["name", "status", "detail", "fix"] for c in payload["checks"])
    assert all(c["status"] in ("pass", "fail", "warn", "skipped") for c in payload["checks"])
    failed = {c["name"]: c["detail"] for c in payload["checks"] if c["status"] == "fail"}
    assert "Defender for Endpoint P2 is not licensed" in failed["Licence: Defender for Endpoint P2"]
    assert failed["Tenant context: Defender for Endpoint plan P2"] == "MdeFlavor='P1'"
    assert failed["Tenant context: Defender for Office 365 active"] == "IsOatpActive=False"
    assert_read_only(tenant)


def test_unreachable_emulator_exits_2_without_traceback(capsys: pytest.CaptureFixture[str]) -> None:
    tenant = FakeTenant()
    with EmulatorServer(tenant, port=0) as server:
        url = server.url
    code, out, err = _main(capsys, "--emulator-url", url, "--json")  # the server is stopped: connection refused
    assert code == 2
    statuses = {c["name"]: c["status"] for c in json.loads(out)["checks"]}
    assert statuses["Microsoft Graph reachable"] == statuses["Exchange Online reachable"] == "fail"
    assert "Traceback" not in err


def test_bad_configuration_exits_2_with_a_message(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = _main(capsys, "--cloud", "mars", "--emulator-url", "http://127.0.0.1:1")
    assert code == 2 and out == "" and "defender-air:cloud" in err and "Traceback" not in err


def _context_with_session(cookie: str) -> context.ProviderContext:
    from defender_air_provider.core.settings import Settings
    from tests.support import TENANT_ID, FakeTokenSource, RecordingSleep

    return context.ProviderContext(Settings(tenant_id=TENANT_ID, client_id=EMULATOR_APP_ID, portal_session=cookie),
                                   tokens=FakeTokenSource(), sleep=RecordingSleep())


def test_with_a_portal_session_the_tenant_context_is_checked(make_tenant: Callable[..., FakeTenant]) -> None:
    tenant = make_tenant("presets_on")
    tenant.portal.edit_tenant_context(IsAutomatedIrEnabled=False, IsMdiActive=False, IsItpActive=False)
    ctx = _context_with_session(tenant.portal.new_session())
    report = run_checks(ctx.settings, context=ctx)
    status = _status(report)
    assert status["Defender portal reachable"] == PASS
    assert status["Tenant context: Automated investigation on"] == FAIL
    assert status["Tenant context: Defender for Identity active"] == FAIL
    assert status["Tenant context: Defender for Office 365 active"] == PASS
    assert status["Tenant context: Defender for Endpoint plan P2"] == PASS
    assert report.exit_status == 1
    assert_read_only(tenant)


def test_an_expired_portal_session_fails_the_portal_row_only(make_tenant: Callable[..., FakeTenant]) -> None:
    tenant = make_tenant("presets_on")
    cookie = tenant.portal.new_session()
    tenant.portal.session.expire_session()
    ctx = _context_with_session(cookie)
    report = run_checks(ctx.settings, context=ctx)
    rows = {c.name: c for c in report.checks}
    assert rows["Defender portal reachable"].status == FAIL
    assert rows["Tenant context: Automated investigation on"].status == SKIPPED
    assert rows["Tenant context: Automated investigation on"].fix == "Fix the Defender portal row first."
    assert rows["Exchange Online reachable"].status == PASS
    assert report.exit_status == 1  # reached the tenant, a check failed
    assert_read_only(tenant)


def test_the_documented_e5_output_is_what_the_command_prints(capsys: pytest.CaptureFixture[str]) -> None:
    from pathlib import Path

    with EmulatorServer(FakeTenant(), port=0) as server:
        code, out, _ = _main(capsys, "--emulator-url", server.url)
    assert code == 0
    doc = (Path(__file__).resolve().parents[2] / "docs" / "preflight.md").read_text(encoding="utf-8")
    assert out.rstrip() in doc


def test_emulator_accepts_the_licence_seed() -> None:
    args = cli.build_parser().parse_args(["emulator", "--licences", "e3"])
    assert args.licences == "e3"


class _NoCredential:
    """azure-identity's default chain with nothing configured: every token request fails."""

    def token(self, scope: str, *, force_refresh: bool = False) -> str:
        from defender_air_provider.core.errors import AuthenticationError

        raise AuthenticationError("DefaultAzureCredential failed to retrieve a token from the included credentials.")


def test_no_credential_on_any_backend_exits_2(make_tenant: Callable[..., FakeTenant]) -> None:
    from defender_air_provider.core.settings import Settings
    from tests.support import TENANT_ID, RecordingSleep

    tenant = make_tenant("presets_on")
    ctx = context.ProviderContext(Settings(tenant_id=TENANT_ID, client_id=EMULATOR_APP_ID), tokens=_NoCredential(),
                                  sleep=RecordingSleep())
    report = run_checks(ctx.settings, context=ctx)
    rows = {c.name: c for c in report.checks}
    for name in ("Microsoft Graph reachable", "Exchange Online reachable", "Security & Compliance reachable"):
        assert rows[name].status == FAIL and "DefaultAzureCredential" in rows[name].detail
    assert rows["Defender portal reachable"].status == SKIPPED
    assert report.exit_status == 2
    assert tenant.log.entries == []  # nothing was sent without a token
