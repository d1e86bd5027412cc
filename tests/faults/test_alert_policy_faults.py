"""Fault scenarios for AlertPolicy: each ends with the tenant consistent and nothing lost."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from defender_air_provider.core.errors import DefenderAirError
from defender_air_provider.fakes.tenant import FakeTenant
from defender_air_provider.handlers import context
from defender_air_provider.handlers.alert_policy import AlertPolicyProvider
from tests.support import RecordingSleep

P = AlertPolicyProvider()


def custom(**overrides: Any) -> dict[str, Any]:
    base: dict[str, Any] = {"name": "Content search deleted", "enabled": True, "category": "Others",
                            "threat_type": "Activity", "operations": ["SearchRemoved"], "aggregation_type": "None",
                            "notify_users": ["secops@contoso.onmicrosoft.com"], "adopt_existing": False}
    base.update(overrides)
    return base


def named(tenant: FakeTenant, name: str) -> list[dict[str, Any]]:
    return [p for p in tenant.compliance.policies() if p["Name"] == name]


def test_429_and_503_are_survived(tenant: FakeTenant) -> None:
    tenant.faults.throttle("compliance", "Get-ProtectionAlert", retry_after=4)
    tenant.faults.unavailable("compliance", "New-ProtectionAlert")
    result = P.create(custom())
    assert len(named(tenant, "Content search deleted")) == 1 and result.id
    sleep = context.current().sleep
    assert isinstance(sleep, RecordingSleep) and 4.0 in sleep.waits


def test_404_after_create_is_waited_out(make_tenant: Callable[..., FakeTenant]) -> None:
    tenant = make_tenant()
    tenant.compliance.replication_lag_reads = 3
    result = P.create(custom())
    assert result.outs is not None and result.outs["policy_id"] == result.id
    # The policy is visible when create returns: an immediate refresh finds it.
    read = P.read(result.id, result.outs)
    assert read.id == result.id
    sleep = context.current().sleep
    assert isinstance(sleep, RecordingSleep) and len(sleep.waits) >= 3  # backoff between reads, no fixed sleep


def test_lost_answer_to_new_does_not_create_twice(tenant: FakeTenant) -> None:
    tenant.faults.drop("compliance", "New-ProtectionAlert", after_apply=True)
    result = P.create(custom())
    assert len(named(tenant, "Content search deleted")) == 1
    assert result.id == named(tenant, "Content search deleted")[0]["ImmutableId"]
    assert tenant.log.count("compliance", "New-ProtectionAlert") == 1


def test_lost_answer_to_new_with_replication_lag(tenant: FakeTenant) -> None:
    tenant.compliance.replication_lag_reads = 1
    tenant.faults.drop("compliance", "New-ProtectionAlert", after_apply=True)
    result = P.create(custom())  # the re-read misses it, the second New- says "already exists"
    assert len(named(tenant, "Content search deleted")) == 1 and result.id
    assert tenant.log.count("compliance", "New-ProtectionAlert") == 2


def test_a_lost_answer_never_takes_over_someone_elses_policy(tenant: FakeTenant) -> None:
    """New- is sent without reading first; when its answer is lost and a policy of that name turns up, it is ours only
    if it holds what was sent. Here it was there before (someone else's, another category): refused, nothing written."""
    tenant.compliance.add_custom(Name="Content search deleted", Category="ThreatManagement", ThreatType="Activity",
                                 Operation=["SearchRemoved"], AggregationType="None", Severity="Low",
                                 NotifyUser=["someone@contoso.onmicrosoft.com"])
    before = named(tenant, "Content search deleted")
    # The service refuses the taken name, and that answer is lost: to the provider the outcome is unknown.
    tenant.faults.drop("compliance", "New-ProtectionAlert", after_apply=True)
    with pytest.raises(DefenderAirError, match=r"got no answer.*not the one it sent \(category, notify_users differ\)"
                                               r".*Set adopt_existing=True"):
        P.create(custom())
    assert named(tenant, "Content search deleted") == before
    assert tenant.log.count("compliance", "Set-ProtectionAlert") == 0
    adopted = P.create(custom(adopt_existing=True))  # asked for: taken over and updated
    assert adopted.id == before[0]["ImmutableId"] and named(tenant, "Content search deleted")[0]["Category"] == "Others"


def test_lost_answer_to_remove_is_fine(tenant: FakeTenant) -> None:
    result = P.create(custom())
    assert result.outs is not None
    tenant.faults.drop("compliance", "Remove-ProtectionAlert", after_apply=True)
    P.delete(result.id, result.outs)
    assert named(tenant, "Content search deleted") == []


def test_expired_token_is_refreshed(tenant: FakeTenant) -> None:
    P.create(custom())
    tokens = context.current().tokens
    for _, token in getattr(tokens, "issued"):  # noqa: B009 - FakeTokenSource
        tenant.auth.revoke(token)
    P.create(custom(name="Another policy"))
    assert len(named(tenant, "Another policy")) == 1


# -- ignore_missing: only a successful read can show that the tenant lacks a built-in ------------------------------

MALWARE = "Email messages containing malware removed after delivery"
MALWARE_ID = "0179b3f7-3fda-40c3-8f24-278563978dbb"


def kept_built_in(**overrides: Any) -> dict[str, Any]:
    props: dict[str, Any] = {"name": MALWARE, "enabled": True, "notify_users": ["secops@contoso.onmicrosoft.com"],
                             "adopt_existing": False, "ignore_missing": True}
    props.update(overrides)
    return props


def fail_every_read(tenant: FakeTenant, status: int) -> None:
    context.current().alert_policies.invalidate()  # no list cached from an earlier call
    if status == 429:
        tenant.faults.throttle("compliance", "Get-ProtectionAlert", retry_after=2, times=1000)
    else:
        tenant.faults.unavailable("compliance", "Get-ProtectionAlert", status=status, times=1000)


@pytest.mark.parametrize("status", [429, 503])
@pytest.mark.parametrize("present", [True, False], ids=["present", "missing"])
def test_a_failed_read_is_an_error_never_present_false(tenant: FakeTenant, status: int, present: bool) -> None:
    if not present:
        tenant.compliance.remove_policy(MALWARE_ID)
    created = P.create(kept_built_in())
    assert created.outs is not None and created.outs["present"] is present
    fail_every_read(tenant, status)
    tenant.log.clear()
    with pytest.raises(DefenderAirError, match=r"AlertPolicy '.*' \(read\)"):
        P.read(created.id, created.outs)
    with pytest.raises(DefenderAirError, match=r"\(update\)"):
        P.update(created.id, created.outs, kept_built_in(notify_users=["soc@contoso.onmicrosoft.com"]))
    with pytest.raises(DefenderAirError, match=r"\(create\)"):
        P.create(kept_built_in())
    assert not [e for e in tenant.log.entries if e.operation in ("Set-ProtectionAlert", "New-ProtectionAlert")]
    sleep = context.current().sleep
    assert isinstance(sleep, RecordingSleep) and sleep.waits  # retried (with backoff) before giving up
    # Once the service answers again, the same resource reads as it is.
    tenant.faults.clear()
    read = P.read(created.id, created.outs)
    assert read.id == MALWARE_ID and read.outs is not None and read.outs["present"] is present
