"""GraphFake's subscribed SKUs, service principals by appId and directory role assignments
(docs/wire/microsoft-graph.md §3-§4), through respx and through the emulator's socket."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
import respx

from defender_air_provider.fakes.graph import EMULATOR_APP_ID, EMULATOR_SP_ID, SECURITY_ADMINISTRATOR
from defender_air_provider.fakes.server import EmulatorServer
from defender_air_provider.fakes.tenant import FakeTenant
from tests.fakes_transport import mount

GRAPH = "https://graph.microsoft.com"


def _client(tenant: FakeTenant) -> Iterator[httpx.Client]:
    with respx.mock(assert_all_called=False, assert_all_mocked=True) as router:
        mount(router, tenant)
        with httpx.Client(headers={"Authorization": "Bearer t"}) as client:
            yield client


@pytest.fixture
def e5() -> Iterator[tuple[FakeTenant, httpx.Client]]:
    tenant = FakeTenant()
    for client in _client(tenant):
        yield tenant, client


def _plans(payload: dict) -> dict[str, set[str]]:
    return {s["skuPartNumber"]: {p["servicePlanName"] for p in s["servicePlans"]} for s in payload["value"]}


def test_e5_tenant_lists_microsoft_365_e5_with_the_air_plans(e5: tuple[FakeTenant, httpx.Client]) -> None:
    _, client = e5
    response = client.get(f"{GRAPH}/v1.0/subscribedSkus")
    assert response.status_code == 200
    payload = response.json()
    assert payload["@odata.context"].endswith("/v1.0/$metadata#subscribedSkus")
    sku = payload["value"][0]
    assert sku["skuId"] == "06ebc4ee-1bb5-47dd-8120-11324bc54e06" and sku["capabilityStatus"] == "Enabled"
    assert sku["id"].endswith("_" + sku["skuId"])
    assert _plans(payload) == {"SPE_E5": {"WINDEFATP", "THREAT_INTELLIGENCE", "ATA", "ADALLOM_S_STANDALONE", "MTP"}}
    plan = {p["servicePlanName"]: p for p in sku["servicePlans"]}["WINDEFATP"]
    assert plan == {"servicePlanId": "871d91ec-ec1a-452b-a83f-bd76c7d770ef", "servicePlanName": "WINDEFATP",
                    "provisioningStatus": "Success", "appliesTo": "User"}


def test_e3_tenant_has_only_mde_lite() -> None:
    for client in _client(FakeTenant(graph_licences="e3")):
        assert _plans(client.get(f"{GRAPH}/v1.0/subscribedSkus").json()) == {"SPE_E3": {"MDE_LITE"}}


def test_unknown_licence_seed_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown licence seed"):
        FakeTenant(graph_licences="e7")


def test_service_principal_by_app_id_and_by_filter(e5: tuple[FakeTenant, httpx.Client]) -> None:
    _, client = e5
    response = client.get(f"{GRAPH}/v1.0/servicePrincipals(appId='{EMULATOR_APP_ID}')")
    assert response.status_code == 200
    assert response.json()["id"] == EMULATOR_SP_ID and response.json()["appId"] == EMULATOR_APP_ID
    listed = client.get(f"{GRAPH}/v1.0/servicePrincipals", params={"$filter": f"appId eq '{EMULATOR_APP_ID}'"})
    assert [p["id"] for p in listed.json()["value"]] == [EMULATOR_SP_ID]
    missing = client.get(f"{GRAPH}/v1.0/servicePrincipals(appId='11111111-1111-1111-1111-111111111111')")
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "Request_ResourceNotFound"


@pytest.mark.parametrize("path", ["v1.0/roleManagement/directory/roleAssignments",
                                  "beta/roleManagement/directory/transitiveRoleAssignments"])
def test_role_assignments_filtered_by_principal(e5: tuple[FakeTenant, httpx.Client], path: str) -> None:
    tenant, client = e5
    response = client.get(f"{GRAPH}/{path}", params={"$filter": f"principalId eq '{EMULATOR_SP_ID}'"})
    assert [a["roleDefinitionId"] for a in response.json()["value"]] == [SECURITY_ADMINISTRATOR]
    tenant.graph.directory.unassign_roles(EMULATOR_SP_ID)
    response = client.get(f"{GRAPH}/{path}", params={"$filter": f"principalId eq '{EMULATOR_SP_ID}'"})
    assert response.json()["value"] == []
    bad = client.get(f"{GRAPH}/{path}", params={"$filter": "startswith(principalId, 'a')"})
    assert bad.status_code == 400 and bad.json()["error"]["code"] == "Request_UnsupportedQuery"


def test_writes_are_refused_and_logged(e5: tuple[FakeTenant, httpx.Client]) -> None:
    tenant, client = e5
    response = client.post(f"{GRAPH}/v1.0/roleManagement/directory/roleAssignments", json={})
    assert response.status_code == 405
    assert [(r.method, r.operation) for r in tenant.log.entries][-1] == ("POST", "POST roleAssignments")


def test_state_round_trip_keeps_the_licences() -> None:
    tenant = FakeTenant(graph_licences="e3")
    tenant.graph.directory.add_sku("SPE_E5", capability_status="Suspended")
    copy = FakeTenant()
    copy.load_state(tenant.to_state())
    assert [(s["skuPartNumber"], s["capabilityStatus"]) for s in copy.graph.directory.skus()] == [
        ("SPE_E3", "Enabled"), ("SPE_E5", "Suspended")]


def test_emulator_serves_the_licences_under_base_graph() -> None:
    with EmulatorServer(FakeTenant(graph_licences="e3"), port=0) as server, httpx.Client() as client:
        response = client.get(f"{server.url}/graph/v1.0/subscribedSkus", headers={"Authorization": "Bearer x"})
        assert _plans(response.json()) == {"SPE_E3": {"MDE_LITE"}}
