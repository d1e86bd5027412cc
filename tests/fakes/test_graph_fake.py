"""GraphFake (Microsoft Graph /groups, read-only) against Graph's documented behaviour, through respx and a socket."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timezone
from typing import Any

import httpx
import pytest
import respx

from defender_air_provider.fakes.graph import (
    CONTRACTORS_M365_ID,
    CONTRACTORS_SECURITY_ID,
    TIER0_ADMINS_ID,
    GraphFake,
)
from defender_air_provider.fakes.server import EmulatorServer
from defender_air_provider.fakes.tenant import FakeTenant
from tests.fakes_transport import mount

GRAPH = "https://graph.microsoft.com"
GROUPS = f"{GRAPH}/v1.0/groups"
TOKEN = "graph-test-token"
NOW = datetime(2026, 5, 6, 7, 8, 9, 123456, tzinfo=timezone.utc)


@pytest.fixture
def tenant() -> FakeTenant:
    t = FakeTenant()
    t.graph.clock = lambda: NOW
    return t


@contextmanager
def graph_client(tenant: FakeTenant, *, emulator_base: str | None = None) -> Iterator[httpx.Client]:
    with respx.mock(assert_all_called=False, assert_all_mocked=True) as router:
        mount(router, tenant, emulator_base=emulator_base)
        with httpx.Client(headers={"Authorization": f"Bearer {TOKEN}"}) as client:
            yield client


@pytest.fixture
def client(tenant: FakeTenant) -> Iterator[httpx.Client]:
    with graph_client(tenant) as c:
        yield c


def by_name(client: httpx.Client, name: str, **params: str) -> httpx.Response:
    literal = name.replace("'", "''")  # OData: a quote inside a string literal is doubled
    return client.get(GROUPS, params={"$filter": f"displayName eq '{literal}'", **params})


def error(response: httpx.Response) -> dict[str, Any]:
    result: dict[str, Any] = response.json()["error"]
    return result


# -- GET /groups/{id} -------------------------------------------------------------------------------------------------

def test_get_group_by_id(client: httpx.Client, tenant: FakeTenant) -> None:
    response = client.get(f"{GROUPS}/{TIER0_ADMINS_ID}")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/json")
    assert response.headers["request-id"]
    group = response.json()
    assert group["@odata.context"] == f"{GRAPH}/v1.0/$metadata#groups/$entity"
    assert group["id"] == TIER0_ADMINS_ID and group["displayName"] == "Tier0 Admins"
    assert group["securityEnabled"] is True and group["mailEnabled"] is False and group["mail"] is None
    assert group["description"] == "Tier 0 administrators" and group["groupTypes"] == []
    assert tenant.log.operations("graph") == ["GET group"]


def test_get_group_with_select_and_uppercase_id(client: httpx.Client) -> None:
    response = client.get(f"{GROUPS}/{TIER0_ADMINS_ID.upper()}", params={"$select": "id,displayName"})
    assert response.status_code == 200
    assert response.json() == {"@odata.context": f"{GRAPH}/v1.0/$metadata#groups(id,displayName)/$entity",
                               "id": TIER0_ADMINS_ID, "displayName": "Tier0 Admins"}


def test_missing_group_is_404_with_graphs_error_shape(client: httpx.Client) -> None:
    missing = "00000000-0000-0000-0000-0000000000aa"
    response = client.get(f"{GROUPS}/{missing}", headers={"client-request-id": "abc-123"})
    assert response.status_code == 404
    body = error(response)
    assert body["code"] == "Request_ResourceNotFound"
    assert body["message"] == (f"Resource '{missing}' does not exist or one of its queried reference-property "
                               "objects are not present.")
    inner = body["innerError"]
    assert inner == {"date": "2026-05-06T07:08:09", "request-id": response.headers["request-id"],
                     "client-request-id": "abc-123"}
    assert response.headers["client-request-id"] == "abc-123"


def test_non_guid_id_is_400_invalid_object_identifier(client: httpx.Client) -> None:
    response = client.get(f"{GROUPS}/Tier0 Admins")
    assert response.status_code == 400
    assert error(response)["code"] == "Request_BadRequest"
    assert error(response)["message"] == "Invalid object identifier 'Tier0 Admins'."


# -- GET /groups?$filter ---------------------------------------------------------------------------------------------

def test_filter_by_display_name_is_case_insensitive(client: httpx.Client, tenant: FakeTenant) -> None:
    response = by_name(client, "tier0 ADMINS")
    assert response.status_code == 200
    payload = response.json()
    assert payload["@odata.context"] == f"{GRAPH}/v1.0/$metadata#groups"
    assert [g["id"] for g in payload["value"]] == [TIER0_ADMINS_ID]
    assert "@odata.nextLink" not in payload
    assert tenant.log.operations("graph") == ["GET groups"]


def test_filter_finds_every_group_with_a_shared_name(client: httpx.Client) -> None:
    response = by_name(client, "Contractors", **{"$select": "id,displayName,securityEnabled"})
    assert response.status_code == 200
    payload = response.json()
    assert payload["@odata.context"] == f"{GRAPH}/v1.0/$metadata#groups(id,displayName,securityEnabled)"
    assert payload["value"] == [
        {"id": CONTRACTORS_SECURITY_ID, "displayName": "Contractors", "securityEnabled": True},
        {"id": CONTRACTORS_M365_ID, "displayName": "Contractors", "securityEnabled": False},
    ]


def test_filter_with_no_match_is_an_empty_page(client: httpx.Client) -> None:
    response = by_name(client, "Nobody")
    assert response.status_code == 200 and response.json()["value"] == []


def test_quotes_are_doubled_inside_the_literal(client: httpx.Client, tenant: FakeTenant) -> None:
    added = tenant.graph.add_group("O'Brien's Team")
    response = by_name(client, "o'brien's team")
    assert [g["id"] for g in response.json()["value"]] == [added["id"]]
    # A single unescaped quote breaks the literal: Graph's parser rejects the filter.
    broken = client.get(GROUPS, params={"$filter": "displayName eq 'O'Brien's Team'"})
    assert broken.status_code == 400
    assert error(broken)["code"] == "BadRequest" and error(broken)["message"].startswith("Invalid filter clause")


def test_other_filters(client: httpx.Client) -> None:
    assert len(client.get(GROUPS, params={"$filter": "securityEnabled eq false"}).json()["value"]) == 1
    by_id = client.get(GROUPS, params={"$filter": f"id eq '{TIER0_ADMINS_ID}'"}).json()["value"]
    assert [g["displayName"] for g in by_id] == ["Tier0 Admins"]
    unsupported = client.get(GROUPS, params={"$filter": "startswith(displayName,'Tier')"})
    assert unsupported.status_code == 400 and error(unsupported)["code"] == "Request_UnsupportedQuery"


def test_unknown_select_property_is_400(client: httpx.Client) -> None:
    response = client.get(GROUPS, params={"$select": "id,notAProperty"})
    assert response.status_code == 400
    assert "notAProperty" in error(response)["message"] and error(response)["code"] == "BadRequest"


# -- paging ----------------------------------------------------------------------------------------------------------

def test_paging_with_top_follows_next_links(client: httpx.Client, tenant: FakeTenant) -> None:
    ids = {tenant.graph.add_group("Bulk")["id"] for _ in range(5)}
    first = by_name(client, "bulk", **{"$top": "2", "$select": "id"})
    pages = [first.json()]
    while "@odata.nextLink" in pages[-1]:
        link = pages[-1]["@odata.nextLink"]
        assert link.startswith(f"{GROUPS}?")
        assert "$top=2" in link and "$select=id" in link and "$skiptoken=" in link
        pages.append(client.get(link).json())
    assert [len(p["value"]) for p in pages] == [2, 2, 1]
    assert {g["id"] for p in pages for g in p["value"]} == ids
    assert tenant.log.operations("graph") == ["GET groups"] * 3


def test_default_page_size_is_100(client: httpx.Client, tenant: FakeTenant) -> None:
    for i in range(120):
        tenant.graph.add_group(f"Many {i}")
    first = client.get(GROUPS).json()
    assert len(first["value"]) == 100 and "@odata.nextLink" in first
    second = client.get(first["@odata.nextLink"]).json()
    assert len(second["value"]) == 125 - 100 and "@odata.nextLink" not in second


@pytest.mark.parametrize("top", ["0", "1000", "many"])
def test_top_out_of_range_is_400(client: httpx.Client, top: str) -> None:
    response = client.get(GROUPS, params={"$top": top})
    assert response.status_code == 400 and error(response)["code"] == "Request_BadRequest"


def test_garbage_skiptoken_is_400(client: httpx.Client) -> None:
    response = client.get(GROUPS, params={"$skiptoken": "nonsense"})
    assert response.status_code == 400 and error(response)["code"] == "Directory_ExpiredPageToken"


# -- routing, auth, faults ---------------------------------------------------------------------------------------------

def test_unmodelled_paths_and_methods(client: httpx.Client, tenant: FakeTenant) -> None:
    users = client.get(f"{GRAPH}/v1.0/users")
    assert users.status_code == 400 and error(users)["message"] == "Resource not found for the segment 'users'."
    members = client.get(f"{GROUPS}/{TIER0_ADMINS_ID}/members")
    assert members.status_code == 400 and "members" in error(members)["message"]
    assert client.get(f"{GRAPH}/v2.0/groups").status_code == 400
    assert client.post(GROUPS, json={"displayName": "x"}).status_code == 405
    assert client.get(f"{GRAPH}/beta/groups/{TIER0_ADMINS_ID}").status_code == 200
    assert client.get(f"{GROUPS}/").status_code == 200  # a trailing slash is the collection
    assert tenant.log.operations("graph")[-1] == "GET groups"


def test_bearer_token_is_required(tenant: FakeTenant) -> None:
    with graph_client(tenant) as client:
        client.headers.pop("Authorization")
        assert client.get(GROUPS).status_code == 401
        tenant.auth.revoke(TOKEN)
        assert client.get(GROUPS, headers={"Authorization": f"Bearer {TOKEN}"}).status_code == 401
        assert client.get(GROUPS, headers={"Authorization": "Bearer fresh"}).status_code == 200


def test_throttling_on_one_operation(client: httpx.Client, tenant: FakeTenant) -> None:
    tenant.faults.throttle("graph", "GET groups", retry_after=3)
    assert client.get(f"{GROUPS}/{TIER0_ADMINS_ID}").status_code == 200  # another operation
    throttled = by_name(client, "Helpdesk")
    assert throttled.status_code == 429 and throttled.headers["retry-after"] == "3"
    assert len(by_name(client, "Helpdesk").json()["value"]) == 1


@pytest.mark.parametrize("host", ["https://graph.microsoft.us", "https://dod-graph.microsoft.us"])
def test_national_cloud_hosts(client: httpx.Client, host: str) -> None:
    response = client.get(f"{host}/v1.0/groups/{TIER0_ADMINS_ID}")
    assert response.status_code == 200
    assert response.json()["@odata.context"] == f"{host}/v1.0/$metadata#groups/$entity"


# -- helpers, state, emulator ----------------------------------------------------------------------------------------

def test_helpers_and_state_round_trip(tenant: FakeTenant) -> None:
    graph = tenant.graph
    assert [g["displayName"] for g in graph.groups()] == ["Tier0 Admins", "SOC Analysts", "Helpdesk", "Contractors",
                                                          "Contractors"]
    added = graph.add_group("Server Admins", id="ABCDEF01-2345-6789-abcd-ef0123456789", description="x")
    assert added["id"] == "abcdef01-2345-6789-abcd-ef0123456789" and added["securityEnabled"] is True
    assert re.fullmatch(r"S-1-12-1(-\d+){4}", added["securityIdentifier"])
    with pytest.raises(ValueError):
        graph.add_group("Again", id=added["id"])
    with pytest.raises(ValueError):
        graph.add_group("Bad id", id="not-a-guid")
    assert graph.edit_group(added["id"], displayName="Renamed")["displayName"] == "Renamed"
    state = json.loads(json.dumps(tenant.to_state()))
    restored = GraphFake()
    restored.load_state(state["graph"])
    assert restored.groups() == graph.groups()
    assert graph.remove_group(added["id"]) and graph.group(added["id"]) is None
    assert restored.group(added["id"]) is not None


def test_emulator_base_next_links_point_back_into_the_emulator(tenant: FakeTenant) -> None:
    for _ in range(3):
        tenant.graph.add_group("Paged")
    with graph_client(tenant, emulator_base="http://emulator.test") as client:
        first = client.get("http://emulator.test/graph/v1.0/groups",
                           params={"$filter": "displayName eq 'Paged'", "$top": "2"}).json()
        assert first["@odata.context"] == "http://emulator.test/graph/v1.0/$metadata#groups"
        link = first["@odata.nextLink"]
        assert link.startswith("http://emulator.test/graph/v1.0/groups?")
        assert len(client.get(link).json()["value"]) == 1


def test_emulator_server(tenant: FakeTenant) -> None:
    for _ in range(3):
        tenant.graph.add_group("Socket")
    with EmulatorServer(tenant, port=0) as server, \
            httpx.Client(headers={"Authorization": "Bearer placeholder"}, timeout=10) as client:
        base = f"{server.url}/graph/v1.0/groups"
        found = client.get(base, params={"$filter": "displayName eq 'Contractors'"})
        assert found.status_code == 200 and len(found.json()["value"]) == 2
        first = client.get(base, params={"$filter": "displayName eq 'socket'", "$top": "2"}).json()
        assert first["@odata.nextLink"].startswith(f"{base}?")
        assert len(client.get(first["@odata.nextLink"]).json()["value"]) == 1
        assert client.get(f"{base}/{TIER0_ADMINS_ID}").json()["displayName"] == "Tier0 Admins"
        assert httpx.get(base).status_code == 401  # no bearer token
