"""Quickstart: the preset security policies as Microsoft recommends them.

* Strict for the priority accounts (a mail-enabled group), Standard for everyone else. Strict wins where a
  recipient is in both (the Strict rule has priority 0, Standard 1), so Standard needs no exclusion.

Run it against the local emulator with `./run quickstart`, or against a tenant after
`pulumi config set defender-air:tenantId ...` (see the README).
"""

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

pulumi.export("strict_eop_rule_state", strict.eop_rule_state)
pulumi.export("strict_atp_rule_state", strict.atp_rule_state)
pulumi.export("standard_eop_rule_state", standard.eop_rule_state)
