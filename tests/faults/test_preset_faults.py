"""Fault scenarios for PresetPolicyAssignment: each ends with the tenant consistent and nothing lost."""

from collections.abc import Callable
from typing import Any

import pytest

from defender_air_provider.core.errors import DefenderAirError, PermissionDenied, ServiceError
from defender_air_provider.fakes.base import Fault
from defender_air_provider.fakes.tenant import FakeTenant
from defender_air_provider.handlers import context
from defender_air_provider.handlers.preset_policy_assignment import PresetPolicyAssignmentProvider
from tests.support import FakeTokenSource, RecordingSleep

P = PresetPolicyAssignmentProvider()
VIP = "priority-accounts@contoso.onmicrosoft.com"


def props(**overrides: Any) -> dict[str, Any]:
    base: dict[str, Any] = {"preset": "strict", "recipients": {"groups": [VIP]}}
    base.update(overrides)
    return base


def consistent(tenant: FakeTenant, enabled: bool = True) -> None:
    for kind in ("eop", "atp"):
        rule = tenant.exchange.rule(kind, "strict")
        assert rule is not None
        assert rule["State"] == ("Enabled" if enabled else "Disabled")
        assert rule["SentToMemberOf"] == [VIP]


def test_429_with_retry_after_is_waited_out(tenant: FakeTenant) -> None:
    tenant.faults.throttle("exchange", "Set-EOPProtectionPolicyRule", retry_after=3, times=2)
    P.create(props())
    consistent(tenant)
    sleep = context.current().sleep
    assert isinstance(sleep, RecordingSleep) and sleep.waits == [3.0, 3.0]


def test_503_is_survived(tenant: FakeTenant) -> None:
    tenant.faults.unavailable("exchange", "Get-EOPProtectionPolicyRule", times=2)
    tenant.faults.unavailable("exchange", "Enable-ATPProtectionPolicyRule")
    P.create(props())
    consistent(tenant)


def test_timeout_after_the_set_was_applied_converges(tenant: FakeTenant) -> None:
    # Set- is idempotent: the lost answer is retried and the retry finds the work done.
    tenant.faults.drop("exchange", "Set-EOPProtectionPolicyRule", after_apply=True)
    P.create(props())
    consistent(tenant)


def test_timeouts_beyond_the_budget_fail_then_the_next_run_converges(tenant: FakeTenant) -> None:
    tenant.faults.drop("exchange", "Set-ATPProtectionPolicyRule", after_apply=True, times=50)
    with pytest.raises(ServiceError, match="failed after"):
        P.create(props())
    tenant.faults.clear()
    P.create(props())  # the failed create left nothing in state: the next `pulumi up` creates again
    consistent(tenant)


def test_new_rule_whose_answer_was_lost_is_not_created_twice(make_tenant: Callable[..., FakeTenant]) -> None:
    tenant = make_tenant("rule_removed")
    tenant.faults.drop("exchange", "New-EOPProtectionPolicyRule", after_apply=True)
    P.create(props())
    consistent(tenant)
    assert tenant.log.count("exchange", "New-EOPProtectionPolicyRule") == 1
    assert len([r for r in tenant.exchange.rules("eop") if r["Name"] == "Strict Preset Security Policy"]) == 1


def test_new_rule_lost_answer_with_replication_lag(make_tenant: Callable[..., FakeTenant]) -> None:
    tenant = make_tenant("rule_removed")
    tenant.exchange.replication_lag_reads = 1
    tenant.faults.drop("exchange", "New-EOPProtectionPolicyRule", after_apply=True)
    P.create(props())  # re-read misses the rule, the second New- says "already exists": that is success
    assert tenant.log.count("exchange", "New-EOPProtectionPolicyRule") == 2
    assert len([r for r in tenant.exchange.rules("eop") if r["Name"] == "Strict Preset Security Policy"]) == 1


def test_dropped_connection_before_a_new_rule_is_retried(make_tenant: Callable[..., FakeTenant]) -> None:
    tenant = make_tenant("rule_removed")
    tenant.faults.drop("exchange", "New-ATPProtectionPolicyRule")  # nothing sent: safe to retry
    P.create(props())
    consistent(tenant)


def test_expired_token_is_refreshed(tenant: FakeTenant) -> None:
    tokens = context.current().tokens
    assert isinstance(tokens, FakeTokenSource)
    P.create(props(enabled=False))
    first = tokens.issued[-1][1]
    tenant.auth.revoke(first)
    P.create(props())
    assert len(tokens.issued) == 2
    consistent(tenant)


def test_403_gives_the_permissions_hint(tenant: FakeTenant) -> None:
    tenant.faults.add(Fault("status", "exchange", None, 403, {"Content-Encoding": "gzip"}, b"\0" * 8, times=99))
    with pytest.raises(PermissionDenied) as err:
        P.create(props())
    message = str(err.value)
    assert "PresetPolicyAssignment 'strict' (create)" in message
    assert "Exchange.ManageAsApp" in message and "Security Administrator" in message


def test_service_text_echoing_a_secret_is_redacted(make_tenant: Callable[..., FakeTenant]) -> None:
    canary = "canary-secret-in-error-0c9d"
    tenant = make_tenant("presets_on", client_secret=canary)
    body = ('{"error":{"code":"BadRequest","message":"Invalid Operation","details":[{"code":"Client",'
            f'"target":"","message":"|Some.Exception|token {canary} and Bearer abc.def was refused"}}]}}}}')
    tenant.faults.add(Fault("status", "exchange", "Get-EOPProtectionPolicyRule", 400,
                            {"content-type": "application/json"}, body.encode()))
    with pytest.raises(DefenderAirError) as err:
        P.create(props())
    assert canary not in str(err.value) and "abc.def" not in str(err.value)
    assert "was refused" in str(err.value)
