"""PortalFake: advanced features and the tenant context, against docs/wire/defender-portal.md §6, §7 and §4.

Raw httpx calls shaped as the sources send them (NMC, XDRI: GET, change, POST the whole object, re-read), never our
client: through respx on the real hosts, through an emulator base URL, and over a socket to the emulator server.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import httpx
import pytest
import respx

from defender_air_provider.fakes.portal import PortalFake
from defender_air_provider.fakes.server import EmulatorServer
from defender_air_provider.fakes.tenant import FakeTenant
from tests.fakes_transport import mount

PORTAL = "https://security.microsoft.com"
GET_PATH = "/apiproxy/mtp/settings/GetAdvancedFeaturesSetting"
SAVE_PATH = "/apiproxy/mtp/settings/SaveAdvancedFeaturesSetting"
CONTEXT_PATH = "/apiproxy/mtp/sccManagement/mgmt/TenantContext"
GET_URL = f"{PORTAL}{GET_PATH}"
SAVE_URL = f"{PORTAL}{SAVE_PATH}"
CONTEXT_URL = f"{PORTAL}{CONTEXT_PATH}"
GROUPS_URL = f"{PORTAL}/apiproxy/mtp/rbacManagementApi/rbac/machine_groups"

# docs/wire/defender-portal.md §6.3, copied here from the note (not from the fake) so the test checks the fake
# against it.
CAPTURED_TEXT = """
{"EnableWdavPassiveModeRemediation": false, "EnableWdavAuditMode": false, "MagellanOptOut": false,
 "HidePotentialDuplications": true, "BlockListEnabled": true, "LicenseEnabled": true,
 "SkypeIntegrationEnabled": true, "ShowUserAadProfile": true, "AatpIntegrationEnabled": false,
 "AatpWorkspaceExists": false, "AutoResolveInvestigatedAlerts": true, "EnableMcasIntegration": true,
 "EnableAipIntegration": false, "BilbaoApproved": false, "BilbaoEnabled": false,
 "EnableWdavAntiTampering": true, "AllowWdavNetworkBlock": true, "M365SecureScoreIntegrationEnabled": false,
 "WebCategoriesEnabled": true, "EnableEndpointDlp": false, "EnableQuarantinedFileDownload": true,
 "IsolateIncidentsWithDifferentDeviceGroups": true, "EnableExcludedDevices": false, "DartDataCollection": false,
 "EnableAggregatedReporting": false, "IsolationExclusionOptIn": false, "MobileDeactivationPeriodInDays": null,
 "UseSimplifiedConnectivity": true, "UseSimplifiedConnectivityViaApi": false,
 "EnableCustomAsrAdvancedProcessTermination": false, "EnableHVAOnboardingOptions": false,
 "LowFidelityEnrichmentEnabled": false}
"""
CAPTURED: dict[str, Any] = json.loads(CAPTURED_TEXT)


@pytest.fixture
def tenant() -> FakeTenant:
    return FakeTenant()


@contextmanager
def portal_client(tenant: FakeTenant, *, emulator_base: str | None = None) -> Iterator[httpx.Client]:
    with respx.mock(assert_all_called=False, assert_all_mocked=True) as router:
        mount(router, tenant, emulator_base=emulator_base)
        with httpx.Client(headers={"Accept": "application/json"}) as client:
            yield client


@pytest.fixture
def client(tenant: FakeTenant) -> Iterator[httpx.Client]:
    with portal_client(tenant) as c:
        yield c


@pytest.fixture
def strict(tenant: FakeTenant) -> PortalFake:
    tenant.portal.allow_anonymous = False
    return tenant.portal


def read(client: httpx.Client, url: str = GET_URL, **kwargs: Any) -> dict[str, Any]:
    response = client.get(url, **kwargs)
    assert response.status_code == 200, response.text
    settings: dict[str, Any] = response.json()
    return settings


def save(client: httpx.Client, body: Any, url: str = SAVE_URL, **kwargs: Any) -> httpx.Response:
    """NMC/XDRI's save: the whole object as JSON in a POST (docs/wire/defender-portal.md §6.2)."""
    return client.post(url, content=json.dumps(body).encode(), headers={"Content-Type": "application/json",
                                                                         **kwargs.pop("headers", {})}, **kwargs)


