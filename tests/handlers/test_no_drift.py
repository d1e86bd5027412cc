"""After create, a refresh with nothing changed outside must show no diff (no perpetual updates), and a failed
read is an error, never "gone"."""

from __future__ import annotations

from typing import Any

import pytest
from pulumi.output import Unknown

from defender_air_provider.core.errors import ServiceError
from defender_air_provider.fakes.base import Fault
from defender_air_provider.fakes.tenant import FakeTenant
from defender_air_provider.handlers.alert_policy import AlertPolicyProvider
from defender_air_provider.handlers.preset_policy_assignment import PresetPolicyAssignmentProvider

PRESET = PresetPolicyAssignmentProvider()
ALERT = AlertPolicyProvider()


def outs(result: Any) -> dict[str, Any]:
    assert result.outs is not None
    return dict(result.outs)


@pytest.mark.parametrize("inputs", [
    {"preset": "strict", "enabled": True, "recipients": {"groups": ["vip@contoso.onmicrosoft.com"]},
     "exclusions": {"users": ["ceo@contoso.onmicrosoft.com"]}, "defender_for_office365": True},
    {"preset": "standard", "enabled": False, "defender_for_office365": False},
])
def test_preset_refresh_after_create_shows_no_diff(tenant: FakeTenant, inputs: dict[str, Any]) -> None:
    created = PRESET.create(inputs)
    read = PRESET.read(created.id, outs(created))
    assert PRESET.diff(created.id, outs(read), inputs).changes is False
    assert PRESET.diff(created.id, outs(created), inputs).changes is False


@pytest.mark.parametrize("inputs", [
    {"name": "Email messages removed after delivery", "enabled": True,
     "notify_users": ["secops@contoso.onmicrosoft.com"], "notification_enabled": True},
    {"name": "Content search deleted", "enabled": True, "category": "Others", "threat_type": "Activity",
     "operations": ["SearchRemoved"], "aggregation_type": "None", "severity": "Medium",
     "notify_users": ["secops@contoso.onmicrosoft.com"], "comment": "reviewed"},
])
def test_alert_policy_refresh_after_create_shows_no_diff(tenant: FakeTenant, inputs: dict[str, Any]) -> None:
    created = ALERT.create({**inputs, "adopt_existing": False})
    read = ALERT.read(created.id, outs(created))
    assert ALERT.diff(created.id, outs(read), inputs).changes is False
    assert ALERT.diff(created.id, outs(created), inputs).changes is False


def test_a_failed_preset_read_is_an_error_not_gone(tenant: FakeTenant) -> None:
    created = PRESET.create({"preset": "strict"})
    tenant.faults.add(Fault("status", "exchange", "Get-EOPProtectionPolicyRule", 404,
                            {"content-type": "application/json"},
                            b'{"error":{"code":"NotFound","message":"Error executing cmdlet"}}'))
    with pytest.raises(ServiceError):
        PRESET.read(created.id, outs(created))


def test_a_custom_policy_is_found_by_id_only(tenant: FakeTenant) -> None:
    inputs = {"name": "Content search deleted", "category": "Others", "threat_type": "Activity",
              "operations": ["SearchRemoved"], "aggregation_type": "None",
              "notify_users": ["secops@contoso.onmicrosoft.com"], "adopt_existing": False}
    created = ALERT.create(inputs)
    tenant.compliance.remove_policy(created.id)
    tenant.compliance.add_custom(Name="Content search deleted")  # someone else's policy, same name
    assert not ALERT.read(created.id, outs(created)).id  # ours is gone; the other one is not adopted
    ALERT.delete(created.id, outs(created))
    assert tenant.compliance.policy("Content search deleted") is not None  # and not removed


def test_replacement_order() -> None:
    olds = {"preset": "strict", "name": "A", "threat_type": "Activity"}
    assert PRESET.diff("strict", olds, {"preset": "standard"}).delete_before_replace is False
    assert ALERT.diff("x", olds, {"name": "B", "threat_type": "Activity"}).delete_before_replace is False
    assert ALERT.diff("x", olds, {"name": "A", "threat_type": "Malware"}).delete_before_replace is True


def test_alert_policy_diff_with_unknowns() -> None:
    olds = {"name": "A", "threat_type": "Activity", "severity": "Low"}
    assert ALERT.diff("x", olds, {"name": Unknown()}).replaces == ["name"]
    assert ALERT.diff("x", olds, {"name": "A", "threat_type": Unknown()}).replaces == ["threat_type"]
    unknown_setting = ALERT.diff("x", olds, {"name": "A", "severity": Unknown()})
    assert unknown_setting.changes is True and not unknown_setting.replaces
