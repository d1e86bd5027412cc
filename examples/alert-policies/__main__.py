"""Alert policies for automated investigation and response (AIR).

* Every built-in alert policy that starts an automated investigation is pinned on, with email notifications
  to the security team's mailbox (disabling one, or replacing it with a custom alert, stops AIR).
* One custom activity alert: an eDiscovery search was deleted (a single-event alert, so it needs no E5).
"""

import re

import pulumi

import pulumi_defender_air as air

config = pulumi.Config()
security_mailbox = config.get("securityMailbox") or "secops@contoso.onmicrosoft.com"

for policy_name in air.AIR_TRIGGER_ALERT_POLICIES:
    air.AlertPolicy(
        "air-" + re.sub(r"[^a-z0-9]+", "-", policy_name.lower()).strip("-"),
        name=policy_name,
        enabled=True,
        notify_users=[security_mailbox],
        notification_enabled=True,
    )

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
