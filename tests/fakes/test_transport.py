"""The respx adapter: real Microsoft hosts and an emulator base URL reach the same tenant."""

from __future__ import annotations

import asyncio

import httpx
import pytest
import respx

from defender_air_provider.fakes.tenant import FakeTenant
from tests.fakes_transport import mount

from ._wire import TENANT_ID, TOKEN, body, exo_client

AUTH = {"Authorization": f"Bearer {TOKEN}"}


@pytest.mark.parametrize("host", ["https://outlook.office365.com", "https://outlook.office365.us",
                                  "https://outlook-dod.office365.us"])
def test_real_hosts_reach_the_exchange_fake(host: str) -> None:
    tenant = FakeTenant()
    with exo_client(tenant) as client:
        response = client.post(f"{host}/adminapi/beta/{TENANT_ID}/InvokeCommand",
                               json=body("Get-EOPProtectionPolicyRule"))
    assert response.status_code == 200
    # The service root is the host the client reached.
    assert response.json()["@odata.context"].startswith(f"{host}/adminapi/beta/{TENANT_ID}/$metadata#")
    entry = tenant.log.entries[-1]
    assert (entry.service, entry.operation, entry.method, entry.path) == (
        "exchange", "Get-EOPProtectionPolicyRule", "POST", f"/adminapi/beta/{TENANT_ID}/InvokeCommand")
    assert entry.authorization == f"Bearer {TOKEN}"


def test_emulator_base_routes_by_service_prefix() -> None:
    tenant = FakeTenant()
    with exo_client(tenant, emulator_base="http://emulator.test") as client:
        url = f"http://emulator.test/exchange/adminapi/beta/{TENANT_ID}/InvokeCommand"
        first = client.post(url, json=body("Get-ATPProtectionPolicyRule"), headers={"Prefer": "odata.maxpagesize=1"})
        assert first.status_code == 200
        assert first.json()["@odata.context"].startswith(f"http://emulator.test/exchange/adminapi/beta/{TENANT_ID}/")
        link = first.json()["@odata.nextLink"]
        assert link.startswith(f"http://emulator.test/exchange/adminapi/beta/{TENANT_ID}/InvokeCommand?$skiptoken=")
        second = client.post(link, json=body("Get-ATPProtectionPolicyRule"))
        assert second.status_code == 200 and len(second.json()["value"]) == 1
        assert "@odata.nextLink" not in second.json()
        missing = client.post("http://emulator.test/nosuchservice/x", json={})
        assert missing.status_code == 404
    assert tenant.log.entries[0].path == f"/adminapi/beta/{TENANT_ID}/InvokeCommand"


def test_emulator_base_with_a_path_prefix() -> None:
    tenant = FakeTenant()
    with exo_client(tenant, emulator_base="http://emulator.test/prefix/") as client:
        response = client.post(f"http://emulator.test/prefix/exchange/adminapi/beta/{TENANT_ID}/InvokeCommand",
                               json=body("Get-MalwareFilterPolicy"))
    assert response.status_code == 200
    assert response.json()["@odata.context"].startswith("http://emulator.test/prefix/exchange/adminapi/")


def test_hosts_of_services_without_a_fake_are_not_mocked() -> None:
    tenant = FakeTenant()
    with respx.mock(assert_all_called=False, assert_all_mocked=True) as router:
        mount(router, tenant)
        with pytest.raises(Exception, match="not mocked"):
            httpx.get("https://api.securitycenter.microsoft.com/api/machines")


def test_works_with_a_plain_router_and_mock_transport() -> None:
    tenant = FakeTenant()
    router = respx.Router(assert_all_called=False)
    mount(router, tenant)
    with httpx.Client(transport=httpx.MockTransport(router.handler), headers=AUTH) as client:
        response = client.post(f"https://outlook.office365.com/adminapi/beta/{TENANT_ID}/InvokeCommand",
                               json=body("Get-SafeLinksPolicy"))
    assert response.status_code == 200 and len(response.json()["value"]) == 3


