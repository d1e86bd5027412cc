"""Device-group edge cases from review: stale views, needless writes, ranks, names, identity drift."""

from __future__ import annotations

import json
from typing import Any

import pytest

import pulumi_defender_air as air
from defender_air_provider.core.errors import DefenderAirError, OutcomeUnknown, ServiceError
from defender_air_provider.fakes.base import Fault
from defender_air_provider.fakes.tenant import FakeTenant
from defender_air_provider.handlers.device_group import DeviceGroupProvider
from tests.harness.engine import capture_registrations

P = DeviceGroupProvider()


def props(name: str = "Tier 0 servers", **overrides: Any) -> dict[str, Any]:
    base: dict[str, Any] = {"display_name": name, "automation_level": "full", "rules": [], "user_groups": []}
    base.update(overrides)
    return base


def outs(result: Any) -> dict[str, Any]:
    assert result.outs is not None
    return dict(result.outs)


def test_a_lost_put_that_stays_invisible_deletes_nothing_and_blocks_later_writes(portal_tenant: FakeTenant) -> None:
    portal_tenant.portal.propagation_reads = 100  # longer than the bounded wait
    portal_tenant.faults.drop("portal", "PUT machine_groups", after_apply=True)
    with pytest.raises(OutcomeUnknown, match="adopt_existing=True"):
        P.create(props("First"))
    assert portal_tenant.log.count("portal", "PUT machine_groups") == 1  # nothing more was sent
    with pytest.raises(ServiceError, match="earlier device-group change of this run is still not visible"):
        P.create(props("Second"))
    assert portal_tenant.log.count("portal", "PUT machine_groups") == 1  # no write on the outdated view
    assert [g["Name"] for g in portal_tenant.portal.groups()].count("First") == 1


def test_deleting_a_group_that_is_gone_sends_no_put(portal_tenant: FakeTenant) -> None:
    created = P.create(props())
    portal_tenant.portal.remove_group(int(created.id))
    puts = portal_tenant.log.count("portal", "PUT machine_groups")
    P.delete(created.id, outs(created))
    assert portal_tenant.log.count("portal", "PUT machine_groups") == puts


def test_a_rank_beyond_the_group_count_means_last_without_a_perpetual_diff(portal_tenant: FakeTenant) -> None:
    created = P.create(props(rank=50))
    real = [g for g in portal_tenant.portal.groups() if not g["IsUnassignedMachineGroup"]]
    assert outs(created)["rank"] == len(real)
    assert P.diff(created.id, outs(created), props(rank=50)).changes is False
    read = P.read(created.id, outs(created))
    assert P.diff(created.id, outs(read), props(rank=50)).changes is False


def test_a_500_on_a_create_put_is_not_resent_when_the_token_was_fine(portal_tenant: FakeTenant) -> None:
    portal_tenant.faults.add(Fault("status", "portal", "PUT machine_groups", 500, {"content-type": "application/json"},
                            b'{"Message": "An error has occurred."}'))
    with pytest.raises(ServiceError, match="HTTP 500"):
        P.create(props())
    assert portal_tenant.log.count("portal", "PUT machine_groups") == 1


def test_names_are_kept_as_written_and_compared_case_insensitively(portal_tenant: FakeTenant) -> None:
    adopted = P.create(props(" sevenkingdoms domain", adopt_existing=True))
    assert portal_tenant.portal.group(int(adopted.id))["Name"] == " sevenkingdoms domain"  # type: ignore[index]
    assert P.diff(adopted.id, outs(adopted), props(" SEVENKINGDOMS domain", adopt_existing=True)).changes is False


def test_a_user_group_recreated_under_the_same_name_shows_as_drift(portal_tenant: FakeTenant) -> None:
    created = P.create(props(user_groups=["Helpdesk"]))
    old_id = next(g["id"] for g in portal_tenant.graph.groups() if g["displayName"] == "Helpdesk")
    portal_tenant.graph.remove_group(old_id)
    new = portal_tenant.graph.add_group("Helpdesk")
    portal_tenant.portal.edit_group(int(created.id), MachineGroupAssignments=[
        {"WcdAadGroup": {"ObjectId": new["id"], "DisplayName": "Helpdesk"}}])
    read = P.read(created.id, outs(created))
    assert P.diff(created.id, outs(read), props(user_groups=["Helpdesk"])).changes is True


def test_unknown_level_reads_as_its_number_and_unmodelled_fields_survive_a_write(portal_tenant: FakeTenant) -> None:
    adopted = P.create(props("Workstations", adopt_existing=True, automation_level="none"))
    portal_tenant.portal.edit_group(int(adopted.id), AutoRemediationLevel=4)
    read = P.read(adopted.id, outs(adopted))
    assert outs(read)["automation_level"] == "4"
    P.update(adopted.id, outs(read), props("Workstations", automation_level="full"))
    group = portal_tenant.portal.group(int(adopted.id))
    assert group is not None and group["DeviceValueScope"] == "Standard" and group["AutoRemediationLevel"] == 3
    last_put = json.loads(portal_tenant.portal.put_bodies[-1])
    assert any("DeviceValueScope" in item for item in last_put)


def test_two_groups_claiming_one_rank_is_an_error_in_the_program() -> None:
    def program() -> None:
        air.DeviceGroup("a", display_name="A", automation_level="full", rank=1)
        air.DeviceGroup("b", display_name="B", automation_level="full", rank=1)

    with pytest.raises(Exception, match="claims the same rank 1 as DeviceGroup 'a'"):
        capture_registrations(program)


def test_delete_warns_about_email_notification_rules(portal_tenant: FakeTenant,
                                                     caplog: pytest.LogCaptureFixture) -> None:
    created = P.create(props())
    P.delete(created.id, outs(created))
    assert "email notification rules" in caplog.text


def test_update_after_an_out_of_band_delete_is_clear(portal_tenant: FakeTenant) -> None:
    created = P.create(props())
    portal_tenant.portal.remove_group(int(created.id))
    with pytest.raises(DefenderAirError, match="no longer exists in the portal"):
        P.update(created.id, outs(created), props(automation_level="none"))


def test_a_refresh_confirms_a_missing_group_with_an_uncached_read(portal_tenant: FakeTenant) -> None:
    created = P.create(props())
    portal_tenant.portal.remove_group(int(created.id))
    gets = portal_tenant.log.count("portal", "GET machine_groups")
    assert not P.read(created.id, outs(created)).id
    assert portal_tenant.log.count("portal", "GET machine_groups") >= gets + 1


def test_adopting_a_group_at_its_rank_keeps_sparse_priorities_and_sends_no_put(portal_tenant: FakeTenant) -> None:
    # The portal's Priority values need not be 1..n: a group already at the requested rank is left exactly as read
    # (re-placing it would renumber it and turn an adoption into a PUT).
    real = sorted((g for g in portal_tenant.portal.groups() if not g["IsUnassignedMachineGroup"]),
                  key=lambda g: g["Priority"])
    for position, group in enumerate(real, start=1):
        portal_tenant.portal.edit_group(group["MachineGroupId"], Priority=position * 10)
    live = P.read(str(real[1]["MachineGroupId"]), {}).inputs
    assert live is not None
    adopted = P.create({**live, "rank": 2, "adopt_existing": True})
    assert portal_tenant.log.count("portal", "PUT machine_groups") == 0
    assert outs(adopted)["rank"] == 2
    assert sorted(g["Priority"] for g in portal_tenant.portal.groups() if not g["IsUnassignedMachineGroup"]) == \
        [10 * i for i in range(1, len(real) + 1)]