def context(client: httpx.Client, **kwargs: Any) -> dict[str, Any]:
    response = client.get(CONTEXT_URL, params={"realTime": "true"}, **kwargs)
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()
    return result


def message(response: httpx.Response) -> str:
    return str(response.json()["Message"])


# -- GET: the captured object ------------------------------------------------------------------------------------------

def test_get_returns_the_captured_object_verbatim(client: httpx.Client, tenant: FakeTenant) -> None:
    response = client.get(GET_URL)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/json")
    settings = response.json()
    assert list(settings.items()) == list(CAPTURED.items())  # same keys, values and order
    assert len(settings) == 32
    assert tenant.portal.advanced_features() == CAPTURED
    assert tenant.log.operations("portal") == ["GET advanced_features"]


@pytest.mark.parametrize("host", ["https://security.microsoft.us", "https://security.apps.mil"])
def test_government_hosts(client: httpx.Client, host: str) -> None:
    assert read(client, f"{host}{GET_PATH}") == CAPTURED


def test_routes_are_case_insensitive_and_other_verbs_are_405(client: httpx.Client, tenant: FakeTenant) -> None:
    assert read(client, f"{PORTAL}{GET_PATH.lower()}/") == CAPTURED
    wrong_save = client.post(GET_URL, json=CAPTURED)
    assert wrong_save.status_code == 405 and wrong_save.headers["allow"] == "GET"
    wrong_read = client.get(SAVE_URL)
    assert wrong_read.status_code == 405 and wrong_read.headers["allow"] == "POST"
    put = client.put(SAVE_URL, json=CAPTURED)
    assert put.status_code == 405 and put.headers["allow"] == "POST"
    wrong_context = client.post(CONTEXT_URL, json={})
    assert wrong_context.status_code == 405 and wrong_context.headers["allow"] == "GET"
    assert client.get(f"{PORTAL}/apiproxy/mtp/settings/GetPreviewExperienceSetting").status_code == 404
    assert tenant.portal.advanced_features_saves == []  # none of these was a save
    assert tenant.portal.advanced_features() == CAPTURED
    assert tenant.log.operations("portal") == [
        "GET advanced_features", "POST GetAdvancedFeaturesSetting", "GET SaveAdvancedFeaturesSetting",
        "PUT SaveAdvancedFeaturesSetting", "POST TenantContext", "GET GetPreviewExperienceSetting",
    ]


# -- POST: the whole object, stored as a flat bag ----------------------------------------------------------------------

def test_save_round_trips_changed_and_unknown_keys(client: httpx.Client, tenant: FakeTenant) -> None:
    settings = read(client)
    settings["AutoResolveInvestigatedAlerts"] = False
    settings["MagellanOptOut"] = True  # device discovery off (the inverted key, docs/wire/defender-portal.md §6.4)
    settings["EnableAuditTrail"] = True  # in NMC's body, not in the capture
    settings["SomeFutureSetting"] = "on"
    settings["SomeFutureLimit"] = 30
    response = save(client, settings)
    assert response.status_code == 200
    assert response.content == b""  # [inference] no POST body was captured: re-read instead
    assert list(read(client).items()) == list(settings.items())
    assert tenant.portal.advanced_features() == settings
    assert [json.loads(b) for b in tenant.portal.advanced_features_saves] == [settings]
    assert tenant.log.operations("portal") == ["GET advanced_features", "POST advanced_features",
                                               "GET advanced_features"]


def test_save_stores_exactly_the_body_nmc_key_set(client: httpx.Client, tenant: FakeTenant) -> None:
    # docs/wire/defender-portal.md §6.3: NMC's body has 34 keys, four not in the capture, and lacks two that are.
    nmc = {k: v for k, v in CAPTURED.items() if k not in ("EnableHVAOnboardingOptions", "LowFidelityEnrichmentEnabled")}
    nmc.update(EnableAuditTrail=True, O365ToAtpIntegrationEnabled=False, OfficeIntegrationEnabled=False,
               OfficeLicenseEnabled=False)
    assert len(nmc) == 34
    assert save(client, nmc).status_code == 200
    stored = read(client)
    assert list(stored) == list(nmc)  # the body's keys in the body's order
    assert "EnableHVAOnboardingOptions" not in stored  # [inference] a key left out of the whole object is gone


