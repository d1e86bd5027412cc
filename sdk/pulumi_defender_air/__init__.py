"""pulumi-defender-air: Microsoft Defender XDR automated investigation and response (AIR) as code.

    import pulumi_defender_air as air

    air.PresetPolicyAssignment("strict", preset="strict",
                               recipients=air.RecipientScopeArgs(groups=["priority-accounts@contoso.com"]))
"""

from .alert_policy import AIR_TRIGGER_ALERT_POLICIES, BUILT_IN_ALERT_POLICIES, AlertPolicy
from .device_group import AutomationLevel, DefaultDeviceGroup, DeviceGroup, DeviceGroupRuleArgs
from .preset_policy_assignment import PresetPolicyAssignment, RecipientScopeArgs

__all__ = [
    "AIR_TRIGGER_ALERT_POLICIES",
    "BUILT_IN_ALERT_POLICIES",
    "AlertPolicy",
    "AutomationLevel",
    "DefaultDeviceGroup",
    "DeviceGroup",
    "DeviceGroupRuleArgs",
    "PresetPolicyAssignment",
    "RecipientScopeArgs",
]
