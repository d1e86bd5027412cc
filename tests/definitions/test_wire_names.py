"""The definitions' wire names are the names the services use: checked against the wire mappings of the clients
and against the fakes (which follow docs/wire, not the definitions)."""

from __future__ import annotations

from defender_air_provider.clients.device_groups.wire import (
    AUTOMATION_LEVELS,
    OPERATORS,
    PROPERTIES,
    new_group_item,
    rules_to_wire,
)
from defender_air_provider.clients.presets import CONDITION_FIELDS
from defender_air_provider.definitions.alert_policy import ALERT_POLICY
from defender_air_provider.definitions.device_group import DEFAULT_DEVICE_GROUP, DEVICE_GROUP, DEVICE_GROUP_RULE
from defender_air_provider.definitions.enums import AutomationLevel, DeviceGroupRuleOperator, DeviceGroupRuleProperty
from defender_air_provider.definitions.preset_policy_assignment import RECIPIENT_SCOPE
from defender_air_provider.fakes.tenant import FakeTenant


def test_device_group_wire_names_are_keys_of_a_machine_group() -> None:
    item = new_group_item("x", 1)
    for definition in (DEVICE_GROUP, DEFAULT_DEVICE_GROUP):
        for field in definition.fields:
            if field.wire:
                assert field.wire in item, field.name
    row = rules_to_wire([])[0]
    assert {f.wire for f in DEVICE_GROUP_RULE.fields} == set(row)


def test_device_group_enums_have_exactly_the_mapped_values() -> None:
    assert set(AUTOMATION_LEVELS) == {m.value for m in AutomationLevel}
    assert set(PROPERTIES) == {m.value for m in DeviceGroupRuleProperty}
    assert set(OPERATORS) == {m.value for m in DeviceGroupRuleOperator}


def test_device_group_wire_names_are_what_the_portal_fake_returns() -> None:
    # Captured groups omit keys they have no value for (no MachineGroupAssignments, docs/wire/defender-portal.md
    # §2.3), so the names are checked against every key the seeded groups carry.
    keys = {key for group in FakeTenant().portal.groups() for key in group}
    for field in DEVICE_GROUP.fields:
        if field.wire:
            assert field.wire in keys, field.name


def test_alert_policy_wire_names_are_what_get_protection_alert_returns() -> None:
    policy = FakeTenant().compliance.policies()[0]
    # Get-ProtectionAlert has no Description property (docs/wire/security-compliance.md §3.4).
    missing = [f.wire for f in ALERT_POLICY.fields if f.wire and f.wire not in policy]
    assert missing == ["Description"]


def test_recipient_scope_wire_names_are_rule_conditions_the_exchange_fake_returns() -> None:
    rule = FakeTenant().exchange.rules("eop")[0]
    assert {f.wire for f in RECIPIENT_SCOPE.fields} | {f"ExceptIf{f.wire}" for f in RECIPIENT_SCOPE.fields} \
        == set(CONDITION_FIELDS)
    assert set(CONDITION_FIELDS) <= set(rule)
