"""Data files shipped with the library, and their loaders.

This package imports nothing of the project: the handlers and the service fakes both read it, and the fakes must not
import handlers or clients (they are written from docs/wire, so a misunderstanding in a client can't be mirrored by
its fake).

``built_in_alert_policies.json``: the built-in (system) Office 365 alert policies, one object per policy, in the
row order of the source table (docs/wire/security-compliance.md §4, each fact with its public source):

* the wire values come from a real ``Get-ProtectionAlert`` export (ScubaGear's sample, "SCUBA-S") or, for the rows
  marked ``T``, only ScubaGear's test stubs ("SCUBA-T") (§4.1, §4.2). The table truncates filters over 70
  characters; the full filters of the rules that trigger AIR come from §4.3;
* ``air``: "Automated investigation = Yes" in Microsoft's alert-policies article (docs/wire/security-compliance.md §3.5:
  "If these alerts are disabled or replaced by custom alerts, AIR isn't triggered");
* ``orca242``: in Maester's ORCA-242 list (``check-ORCA242.ps1`` ``$ImportantAlerts``, "Important protection alerts
  responsible for AIR activities");
* ``scuba``: the ScubaGear policies that require the alert enabled: MS.DEFENDER.5.1 (Rego ``RequiredAlerts``)
  and/or MS.SECURITYSUITE.4.1 (``SecuritySuiteConfig.rego``); the two lists differ by one policy each
  (docs/wire/security-compliance.md §3.5);
* ``replaced_by``: the ImmutableId of the built-in that Microsoft's alert-policies article says replaced this one
  ("This alert policy will eventually go away, so we recommend disabling it", docs/wire/security-compliance.md §3.5),
  or null;
* ``retired``: one of the four legacy alerts Microsoft removed in 2024 (message center MC822720,
  docs/wire/security-compliance.md §5.5).

Fields: the PascalCase ones are the service's own property values, exactly as ``Get-ProtectionAlert`` returns them
(``Name`` keeps its trailing zero-width space, written ``\\u200b`` in the file so it can be seen; ``Operation`` and
``Filter`` are null where the policy has none); the lower-case ones are what we know about the policy:
``filter_truncated`` (only the truncated ``Filter`` of §4.2 is known: the value is that prefix, without the ellipsis),
``source`` (``S`` or ``T``, as above), the flags ``air``, ``orca242``, ``scuba`` (baseline ids) and ``retired``, and
``replaced_by``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from typing import Any

BUILT_IN_ALERT_POLICIES_FILE = "built_in_alert_policies.json"


@dataclass(frozen=True)
class BuiltInAlertPolicyRecord:
    """One entry of ``built_in_alert_policies.json`` (see the module docstring for the sources)."""

    name: str  # exact wire name, with its trailing U+200B where the service has one
    immutable_id: str  # = Guid = ExchangeObjectId, the same in every tenant (docs/wire/security-compliance.md §5.1)
    threat_type: str
    severity: str
    category: str
    aggregation_type: str
    operation: tuple[str, ...] | None
    filter: str | None
    filter_truncated: bool
    source: str  # "S" (ScubaGear's real export) or "T" (only in its test stubs)
    air: bool
    orca242: bool
    scuba: tuple[str, ...]
    replaced_by: str | None  # ImmutableId of the built-in that replaces it (docs/wire/security-compliance.md §3.5)
    retired: bool


def _text(entry: dict[str, Any], key: str, *, nullable: bool = False) -> Any:
    value = entry[key]
    if (value is None and nullable) or (isinstance(value, str) and value):
        return value
    raise ValueError(f"{BUILT_IN_ALERT_POLICIES_FILE}: {key} of {entry.get('Name')!r} must be a non-empty string")


def _flag(entry: dict[str, Any], key: str) -> bool:
    value = entry[key]
    if not isinstance(value, bool):
        raise ValueError(f"{BUILT_IN_ALERT_POLICIES_FILE}: {key} of {entry.get('Name')!r} must be true or false")
    return value


def _strings(entry: dict[str, Any], key: str, *, nullable: bool = False) -> tuple[str, ...] | None:
    value = entry[key]
    if value is None and nullable:
        return None
    if not isinstance(value, list) or not all(isinstance(item, str) and item for item in value):
        raise ValueError(f"{BUILT_IN_ALERT_POLICIES_FILE}: {key} of {entry.get('Name')!r} must be a list of strings")
    return tuple(value)


def _record(entry: dict[str, Any]) -> BuiltInAlertPolicyRecord:
    expected = {"Name", "ImmutableId", "ThreatType", "Severity", "Category", "AggregationType", "Operation",
                "Filter", "filter_truncated", "source", "air", "orca242", "scuba", "replaced_by", "retired"}
    if set(entry) != expected:
        raise ValueError(f"{BUILT_IN_ALERT_POLICIES_FILE}: {entry.get('Name')!r} has the fields {sorted(entry)}, "
                         f"expected {sorted(expected)}")
    source = _text(entry, "source")
    if source not in ("S", "T"):
        raise ValueError(f"{BUILT_IN_ALERT_POLICIES_FILE}: source of {entry['Name']!r} must be S or T")
    return BuiltInAlertPolicyRecord(
        name=_text(entry, "Name"),
        immutable_id=_text(entry, "ImmutableId"),
        threat_type=_text(entry, "ThreatType"),
        severity=_text(entry, "Severity"),
        category=_text(entry, "Category"),
        aggregation_type=_text(entry, "AggregationType"),
        operation=_strings(entry, "Operation", nullable=True),
        filter=_text(entry, "Filter", nullable=True),
        filter_truncated=_flag(entry, "filter_truncated"),
        source=source,
        air=_flag(entry, "air"),
        orca242=_flag(entry, "orca242"),
        scuba=_strings(entry, "scuba") or (),
        replaced_by=_text(entry, "replaced_by", nullable=True),
        retired=_flag(entry, "retired"),
    )


@lru_cache(maxsize=1)
def built_in_alert_policies() -> tuple[BuiltInAlertPolicyRecord, ...]:
    """Every built-in alert policy of ``built_in_alert_policies.json``, in file order (read once, then cached)."""
    text = resources.files(__name__).joinpath(BUILT_IN_ALERT_POLICIES_FILE).read_text(encoding="utf-8")
    records = tuple(_record(entry) for entry in json.loads(text)["policies"])
    ids = {record.immutable_id for record in records}
    for record in records:
        if record.replaced_by is not None and record.replaced_by not in ids - {record.immutable_id}:
            raise ValueError(f"{BUILT_IN_ALERT_POLICIES_FILE}: replaced_by of {record.name!r} must be the ImmutableId "
                             "of another policy in the file")
    return records
