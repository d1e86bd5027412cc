"""PortalFake (Defender portal machine groups) against docs/wire/defender-portal.md §2-§4.

Raw httpx calls shaped as the sources send them (NMC, XDRI), never our client: through respx on the real hosts,
through an emulator base URL, and over a socket to the emulator server.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from datetime import datetime, timezone
from typing import Any
from urllib.parse import unquote

import httpx
import pytest
import respx

from defender_air_provider.fakes.graph import TIER0_ADMINS_ID
from defender_air_provider.fakes.portal import PortalFake
from defender_air_provider.fakes.server import EmulatorServer
from defender_air_provider.fakes.tenant import FakeTenant
from tests.fakes_transport import mount

PORTAL = "https://security.microsoft.com"
PATH = "/apiproxy/mtp/rbacManagementApi/rbac/machine_groups"
URL = f"{PORTAL}{PATH}"
GET_PARAMS = {"addAadGroupNames": "true", "addMachineGroupCount": "false"}
UNGROUPED = 2147483647
NOW = datetime(2026, 5, 6, 7, 8, 9, 123456, tzinfo=timezone.utc)
NOW_WIRE = "2026-05-06T07:08:09.1234560Z"

# docs/wire/defender-portal.md §2.3 FIXTURE, copied here from the note (not from the fake) so the test checks the fake
# against it.
FIXTURE_TEXT = r"""
[
 {"MachineGroupId": 15, "Name": " sevenkingdoms domain", "Description": "", "AutoRemediationLevel": 1, "Priority": 1,
  "LastUpdated": "2025-02-18T12:09:03.3766667Z", "IsUnassignedMachineGroup": false, "MachineCount": 0,
  "GroupRules": [
   {"OperatorType": 0, "Property": 0, "PropertyValue": ""},
   {"OperatorType": 3, "Property": 1, "PropertyValue": "sevenkingdoms"},
   {"OperatorType": 0, "Property": 2, "PropertyValue": ""},
   {"OperatorType": 4, "Property": 3, "PropertyValue": "@OS_1@"},
   {"OperatorType": 0, "Property": 4, "PropertyValue": ""}]},
 {"MachineGroupId": 16, "Name": "essos domain", "Description": "", "AutoRemediationLevel": 1, "Priority": 2,
  "LastUpdated": "2025-02-18T12:09:38.9833333Z", "IsUnassignedMachineGroup": false, "MachineCount": 0,
  "GroupRules": [
   {"OperatorType": 0, "Property": 0, "PropertyValue": ""},
   {"OperatorType": 3, "Property": 1, "PropertyValue": "essos"},
   {"OperatorType": 0, "Property": 2, "PropertyValue": ""},
   {"OperatorType": 4, "Property": 3, "PropertyValue": "@OS_2@"},
   {"OperatorType": 0, "Property": 4, "PropertyValue": ""}]},
 {"MachineGroupId": 105, "Name": "alextesting", "Description": "", "AutoRemediationLevel": 2, "Priority": 3,
  "LastUpdated": "2026-04-01T14:20:10.7433333Z", "IsUnassignedMachineGroup": false, "MachineCount": 0,
  "GroupRules": [
   {"OperatorType": 0, "Property": 0, "PropertyValue": "lara"},
   {"OperatorType": 0, "Property": 0, "PropertyValue": "black"},
   {"OperatorType": 0, "Property": 1, "PropertyValue": ""},
   {"OperatorType": 0, "Property": 2, "PropertyValue": ""},
   {"OperatorType": 0, "Property": 3, "PropertyValue": ""},
   {"OperatorType": 0, "Property": 4, "PropertyValue": ""}]},
 {"MachineGroupId": 13, "Name": "", "Description": "", "AutoRemediationLevel": 3, "Priority": 2147483647,
  "LastUpdated": "2025-02-18T10:09:50.7966667Z", "IsUnassignedMachineGroup": true, "MachineCount": 0}
]
"""
# The two OS rule values, too long for one source line, are put back into the text verbatim (JSON-in-string).
_OS_1 = (r'[\"WindowsServer2019\",\"WindowsServer2016\",\"WindowsServer2012R2\",\"WindowsServer2008R2\",'
         r'\"WindowsServer2025\",\"WindowsServer2022\"]')
_OS_2 = (r'[\"WindowsServer2022\",\"WindowsServer2025\",\"WindowsServer2019\",\"WindowsServer2016\",'
         r'\"WindowsServer2012R2\",\"WindowsServer2008R2\"]')
FIXTURE: list[dict[str, Any]] = json.loads(FIXTURE_TEXT.replace("@OS_1@", _OS_1).replace("@OS_2@", _OS_2))
FIXTURE_KEYS = ["MachineGroupId", "Name", "Description", "AutoRemediationLevel", "Priority", "LastUpdated",
                "IsUnassignedMachineGroup", "MachineCount", "GroupRules"]
SEED_NAMES = [" sevenkingdoms domain", "essos domain", "alextesting", "Tier0 servers", "Workstations", ""]


def placeholder_rules(**values: str) -> list[dict[str, Any]]:
    """One row per property 0..4, as every source sends them; ``values`` maps name/domain/tag to a value."""
    index = {"name": 0, "domain": 1, "tag": 2}
    rows = [{"OperatorType": 0, "Property": p, "PropertyValue": ""} for p in range(5)]
    for key, value in values.items():
        rows[index[key]] = {"OperatorType": 2, "Property": index[key], "PropertyValue": value}
    return rows


def new_group(name: str, priority: int, **fields: Any) -> dict[str, Any]:
    """NMC's create object (docs/wire/defender-portal.md §2.5, as JSON)."""
    group = {
        "MachineGroupId": -1, "Name": name, "Description": name, "AutoRemediationLevel": 3, "Priority": priority,
        "IsUnassignedMachineGroup": False, "MachineCount": 0, "LastUpdated": "2024-11-01T00:00:00.000Z",
        "GroupRules": placeholder_rules(tag="Privileged"), "MachineGroupAssignments": [], "OldMachineGroupId": None,
    }
    group.update(fields)
    return group


