"""``PresetPolicyAssignment``: who the Standard or Strict preset security policy applies to."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi.dynamic

from defender_air_provider.handlers.preset_policy_assignment import PresetPolicyAssignmentProvider

from ._utilities import claim_singleton, plain_args


@dataclass
class RecipientScopeArgs:
    """Recipients by mailbox address (``users``), group address (``groups``) or domain (``domains``).

    Values within one list are ORed; different lists are ANDed, as in the Defender portal.
    """

    users: pulumi.Input[Sequence[pulumi.Input[str]]] | None = None
    groups: pulumi.Input[Sequence[pulumi.Input[str]]] | None = None
    domains: pulumi.Input[Sequence[pulumi.Input[str]]] | None = None


RecipientScopeInput = RecipientScopeArgs | Mapping[str, Any]


class PresetPolicyAssignment(pulumi.dynamic.Resource, module="air", name="PresetPolicyAssignment"):
    """Assigns the Standard or Strict preset security policy (EOP and Defender for Office 365 rules).

    The preset must have been turned on once in the Defender portal (that creates its policies); create
    fails with that instruction otherwise and changes nothing. Deleting the resource turns the preset off
    and leaves its recipient conditions as they were.
    """

    preset: pulumi.Output[str]
    enabled: pulumi.Output[bool]
    recipients: pulumi.Output[dict[str, Any] | None]
    exclusions: pulumi.Output[dict[str, Any] | None]
    defender_for_office365: pulumi.Output[bool]
    eop_rule_state: pulumi.Output[str]
    atp_rule_state: pulumi.Output[str | None]

    def __init__(
        self,
        resource_name: str,
        *,
        preset: pulumi.Input[str],
        enabled: pulumi.Input[bool] | None = None,
        recipients: pulumi.Input[RecipientScopeInput] | None = None,
        exclusions: pulumi.Input[RecipientScopeInput] | None = None,
        defender_for_office365: pulumi.Input[bool] | None = None,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        claim_singleton("PresetPolicyAssignment", preset, resource_name, "preset")
        props: dict[str, Any] = {
            "preset": preset,
            "enabled": True if enabled is None else enabled,
            "recipients": plain_args(recipients, RecipientScopeArgs, "recipients"),
            "exclusions": plain_args(exclusions, RecipientScopeArgs, "exclusions"),
            "defender_for_office365": True if defender_for_office365 is None else defender_for_office365,
            # Outputs computed by the provider: declared so the attributes exist.
            "eop_rule_state": None,
            "atp_rule_state": None,
        }
        super().__init__(PresetPolicyAssignmentProvider(), resource_name, props, opts)
