"""The shipped catalogue of built-in (system) alert policies, for programs: which start automated investigations,
which ScubaGear requires, and which Microsoft replaced or retired. Plain data; no resource, no API call."""

from __future__ import annotations

import enum
import types
from collections.abc import Mapping
from dataclasses import dataclass

from defender_air_provider.handlers.alert_policy_catalogue import (
    AIR_TRIGGERS,
    CATALOGUE,
    SCUBAGEAR_REQUIRED,
    find_built_in,
    replacement_of,
)
from defender_air_provider.handlers.alert_policy_catalogue import BuiltInAlertPolicy as _CatalogueEntry


class BuiltInAlertPolicyStatus(str, enum.Enum):
    """Whether Microsoft still ships a built-in alert policy."""

    CURRENT = "current"
    """In service."""
    REPLACED = "replaced"
    """Microsoft's alert-policies article says another built-in (``replaced_by``) replaced it and that it "will
    eventually go away", recommending to disable it; a tenant may already lack it."""
    RETIRED = "retired"
    """Removed by Microsoft in 2024 (message center MC822720); most tenants no longer have it."""


@dataclass(frozen=True)
class BuiltInAlertPolicy:
    """One built-in (system) alert policy of the shipped catalogue: a plain record, not a resource."""

    name: str
    """The name as people write it (without the trailing zero-width space some carry): what ``AlertPolicy`` takes."""
    policy_id: str
    """Its ImmutableId, the same in every tenant (an ``AlertPolicy``'s ``policy_id`` and resource id)."""
    status: BuiltInAlertPolicyStatus
    """Whether Microsoft still ships it."""
    replaced_by: str | None
    """The name of the built-in that replaced it (status ``REPLACED``), else None."""
    air_trigger: bool
    """It starts automated investigations ("Automated investigation" = Yes in Microsoft's alert-policies article)."""
    scubagear: tuple[str, ...]
    """The ScubaGear policies that require it enabled (``MS.DEFENDER.5.1``, ``MS.SECURITYSUITE.4.1``)."""
    orca242: bool
    """It is in ORCA-242's list of "important protection alerts responsible for AIR activities"."""


def _entry(policy: _CatalogueEntry) -> BuiltInAlertPolicy:
    replacement = replacement_of(policy)
    status = (BuiltInAlertPolicyStatus.RETIRED if policy.retired else
              BuiltInAlertPolicyStatus.REPLACED if replacement is not None else BuiltInAlertPolicyStatus.CURRENT)
    return BuiltInAlertPolicy(
        name=policy.display_name, policy_id=policy.immutable_id, status=status,
        replaced_by=replacement.display_name if replacement is not None else None,
        air_trigger=policy.air, scubagear=policy.scuba, orca242=policy.orca242,
    )


#: Every built-in alert policy of the shipped catalogue, by name (without any trailing zero-width space), in the
#: catalogue's order: its ImmutableId, status (current, replaced or retired), replacement and the baselines that
#: require it. Read-only.
BUILT_IN_ALERT_POLICY_CATALOGUE: Mapping[str, BuiltInAlertPolicy] = types.MappingProxyType(
    {p.display_name: _entry(p) for p in CATALOGUE})


def built_in_alert_policy(name: str) -> BuiltInAlertPolicy | None:
    """The catalogue's entry for a built-in alert policy, matched as the provider matches names (any case, with or
    without the trailing zero-width space); None when the catalogue does not know it."""
    found = find_built_in(name)
    return BUILT_IN_ALERT_POLICY_CATALOGUE[found.display_name] if found is not None else None


#: Names of the built-in alert policies that start automated investigations (Microsoft's alert-policies article,
#: "Automated investigation" = Yes), in the catalogue's order. If they are disabled or replaced by custom alerts, AIR
#: isn't triggered. Retired ones are left out; three are ``REPLACED`` (Microsoft says they will eventually go away),
#: so a tenant may lack them: declare them with ``ignore_missing=True``, and see
#: ``BUILT_IN_ALERT_POLICY_CATALOGUE[name].status``. Names are given without the trailing zero-width space some of
#: them carry on the service.
AIR_TRIGGER_ALERT_POLICIES: tuple[str, ...] = tuple(p.display_name for p in AIR_TRIGGERS if not p.retired)
#: Names of the built-in alert policies that CISA ScubaGear MS.DEFENDER.5.1 requires enabled (its ``RequiredAlerts``),
#: in the catalogue's order. Four of them do not start automated investigations, so they are not in
#: ``AIR_TRIGGER_ALERT_POLICIES``.
SCUBAGEAR_REQUIRED_ALERT_POLICIES: tuple[str, ...] = tuple(p.display_name for p in SCUBAGEAR_REQUIRED)
#: Every built-in alert policy of the shipped catalogue (display names).
BUILT_IN_ALERT_POLICIES: tuple[str, ...] = tuple(p.display_name for p in CATALOGUE)
