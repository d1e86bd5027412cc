"""``AlertPolicy``: an Office 365 alert policy (Security & Compliance ``*-ProtectionAlert``).

Wire names are the cmdlet parameters and ``Get-ProtectionAlert`` properties (docs/wire/security-compliance.md
§3.1); ``on_built_in`` marks what ``Set-ProtectionAlert`` may change on a system rule (same page, §3.3).
"""

from __future__ import annotations

from .enums import AlertAggregationType, AlertCategory, AlertSeverity, AlertThreatType
from .fields import TENANT_FIELD, Field, Kind, ResourceDefinition

ALERT_POLICY = ResourceDefinition(
    name="AlertPolicy",
    unique=("name",),
    doc=("An Office 365 alert policy (``*-ProtectionAlert``). Built-in (system) policies are adopted, never "
         "created or removed: only ``enabled``, ``notify_users``, ``notification_enabled`` and the throttle "
         "settings may be set on them, and deleting the resource leaves them as they are; with ``ignore_missing`` a "
         "built-in the tenant lacks is skipped (``present`` false). Custom policies are created, updated in place and "
         "removed. An optional setting left unset is not managed."),
    id_doc="the policy's ImmutableId (`policy_id`)",
    fields=(
        Field("name", Kind.STRING, "Identity; changing it replaces the policy (the new one is created before the "
              "old one is removed). Compared case-insensitively, ignoring the trailing zero-width space that some "
              "built-in names carry.", wire="Name", required=True, replaces=True, case_insensitive=True),
        Field("enabled", Kind.BOOL, "Whether the policy is on (the service's `Disabled`, inverted).",
              wire="Disabled", default=True),
        Field("notify_users", Kind.STRING_LIST, "SMTP addresses or `TenantAdmins` to notify.", wire="NotifyUser",
              case_insensitive=True),
        Field("notification_enabled", Kind.BOOL, "Whether notifications are sent.", wire="NotificationEnabled"),
        Field("severity", Kind.STRING, "The alert's severity.", wire="Severity", enum=AlertSeverity,
              on_built_in=False),
        Field("category", Kind.STRING, "The alert's category.", wire="Category", enum=AlertCategory,
              on_built_in=False),
        Field("threat_type", Kind.STRING, "What the alert watches; changing it replaces the policy.",
              wire="ThreatType", enum=AlertThreatType, replaces=True, on_built_in=False),
        Field("operations", Kind.STRING_LIST, "Audited operations; only with `threat_type=\"Activity\"`.",
              wire="Operation", case_insensitive=True, on_built_in=False),
        Field("aggregation_type", Kind.STRING, "How events are aggregated into alerts.", wire="AggregationType",
              enum=AlertAggregationType, on_built_in=False),
        Field("threshold", Kind.INT, "Events that raise an alert; only with `SimpleAggregation`; at least 3.",
              wire="Threshold", minimum=3, on_built_in=False),
        Field("time_window", Kind.INT, "Minutes over which `threshold` counts; only with `SimpleAggregation`; at "
              "least 60.", wire="TimeWindow", minimum=60, on_built_in=False),
        Field("filter", Kind.STRING, "OPATH filter.", wire="Filter", on_built_in=False),
        Field("description", Kind.STRING, "Sent on create and update; `Get-ProtectionAlert` does not return it, "
              "so drift is not detected.", wire="Description", on_built_in=False),
        Field("comment", Kind.STRING, "A comment.", wire="Comment", on_built_in=False),
        Field("notify_user_throttle_threshold", Kind.INT, "Most notifications per window.",
              wire="NotifyUserThrottleThreshold", minimum=1),
        Field("notify_user_throttle_window", Kind.INT, "The notification window in minutes.",
              wire="NotifyUserThrottleWindow", minimum=1),
        Field("adopt_existing", Kind.BOOL, "Custom policies only: take over an existing policy of the same name "
              "(it is then updated to match).", default=False, on_built_in=False),
        Field("ignore_missing", Kind.BOOL, "Built-in policies only: where the tenant lacks the policy (Microsoft "
              "retires some), create and refresh succeed without any write, with `present` false and a warning, "
              "instead of failing.", default=False),
        Field("is_built_in", Kind.BOOL, "Whether the policy is a built-in (system) policy.", wire="IsSystemRule",
              input=False, computed=True),
        Field("present", Kind.BOOL, "Whether the policy exists in the tenant: false only for a built-in it lacks, "
              "kept with `ignore_missing`.", input=False, computed=True),
        Field("policy_id", Kind.STRING, "The service's ImmutableId of the policy (also the resource id).",
              wire="ImmutableId", input=False, computed=True),
        Field("service_name", Kind.STRING, "The policy's exact name on the service (with any trailing zero-width "
              "space): what later calls use.", wire="Name", input=False, computed=True),
        TENANT_FIELD,
    ),
)
