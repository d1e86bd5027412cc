"""Quickstart: Microsoft's AIR guide as one component, plus a Strict group.

``air.AirBaseline`` declares what the guide recommends (docs/air-baseline.md):

* Devices that no device group matches ("Ungrouped devices (default)") at Full automation.
* Every built-in alert policy that starts automated investigations, and every one CISA ScubaGear
  MS.DEFENDER.5.1 requires, pinned on (``ignore_missing``: a tenant that lacks a retired one does not fail).
* The Standard preset security policy for all recipients and the Strict one for the priority accounts (a
  mail-enabled group). Strict wins where a recipient is in both, so Standard needs no exclusion.
* The Defender for Endpoint advanced features AIR relies on: automatically resolve alerts, allow or block
  file, EDR in block mode.

Run it against the local emulator with `./run quickstart`, or against a tenant after
`pulumi config set defender-air:tenantId ...` (see the README).
"""

import pulumi

import pulumi_defender_air as air

config = pulumi.Config()
priority_accounts = config.get("priorityAccountsGroup") or "priority-accounts@contoso.onmicrosoft.com"

baseline = air.AirBaseline(
    "baseline",
    strict_recipients=air.RecipientScopeArgs(groups=[priority_accounts]),
)

strict = baseline.strict_preset
assert strict is not None  # declared above: strict_recipients is given
pulumi.export("strict_eop_rule_state", strict.eop_rule_state)
pulumi.export("strict_atp_rule_state", strict.atp_rule_state)
pulumi.export("standard_eop_rule_state", baseline.standard_preset.eop_rule_state)
pulumi.export("alert_policy_ids", baseline.alert_policy_ids)
pulumi.export("missing_alert_policies", baseline.missing_alert_policies)
pulumi.export("ungrouped_devices_group_id", baseline.default_device_group.group_id)