def test_read_only_flags_are_stored_as_sent(client: httpx.Client) -> None:
    # docs/wire/defender-portal.md §6.4 lists them as read-only or licence flags but says nothing of a save that
    # changes one: [inference] the fake stores them as sent.
    changed = {**read(client), "LicenseEnabled": False, "AatpWorkspaceExists": True,
               "MobileDeactivationPeriodInDays": 14}
    assert save(client, changed).status_code == 200
    assert read(client) == changed


@pytest.mark.parametrize(("body", "fragment"), [
    (b"{not json", "not valid JSON"),
    (b"", "JSON object"),
    (b"null", "JSON object"),
    (b"[]", "JSON object"),
    (b'"BlockListEnabled"', "JSON object"),
    (json.dumps([CAPTURED]).encode(), "JSON object"),
    (json.dumps({**CAPTURED, "BlockListEnabled": {"Value": True}}).encode(), "'BlockListEnabled'"),
    (json.dumps({**CAPTURED, "Nested": [True]}).encode(), "'Nested'"),
])
def test_malformed_saves_are_400_and_store_nothing(client: httpx.Client, tenant: FakeTenant, body: bytes,
                                                   fragment: str) -> None:
    response = client.post(SAVE_URL, content=body, headers={"Content-Type": "application/json"})
    assert response.status_code == 400
    assert fragment in message(response)
    assert tenant.portal.advanced_features() == CAPTURED
    assert tenant.portal.advanced_features_saves == [body]  # it reached the fake, which refused it


def test_saves_are_independent_of_device_groups(client: httpx.Client, tenant: FakeTenant) -> None:
    groups = tenant.portal.groups()
    assert save(client, {**CAPTURED, "BlockListEnabled": False}).status_code == 200
    assert tenant.portal.groups() == groups
    assert tenant.portal.put_bodies == []


# -- session: as for machine groups (docs/wire/defender-portal.md §4) --------------------------------------------------

def test_without_the_session_reads_and_saves_are_refused(client: httpx.Client, strict: PortalFake) -> None:
    assert client.get(GET_URL).status_code == 401
    assert client.get(CONTEXT_URL, params={"realTime": "true"}).status_code == 401
    refused = save(client, {**CAPTURED, "BlockListEnabled": False})
    assert refused.status_code == 401
    assert save(client, CAPTURED, headers={"Cookie": "sccauth=forged"}).status_code == 401
    assert strict.advanced_features() == CAPTURED
    assert read(client, headers=strict.session_headers()) == CAPTURED
    assert context(client, headers=strict.session_headers())["IsAutomatedIrEnabled"] is True


def test_save_with_a_stale_xsrf_token_is_500_and_stores_nothing(client: httpx.Client, strict: PortalFake) -> None:
    stale = strict.session_headers()
    strict.rotate_xsrf()
    assert read(client, headers=stale) == CAPTURED  # the old token works once; the answer announces the new one
    refused = save(client, {**CAPTURED, "BlockListEnabled": False}, headers=stale)
    assert refused.status_code == 500 and message(refused) == "An error has occurred."
    undecoded = {"Cookie": strict.cookie_header(), "X-XSRF-TOKEN": strict.xsrf_cookie}
    assert save(client, CAPTURED, headers=undecoded).status_code == 500
    assert save(client, CAPTURED, headers={"Cookie": strict.cookie_header()}).status_code == 500  # no header
    assert strict.advanced_features() == CAPTURED
    assert save(client, {**CAPTURED, "BlockListEnabled": False}, headers=strict.session_headers()).status_code == 200
    assert strict.advanced_features()["BlockListEnabled"] is False


def test_a_save_rotates_the_xsrf_token_and_reads_do_not(client: httpx.Client, strict: PortalFake) -> None:
    old_headers = strict.session_headers()
    old_token = strict.xsrf_token
    assert "set-cookie" not in client.get(GET_URL, headers=old_headers).headers
    assert "set-cookie" not in client.get(CONTEXT_URL, headers=old_headers).headers
    response = save(client, CAPTURED, headers=old_headers)
    assert response.status_code == 200
    match = re.fullmatch(r"XSRF-TOKEN=([^;]+); path=/; secure; samesite=strict", response.headers["set-cookie"])
    assert match is not None and match.group(1) == strict.xsrf_cookie and strict.xsrf_token != old_token
    assert client.get(GET_URL, headers=old_headers).status_code == 500  # refused at once, as after a PUT
    new_headers = {"Cookie": f"sccauth={strict.sccauth}; XSRF-TOKEN={match.group(1)}",
                   "X-XSRF-TOKEN": unquote(match.group(1))}
    assert read(client, headers=new_headers) == CAPTURED
    refused = save(client, [], headers=new_headers)  # a refused save does not rotate
    assert refused.status_code == 400 and "set-cookie" not in refused.headers


