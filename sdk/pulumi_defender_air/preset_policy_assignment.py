"""``PresetPolicyAssignment``: who the Standard or Strict preset security policy applies to."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, overload

import pulumi

from defender_air_provider.definitions.preset_policy_assignment import PRESET_POLICY_ASSIGNMENT

from ._utilities import AirResource, claim_unique, split_call
from .enums import Preset


@dataclass
class RecipientScopeArgs:
    """Recipients by mailbox address (``users``), group address (``groups``) or domain (``domains``).

    Values within one list are ORed; different lists are ANDed, as in the Defender portal.
    """

    users: pulumi.Input[Sequence[pulumi.Input[str]]] | None = None
    groups: pulumi.Input[Sequence[pulumi.Input[str]]] | None = None
    domains: pulumi.Input[Sequence[pulumi.Input[str]]] | None = None


RecipientScopeInput = RecipientScopeArgs | Mapping[str, Any]
NESTED = {"RecipientScope": RecipientScopeArgs}


@dataclass(kw_only=True)
class PresetPolicyAssignmentArgs:
    """The arguments of a ``PresetPolicyAssignment`` (see ``PresetPolicyAssignment`` for each one)."""

    preset: pulumi.Input[str | Preset]
    enabled: pulumi.Input[bool] | None = None
    recipients: pulumi.Input[RecipientScopeInput] | None = None
    exclusions: pulumi.Input[RecipientScopeInput] | None = None
    defender_for_office365: pulumi.Input[bool] | None = None


class PresetPolicyAssignment(AirResource, module="air", name="PresetPolicyAssignment"):
    """Assigns the Standard or Strict preset security policy (EOP and Defender for Office 365 rules).

    The preset must have been turned on once in the Defender portal (that creates its policies); create
    fails with that instruction otherwise and changes nothing. Deleting the resource turns the preset off
    and leaves its recipient conditions as they were.
    """

    _definition = PRESET_POLICY_ASSIGNMENT

    preset: pulumi.Output[str]
    """`standard` or `strict`. Changing it replaces the resource: the new preset is set up first, then the old one is turned off."""  # noqa: E501
    enabled: pulumi.Output[bool]
    """`False` turns the preset off (`Disable-*Rule`) and keeps its recipients."""
    recipients: pulumi.Output[dict[str, Any] | None]
    """`{users, groups, domains}`; omitted or all empty = every recipient."""
    exclusions: pulumi.Output[dict[str, Any] | None]
    """Same shape (the rules' `ExceptIf` conditions); omitted = no exclusions (existing ones are cleared)."""
    defender_for_office365: pulumi.Output[bool]
    """Also manage the Defender for Office 365 (ATP) rule; `False` = the EOP rule only, for tenants without Defender for Office 365."""  # noqa: E501
    eop_rule_state: pulumi.Output[str]
    """The EOP rule's state: `Enabled` or `Disabled`."""
    atp_rule_state: pulumi.Output[str | None]
    """The ATP rule's state, or null when it is not managed."""
    atp_rule_in_sync: pulumi.Output[bool | None]
    """Whether the ATP rule has the EOP rule's state and recipients (null when it is not managed)."""
    tenant: pulumi.Output[str]
    """Where the resource was created: `<tenant id>@<cloud>` (`...@public`), or under the emulator `<tenant id>@<emulator URL>`; `*` for the tenant id when none is configured (portal resources). Refresh, update and delete fail, with no API call, when the provider is configured for another tenant or endpoint."""  # noqa: E501

    @overload
    def __init__(self, resource_name: str, args: PresetPolicyAssignmentArgs,
                 opts: pulumi.ResourceOptions | None = None) -> None:
        ...

    @overload
    def __init__(
        self,
        resource_name: str,
        opts: pulumi.ResourceOptions | None = None,
        *,
        preset: pulumi.Input[str | Preset],
        enabled: pulumi.Input[bool] | None = None,
        recipients: pulumi.Input[RecipientScopeInput] | None = None,
        exclusions: pulumi.Input[RecipientScopeInput] | None = None,
        defender_for_office365: pulumi.Input[bool] | None = None,
    ) -> None:
        ...

    def __init__(self, resource_name: str, *args: Any, **kwargs: Any) -> None:
        values, opts = split_call(PresetPolicyAssignmentArgs, args, kwargs, "PresetPolicyAssignment")
        claim_unique(self._definition, values, resource_name)
        self._register(resource_name, values, opts, NESTED)

    @classmethod
    def get(cls, resource_name: str, id: pulumi.Input[str], opts: pulumi.ResourceOptions | None = None,
            ) -> PresetPolicyAssignment:
        """The existing assignment of the preset ``id`` (``standard`` or ``strict``), read live."""
        return cls._read(resource_name, id, opts)
