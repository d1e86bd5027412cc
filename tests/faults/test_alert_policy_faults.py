"""Fault scenarios for AlertPolicy: each ends with the tenant consistent and nothing lost."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

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
