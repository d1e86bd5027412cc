"""``AirBaseline``: Microsoft's AIR guide as one component (docs/air-baseline.md).

A ``pulumi.ComponentResource``, not a dynamic resource: it makes no API call itself. Its children are the
library's own resources, each shown by ``pulumi preview`` under the baseline:

- ``<name>-ungrouped-devices``: ``DefaultDeviceGroup`` at ``default_automation_level`` (guide step 2);
- ``<name>-alert-<policy-slug>``: one ``AlertPolicy`` per AIR-triggering built-in, and, with
  ``include_scubagear_alerts``, per built-in that ScubaGear MS.DEFENDER.5.1 requires (step 3);
- ``<name>-standard-preset`` and, with ``strict_recipients``, ``<name>-strict-preset``:
  ``PresetPolicyAssignment`` (step 4);
- ``<name>-endpoint-features``: ``EndpointAdvancedFeatures`` unless ``endpoint_features`` is None or False
  (the guide's prerequisite, step 1).

Child names start with the baseline's name, so ``aliases`` on the baseline carry over to every child (Pulumi
derives the children's aliases from the parent's when the child name starts with the parent name).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, overload

import pulumi

from ._utilities import split_call
from .alert_policy import AlertPolicy
from .built_in_alert_policies import AIR_TRIGGER_ALERT_POLICIES, SCUBAGEAR_REQUIRED_ALERT_POLICIES
from .device_group import DefaultDeviceGroup
from .endpoint_advanced_features import EndpointAdvancedFeatures, EndpointAdvancedFeaturesArgs
from .enums import AutomationLevel, Preset
from .preset_policy_assignment import PresetPolicyAssignment, RecipientScopeInput

TYPE_TOKEN = "defender-air:index:AirBaseline"


def recommended_endpoint_features() -> EndpointAdvancedFeaturesArgs:
    """The advanced features the guide's prerequisite turns on: automatically resolve alerts, allow or block file,
    EDR in block mode. Every other toggle is left unmanaged."""
    return EndpointAdvancedFeaturesArgs(auto_resolve_investigated_alerts=True, allow_or_block_file=True,
                                        edr_in_block_mode=True)


EndpointFeaturesInput = EndpointAdvancedFeaturesArgs | Mapping[str, Any]


@dataclass(kw_only=True)
class AirBaselineArgs:
    """The arguments of an ``AirBaseline`` (see ``AirBaseline`` for each one)."""

    default_automation_level: pulumi.Input[str | AutomationLevel] | None = AutomationLevel.FULL
    strict_recipients: pulumi.Input[RecipientScopeInput] | None = None
    standard_recipients: pulumi.Input[RecipientScopeInput] | None = None
    alert_notify_users: pulumi.Input[Sequence[pulumi.Input[str]]] | None = None
    include_scubagear_alerts: bool = True
    endpoint_features: EndpointFeaturesInput | bool | None = field(default_factory=recommended_endpoint_features)


def alert_policy_names(include_scubagear_alerts: bool = True) -> tuple[str, ...]:
    """The built-in alert policies a baseline pins on: every AIR trigger, then (with ``include_scubagear_alerts``)
    each ScubaGear MS.DEFENDER.5.1 required alert that is not already there, in the catalogue's order."""
    names = [*AIR_TRIGGER_ALERT_POLICIES, *(SCUBAGEAR_REQUIRED_ALERT_POLICIES if include_scubagear_alerts else ())]
    return tuple(dict.fromkeys(names))


def alert_resource_name(baseline_name: str, policy_name: str) -> str:
    """``<baseline>-alert-<slug of the policy name>``: stable whatever the catalogue's order."""
    return f"{baseline_name}-alert-" + re.sub(r"[^a-z0-9]+", "-", policy_name.lower()).strip("-")