def test_async_client() -> None:
    tenant = FakeTenant()

    async def call() -> httpx.Response:
        async with httpx.AsyncClient(headers=AUTH) as client:
            return await client.post(f"https://outlook.office365.com/adminapi/beta/{TENANT_ID}/InvokeCommand",
                                     json=body("Get-EOPProtectionPolicyRule"))

    with respx.mock(assert_all_called=False) as router:
        mount(router, tenant)
        response = asyncio.run(call())
    assert response.status_code == 200 and len(response.json()["value"]) == 2


def test_query_string_is_passed_to_the_fake() -> None:
    tenant = FakeTenant()
    with exo_client(tenant) as client:
        response = client.post(
            f"https://outlook.office365.com/adminapi/beta/{TENANT_ID}/InvokeCommand",
            params={"$select": "Name,State"}, json=body("Get-EOPProtectionPolicyRule"))
    assert [sorted(r) for r in response.json()["value"]] == [["Name", "State"], ["Name", "State"]]


def test_dropped_connections_become_httpx_errors() -> None:
    tenant = FakeTenant()
    tenant.faults.drop("exchange")
    tenant.faults.drop("exchange", after_apply=True)
    with exo_client(tenant, emulator_base="http://emulator.test") as client:
        url = f"http://emulator.test/exchange/adminapi/beta/{TENANT_ID}/InvokeCommand"
        with pytest.raises(httpx.ConnectError) as connect:
            client.post(url, json=body("Get-EOPProtectionPolicyRule"))
        assert connect.value.request.url == httpx.URL(url)
        with pytest.raises(httpx.ReadTimeout):
            client.post(url, json=body("Get-EOPProtectionPolicyRule"))


# -- Security & Compliance: region discovery at the front door (docs/wire/invoke-command.md §3.3)
# ---------------------------------

COMPLIANCE_FRONT_DOOR = "https://ps.compliance.protection.outlook.com"
ALERT = {"Name": "Quarantine release", "Category": "ThreatManagement", "NotifyUser": ["a@contoso.com"],
         "ThreatType": "Activity", "Operation": ["QuarantineRequestReleaseMessage"], "AggregationType": "None"}


def test_compliance_front_door_redirects_invoke_command_and_runs_nothing() -> None:
    tenant = FakeTenant()
    with exo_client(tenant) as client:
        request_body = body("New-ProtectionAlert", ALERT)
        response = client.post(f"{COMPLIANCE_FRONT_DOOR}/adminapi/beta/{TENANT_ID}/InvokeCommand", json=request_body)
        assert response.status_code == 302
        assert response.headers["location"] == (
            f"https://nam13b.admin.protection.outlook.com:446/adminapi/beta/{TENANT_ID}/InvokeCommand")
        assert response.content == b""
        assert tenant.compliance.policy("Quarantine release") is None  # the front door never runs a cmdlet
        # What the clients of docs/wire/invoke-command.md §3.3 do: take the first label of the Location host, re-POST to
        # the regional host.
        region = httpx.URL(response.headers["location"]).host.split(".")[0]
        regional = f"https://{region}.ps.compliance.protection.outlook.com/adminapi/beta/{TENANT_ID}/InvokeCommand"
        created = client.post(regional, json=request_body)
        assert created.status_code == 200 and created.json()["value"][0]["Name"] == "Quarantine release"
        assert created.json()["@odata.context"].startswith(
            f"https://{region}.ps.compliance.protection.outlook.com/adminapi/beta/{TENANT_ID}/$metadata#")
    assert [(e.service, e.operation, e.status) for e in tenant.log.entries] == [
        ("compliance", "region discovery", 302), ("compliance", "New-ProtectionAlert", 200)]


