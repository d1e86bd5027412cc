"""The str-enums of the SDK: every closed set of strings (plain strings keep working)."""

from defender_air_provider.definitions.enums import (
    AlertAggregationType,
    AlertCategory,
    AlertSeverity,
    AlertThreatType,
    AutomationLevel,
    DeviceGroupRuleOperator,
    DeviceGroupRuleProperty,
    Preset,
    RuleState,
)

__all__ = [
    "AlertAggregationType",
    "AlertCategory",
    "AlertSeverity",
    "AlertThreatType",
    "AutomationLevel",
    "DeviceGroupRuleOperator",
    "DeviceGroupRuleProperty",
    "Preset",
    "RuleState",
]