class AirBaseline(pulumi.ComponentResource):
    """Microsoft's "configure automated investigation and response" guide as one component.

    Children (each a resource of this library, ``parent`` = the baseline):

    - ``default_device_group``: the built-in "Ungrouped devices (default)" group at ``default_automation_level``
      (default ``full``; None also means ``full``);
    - ``standard_preset``: the Standard preset for ``standard_recipients`` (default: all recipients);
    - ``strict_preset``: the Strict preset for ``strict_recipients``; None (default) = no Strict assignment;
    - ``alert_policies``: one built-in ``AlertPolicy`` per AIR trigger (``air.AIR_TRIGGER_ALERT_POLICIES``) and,
      with ``include_scubagear_alerts`` (default True), per ``air.SCUBAGEAR_REQUIRED_ALERT_POLICIES``, each once,
      ``enabled=True``, ``ignore_missing=True``, ``notify_users=alert_notify_users`` only when that is given
      (unset = notifications not managed);
    - ``endpoint_features``: ``EndpointAdvancedFeatures`` with ``endpoint_features`` (default: automatically
      resolve alerts, allow or block file, EDR in block mode on; a value given replaces that default); None or
      False = no child, the advanced features are not managed.
    """

    default_device_group: DefaultDeviceGroup
    """The "Ungrouped devices (default)" group (guide step 2)."""
    standard_preset: PresetPolicyAssignment
    """The Standard preset assignment (guide step 4)."""
    strict_preset: PresetPolicyAssignment | None
    """The Strict preset assignment, or None without ``strict_recipients`` (guide step 4)."""
    alert_policies: dict[str, AlertPolicy]
    """The built-in alert policies pinned on, by policy name (guide step 3)."""
    endpoint_features: EndpointAdvancedFeatures | None
    """The Defender for Endpoint advanced features, or None when not managed (guide step 1)."""
    alert_policy_ids: pulumi.Output[dict[str, str]]
    """Policy name -> ImmutableId of every pinned built-in alert policy."""
    missing_alert_policies: pulumi.Output[list[str]]
    """The pinned built-ins this tenant lacks (kept with ``present`` false thanks to ``ignore_missing``)."""

    @overload
    def __init__(self, resource_name: str, args: AirBaselineArgs, opts: pulumi.ResourceOptions | None = None,
                 ) -> None:
        ...

    @overload
    def __init__(
        self,
        resource_name: str,
        opts: pulumi.ResourceOptions | None = None,
        *,
        default_automation_level: pulumi.Input[str | AutomationLevel] | None = AutomationLevel.FULL,
        strict_recipients: pulumi.Input[RecipientScopeInput] | None = None,
        standard_recipients: pulumi.Input[RecipientScopeInput] | None = None,
        alert_notify_users: pulumi.Input[Sequence[pulumi.Input[str]]] | None = None,
        include_scubagear_alerts: bool = True,
        endpoint_features: EndpointFeaturesInput | bool | None = ...,
    ) -> None:
        ...

    def __init__(self, resource_name: str, *args: Any, **kwargs: Any) -> None:
        values, opts = split_call(AirBaselineArgs, args, kwargs, "AirBaseline")
        given = AirBaselineArgs(**values)  # the keyword form takes the dataclass's defaults
        if not isinstance(given.include_scubagear_alerts, bool):
            raise TypeError("AirBaseline: include_scubagear_alerts must be a plain bool (it decides which "
                            "resources the program declares)")
        super().__init__(TYPE_TOKEN, resource_name, None, opts)
        child = pulumi.ResourceOptions(parent=self)

        level = given.default_automation_level if given.default_automation_level is not None else AutomationLevel.FULL
        self.default_device_group = DefaultDeviceGroup(f"{resource_name}-ungrouped-devices",
                                                       automation_level=level, opts=child)

        self.alert_policies = {}
        for policy_name in alert_policy_names(given.include_scubagear_alerts):
            settings: dict[str, Any] = {"enabled": True, "ignore_missing": True}
            if given.alert_notify_users is not None:
                settings["notify_users"] = given.alert_notify_users
            self.alert_policies[policy_name] = AlertPolicy(alert_resource_name(resource_name, policy_name),
                                                           name=policy_name, opts=child, **settings)

        self.standard_preset = PresetPolicyAssignment(f"{resource_name}-standard-preset", preset=Preset.STANDARD,
                                                      recipients=given.standard_recipients, opts=child)
        self.strict_preset = None
        if given.strict_recipients is not None:
            self.strict_preset = PresetPolicyAssignment(f"{resource_name}-strict-preset", preset=Preset.STRICT,
                                                        recipients=given.strict_recipients, opts=child)

        self.endpoint_features = None
        features = given.endpoint_features
        if features is True:
            features = recommended_endpoint_features()
        if features is not None and features is not False:
            name = f"{resource_name}-endpoint-features"
            if isinstance(features, EndpointAdvancedFeaturesArgs):
                self.endpoint_features = EndpointAdvancedFeatures(name, features, child)
            elif isinstance(features, Mapping):
                self.endpoint_features = EndpointAdvancedFeatures(name, opts=child, **dict(features))
            else:
                raise TypeError("AirBaseline: endpoint_features must be an EndpointAdvancedFeaturesArgs, a dict, "
                                f"None or False, not {type(features).__name__}")

        policies = self.alert_policies
        self.alert_policy_ids = pulumi.Output.all(*(p.policy_id for p in policies.values())).apply(
            lambda ids: dict(zip(policies, ids, strict=True)))
        self.missing_alert_policies = pulumi.Output.all(*(p.present for p in policies.values())).apply(
            lambda present: [n for n, here in zip(policies, present, strict=True) if here is False])
        outputs: dict[str, Any] = {
            "default_device_group_id": self.default_device_group.group_id,
            "standard_eop_rule_state": self.standard_preset.eop_rule_state,
            "strict_eop_rule_state": self.strict_preset.eop_rule_state if self.strict_preset else None,
            "alert_policy_ids": self.alert_policy_ids,
            "missing_alert_policies": self.missing_alert_policies,
            "automated_investigation_enabled": (self.endpoint_features.automated_investigation_enabled
                                                if self.endpoint_features else None),
        }
        self.register_outputs(outputs)


__all__ = ["AirBaseline", "AirBaselineArgs", "alert_policy_names", "alert_resource_name",
           "recommended_endpoint_features"]