def test_a_device_group_put_and_a_save_share_one_session(client: httpx.Client, strict: PortalFake) -> None:
    headers = strict.session_headers()
    groups = client.get(GROUPS_URL, headers=headers).json()["items"]
    assert client.put(GROUPS_URL, json=groups, headers=headers).status_code == 200  # rotates the token
    assert save(client, CAPTURED, headers=headers).status_code == 500
    assert save(client, CAPTURED, headers=strict.session_headers()).status_code == 200


def test_read_only_user_expired_session_and_reads_without_xsrf(client: httpx.Client, strict: PortalFake) -> None:
    strict.forbid(writes_only=True)
    assert read(client, headers=strict.session_headers()) == CAPTURED
    forbidden = save(client, {**CAPTURED, "BlockListEnabled": False}, headers=strict.session_headers())
    assert forbidden.status_code == 403
    assert not re.search(r"xsrf|csrf|session|token|expired|sign.?in|login", forbidden.text, re.IGNORECASE)
    strict.permit()
    strict.check_xsrf_on_reads = False
    assert read(client, headers={"Cookie": f"sccauth={strict.sccauth}"}) == CAPTURED
    assert save(client, CAPTURED, headers={"Cookie": f"sccauth={strict.sccauth}"}).status_code == 500
    expired = strict.session_headers()
    strict.expire_session()
    assert client.get(GET_URL, headers=expired).status_code == 440
    assert save(client, CAPTURED, headers=expired).status_code == 440
    assert strict.advanced_features() == CAPTURED


def test_anonymous_saves_are_served_without_rotation(client: httpx.Client, tenant: FakeTenant) -> None:
    assert tenant.portal.allow_anonymous is True  # the emulator needs no credential (CONTRACT)
    response = save(client, {**CAPTURED, "BlockListEnabled": False})
    assert response.status_code == 200 and "set-cookie" not in response.headers
    assert save(client, CAPTURED, headers={"Cookie": "sccauth=placeholder"}).status_code == 401


# -- propagation delay (docs/wire/defender-portal.md §6.2) ------------------------------------------------------------

def test_no_stale_reads_by_default(client: httpx.Client, tenant: FakeTenant) -> None:
    assert tenant.portal.advanced_features_propagation_reads == 0
    changed = {**CAPTURED, "AutoResolveInvestigatedAlerts": False}
    assert save(client, changed).status_code == 200
    assert read(client) == changed


def test_stale_reads_after_a_save(client: httpx.Client, tenant: FakeTenant) -> None:
    tenant.portal.advanced_features_propagation_reads = 2
    changed = {**CAPTURED, "AutoResolveInvestigatedAlerts": False}
    assert save(client, changed).status_code == 200
    assert read(client) == CAPTURED
    assert read(client) == CAPTURED
    assert read(client) == changed
    assert read(client) == changed
    assert tenant.portal.advanced_features() == changed  # the helper sees the true state at once


def test_nmc_pattern_re_read_differs_then_save_again(client: httpx.Client, tenant: FakeTenant) -> None:
    # NMC: POST, sleep, GET and compare; if they differ, POST once more (docs/wire/defender-portal.md §6.2).
    tenant.portal.advanced_features_propagation_reads = 1
    changed = {**CAPTURED, "EnableWdavPassiveModeRemediation": True}
    assert save(client, changed).status_code == 200
    assert read(client) != changed  # the re-read differs
    assert save(client, changed).status_code == 200
    assert read(client) == changed  # the first save has propagated meanwhile: the state before the second is it


