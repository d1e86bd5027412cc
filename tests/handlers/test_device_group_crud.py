"""DeviceGroup / DefaultDeviceGroup against the stateful portal and Graph fakes (in-process, real hosts)."""

from __future__ import annotations

import json
import threading
from typing import Any

import pytest

from defender_air_provider.core.errors import DefenderAirError, SessionExpired
from defender_air_provider.fakes.tenant import FakeTenant
from defender_air_provider.handlers.device_group import DefaultDeviceGroupProvider, DeviceGroupProvider

P = DeviceGroupProvider()
D = DefaultDeviceGroupProvider()
TIER0_OS = ["WindowsServer2022", "WindowsServer2019"]


@pytest.fixture
def portal(portal_tenant: FakeTenant) -> FakeTenant:
    return portal_tenant


def outs(result: Any) -> dict[str, Any]:
    assert result.outs is not None
    return dict(result.outs)


def props(**overrides: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "display_name": "Tier 0 servers", "automation_level": "semi_all_folders",
        "description": "Domain controllers and PKI",
        "rules": [{"property": "tag", "operator": "equals", "value": "Tier0"},
                  {"property": "os", "operator": "in", "value": TIER0_OS}],
        "rank": None, "user_groups": [], "adopt_existing": False,
    }
    base.update(overrides)
    return base


def unmanaged_unchanged(tenant: FakeTenant, managed_ids: set[str]) -> None:
    """Every PUT sent every other group exactly as the GET before it returned it (same keys, order, values)."""
    read = {str(g["MachineGroupId"]): g for g in json.loads(tenant.portal.get_bodies[0])["items"]}
    for body in tenant.portal.put_bodies:
        for item in json.loads(body):
            gid = str(item["MachineGroupId"])
            if gid in managed_ids or gid == "-1" or gid not in read:
                continue
            assert json.dumps(item) == json.dumps(read[gid]), gid


def test_create_writes_one_group_and_keeps_the_others(portal: FakeTenant) -> None:
    before = portal.portal.groups()
    created = P.create(props())
    group = portal.portal.group(int(created.id))
    assert group is not None and group["Name"] == "Tier 0 servers" and group["AutoRemediationLevel"] == 1
    rows = group["GroupRules"]
    assert {"OperatorType": 2, "Property": 2, "PropertyValue": "Tier0"} in rows
    assert {"OperatorType": 4, "Property": 3, "PropertyValue": json.dumps(TIER0_OS, separators=(",", ":"))} in rows
    assert {r["Property"] for r in rows} == {0, 1, 2, 3, 4}  # placeholder rows for unused properties
    out = outs(created)
    assert out["group_id"] == created.id and out["rank"] == len(before) - 1 + 1  # last real group
    assert len(portal.portal.put_bodies) == 1
    unmanaged_unchanged(portal, {created.id})
    assert all(portal.portal.group(g["MachineGroupId"]) is not None for g in before)


def test_existing_name_needs_adopt_existing(portal: FakeTenant) -> None:
    with pytest.raises(DefenderAirError, match=r"already exists.*adopt_existing=True"):
        P.create(props(display_name="ESSOS DOMAIN"))
    assert portal.portal.put_bodies == []
    adopted = P.create(props(display_name="essos domain", adopt_existing=True))
    assert adopted.id == "16"
    assert portal.portal.group(16)["AutoRemediationLevel"] == 1  # type: ignore[index]


def test_rename_rank_level_and_refresh(portal: FakeTenant) -> None:
    created = P.create(props())
    state = outs(created)
    renamed = P.update(created.id, state, props(display_name="Tier zero servers", automation_level="full", rank=1))
    group = portal.portal.group(int(created.id))
    assert group is not None and group["Name"] == "Tier zero servers" and group["AutoRemediationLevel"] == 3
    assert outs(renamed)["rank"] == 1
    real = sorted((g for g in portal.portal.groups() if not g["IsUnassignedMachineGroup"]), key=lambda g: g["Priority"])
    assert str(real[0]["MachineGroupId"]) == created.id
    portal.portal.edit_group(int(created.id), AutoRemediationLevel=0)  # out-of-band edit in the portal
    read = P.read(created.id, outs(renamed))
    assert read.outs is not None and read.outs["automation_level"] == "none"
    assert P.diff(created.id, read.outs, props(display_name="Tier zero servers", automation_level="full",
                                               rank=1)).changes is True


