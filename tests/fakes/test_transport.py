"""The respx adapter: real Microsoft hosts and an emulator base URL reach the same tenant."""

from __future__ import annotations

import asyncio

import httpx
import pytest
import respx

from defender_air_provider.fakes.tenant import FakeTenant
from defender_air_provider.fakes.transport import mount

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
            httpx.get("https://graph.microsoft.com/v1.0/groups")


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
