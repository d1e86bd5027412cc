"""``AlertPolicy``: an Office 365 alert policy (built-in policies are adopted, custom ones created)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pulumi
import pulumi.dynamic

from defender_air_provider.handlers.alert_policy import AlertPolicyProvider
from defender_air_provider.handlers.alert_policy_catalogue import AIR_TRIGGERS, CATALOGUE, without_zwsp

from ._utilities import claim_singleton

#: Names of the built-in alert policies that start automated investigations (Microsoft's alert-policies
#: article, "Automated investigation" = Yes). If they are disabled or replaced by custom alerts, AIR isn't
#: triggered. Names are given without the trailing zero-width space some of them carry on the service.
AIR_TRIGGER_ALERT_POLICIES: tuple[str, ...] = tuple(p.display_name for p in AIR_TRIGGERS if not p.retired)
#: Every built-in alert policy of the shipped catalogue (display names).
BUILT_IN_ALERT_POLICIES: tuple[str, ...] = tuple(p.display_name for p in CATALOGUE)


class AlertPolicy(pulumi.dynamic.Resource, module="air", name="AlertPolicy"):
    """An Office 365 alert policy (``*-ProtectionAlert``).

    For a built-in policy (``is_built_in``) only ``enabled``, ``notify_users``, ``notification_enabled`` and the
    throttle settings may be set; deleting the resource stops managing it and leaves it as it is. A custom
    policy is created, updated in place and removed. An optional setting left unset is not managed.
    """

    name: pulumi.Output[str]
    enabled: pulumi.Output[bool]
    notify_users: pulumi.Output[list[str] | None]
    notification_enabled: pulumi.Output[bool | None]
    severity: pulumi.Output[str | None]
    category: pulumi.Output[str | None]
    threat_type: pulumi.Output[str | None]
    operations: pulumi.Output[list[str] | None]
    aggregation_type: pulumi.Output[str | None]
    threshold: pulumi.Output[int | None]
    time_window: pulumi.Output[int | None]
    filter: pulumi.Output[str | None]
    description: pulumi.Output[str | None]
    comment: pulumi.Output[str | None]
    notify_user_throttle_threshold: pulumi.Output[int | None]
    notify_user_throttle_window: pulumi.Output[int | None]
    adopt_existing: pulumi.Output[bool]
    is_built_in: pulumi.Output[bool]
    policy_id: pulumi.Output[str]

    def __init__(
        self,
        resource_name: str,
        *,
        name: pulumi.Input[str],
        enabled: pulumi.Input[bool] | None = None,
        notify_users: pulumi.Input[Sequence[pulumi.Input[str]]] | None = None,
        notification_enabled: pulumi.Input[bool] | None = None,
        severity: pulumi.Input[str] | None = None,
        category: pulumi.Input[str] | None = None,
        threat_type: pulumi.Input[str] | None = None,
        operations: pulumi.Input[Sequence[pulumi.Input[str]]] | None = None,
        aggregation_type: pulumi.Input[str] | None = None,
        threshold: pulumi.Input[int] | None = None,
        time_window: pulumi.Input[int] | None = None,
        filter: pulumi.Input[str] | None = None,
        description: pulumi.Input[str] | None = None,
        comment: pulumi.Input[str] | None = None,
        notify_user_throttle_threshold: pulumi.Input[int] | None = None,
        notify_user_throttle_window: pulumi.Input[int] | None = None,
        adopt_existing: pulumi.Input[bool] | None = None,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        # Two resources for one policy would overwrite each other on every `pulumi up`. (The trailing zero-width
        # space some built-in names carry is ignored here too.)
        claim_singleton("AlertPolicy", without_zwsp(name) if isinstance(name, str) else name, resource_name, "name")
        props: dict[str, Any] = {
            "name": name,
            "enabled": True if enabled is None else enabled,
            "notify_users": notify_users,
            "notification_enabled": notification_enabled,
            "severity": severity,
            "category": category,
            "threat_type": threat_type,
            "operations": operations,
            "aggregation_type": aggregation_type,
            "threshold": threshold,
            "time_window": time_window,
            "filter": filter,
            "description": description,
            "comment": comment,
            "notify_user_throttle_threshold": notify_user_throttle_threshold,
            "notify_user_throttle_window": notify_user_throttle_window,
            "adopt_existing": False if adopt_existing is None else adopt_existing,
            "is_built_in": None,
            "policy_id": None,
        }
        super().__init__(AlertPolicyProvider(), resource_name, props, opts)
