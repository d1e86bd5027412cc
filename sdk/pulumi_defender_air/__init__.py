"""pulumi-defender-air: Microsoft Defender XDR automated investigation and response (AIR) as code.

    import pulumi_defender_air as air

    air.PresetPolicyAssignment("strict", preset=air.Preset.STRICT,
                               recipients=air.RecipientScopeArgs(groups=["priority-accounts@contoso.com"]))
"""

from .air_baseline import AirBaseline, AirBaselineArgs
from .alert_policy import AIR_TRIGGER_ALERT_POLICIES, BUILT_IN_ALERT_POLICIES, AlertPolicy, AlertPolicyArgs
from .built_in_alert_policies import (
    BUILT_IN_ALERT_POLICY_CATALOGUE,
    SCUBAGEAR_REQUIRED_ALERT_POLICIES,
    BuiltInAlertPolicy,
    BuiltInAlertPolicyStatus,
    built_in_alert_policy,
)
from .device_group import (
    DefaultDeviceGroup,
    DefaultDeviceGroupArgs,
    DeviceGroup,
    DeviceGroupArgs,
    DeviceGroupRuleArgs,
)
from .endpoint_advanced_features import EndpointAdvancedFeatures, EndpointAdvancedFeaturesArgs
from .enums import (
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
from .preset_policy_assignment import PresetPolicyAssignment, PresetPolicyAssignmentArgs, RecipientScopeArgs

__all__ = [
    "AIR_TRIGGER_ALERT_POLICIES",
    "BUILT_IN_ALERT_POLICIES",
    "BUILT_IN_ALERT_POLICY_CATALOGUE",
    "SCUBAGEAR_REQUIRED_ALERT_POLICIES",
    "AirBaseline",
    "AirBaselineArgs",
    "AlertAggregationType",
    "AlertCategory",
    "AlertPolicy",
    "AlertPolicyArgs",
    "AlertSeverity",
    "AlertThreatType",
    "AutomationLevel",
    "BuiltInAlertPolicy",
    "BuiltInAlertPolicyStatus",
    "DefaultDeviceGroup",
    "DefaultDeviceGroupArgs",
    "DeviceGroup",
    "DeviceGroupArgs",
    "DeviceGroupRuleArgs",
    "DeviceGroupRuleOperator",
    "DeviceGroupRuleProperty",
    "EndpointAdvancedFeatures",
    "EndpointAdvancedFeaturesArgs",
    "Preset",
    "PresetPolicyAssignment",
    "PresetPolicyAssignmentArgs",
    "RecipientScopeArgs",
    "RuleState",
    "built_in_alert_policy",
]