def test_a_second_save_while_the_first_propagates_keeps_the_oldest_view(client: httpx.Client,
                                                                        tenant: FakeTenant) -> None:
    tenant.portal.advanced_features_propagation_reads = 2
    first = {**CAPTURED, "BlockListEnabled": False}
    second = {**first, "WebCategoriesEnabled": False}
    assert save(client, first).status_code == 200
    assert read(client) == CAPTURED
    assert save(client, second).status_code == 200  # restarts the count
    assert read(client) == CAPTURED and read(client) == CAPTURED
    assert read(client) == second


def test_advanced_features_and_device_groups_propagate_separately(client: httpx.Client, tenant: FakeTenant) -> None:
    tenant.portal.advanced_features_propagation_reads = 1
    groups = client.get(GROUPS_URL).json()["items"]
    assert client.put(GROUPS_URL, json=groups).status_code == 200
    assert save(client, {**CAPTURED, "BlockListEnabled": False}).status_code == 200
    assert client.get(GROUPS_URL).json()["items"] == groups  # propagation_reads is 0: no stale groups
    assert read(client) == CAPTURED
    tenant.portal.propagation_reads = 1
    assert client.put(GROUPS_URL, json=groups).status_code == 200
    assert read(client)["BlockListEnabled"] is False  # a device-group PUT does not make the settings stale


def test_out_of_band_edits_are_seen_at_once(client: httpx.Client, tenant: FakeTenant) -> None:
    tenant.portal.advanced_features_propagation_reads = 3
    edited = tenant.portal.edit_advanced_features(BlockListEnabled=False, NewPortalToggle=True)
    assert list(edited)[-1] == "NewPortalToggle" and list(edited)[:32] == list(CAPTURED)
    assert read(client) == edited


# -- faults and the request log ----------------------------------------------------------------------------------------

def test_throttled_save_stores_nothing(client: httpx.Client, tenant: FakeTenant) -> None:
    tenant.faults.throttle("portal", "POST advanced_features", retry_after=4)
    changed = {**CAPTURED, "BlockListEnabled": False}
    response = save(client, changed)
    assert response.status_code == 429 and response.headers["retry-after"] == "4"
    assert tenant.portal.advanced_features() == CAPTURED
    assert tenant.portal.advanced_features_saves == []  # the front door refused it; the fake never saw it
    assert save(client, changed).status_code == 200
    assert tenant.portal.advanced_features() == changed


def test_server_errors_on_reads(client: httpx.Client, tenant: FakeTenant) -> None:
    tenant.faults.unavailable("portal", "GET advanced_features", status=503)
    tenant.faults.unavailable("portal", "GET tenant_context", status=500)
    assert client.get(GET_URL).status_code == 503
    assert client.get(CONTEXT_URL, params={"realTime": "true"}).status_code == 500
    assert read(client) == CAPTURED
    assert context(client)["MdeFlavor"] == "P2"
    assert [(e.operation, e.status) for e in tenant.log.entries] == [
        ("GET advanced_features", 503), ("GET tenant_context", 500), ("GET advanced_features", 200),
        ("GET tenant_context", 200)]


def test_dropped_before_the_save_stores_nothing(client: httpx.Client, tenant: FakeTenant) -> None:
    tenant.faults.drop("portal", "POST advanced_features")
    with pytest.raises(httpx.ConnectError):
        save(client, {**CAPTURED, "BlockListEnabled": False})
    assert tenant.portal.advanced_features() == CAPTURED
    assert tenant.log.entries[-1].status == 0


def test_timeout_after_the_save_was_applied(client: httpx.Client, tenant: FakeTenant) -> None:
    tenant.faults.drop("portal", "POST advanced_features", after_apply=True)
    changed = {**CAPTURED, "BlockListEnabled": False}
    with pytest.raises(httpx.ReadTimeout):
        save(client, changed)
    assert read(client) == changed  # applied: a client settles it by reading
    # The fault matched the save only.
    assert [e.operation for e in tenant.log.entries] == ["POST advanced_features", "GET advanced_features"]


# -- tenant context (docs/wire/defender-portal.md §7) -----------------------------------------------------------------

