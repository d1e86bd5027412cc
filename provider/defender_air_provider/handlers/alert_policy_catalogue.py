"""The shipped catalogue of built-in (system) Office 365 alert policies.

The data is ``defender_air_provider/data/built_in_alert_policies.json`` (its sources are listed in
``defender_air_provider/data/__init__.py``): a real ``Get-ProtectionAlert`` export (ScubaGear sample) and test stubs,
docs/wire/security-compliance.md §4-§5. ``ImmutableId`` is the same in every tenant and stable across renames
(docs/wire/security-compliance.md §5.1), so built-ins are recognised by it first and by name second. Names marked
``ZWSP`` end in U+200B on the wire
(docs/wire/security-compliance.md §5.4); matching ignores it, but calls use the service's exact name.

Flags:
* ``air``: "Automated investigation = Yes" in Microsoft's alert-policies article (APDOC) — these start
  automated investigations; "If these alerts are disabled or replaced by custom alerts, AIR isn't triggered".
* ``orca242``: in Maester's ORCA-242 list ("Important protection alerts responsible for AIR activities").
* ``scuba``: the ScubaGear policies that require it enabled: MS.DEFENDER.5.1 (Rego ``RequiredAlerts``) and/or
  MS.SECURITYSUITE.4.1 (SecuritySuiteConfig.rego); the two lists differ by one policy each
  (docs/wire/security-compliance.md §4.1, docs/wire/security-compliance.md §3.5).
* ``replaced_by``: the built-in that Microsoft's alert-policies article says replaced this one; the old one "will
  eventually go away" (docs/wire/security-compliance.md §3.5).
* ``retired``: removed by Microsoft in 2024 (MC822720, docs/wire/security-compliance.md §5.5).
"""

from __future__ import annotations

from dataclasses import dataclass

from ..data import built_in_alert_policies
from ..definitions.fields import name_key

ZWSP = "\u200b"


@dataclass(frozen=True)
class BuiltInAlertPolicy:
    name: str  # exact wire name (with its trailing ZWSP where the service has one)
    immutable_id: str
    threat_type: str
    severity: str
    category: str
    aggregation_type: str = "None"
    air: bool = False
    orca242: bool = False
    scuba: tuple[str, ...] = ()
    replaced_by: str | None = None  # ImmutableId of the built-in that replaced it; this one may go away
    retired: bool = False  # MC822720: removed by Microsoft in 2024; may be absent from a tenant

    @property
    def display_name(self) -> str:
        return without_zwsp(self.name)


CATALOGUE: tuple[BuiltInAlertPolicy, ...] = tuple(
    BuiltInAlertPolicy(
        name=record.name, immutable_id=record.immutable_id, threat_type=record.threat_type,
        severity=record.severity, category=record.category, aggregation_type=record.aggregation_type,
        air=record.air, orca242=record.orca242, scuba=record.scuba, replaced_by=record.replaced_by,
        retired=record.retired,
    )
    for record in built_in_alert_policies()
)


def without_zwsp(name: str) -> str:
    """The name as people write it: without the trailing zero-width space some built-ins carry
    (docs/wire/security-compliance.md §5.4)."""
    return name.rstrip(ZWSP)


identity_key = name_key  # how alert policy names compare (definitions/fields.py), one rule with the claims


_BY_KEY = {identity_key(p.name): p for p in CATALOGUE}
_BY_ID = {p.immutable_id.lower(): p for p in CATALOGUE}


def find_built_in(name: str) -> BuiltInAlertPolicy | None:
    return _BY_KEY.get(identity_key(name))


def built_in_by_id(immutable_id: str) -> BuiltInAlertPolicy | None:
    return _BY_ID.get(immutable_id.lower())


def replacement_of(policy: BuiltInAlertPolicy) -> BuiltInAlertPolicy | None:
    """The built-in that replaced ``policy`` (docs/wire/security-compliance.md §3.5), if any."""
    return built_in_by_id(policy.replaced_by) if policy.replaced_by else None


AIR_TRIGGERS: tuple[BuiltInAlertPolicy, ...] = tuple(p for p in CATALOGUE if p.air)

SCUBAGEAR_DEFENDER_5_1 = "MS.DEFENDER.5.1"
# The built-ins ScubaGear MS.DEFENDER.5.1 requires enabled (its Rego ``RequiredAlerts``,
# docs/wire/security-compliance.md §3.5).
SCUBAGEAR_REQUIRED: tuple[BuiltInAlertPolicy, ...] = tuple(p for p in CATALOGUE if SCUBAGEAR_DEFENDER_5_1 in p.scuba)
