"""``AlertPolicy``: an Office 365 alert policy (built-in policies are adopted, custom ones created).

The catalogue's name lists (``AIR_TRIGGER_ALERT_POLICIES``, ``BUILT_IN_ALERT_POLICIES``) live in
``built_in_alert_policies`` and stay importable from here, where they were first defined.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, overload

import pulumi

from defender_air_provider.definitions.alert_policy import ALERT_POLICY

from ._utilities import AirResource, claim_unique, split_call
from .built_in_alert_policies import AIR_TRIGGER_ALERT_POLICIES as AIR_TRIGGER_ALERT_POLICIES
from .built_in_alert_policies import BUILT_IN_ALERT_POLICIES as BUILT_IN_ALERT_POLICIES
from .enums import AlertAggregationType, AlertCategory, AlertSeverity, AlertThreatType


@dataclass(kw_only=True)
class AlertPolicyArgs:
    """The arguments of an ``AlertPolicy`` (see ``AlertPolicy`` for each one)."""

    name: pulumi.Input[str]
    enabled: pulumi.Input[bool] | None = None
    notify_users: pulumi.Input[Sequence[pulumi.Input[str]]] | None = None
    notification_enabled: pulumi.Input[bool] | None = None
    severity: pulumi.Input[str | AlertSeverity] | None = None
    category: pulumi.Input[str | AlertCategory] | None = None
    threat_type: pulumi.Input[str | AlertThreatType] | None = None
    operations: pulumi.Input[Sequence[pulumi.Input[str]]] | None = None
    aggregation_type: pulumi.Input[str | AlertAggregationType] | None = None
    threshold: pulumi.Input[int] | None = None
    time_window: pulumi.Input[int] | None = None
    filter: pulumi.Input[str] | None = None
    description: pulumi.Input[str] | None = None
    comment: pulumi.Input[str] | None = None
    notify_user_throttle_threshold: pulumi.Input[int] | None = None
    notify_user_throttle_window: pulumi.Input[int] | None = None
    adopt_existing: pulumi.Input[bool] | None = None
    ignore_missing: pulumi.Input[bool] | None = None


class AlertPolicy(AirResource, module="air", name="AlertPolicy"):
    """An Office 365 alert policy (``*-ProtectionAlert``).

    For a built-in policy (``is_built_in``) only ``enabled``, ``notify_users``, ``notification_enabled`` and the
    throttle settings may be set; deleting the resource stops managing it and leaves it as it is. With
    ``ignore_missing=True`` a built-in the tenant lacks (Microsoft retires some) is kept with ``present`` false
    instead of failing. A custom policy is created, updated in place and removed. An optional setting left unset is
    not managed.
    """

    _definition = ALERT_POLICY

    name: pulumi.Output[str]
    """Identity; changing it replaces the policy (the new one is created before the old one is removed). Compared case-insensitively, ignoring the trailing zero-width space that some built-in names carry."""  # noqa: E501
    enabled: pulumi.Output[bool]
    """Whether the policy is on (the service's `Disabled`, inverted)."""
    notify_users: pulumi.Output[list[str] | None]
    """SMTP addresses or `TenantAdmins` to notify."""
    notification_enabled: pulumi.Output[bool | None]
    """Whether notifications are sent."""
    severity: pulumi.Output[str | None]
    """The alert's severity."""
    category: pulumi.Output[str | None]
    """The alert's category."""
    threat_type: pulumi.Output[str | None]
    """What the alert watches; changing it replaces the policy."""
    operations: pulumi.Output[list[str] | None]
    """Audited operations; only with `threat_type="Activity"`."""
    aggregation_type: pulumi.Output[str | None]
    """How events are aggregated into alerts."""
    threshold: pulumi.Output[int | None]
    """Events that raise an alert; only with `SimpleAggregation`; at least 3."""
    time_window: pulumi.Output[int | None]
    """Minutes over which `threshold` counts; only with `SimpleAggregation`; at least 60."""
    filter: pulumi.Output[str | None]
    """OPATH filter."""
    description: pulumi.Output[str | None]
    """Sent on create and update; `Get-ProtectionAlert` does not return it, so drift is not detected."""
    comment: pulumi.Output[str | None]
    """A comment."""
    notify_user_throttle_threshold: pulumi.Output[int | None]
    """Most notifications per window."""
    notify_user_throttle_window: pulumi.Output[int | None]
    """The notification window in minutes."""
    adopt_existing: pulumi.Output[bool]
    """Custom policies only: take over an existing policy of the same name (it is then updated to match)."""
    ignore_missing: pulumi.Output[bool]
    """Built-in policies only: where the tenant lacks the policy (Microsoft retires some), create and refresh succeed without any write, with `present` false and a warning, instead of failing."""  # noqa: E501
    is_built_in: pulumi.Output[bool]
    """Whether the policy is a built-in (system) policy."""
    present: pulumi.Output[bool]
    """Whether the policy exists in the tenant: false only for a built-in it lacks, kept with `ignore_missing`."""
    policy_id: pulumi.Output[str]
    """The service's ImmutableId of the policy (also the resource id)."""
    service_name: pulumi.Output[str]
    """The policy's exact name on the service (with any trailing zero-width space): what later calls use."""
    tenant: pulumi.Output[str]
    """Where the resource was created: `<tenant id>@<cloud>` (`...@public`), or under the emulator `<tenant id>@<emulator URL>`; `*` for the tenant id when none is configured (portal resources). Refresh, update and delete fail, with no API call, when the provider is configured for another tenant or endpoint."""  # noqa: E501

    @overload
    def __init__(self, resource_name: str, args: AlertPolicyArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        ...

    @overload
    def __init__(
        self,
        resource_name: str,
        opts: pulumi.ResourceOptions | None = None,
        *,
        name: pulumi.Input[str],
        enabled: pulumi.Input[bool] | None = None,
        notify_users: pulumi.Input[Sequence[pulumi.Input[str]]] | None = None,
        notification_enabled: pulumi.Input[bool] | None = None,
        severity: pulumi.Input[str | AlertSeverity] | None = None,
        category: pulumi.Input[str | AlertCategory] | None = None,
        threat_type: pulumi.Input[str | AlertThreatType] | None = None,
        operations: pulumi.Input[Sequence[pulumi.Input[str]]] | None = None,
        aggregation_type: pulumi.Input[str | AlertAggregationType] | None = None,
        threshold: pulumi.Input[int] | None = None,
        time_window: pulumi.Input[int] | None = None,
        filter: pulumi.Input[str] | None = None,
        description: pulumi.Input[str] | None = None,
        comment: pulumi.Input[str] | None = None,
        notify_user_throttle_threshold: pulumi.Input[int] | None = None,
        notify_user_throttle_window: pulumi.Input[int] | None = None,
        adopt_existing: pulumi.Input[bool] | None = None,
        ignore_missing: pulumi.Input[bool] | None = None,
    ) -> None:
        ...

    def __init__(self, resource_name: str, *args: Any, **kwargs: Any) -> None:
        values, opts = split_call(AlertPolicyArgs, args, kwargs, "AlertPolicy")
        # Two resources for one policy would overwrite each other on every `pulumi up`. (The trailing zero-width
        # space some built-in names carry is ignored here too.)
        claim_unique(self._definition, values, resource_name)
        self._register(resource_name, values, opts)

    @classmethod
    def get(cls, resource_name: str, id: pulumi.Input[str], opts: pulumi.ResourceOptions | None = None,
            ) -> AlertPolicy:
        """The existing alert policy whose ImmutableId (``policy_id``) is ``id``, read live."""
        return cls._read(resource_name, id, opts)