@pytest.fixture
def tenant() -> FakeTenant:
    t = FakeTenant()
    t.portal.clock = lambda: NOW
    return t


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


def get(client: httpx.Client, url: str = URL, **kwargs: Any) -> httpx.Response:
    return client.get(url, params=kwargs.pop("params", GET_PARAMS), **kwargs)


def items(client: httpx.Client) -> list[dict[str, Any]]:
    response = get(client)
    assert response.status_code == 200, response.text
    result: list[dict[str, Any]] = response.json()["items"]
    return result


def put(client: httpx.Client, body: Any, url: str = URL, **kwargs: Any) -> httpx.Response:
    return client.put(url, content=json.dumps(body).encode(), headers={"Content-Type": "application/json",
                                                                        **kwargs.pop("headers", {})}, **kwargs)


def with_new(groups: list[dict[str, Any]], *new: dict[str, Any]) -> list[dict[str, Any]]:
    # NMC appends the new group after every existing item, the ungrouped one included.
    return [*groups, *new]


def message(response: httpx.Response) -> str:
    return str(response.json()["Message"])


# -- GET --------------------------------------------------------------------------------------------------------------

def test_get_matches_the_fixture_capture(client: httpx.Client, tenant: FakeTenant) -> None:
    response = get(client)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/json")
    payload = response.json()
    assert list(payload) == ["items", "containsAadGroupNames", "containsMachineGroupCount"]
    assert payload["containsAadGroupNames"] is True and payload["containsMachineGroupCount"] is False
    groups = payload["items"]
    assert [g["Name"] for g in groups] == SEED_NAMES
    assert groups[:3] == FIXTURE[:3] and groups[-1] == FIXTURE[3]
    for group in groups[:3]:
        assert list(group) == FIXTURE_KEYS  # PascalCase keys in the captured order
        assert [list(r) for r in group["GroupRules"]] == [["OperatorType", "Property", "PropertyValue"]] * len(
            group["GroupRules"])
    ungrouped = groups[-1]
    assert "GroupRules" not in ungrouped and ungrouped["IsUnassignedMachineGroup"] is True
    assert ungrouped["Priority"] == UNGROUPED and ungrouped["Name"] == ""
    assert all(re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{7}Z", g["LastUpdated"]) for g in groups)
    assert [g["Priority"] for g in groups] == [1, 2, 3, 4, 5, UNGROUPED]
    assert tenant.log.operations("portal") == ["GET machine_groups"]
    assert tenant.portal.last_get_body == response.content


def test_seed_has_entra_assignments_an_os_rule_and_fields_no_source_shows(client: httpx.Client) -> None:
    by_name = {g["Name"]: g for g in items(client)}
    tier0 = by_name["Tier0 servers"]
    assert tier0["MachineGroupAssignments"][0] == {"WcdAadGroup": {"ObjectId": TIER0_ADMINS_ID,
                                                                   "DisplayName": "Tier0 Admins"}}
    os_rows = [r for r in by_name["Workstations"]["GroupRules"] if r["Property"] == 3]
    assert os_rows == [{"OperatorType": 4, "Property": 3, "PropertyValue": '["Windows11","Windows10","macOS"]'}]
    assert json.loads(os_rows[0]["PropertyValue"]) == ["Windows11", "Windows10", "macOS"]
    workstations = by_name["Workstations"]
    assert workstations["OldMachineGroupId"] is None and workstations["DeviceValueScope"] == "Standard"
    assert list(workstations)[-2:] == ["OldMachineGroupId", "DeviceValueScope"]  # unknown keys after known ones


def test_get_flags_are_echoed_and_counts_come_only_when_asked(client: httpx.Client) -> None:
    plain = get(client, params={"addAadGroupNames": "false", "addMachineGroupCount": "false"}).json()
    assert plain["containsAadGroupNames"] is False and plain["containsMachineGroupCount"] is False
    assert {g["MachineCount"] for g in plain["items"]} == {0}
    # The same names either way (the notes don't say what addAadGroupNames=false leaves out).
    assert plain["items"][3]["MachineGroupAssignments"][0]["WcdAadGroup"]["DisplayName"] == "Tier0 Admins"
    counted = get(client, params={"addAadGroupNames": "True", "addMachineGroupCount": "TRUE"}).json()
    assert counted["containsMachineGroupCount"] is True
    assert sum(g["MachineCount"] for g in counted["items"]) > 0
    bare = get(client, params={}).json()
    assert bare["containsAadGroupNames"] is False and bare["containsMachineGroupCount"] is False
    bad = get(client, params={"addAadGroupNames": "yes"})
    assert bad.status_code == 400 and "addAadGroupNames" in message(bad)


def test_other_paths_and_verbs(client: httpx.Client, tenant: FakeTenant) -> None:
    assert client.get(f"{PORTAL}/apiproxy/mtp/rbacManagementApi/rbac/aad_groups").status_code == 404
    deleted = client.delete(URL)
    assert deleted.status_code == 405 and deleted.headers["allow"] == "GET, PUT"
    assert client.post(URL, json=[]).status_code == 405
    # The route is case-insensitive and tolerates a trailing slash.
    assert client.get(f"{PORTAL}{PATH.lower()}/", params=GET_PARAMS).status_code == 200
    assert tenant.log.operations("portal") == ["GET aad_groups", "DELETE machine_groups", "POST machine_groups",
                                               "GET machine_groups"]


# -- PUT: whole-collection replace ------------------------------------------------------------------------------------

def test_put_of_the_unchanged_collection_changes_nothing(client: httpx.Client, tenant: FakeTenant) -> None:
    before = items(client)
    response = put(client, before)
    assert response.status_code == 200
    assert list(response.json()) == ["items"]
    assert response.json()["items"] == before
    assert items(client) == before  # LastUpdated kept on unchanged groups
    assert tenant.portal.put_bodies == [json.dumps(before).encode()]
    assert tenant.log.operations("portal") == ["GET machine_groups", "PUT machine_groups", "GET machine_groups"]


def test_create_assigns_an_id_and_orders_by_priority(client: httpx.Client, tenant: FakeTenant) -> None:
    before = items(client)
    priority = before[-2]["Priority"] + 1  # NMC: Priority[-2] + 1
    response = put(client, with_new(before, new_group("Privileged Servers", priority)))
    assert response.status_code == 200, response.text
    created = next(g for g in response.json()["items"] if g["Name"] == "Privileged Servers")
    assert created["MachineGroupId"] == 108  # next after the highest existing id
    assert created["LastUpdated"] == NOW_WIRE and created["MachineCount"] == 0
    assert created["OldMachineGroupId"] is None and created["MachineGroupAssignments"] == []
    after = items(client)
    assert [g["Name"] for g in after] == [*SEED_NAMES[:-1], "Privileged Servers", ""]  # ungrouped still last
    assert after[:-2] == before[:-1] and after[-1] == before[-1]
    # A second create, one at a time, gets the next id.
    again = put(client, with_new(after, new_group("Second", priority + 1)))
    assert next(g for g in again.json()["items"] if g["Name"] == "Second")["MachineGroupId"] == 109


def test_xdri_priority_zero_when_only_the_ungrouped_group_exists(client: httpx.Client, tenant: FakeTenant) -> None:
    ungrouped = items(client)[-1]
    assert put(client, [ungrouped]).status_code == 200  # delete every real group
    response = put(client, [ungrouped, new_group("Only", 0)])
    assert response.status_code == 200
    assert [g["Name"] for g in items(client)] == ["Only", ""]


def test_update_stamps_only_the_changed_group(client: httpx.Client) -> None:
    before = items(client)
    changed = copy.deepcopy(before)
    changed[1]["AutoRemediationLevel"] = 3
    changed[1]["LastUpdated"] = "1999-01-01T00:00:00.0000000Z"  # server-owned: ignored
    changed[1]["MachineCount"] = 99  # server-owned: ignored
    assert put(client, changed).status_code == 200
    after = items(client)
    assert after[1]["AutoRemediationLevel"] == 3 and after[1]["LastUpdated"] == NOW_WIRE
    assert after[1]["MachineCount"] == 0
    assert [g for i, g in enumerate(after) if i != 1] == [g for i, g in enumerate(before) if i != 1]


def test_delete_is_the_group_left_out(client: httpx.Client, tenant: FakeTenant) -> None:
    before = items(client)
    assert put(client, [g for g in before if g["Name"] != "alextesting"]).status_code == 200
    assert "alextesting" not in [g["Name"] for g in items(client)]
    assert tenant.portal.group(105) is None


def test_reorder_by_priorities(client: httpx.Client) -> None:
    groups = items(client)
    groups[0]["Priority"], groups[1]["Priority"] = groups[1]["Priority"], groups[0]["Priority"]
    assert put(client, groups).status_code == 200
    after = items(client)
    assert [g["Name"] for g in after[:2]] == ["essos domain", " sevenkingdoms domain"]
    assert after[0]["LastUpdated"] == after[1]["LastUpdated"] == NOW_WIRE


def test_two_new_groups_in_one_put_fail_and_apply_nothing(client: httpx.Client, tenant: FakeTenant) -> None:
    before = items(client)
    response = put(client, with_new(before, new_group("A", 6), new_group("B", 7)))
    assert response.status_code == 500
    assert message(response) == "An error has occurred."
    assert items(client) == before
    assert "set-cookie" not in response.headers


def test_opaque_ints_are_accepted_and_round_trip(client: httpx.Client) -> None:
    # docs/wire/defender-portal.md §3.1/§3.4: no mapping is known, so any int goes (e.g. a core-folders level that may
    # be 4).
    odd_rules = [{"OperatorType": 7, "Property": 9, "PropertyValue": "x"}, *placeholder_rules()]
    body = with_new(items(client), new_group("Odd", 6, AutoRemediationLevel=4, GroupRules=odd_rules))
    assert put(client, body).status_code == 200
    odd = next(g for g in items(client) if g["Name"] == "Odd")
    assert odd["AutoRemediationLevel"] == 4 and odd["GroupRules"] == odd_rules


# -- PUT: unknown keys -------------------------------------------------------------------------------------------------

def test_unknown_keys_round_trip_and_are_lost_when_a_client_drops_them(client: httpx.Client,
                                                                       tenant: FakeTenant) -> None:
    tenant.portal.edit_group("essos domain", FutureFlag={"nested": [1, 2]})
    groups = items(client)
    assert groups[1]["FutureFlag"] == {"nested": [1, 2]}
    groups[1]["Description"] = "changed"
    assert put(client, groups).status_code == 200
    after = items(client)
    assert after[1]["FutureFlag"] == {"nested": [1, 2]}
    workstations = next(g for g in after if g["Name"] == "Workstations")
    assert workstations["DeviceValueScope"] == "Standard"
    # A client that rebuilds groups from the keys it knows loses the others: the fake does not invent them back.
    known = ("MachineGroupId", "Name", "Description", "AutoRemediationLevel", "Priority", "IsUnassignedMachineGroup",
             "GroupRules", "MachineGroupAssignments")
    stripped = [{k: v for k, v in g.items() if k in known} for g in after]
    assert put(client, stripped).status_code == 200
    stored = tenant.portal.group("workstations")
    assert stored is not None and "DeviceValueScope" not in stored


def test_unmanaged_groups_can_be_compared_byte_for_byte(client: httpx.Client, tenant: FakeTenant) -> None:
    get_body = get(client).content
    groups = json.loads(get_body)["items"]
    assert put(client, groups).status_code == 200
    sent = json.loads(tenant.portal.put_bodies[-1])
    received = json.loads(tenant.portal.get_bodies[-1])["items"]
    assert [json.dumps(g) for g in sent] == [json.dumps(g) for g in received]  # same keys, order and values


# -- PUT: validation -------------------------------------------------------------------------------------------------

def _mutate_ungrouped(groups: list[dict[str, Any]], change: str) -> list[dict[str, Any]]:
    ungrouped = groups[-1]
    if change == "omitted":
        return groups[:-1]
    if change == "priority":
        ungrouped["Priority"] = 7
    elif change == "rules":
        ungrouped["GroupRules"] = placeholder_rules()
    elif change == "empty rules":
        ungrouped["GroupRules"] = []
    elif change == "name":
        ungrouped["Name"] = "Ungrouped devices"
    elif change == "new id":
        ungrouped["MachineGroupId"] = -1
    elif change == "second ungrouped":
        groups[0]["IsUnassignedMachineGroup"] = True
    return groups


@pytest.mark.parametrize("change", ["omitted", "priority", "rules", "empty rules", "name", "new id",
                                    "second ungrouped"])
def test_ungrouped_group_is_protected(client: httpx.Client, change: str) -> None:
    before = items(client)
    response = put(client, _mutate_ungrouped(copy.deepcopy(before), change))
    assert response.status_code == 400, change
    assert "Ungrouped" in message(response) or "ungrouped" in message(response).lower()
    assert items(client) == before


def test_ungrouped_level_and_user_groups_may_change(client: httpx.Client) -> None:
    groups = items(client)
    groups[-1]["AutoRemediationLevel"] = 0
    groups[-1]["MachineGroupAssignments"] = [{"WcdAadGroup": {"ObjectId": TIER0_ADMINS_ID,
                                                              "DisplayName": "Tier0 Admins"}}]
    assert put(client, groups).status_code == 200
    ungrouped = items(client)[-1]
    assert ungrouped["AutoRemediationLevel"] == 0 and ungrouped["LastUpdated"] == NOW_WIRE
    assert ungrouped["MachineGroupAssignments"][0]["WcdAadGroup"]["ObjectId"] == TIER0_ADMINS_ID
    assert "GroupRules" not in ungrouped


def test_null_group_rules_on_the_ungrouped_group_mean_none(client: httpx.Client) -> None:
    groups = items(client)
    groups[-1]["GroupRules"] = None
    assert put(client, groups).status_code == 200
    assert "GroupRules" not in items(client)[-1]


def test_duplicate_priorities_names_and_empty_names_are_refused(client: httpx.Client) -> None:
    before = items(client)
    duplicate_rank = copy.deepcopy(before)
    duplicate_rank[1]["Priority"] = 1
    response = put(client, duplicate_rank)
    assert response.status_code == 400 and "rank" in message(response)
    reserved_rank = copy.deepcopy(before)
    reserved_rank[0]["Priority"] = UNGROUPED
    assert put(client, reserved_rank).status_code == 400
    assert put(client, with_new(before, new_group("ESSOS DOMAIN", 6))).status_code == 400  # case-insensitive
    assert put(client, with_new(before, new_group("  ", 6))).status_code == 400
    # A leading space makes a different name (the FIXTURE keeps " sevenkingdoms domain").
    assert put(client, with_new(before, new_group("sevenkingdoms domain", 6))).status_code == 200


def test_up_to_ten_values_per_name_domain_and_tag(client: httpx.Client) -> None:
    before = items(client)

    def rows(prop: int, count: int) -> list[dict[str, Any]]:
        values = [{"OperatorType": 0, "Property": prop, "PropertyValue": f"v{i}"} for i in range(count)]
        return values + [r for r in placeholder_rules() if r["Property"] != prop]

    for prop in (0, 1, 2):
        refused = put(client, with_new(before, new_group("Many", 6, GroupRules=rows(prop, 11))))
        assert refused.status_code == 400, prop
        assert "up to 10" in message(refused)
    # Empty placeholder rows don't count; OS (3) is one JSON-list row and not limited by DOC-MG.
    many_empty = placeholder_rules() + [{"OperatorType": 0, "Property": 2, "PropertyValue": ""}] * 12
    assert put(client, with_new(before, new_group("Empties", 6, GroupRules=many_empty))).status_code == 200
    after = items(client)
    assert put(client, with_new(after, new_group("Ten", 7, GroupRules=rows(2, 10)))).status_code == 200
    assert put(client, with_new(items(client), new_group("OS", 8, GroupRules=rows(3, 11)))).status_code == 200


@pytest.mark.parametrize(("body", "fragment"), [
    ({"items": []}, "JSON array"),
    ([1], "not an object"),
    ([{"Name": "x"}], "MachineGroupId"),
    ([{"MachineGroupId": "15", "Name": "x", "Priority": 1, "AutoRemediationLevel": 1,
       "IsUnassignedMachineGroup": False}], "MachineGroupId"),
    ([{"MachineGroupId": 15, "Name": "x", "Priority": True, "AutoRemediationLevel": 1,
       "IsUnassignedMachineGroup": False}], "Priority"),
    ([{"MachineGroupId": 15, "Name": None, "Priority": 1, "AutoRemediationLevel": 1,
       "IsUnassignedMachineGroup": False}], "Name"),
    ([{"MachineGroupId": 15, "Name": "x", "Priority": 1, "AutoRemediationLevel": 1}], "IsUnassignedMachineGroup"),
])
def test_malformed_bodies_are_400(client: httpx.Client, body: Any, fragment: str) -> None:
    before = items(client)
    response = put(client, body)
    assert response.status_code == 400
    assert fragment in message(response)
    assert items(client) == before


def test_bad_json_unknown_ids_duplicates_rules_and_assignments(client: httpx.Client) -> None:
    before = items(client)
    raw = client.put(URL, content=b"[{", headers={"Content-Type": "application/json"})
    assert raw.status_code == 400 and "JSON" in message(raw)
    unknown = copy.deepcopy(before)
    unknown[0]["MachineGroupId"] = 4242
    assert "4242" in message(put(client, unknown))
    assert put(client, [*before, before[0]]).status_code == 400  # the same group twice
    bad_rules = copy.deepcopy(before)
    bad_rules[0]["GroupRules"][0]["Property"] = "0"
    assert put(client, bad_rules).status_code == 400
    no_rules = copy.deepcopy(before)
    del no_rules[0]["GroupRules"]
    assert put(client, no_rules).status_code == 400
    bad_assignment = copy.deepcopy(before)
    bad_assignment[0]["MachineGroupAssignments"] = [{"WcdAadGroup": {"DisplayName": "Tier0 Admins"}}]
    assert "ObjectId" in message(put(client, bad_assignment))
    assert items(client) == before


# -- propagation delay ------------------------------------------------------------------------------------------------

def test_propagation_delay_serves_the_old_collection_for_n_reads(client: httpx.Client, tenant: FakeTenant) -> None:
    tenant.portal.propagation_reads = 2
    before = items(client)
    response = put(client, with_new(before, new_group("Late", 6)))
    assert any(g["Name"] == "Late" for g in response.json()["items"])  # the PUT's answer is the new state
    assert items(client) == before
    assert items(client) == before
    assert "Late" in [g["Name"] for g in items(client)]
    assert tenant.portal.group("Late") is not None  # the helpers see the true state at once


def test_writing_from_a_stale_read_loses_the_earlier_create(client: httpx.Client, tenant: FakeTenant) -> None:
    # Why NMC sleeps 15 s and re-reads before each create: a whole-collection PUT built on a stale GET undoes the
    # write that hasn't propagated yet.
    tenant.portal.propagation_reads = 1
    before = items(client)
    assert put(client, with_new(before, new_group("First", 6))).status_code == 200
    stale = items(client)
    assert "First" not in [g["Name"] for g in stale]
    assert put(client, with_new(stale, new_group("Second", 6))).status_code == 200
    names = [g["Name"] for g in tenant.portal.groups()]
    assert "Second" in names and "First" not in names


def test_propagation_delay_survives_a_state_round_trip(tenant: FakeTenant) -> None:
    tenant.portal.propagation_reads = 1
    with portal_client(tenant) as client:
        before = items(client)
        put(client, with_new(before, new_group("Late", 6)))
    restored = FakeTenant()
    restored.load_state(json.loads(json.dumps(tenant.to_state())))
    with portal_client(restored) as client:
        assert items(client) == before
        assert "Late" in [g["Name"] for g in items(client)]


# -- session: cookies and XSRF ---------------------------------------------------------------------------------------

@pytest.fixture
def strict(tenant: FakeTenant) -> PortalFake:
    tenant.portal.allow_anonymous = False
    return tenant.portal


def test_xsrf_cookie_is_url_encoded_and_differs_from_the_header_value(strict: PortalFake) -> None:
    assert strict.xsrf_cookie != strict.xsrf_token
    assert strict.xsrf_token.endswith("==") and strict.xsrf_cookie.endswith("%3D%3D")
    assert strict.session_headers() == {"Cookie": f"sccauth={strict.sccauth}; XSRF-TOKEN={strict.xsrf_cookie}",
                                        "X-XSRF-TOKEN": strict.xsrf_token}


def test_session_with_decoded_header_is_served(client: httpx.Client, strict: PortalFake, tenant: FakeTenant) -> None:
    response = get(client, headers=strict.session_headers())
    assert response.status_code == 200
    assert tenant.log.entries[-1].cookie == strict.cookie_header()  # the cookie reached the fake


def test_undecoded_or_missing_xsrf_header_is_500(client: httpx.Client, strict: PortalFake) -> None:
    cookie = {"Cookie": strict.cookie_header()}
    undecoded = get(client, headers={**cookie, "X-XSRF-TOKEN": strict.xsrf_cookie})
    assert undecoded.status_code == 500 and message(undecoded) == "An error has occurred."
    assert get(client, headers=cookie).status_code == 500
    assert get(client, headers={"Cookie": f"sccauth={strict.sccauth}",
                                "X-XSRF-TOKEN": strict.xsrf_token}).status_code == 500
    wrong = put(client, items_with(client, strict), headers={**cookie, "X-XSRF-TOKEN": "nope"})
    assert wrong.status_code == 500


def items_with(client: httpx.Client, portal: PortalFake) -> list[dict[str, Any]]:
    response = get(client, headers=portal.session_headers())
    assert response.status_code == 200, response.text
    result: list[dict[str, Any]] = response.json()["items"]
    return result


def test_reads_without_xsrf_when_switched_off(client: httpx.Client, strict: PortalFake) -> None:
    strict.check_xsrf_on_reads = False
    assert get(client, headers={"Cookie": f"sccauth={strict.sccauth}"}).status_code == 200
    assert put(client, [], headers={"Cookie": f"sccauth={strict.sccauth}"}).status_code == 500


def test_missing_or_unknown_sccauth_is_401(client: httpx.Client, strict: PortalFake) -> None:
    assert get(client).status_code == 401  # no cookies, anonymous not allowed
    unknown = get(client, headers={"Cookie": f"sccauth=forged; XSRF-TOKEN={strict.xsrf_cookie}",
                                   "X-XSRF-TOKEN": strict.xsrf_token})
    assert unknown.status_code == 401 and unknown.json() == {"Message": "Authorization has been denied for this "
                                                                        "request."}
    assert get(client, headers={"Cookie": f"XSRF-TOKEN={strict.xsrf_cookie}",
                                "X-XSRF-TOKEN": strict.xsrf_token}).status_code == 401
    old = strict.session_headers()
    strict.new_session()
    assert get(client, headers=old).status_code == 401
    assert get(client, headers=strict.session_headers()).status_code == 200


def test_expired_session_is_440_with_the_sign_in_page(client: httpx.Client, strict: PortalFake) -> None:
    headers = strict.session_headers()
    strict.expire_session()
    response = get(client, headers=headers)
    assert response.status_code == 440
    assert response.headers["content-type"].startswith("text/html")
    # What XDRI's Get-XdrHttpFailureClass reads as AuthExpired.
    assert re.search(r"interactive sign.?in|sign in to your account|login\.microsoftonline\.com", response.text,
                     re.IGNORECASE)
    strict.new_session()
    assert get(client, headers=strict.session_headers()).status_code == 200
    assert get(client, headers=headers).status_code == 440  # the expired cookie stays expired


def test_forbidden_role_is_a_403_that_does_not_look_like_reauth(client: httpx.Client, strict: PortalFake,
                                                                 tenant: FakeTenant) -> None:
    strict.forbid()
    response = get(client, headers=strict.session_headers())
    assert response.status_code == 403
    assert not re.search(r"xsrf|csrf|session|token|expired|sign.?in|login", response.text, re.IGNORECASE)
    strict.forbid(writes_only=True)
    groups = items_with(client, strict)
    assert put(client, groups, headers=strict.session_headers()).status_code == 403
    strict.permit()
    assert put(client, groups, headers=strict.session_headers()).status_code == 200
    # Anonymous (emulator) requests see the role check too. (The PUT's Set-Cookie landed in the client's jar, and a
    # request carrying any cookie is validated, so drop it first.)
    client.cookies.clear()
    tenant.portal.allow_anonymous = True
    strict.forbid()
    assert get(client).status_code == 403


def test_put_rotates_the_xsrf_token_through_set_cookie(client: httpx.Client, strict: PortalFake) -> None:
    old_headers = strict.session_headers()
    old_token = strict.xsrf_token
    groups = items_with(client, strict)
    assert "set-cookie" not in get(client, headers=old_headers).headers  # reads don't rotate
    response = put(client, groups, headers=old_headers)
    assert response.status_code == 200
    cookies = response.headers.get_list("set-cookie")
    assert len(cookies) == 1
    match = re.fullmatch(r"XSRF-TOKEN=([^;]+); path=/; secure; samesite=strict", cookies[0])
    assert match is not None
    new_cookie = match.group(1)
    assert new_cookie == strict.xsrf_cookie and strict.xsrf_token != old_token
    assert "%" in new_cookie  # URL-encoded in the cookie
    assert get(client, headers=old_headers).status_code == 500  # the old token is refused at once
    new_headers = {"Cookie": f"sccauth={strict.sccauth}; XSRF-TOKEN={new_cookie}",
                   "X-XSRF-TOKEN": unquote(new_cookie)}  # the header carries the URL-decoded cookie
    assert get(client, headers=new_headers).status_code == 200
    # A failed PUT does not rotate.
    refused = put(client, groups[:-1], headers=new_headers)
    assert refused.status_code == 400 and "set-cookie" not in refused.headers


def test_httpx_cookie_jar_follows_the_rotation(tenant: FakeTenant, strict: PortalFake) -> None:
    # The Set-Cookie reaches httpx's cookie jar through respx, so a client that reads the jar before each request
    # (XLR Update-XsrfToken) keeps working.
    with portal_client(tenant) as client:
        client.cookies.set("sccauth", strict.sccauth, domain="security.microsoft.com")
        client.cookies.set("XSRF-TOKEN", strict.xsrf_cookie, domain="security.microsoft.com")

        def header() -> dict[str, str]:
            return {"X-XSRF-TOKEN": unquote(client.cookies["XSRF-TOKEN"])}

        groups = get(client, headers=header()).json()["items"]
        assert put(client, groups, headers=header()).status_code == 200
        assert client.cookies["XSRF-TOKEN"] == strict.xsrf_cookie
        assert get(client, headers=header()).status_code == 200


def test_time_based_rotation_is_announced_on_the_next_response(client: httpx.Client, strict: PortalFake) -> None:
    old_headers = strict.session_headers()
    new_token = strict.rotate_xsrf()
    first = get(client, headers=old_headers)  # the old token still works once, and the answer announces the new
    assert first.status_code == 200
    assert first.headers["set-cookie"].startswith(f"XSRF-TOKEN={strict.xsrf_cookie};")
    assert strict.xsrf_token == new_token
    assert get(client, headers=old_headers).status_code == 500
    assert get(client, headers=strict.session_headers()).status_code == 200


def test_anonymous_requests_are_served_but_cookies_are_always_checked(client: httpx.Client,
                                                                      tenant: FakeTenant) -> None:
    assert tenant.portal.allow_anonymous is True
    groups = items(client)
    response = put(client, groups)
    assert response.status_code == 200 and "set-cookie" not in response.headers  # no session, nothing to rotate
    assert get(client, headers={"Cookie": "sccauth=placeholder"}).status_code == 401
    assert get(client, headers={"Cookie": tenant.portal.cookie_header()}).status_code == 500  # no XSRF header
    # No bearer token is needed or checked for the portal.
    assert get(client, headers={"Authorization": "Bearer whatever"}).status_code == 200


def test_cookie_names_are_case_insensitive_and_joined_headers_parse(client: httpx.Client,
                                                                    strict: PortalFake) -> None:
    headers = {"Cookie": f"SCCAUTH={strict.sccauth}, xsrf-token={strict.xsrf_cookie}",
               "X-XSRF-TOKEN": strict.xsrf_token}
    assert get(client, headers=headers).status_code == 200


# -- faults, state, helpers ------------------------------------------------------------------------------------------

def test_throttled_put_applies_nothing(client: httpx.Client, tenant: FakeTenant) -> None:
    tenant.faults.throttle("portal", "PUT machine_groups", retry_after=4)
    before = items(client)
    response = put(client, with_new(before, new_group("Throttled", 6)))
    assert response.status_code == 429 and response.headers["retry-after"] == "4"
    assert items(client) == before
    assert tenant.portal.put_bodies == []  # the front door refused it; the fake never saw it
    assert put(client, with_new(before, new_group("Throttled", 6))).status_code == 200


def test_throttle_any_portal_request(client: httpx.Client, tenant: FakeTenant) -> None:
    tenant.faults.throttle("portal", times=2)
    assert get(client).status_code == 429
    assert get(client).status_code == 429
    assert get(client).status_code == 200


def test_timeout_after_the_write_was_applied(client: httpx.Client, tenant: FakeTenant) -> None:
    tenant.faults.drop("portal", "PUT machine_groups", after_apply=True)
    before = items(client)
    with pytest.raises(httpx.ReadTimeout):
        put(client, with_new(before, new_group("Applied", 6)))
    assert tenant.portal.group("Applied") is not None
    # Retrying the same create blindly makes a second group with the same name: refused as a duplicate name.
    assert put(client, with_new(items(client), new_group("Applied", 7))).status_code == 400


def test_state_round_trip(tenant: FakeTenant) -> None:
    with portal_client(tenant) as client:
        assert put(client, with_new(items(client), new_group("Kept", 6))).status_code == 200
    state = json.loads(json.dumps(tenant.to_state()))
    assert "sccauth" not in json.dumps(state["portal"])  # the session is not tenant state
    restored = FakeTenant()
    restored.load_state(state)
    assert restored.portal.groups() == tenant.portal.groups()
    with portal_client(restored) as other:
        assert put(other, with_new(items(other), new_group("Next", 7))).status_code == 200
    assert restored.portal.group("Next")["MachineGroupId"] == 109  # type: ignore[index]


def test_state_file_keeps_device_groups(tmp_path: Any) -> None:
    state_file = tmp_path / "tenant.json"
    first = FakeTenant(state_file=state_file)
    with portal_client(first) as client:
        assert put(client, with_new(items(client), new_group("Persisted", 6))).status_code == 200
    second = FakeTenant(state_file=state_file)
    assert second.portal.group("Persisted") is not None


def test_helpers(tenant: FakeTenant, client: httpx.Client) -> None:
    portal = tenant.portal
    copies = portal.groups()
    copies[0]["Name"] = "mutated"
    assert portal.groups()[0]["Name"] == " sevenkingdoms domain"  # deep copies
    assert portal.group(" SEVENKINGDOMS domain") == portal.group(15) == portal.group("15")
    assert portal.group("sevenkingdoms domain") is None  # the leading space is part of the name
    assert portal.group("")["IsUnassignedMachineGroup"] is True  # type: ignore[index]
    edited = portal.edit_group(16, AutoRemediationLevel=0)
    assert edited["AutoRemediationLevel"] == 0 and edited["LastUpdated"] == NOW_WIRE
    added = [portal.add_group(Name=f"Bulk {i}") for i in range(20)]
    assert [g["Priority"] for g in added] == list(range(6, 26))
    assert len({g["MachineGroupId"] for g in added}) == 20
    listed = items(client)
    assert len(listed) == 26 and listed[-1]["Name"] == ""
    assert portal.remove_group("Bulk 0") and not portal.remove_group("Bulk 0")
    with pytest.raises(KeyError):
        portal.edit_group("nope", Name="x")
    with pytest.raises(ValueError):
        portal.add_group(Description="no name")
    with pytest.raises(ValueError):
        portal.add_group(Name="dup id", MachineGroupId=15)


def test_recorded_bodies_are_bounded(tenant: FakeTenant, client: httpx.Client) -> None:
    tenant.portal.max_recorded_bodies = 3
    for _ in range(5):
        items(client)
    assert len(tenant.portal.get_bodies) == 3


def test_concurrent_writers_are_serialized(tenant: FakeTenant) -> None:
    # Each writer re-reads and appends one group; conflicting whole-collection PUTs may drop each other's group
    # (as on the real portal), but the fake never corrupts the collection.
    router = respx.Router(assert_all_called=False)
    mount(router, tenant)

    def create(i: int) -> int:
        with httpx.Client(transport=httpx.MockTransport(router.handler)) as client:
            groups = items(client)
            rank = max(g["Priority"] for g in groups if not g["IsUnassignedMachineGroup"]) + 1
            return put(client, with_new(groups, new_group(f"C{i}", rank))).status_code

    with ThreadPoolExecutor(max_workers=4) as pool:
        statuses = list(pool.map(create, range(8)))
    assert set(statuses) <= {200, 400}
    groups = tenant.portal.groups()
    assert groups[-1]["IsUnassignedMachineGroup"] is True
    ranks = [g["Priority"] for g in groups]
    assert ranks == sorted(ranks) and len(set(ranks)) == len(ranks)


# -- other entry points: government hosts, emulator base, emulator server --------------------------------------------

@pytest.mark.parametrize("host", ["https://security.microsoft.us", "https://security.apps.mil"])
def test_government_hosts(tenant: FakeTenant, client: httpx.Client, host: str) -> None:
    response = get(client, f"{host}{PATH}")
    assert response.status_code == 200 and len(response.json()["items"]) == 6


def test_emulator_base_through_respx(tenant: FakeTenant) -> None:
    with portal_client(tenant, emulator_base="http://emulator.test") as client:
        url = f"http://emulator.test/portal{PATH}"
        groups = items_at(client, url)
        response = put(client, with_new(groups, new_group("Via emulator", 6)), url)
        assert response.status_code == 200
    assert tenant.log.entries[-1].path == PATH


def items_at(client: httpx.Client, url: str, **kwargs: Any) -> list[dict[str, Any]]:
    response = get(client, url, **kwargs)
    assert response.status_code == 200, response.text
    result: list[dict[str, Any]] = response.json()["items"]
    return result


def test_emulator_server_passes_cookies_and_set_cookie(tenant: FakeTenant) -> None:
    portal = tenant.portal
    with EmulatorServer(tenant, port=0) as server, httpx.Client(timeout=10) as client:
        url = f"{server.url}/portal{PATH}"
        assert len(items_at(client, url)) == 6  # anonymous, as the contract's emulator allows
        portal.allow_anonymous = False
        assert get(client, url).status_code == 401
        groups = items_at(client, url, headers=portal.session_headers())
        assert tenant.log.entries[-1].cookie == portal.cookie_header()
        response = put(client, with_new(groups, new_group("Over a socket", 6)), url,
                       headers=portal.session_headers())
        assert response.status_code == 200
        # Over plain http the cookie is not marked secure, so a cookie jar sends it back to the emulator.
        assert response.headers["set-cookie"] == f"XSRF-TOKEN={portal.xsrf_cookie}; path=/; samesite=strict"
        assert client.cookies["XSRF-TOKEN"] == portal.xsrf_cookie
        expired = portal.session_headers()
        portal.expire_session()
        assert get(client, url, headers=expired).status_code == 440
        # Faults through the control surface.
        client.post(f"{server.url}/_emulator/faults", json={"kind": "throttle", "service": "portal",
                                                             "operation": "GET machine_groups", "retry_after": 2})
        portal.allow_anonymous = True
        client.cookies.clear()
        throttled = get(client, url)
        assert throttled.status_code == 429 and throttled.headers["retry-after"] == "2"
    assert portal.group("Over a socket") is not None


def test_portal_page_hands_out_the_current_xsrf_token(tenant: FakeTenant) -> None:
    """docs/wire/defender-portal.md §4.3: a GET of the portal page with the session cookies refreshes the XSRF-TOKEN
    cookie."""
    portal = tenant.portal
    stale_cookie = portal.xsrf_cookie
    with portal_client(tenant) as http:
        assert put(http, items(http), headers=portal.session_headers()).status_code == 200  # rotates the token
        refused = http.get(URL, headers={"Cookie": f"sccauth={portal.sccauth}; XSRF-TOKEN={stale_cookie}",
                                         "X-XSRF-TOKEN": unquote(stale_cookie)})
        assert refused.status_code == 500
        page = http.get("https://security.microsoft.com/", headers={"Cookie": f"sccauth={portal.sccauth}"})
        assert page.status_code == 200
        assert f"XSRF-TOKEN={portal.xsrf_cookie}" in page.headers["set-cookie"]
        assert http.get("https://security.microsoft.com/", headers={"Cookie": "sccauth=nope"}).status_code == 302