def test_tenant_context_has_the_keys_the_note_names(client: httpx.Client, tenant: FakeTenant) -> None:
    ctx = context(client)
    assert ctx["IsAutomatedIrEnabled"] is True and ctx["AutomatedIrLiveResponse"] is True
    assert ctx["AuthInfo"]["TenantId"] == "00000000-0000-0000-0000-000000000000"
    assert ctx["AuthInfo"]["Roles"] == ["administrator"]
    assert ctx["DirRoles"] and all(re.fullmatch(r"[0-9a-f-]{36}", g) for g in ctx["DirRoles"])
    # MtpPermissions: in the capture (XLR-TC) an object of workload -> permission strings.
    permissions = {p for workload in ctx["MtpPermissions"].values() for p in workload}
    assert {"microsoft.xdr/configuration/security/manage", "SecurityConfig.Manage"} <= permissions
    for flag in ("IsMdatpActive", "IsOatpActive", "IsItpActive", "IsMdiActive", "IsMdcActive", "IsAadIpActive",
                 "IsMapgActive", "IsMdatpLicenseExpired", "IsMtpEligible", "HasMachineGroups",
                 "AatpIntegrationEnabled", "AatpWorkspaceExists"):
        assert isinstance(ctx[flag], bool), flag
    assert ctx["MdeFlavor"] == "P2"
    assert ctx["ActiveMtpWorkloads"] == [1, 4, 5, 9, 10, 13]
    # The seed's tenant meets the AIR prerequisites (docs: the emulator's tenant).
    assert ctx["IsMdatpActive"] and ctx["IsOatpActive"] and ctx["IsMdiActive"]
    assert not ctx["IsMdatpLicenseExpired"]
    assert ctx == tenant.portal.tenant_context()
    assert tenant.log.operations("portal") == ["GET tenant_context"]


def test_tenant_context_ignores_the_realtime_flag(client: httpx.Client) -> None:
    assert client.get(CONTEXT_URL).json() == client.get(CONTEXT_URL, params={"realTime": "false"}).json()


def test_edit_tenant_context_an_e3_tenant(client: httpx.Client, tenant: FakeTenant) -> None:
    before = context(client)
    edited = tenant.portal.edit_tenant_context(MdeFlavor="P1", IsOatpActive=False)
    ctx = context(client)
    assert ctx == edited
    assert ctx["MdeFlavor"] == "P1" and ctx["IsOatpActive"] is False
    assert list(ctx) == list(before)  # known keys keep their place
    assert {k: v for k, v in ctx.items() if k not in ("MdeFlavor", "IsOatpActive")} == \
           {k: v for k, v in before.items() if k not in ("MdeFlavor", "IsOatpActive")}
    roles = tenant.portal.edit_tenant_context(AuthInfo={**before["AuthInfo"], "Roles": ["readonly"]})
    assert context(client)["AuthInfo"]["Roles"] == ["readonly"] == roles["AuthInfo"]["Roles"]


def test_helpers_return_copies(tenant: FakeTenant) -> None:
    portal = tenant.portal
    portal.tenant_context()["AuthInfo"]["Roles"].append("mutated")
    portal.advanced_features()["BlockListEnabled"] = "mutated"
    assert portal.tenant_context()["AuthInfo"]["Roles"] == ["administrator"]
    assert portal.advanced_features() == CAPTURED
    keys = {"AuthInfo": {"Roles": ["a"]}}
    portal.edit_tenant_context(**keys)
    keys["AuthInfo"]["Roles"].append("b")
    assert portal.tenant_context()["AuthInfo"] == {"Roles": ["a"]}


def test_set_advanced_features_gives_a_tenant_another_key_set(client: httpx.Client, tenant: FakeTenant) -> None:
    other = {"AutoResolveInvestigatedAlerts": False, "BlockListEnabled": True, "OfficeIntegrationEnabled": True}
    assert tenant.portal.set_advanced_features(other) == other
    assert list(read(client).items()) == list(other.items())


# -- state ------------------------------------------------------------------------------------------------------------

def test_state_round_trip_keeps_settings_context_and_stale_reads(tenant: FakeTenant) -> None:
    tenant.portal.advanced_features_propagation_reads = 1
    changed = {"Unknown": 1, **CAPTURED, "BlockListEnabled": False}
    with portal_client(tenant) as client:
        assert save(client, changed).status_code == 200
    tenant.portal.edit_tenant_context(MdeFlavor="P1")
    state = json.loads(json.dumps(tenant.to_state()))
    restored = FakeTenant()
    restored.load_state(state)
    assert list(restored.portal.advanced_features().items()) == list(changed.items())
    assert restored.portal.tenant_context() == tenant.portal.tenant_context()
    with portal_client(restored) as client:
        assert read(client) == CAPTURED  # the save was still propagating
        assert list(read(client).items()) == list(changed.items())


