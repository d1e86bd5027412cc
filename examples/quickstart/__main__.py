"""Quickstart: the preset security policies as Microsoft recommends them.

* Strict for the priority accounts (a mail-enabled group), Standard for everyone else. Strict wins where a
  recipient is in both (the Strict rule has priority 0, Standard 1), so Standard needs no exclusion.
* The built-in alert policies that start automated investigations (AIR) pinned on: if one is disabled or
  replaced by a custom alert, AIR isn't triggered.
* Devices that no device group matches ("Ungrouped devices (default)") at Full automation, as Microsoft
  recommends.

Run it against the local emulator with `./run quickstart`, or against a tenant after
`pulumi config set defender-air:tenantId ...` (see the README).
"""

import re

import pulumi

import pulumi_defender_air as air

config = pulumi.Config()
priority_accounts = config.get("priorityAccountsGroup") or "priority-accounts@contoso.onmicrosoft.com"

strict = air.PresetPolicyAssignment(
    "strict-preset",
    preset="strict",
    recipients=air.RecipientScopeArgs(groups=[priority_accounts]),
)

standard = air.PresetPolicyAssignment(
    "standard-preset",
    preset="standard",  # no recipients: applies to all recipients
)

air_triggers = [
    # Resource names from the policy names, so they stay stable whatever the catalogue's order.
    # ignore_missing: a tenant that lacks one (Microsoft retires built-ins) keeps it as present=False.
    air.AlertPolicy("air-" + re.sub(r"[^a-z0-9]+", "-", policy_name.lower()).strip("-"), name=policy_name,
                    enabled=True, ignore_missing=True)
    for policy_name in air.AIR_TRIGGER_ALERT_POLICIES
]

ungrouped = air.DefaultDeviceGroup("ungrouped-devices", automation_level=air.AutomationLevel.FULL)

pulumi.export("strict_eop_rule_state", strict.eop_rule_state)
pulumi.export("strict_atp_rule_state", strict.atp_rule_state)
pulumi.export("standard_eop_rule_state", standard.eop_rule_state)
pulumi.export("air_trigger_policy_ids", [p.policy_id for p in air_triggers])
pulumi.export("ungrouped_devices_group_id", ungrouped.group_id)
