"""pulumi-defender-air: Microsoft Defender XDR automated investigation and response (AIR) as code.

    import pulumi_defender_air as air

    air.PresetPolicyAssignment("strict", preset="strict",
                               recipients=air.RecipientScopeArgs(groups=["priority-accounts@contoso.com"]))
"""

from .preset_policy_assignment import PresetPolicyAssignment, RecipientScopeArgs

__all__ = ["PresetPolicyAssignment", "RecipientScopeArgs"]
