"""Alert policies for automated investigation and response (AIR).

* Every built-in alert policy that starts an automated investigation is pinned on, with email notifications
  to the security team's mailbox (disabling one, or replacing it with a custom alert, stops AIR), and so is
  every built-in that CISA ScubaGear MS.DEFENDER.5.1 requires (four of those are not AIR triggers).
  ``ignore_missing=True``: Microsoft retires built-ins now and then (three of the AIR triggers are already
  replaced), and a tenant that lacks one keeps it as ``present=False`` instead of failing.
* One custom activity alert: an eDiscovery search was deleted (a single-event alert, so it needs no E5).
"""

import re

import pulumi

import pulumi_defender_air as air

config = pulumi.Config()
security_mailbox = config.get("securityMailbox") or "secops@contoso.onmicrosoft.com"

# Each name once: two policies are both AIR triggers and required by ScubaGear.
built_in_names = dict.fromkeys([*air.AIR_TRIGGER_ALERT_POLICIES, *air.SCUBAGEAR_REQUIRED_ALERT_POLICIES])
built_ins = {
    policy_name: air.AlertPolicy(
        "air-" + re.sub(r"[^a-z0-9]+", "-", policy_name.lower()).strip("-"),
        name=policy_name,
        enabled=True,
        notify_users=[security_mailbox],
        notification_enabled=True,
        ignore_missing=True,
    )
    for policy_name in built_in_names
}

search_deleted = air.AlertPolicy(
    "content-search-deleted",
    name="Content search deleted",
    category="Others",
    threat_type="Activity",
    operations=["SearchRemoved"],
    aggregation_type="None",
    severity="Medium",
    notify_users=[security_mailbox],
    description="Someone deleted a content search in the Microsoft Purview portal.",
)

pulumi.export("content_search_deleted_policy_id", search_deleted.policy_id)
# Built-ins this tenant lacks (Microsoft retired them, or has not provisioned them yet).
pulumi.export("missing_built_in_alert_policies",
              pulumi.Output.all(*(p.present for p in built_ins.values())).apply(
                  lambda present: [n for n, here in zip(built_ins, present, strict=True) if here is False]))
