"""Fault scenarios for device groups: each ends with the collection consistent and nothing lost."""

from __future__ import annotations

from typing import Any

import pytest

from defender_air_provider.core.errors import SessionExpired
from defender_air_provider.fakes.tenant import FakeTenant
from defender_air_provider.handlers import context
from defender_air_provider.handlers.device_group import DeviceGroupProvider
from tests.support import RecordingSleep

P = DeviceGroupProvider()


@pytest.fixture
def portal(portal_tenant: FakeTenant) -> FakeTenant:
    return portal_tenant


def props(name: str = "Tier 0 servers", **overrides: Any) -> dict[str, Any]:
    base: dict[str, Any] = {"display_name": name, "automation_level": "full", "rules": [], "user_groups": []}
    base.update(overrides)
    return base


def named(tenant: FakeTenant, name: str) -> list[dict[str, Any]]:
    return [g for g in tenant.portal.groups() if g["Name"] == name]


def test_429_and_503_are_survived(portal: FakeTenant) -> None:
    portal.faults.throttle("portal", "GET machine_groups", retry_after=2)
    portal.faults.unavailable("portal", "PUT machine_groups")
    P.create(props())
    assert len(named(portal, "Tier 0 servers")) == 1
    sleep = context.current().sleep
    assert isinstance(sleep, RecordingSleep) and 2.0 in sleep.waits


def test_put_that_times_out_after_it_was_applied_does_not_duplicate(portal: FakeTenant) -> None:
    portal.faults.drop("portal", "PUT machine_groups", after_apply=True)
    created = P.create(props())
    assert len(named(portal, "Tier 0 servers")) == 1
    assert created.id == str(named(portal, "Tier 0 servers")[0]["MachineGroupId"])
    assert portal.log.count("portal", "PUT machine_groups") == 1


def test_put_lost_with_propagation_delay_still_no_duplicate(portal: FakeTenant) -> None:
    portal.portal.propagation_reads = 2
    portal.faults.drop("portal", "PUT machine_groups", after_apply=True)
    P.create(props())
    assert len(named(portal, "Tier 0 servers")) == 1


def test_put_dropped_before_it_was_sent_is_retried(portal: FakeTenant) -> None:
    portal.faults.drop("portal", "PUT machine_groups")  # connection refused: nothing applied
    P.create(props())
    assert len(named(portal, "Tier 0 servers")) == 1


def test_session_expiry_mid_run_gives_the_procedure(portal: FakeTenant) -> None:
    created = P.create(props())
    assert created.outs is not None
    portal.portal.expire_session()
    with pytest.raises(SessionExpired) as err:
        P.update(created.id, created.outs, props(automation_level="none"))
    assert "pulumi config set --secret defender-air:portalSession" in str(err.value)
    assert portal.portal.group(int(created.id))["AutoRemediationLevel"] == 3  # type: ignore[index]


def test_xsrf_rotation_is_followed_across_writes(portal: FakeTenant) -> None:
    first_token = portal.portal.xsrf_token
    for i in range(3):
        P.create(props(f"Group {i}"))
    assert portal.portal.xsrf_token != first_token  # rotated by each PUT, and every later request used the new one
    assert all(len(named(portal, f"Group {i}")) == 1 for i in range(3))


def test_graph_throttling_is_survived(portal: FakeTenant) -> None:
    portal.faults.throttle("graph", None, retry_after=1)
    created = P.create(props(user_groups=["SOC Analysts"]))
    group = portal.portal.group(int(created.id))
    assert group is not None and len(group["MachineGroupAssignments"]) == 1