def test_no_drift_after_create(portal: FakeTenant) -> None:
    created = P.create(props(user_groups=["SOC Analysts"]))
    read = P.read(created.id, outs(created))
    assert read.outs is not None
    assert P.diff(created.id, read.outs, props(user_groups=["SOC Analysts"])).changes is False


def test_user_groups_are_resolved_through_graph(portal: FakeTenant) -> None:
    created = P.create(props(user_groups=["SOC Analysts"]))
    group = portal.portal.group(int(created.id))
    assert group is not None
    (assignment,) = group["MachineGroupAssignments"]
    assert assignment["WcdAadGroup"]["DisplayName"] == "SOC Analysts"
    soc = next(g for g in portal.graph.groups() if g["displayName"] == "SOC Analysts")
    assert assignment["WcdAadGroup"]["ObjectId"] == soc["id"]


@pytest.mark.parametrize(("name", "message"), [("Contractors", "2 Entra groups have the display name"),
                                                ("Nobody", "no Entra group has the display name")])
def test_ambiguous_or_unknown_user_group_is_an_error_naming_it(portal: FakeTenant, name: str, message: str) -> None:
    with pytest.raises(DefenderAirError, match=message):
        P.create(props(user_groups=[name]))
    assert portal.portal.put_bodies == []


def test_delete_removes_only_that_group(portal: FakeTenant) -> None:
    created = P.create(props())
    others = [g["MachineGroupId"] for g in portal.portal.groups() if str(g["MachineGroupId"]) != created.id]
    P.delete(created.id, outs(created))
    assert portal.portal.group(int(created.id)) is None
    assert [g["MachineGroupId"] for g in portal.portal.groups()] == others
    unmanaged_unchanged(portal, {created.id})


def test_twenty_concurrent_creates(portal: FakeTenant) -> None:
    before = portal.portal.groups()
    errors: list[BaseException] = []

    def create(i: int) -> None:
        try:
            P.create(props(display_name=f"Group {i}", rules=[{"property": "name", "operator": "starts_with",
                                                              "value": f"srv{i}-"}]))
        except BaseException as exc:  # collected and asserted below
            errors.append(exc)

    threads = [threading.Thread(target=create, args=(i,)) for i in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    names = {g["Name"] for g in portal.portal.groups()}
    assert {f"Group {i}" for i in range(20)} <= names
    for body in portal.portal.put_bodies:
        assert sum(1 for item in json.loads(body) if item["MachineGroupId"] == -1) <= 1
    for group in before:
        assert portal.portal.group(group["MachineGroupId"]) == group or group["IsUnassignedMachineGroup"]


def test_propagation_delay_is_waited_out(portal: FakeTenant) -> None:
    portal.portal.propagation_reads = 3
    first = P.create(props(display_name="A"))
    second = P.create(props(display_name="B"))  # would delete A if it wrote on a stale read
    assert portal.portal.group(int(first.id)) is not None and portal.portal.group(int(second.id)) is not None


def test_expired_session_gives_the_procedure(portal: FakeTenant) -> None:
    portal.portal.expire_session()
    with pytest.raises(SessionExpired, match="sccauth and XSRF-TOKEN"):
        P.create(props())


def test_default_group_is_adopted_and_never_deleted(portal: FakeTenant) -> None:
    created = D.create({"automation_level": "full", "user_groups": ["Tier0 Admins"]})
    ungrouped = next(g for g in portal.portal.groups() if g["IsUnassignedMachineGroup"])
    assert created.id == str(ungrouped["MachineGroupId"])
    assert ungrouped["AutoRemediationLevel"] == 3 and ungrouped["Priority"] == 2147483647
    assert "GroupRules" not in ungrouped
    puts = len(portal.portal.put_bodies)
    D.delete(created.id, outs(created))
    assert len(portal.portal.put_bodies) == puts


def test_semi_core_folders_is_refused_before_any_call(portal: FakeTenant) -> None:
    with pytest.raises(DefenderAirError, match="no public source gives the portal's wire value"):
        P.create(props(automation_level="semi_core_folders"))
    assert portal.log.count() == 0