def test_old_state_files_load_with_the_seeds(tenant: FakeTenant) -> None:
    state = json.loads(json.dumps(tenant.to_state()))
    del state["portal"]["advanced_features"], state["portal"]["tenant_context"]
    restored = FakeTenant()
    restored.portal.edit_advanced_features(BlockListEnabled=False)
    restored.portal.edit_tenant_context(MdeFlavor="P1")
    restored.load_state(state)
    assert restored.portal.advanced_features() == CAPTURED
    assert restored.portal.tenant_context()["MdeFlavor"] == "P2"
    assert restored.portal.groups() == tenant.portal.groups()


def test_state_file_keeps_a_save(tmp_path: Path) -> None:
    state_file = tmp_path / "tenant.json"
    changed = {**CAPTURED, "EnableWdavPassiveModeRemediation": True, "NewKey": None}
    first = FakeTenant(state_file=state_file)
    with portal_client(first) as client:
        assert save(client, changed).status_code == 200
    second = FakeTenant(state_file=state_file)
    assert list(second.portal.advanced_features().items()) == list(changed.items())


# -- the emulator ------------------------------------------------------------------------------------------------------

def test_emulator_base_through_respx(tenant: FakeTenant) -> None:
    base = "http://emulator.test/portal"
    with portal_client(tenant, emulator_base="http://emulator.test") as client:
        assert read(client, f"{base}{GET_PATH}") == CAPTURED
        assert save(client, {**CAPTURED, "BlockListEnabled": False}, f"{base}{SAVE_PATH}").status_code == 200
        assert read(client, f"{base}{CONTEXT_PATH}")["IsAutomatedIrEnabled"] is True
    assert [(e.operation, e.path) for e in tenant.log.entries] == [
        ("GET advanced_features", GET_PATH), ("POST advanced_features", SAVE_PATH),
        ("GET tenant_context", CONTEXT_PATH)]


def test_emulator_server_serves_both_endpoints(tenant: FakeTenant) -> None:
    with EmulatorServer(tenant, port=0) as server, httpx.Client(base_url=server.url, timeout=10) as client:
        assert read(client, f"/portal{GET_PATH}") == CAPTURED  # anonymous, as the contract's emulator allows
        ctx = client.get(f"/portal{CONTEXT_PATH}", params={"realTime": "true"})
        assert ctx.status_code == 200 and ctx.json()["MdeFlavor"] == "P2"
        changed = {**CAPTURED, "AutoResolveInvestigatedAlerts": False, "FromTheEmulator": True}
        assert save(client, changed, f"/portal{SAVE_PATH}").status_code == 200
        assert list(read(client, f"/portal{GET_PATH}").items()) == list(changed.items())
        # Faults and the log through the control surface.
        added = client.post("/_emulator/faults", json={"kind": "throttle", "service": "portal",
                                                        "operation": "POST advanced_features", "retry_after": 2})
        assert added.status_code == 200
        throttled = save(client, CAPTURED, f"/portal{SAVE_PATH}")
        assert throttled.status_code == 429 and throttled.headers["retry-after"] == "2"
        log = client.get("/_emulator/requests").json()
        assert [(e["operation"], e["status"]) for e in log] == [
            ("GET advanced_features", 200), ("GET tenant_context", 200), ("POST advanced_features", 200),
            ("GET advanced_features", 200), ("POST advanced_features", 429)]
        state = client.get("/_emulator/state").json()
        assert state["portal"]["advanced_features"]["settings"] == changed
        assert state["portal"]["tenant_context"]["IsAutomatedIrEnabled"] is True
        # With a session: cookies reach the fake and the rotated token comes back over plain http.
        tenant.portal.allow_anonymous = False
        assert client.get(f"/portal{GET_PATH}").status_code == 401
        response = save(client, CAPTURED, f"/portal{SAVE_PATH}", headers=tenant.portal.session_headers())
        assert response.status_code == 200
        assert response.headers["set-cookie"] == f"XSRF-TOKEN={tenant.portal.xsrf_cookie}; path=/; samesite=strict"
    assert tenant.portal.advanced_features() == CAPTURED
