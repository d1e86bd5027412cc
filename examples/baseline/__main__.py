"""The whole AIR guide in about ten lines (docs/air-baseline.md): prerequisites (advanced features), Full
automation for ungrouped devices, every AIR-triggering and ScubaGear-required alert on and routed to the SOC,
Standard for everyone and Strict for the priority accounts."""

import pulumi

import pulumi_defender_air as air

config = pulumi.Config()
baseline = air.AirBaseline(
    "air",
    default_automation_level=air.AutomationLevel.FULL,
    strict_recipients=air.RecipientScopeArgs(
        groups=[config.get("priorityAccountsGroup") or "priority-accounts@contoso.onmicrosoft.com"]),
    alert_notify_users=[config.get("securityMailbox") or "secops@contoso.onmicrosoft.com"],
)
pulumi.export("missing_alert_policies", baseline.missing_alert_policies)