@pytest.mark.parametrize("path", [
    f"/AdminApi/v1.0/{TENANT_ID}/EXOModuleFile",  # ScubaGear
    f"/adminapi/beta/{TENANT_ID}/EXOBanner('AutogenSession')",  # CIPP
])
def test_compliance_discovery_gets_redirect_too(path: str) -> None:
    tenant = FakeTenant(compliance_region="zaf01b")
    with exo_client(tenant) as client:
        response = client.get(f"{COMPLIANCE_FRONT_DOOR}{path}", params={"Version": "3.7.1"},
                              headers={"X-AnchorMailbox": "UPN:SystemMailbox{bb558c35-97f1-4cb9-8ff7-d53741dc928c}"
                                                          "@contoso.onmicrosoft.com"})
    assert response.status_code == 302
    location = httpx.URL(response.headers["location"])
    assert (location.scheme, location.host, location.port) == ("https", "zaf01b.admin.protection.outlook.com", 446)
    assert location.path == path
    assert tenant.log.operations("compliance") == ["region discovery"]


def test_compliance_discovery_failure_is_500_organization_container() -> None:
    tenant = FakeTenant(compliance_discovery_fails=True)
    with exo_client(tenant) as client:
        response = client.post(f"{COMPLIANCE_FRONT_DOOR}/adminapi/beta/{TENANT_ID}/InvokeCommand",
                               json=body("Get-ProtectionAlert"))
    assert response.status_code == 500
    assert response.json() == {"error": {"message": "Could not find the organization container"}}
    assert [(e.operation, e.status) for e in tenant.log.entries] == [("region discovery", 500)]


@pytest.mark.parametrize(("front_door", "admin_domain"), [
    ("https://ps.compliance.protection.office365.us", "admin.protection.office365.us"),  # GCC High
    ("https://l5.ps.compliance.protection.office365.us", "admin.protection.office365.us"),  # DoD
])
def test_compliance_us_government_front_doors(front_door: str, admin_domain: str) -> None:
    tenant = FakeTenant()
    with exo_client(tenant) as client:
        response = client.post(f"{front_door}/adminapi/beta/{TENANT_ID}/InvokeCommand",
                               json=body("Get-ProtectionAlert"))
        assert response.status_code == 302
        assert httpx.URL(response.headers["location"]).host == f"nam13b.{admin_domain}"
        regional = client.post(f"https://nam13b.ps.compliance.protection.office365.us/adminapi/beta/{TENANT_ID}"
                               "/InvokeCommand", json=body("Get-ProtectionAlert"))
        assert regional.status_code == 200


@pytest.mark.parametrize("region", ["nam13b", "eur02b", "gcc02b"])
def test_compliance_regional_hosts_run_cmdlets(region: str) -> None:
    tenant = FakeTenant()
    with exo_client(tenant) as client:
        response = client.post(f"https://{region}.ps.compliance.protection.outlook.com/adminapi/beta/{TENANT_ID}"
                               "/InvokeCommand",
                               json=body("Get-ProtectionAlert", {"Identity": "Audit logging changed"}))
    assert response.status_code == 200 and response.json()["value"][0]["Name"] == "Audit logging changed"


def test_following_the_redirect_blindly_reaches_an_unserved_host() -> None:
    # The Location host (port 446) is not the REST API (ScubaGear's comment in docs/wire/invoke-command.md §3.3); a
    # client must rewrite it.
    tenant = FakeTenant()
    with exo_client(tenant) as client, pytest.raises(Exception, match="not mocked"):
        client.post(f"{COMPLIANCE_FRONT_DOOR}/adminapi/beta/{TENANT_ID}/InvokeCommand",
                    json=body("Get-ProtectionAlert"), follow_redirects=True)


def test_region_discovery_can_be_faulted() -> None:
    tenant = FakeTenant()
    tenant.faults.throttle("compliance", "region discovery", retry_after=2)
    with exo_client(tenant) as client:
        url = f"{COMPLIANCE_FRONT_DOOR}/adminapi/beta/{TENANT_ID}/InvokeCommand"
        first = client.post(url, json=body("Get-ProtectionAlert"))
        assert first.status_code == 429 and first.headers["retry-after"] == "2"
        assert client.post(url, json=body("Get-ProtectionAlert")).status_code == 302
