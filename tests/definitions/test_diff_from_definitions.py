"""Diff follows the definitions: changing any one argument is a change, and it replaces the resource exactly when
the definition says ``replaces`` (so the schema's ``willReplaceOnChanges`` and the provider agree)."""

from __future__ import annotations

from typing import Any

import pytest

from defender_air_provider.definitions import Field, Kind
from defender_air_provider.registry import RESOURCES, RegisteredResource

BASE: dict[str, dict[str, Any]] = {
    "AlertPolicy": {
        "name": "Content search deleted", "enabled": True, "notify_users": ["a@contoso.com"],
        "notification_enabled": True, "severity": "Low", "category": "Others", "threat_type": "Activity",
        "operations": ["SearchRemoved"], "aggregation_type": "SimpleAggregation", "threshold": 5, "time_window": 60,
        "filter": "x", "description": "d", "comment": "c", "notify_user_throttle_threshold": 5,
        "notify_user_throttle_window": 60, "adopt_existing": False, "ignore_missing": False, "is_built_in": False,
        "present": True, "policy_id": "id-1", "service_name": "Content search deleted"},
    "PresetPolicyAssignment": {
        "preset": "strict", "enabled": True, "recipients": {"users": [], "groups": ["vip@contoso.com"], "domains": []},
        "exclusions": {"users": [], "groups": [], "domains": []}, "defender_for_office365": True,
        "eop_rule_state": "Enabled", "atp_rule_state": "Enabled", "atp_rule_in_sync": True},
    "DeviceGroup": {
        "display_name": "Tier 0", "automation_level": "full", "description": "d",
        "rules": [{"property": "tag", "operator": "equals", "value": "tier0"}], "rank": 2, "user_groups": [],
        "adopt_existing": False, "group_id": "7", "requested_rank": 2, "rank_in_place": True, "user_group_ids": []},
    "DefaultDeviceGroup": {"automation_level": "full", "user_groups": [], "group_id": "1", "user_group_ids": []},
    "EndpointAdvancedFeatures": {
        "auto_resolve_investigated_alerts": True, "allow_or_block_file": True, "edr_in_block_mode": False,
        "restrict_correlation_to_device_groups": True, "custom_network_indicators": True, "tamper_protection": True,
        "device_discovery": True, "web_content_filtering": True, "download_quarantined_files": True,
        "show_user_details": True, "automated_investigation_enabled": True},
}
# Create-time instructions: they change nothing on the service, so flipping them is no change.
NEVER_A_CHANGE = {"adopt_existing"}


def _other(field: Field, value: Any) -> Any:
    if field.kind is Kind.BOOL:
        return not value
    if field.kind is Kind.INT:
        return int(value) + 1
    if field.enum is not None:
        return next(str(m.value) for m in field.enum if str(m.value).lower() != str(value).lower()
                    and m.value != "semi_core_folders")
    if field.kind is Kind.STRING:
        return f"{value} changed"
    if field.kind is Kind.STRING_LIST:
        return [*value, "b@contoso.com"]
    if field.kind is Kind.OBJECT:
        return {**value, "users": [*value["users"], "b@contoso.com"]}
    assert field.kind is Kind.OBJECT_LIST
    return [*value, {"property": "name", "operator": "starts_with", "value": "srv"}]


CASES = [(r, f) for r in RESOURCES for f in r.definition.inputs]


@pytest.mark.parametrize(("registered", "field"), CASES, ids=[f"{r.name}.{f.name}" for r, f in CASES])
def test_one_changed_argument(registered: RegisteredResource, field: Field) -> None:
    olds = BASE[registered.name]
    provider = registered.provider()
    news = {f.name: olds[f.name] for f in registered.definition.inputs}
    assert provider.diff("id", olds, news).changes is False
    news[field.name] = _other(field, olds[field.name])
    result = provider.diff("id", olds, news)
    assert result.changes is (field.name not in NEVER_A_CHANGE)
    assert set(result.replaces or []) == ({field.name} if field.replaces else set())
