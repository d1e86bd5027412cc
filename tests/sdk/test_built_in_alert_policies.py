"""The SDK's catalogue of built-in alert policies: the name lists, each entry's status, and the ScubaGear list.

Derived facts are checked against the catalogue data file (``data/built_in_alert_policies.json``) and, where the
wire page states them, against docs/wire/security-compliance.md §3.5 directly.
"""

from __future__ import annotations

import dataclasses
import enum
import re
from pathlib import Path

import pytest

import pulumi_defender_air as air
from defender_air_provider.data import built_in_alert_policies

ZWSP = "\u200b"
RECORDS = built_in_alert_policies()
WIRE_PAGE = Path(__file__).resolve().parents[2] / "docs" / "wire" / "security-compliance.md"
Status = air.BuiltInAlertPolicyStatus


def display(name: str) -> str:
    return name.rstrip(ZWSP)


def test_air_trigger_alert_policies_is_still_a_tuple_of_the_non_retired_air_names() -> None:
    names = air.AIR_TRIGGER_ALERT_POLICIES
    assert isinstance(names, tuple) and all(type(n) is str for n in names)
    assert list(names) == [display(r.name) for r in RECORDS if r.air and not r.retired]
    assert len(names) == 16 and not any(ZWSP in n for n in names)
    from pulumi_defender_air.alert_policy import AIR_TRIGGER_ALERT_POLICIES, BUILT_IN_ALERT_POLICIES
    assert AIR_TRIGGER_ALERT_POLICIES is names and BUILT_IN_ALERT_POLICIES is air.BUILT_IN_ALERT_POLICIES


def test_the_catalogue_has_one_typed_entry_per_built_in_in_order() -> None:
    catalogue = air.BUILT_IN_ALERT_POLICY_CATALOGUE
    assert list(catalogue) == list(air.BUILT_IN_ALERT_POLICIES) == [display(r.name) for r in RECORDS]
    for record in RECORDS:
        entry = catalogue[display(record.name)]
        assert isinstance(entry, air.BuiltInAlertPolicy) and entry.name == display(record.name)
        assert entry.policy_id == record.immutable_id and entry.air_trigger is record.air
        assert entry.scubagear == record.scuba and entry.orca242 is record.orca242
    with pytest.raises(TypeError):
        catalogue["x"] = next(iter(catalogue.values()))  # type: ignore[index]
    with pytest.raises(dataclasses.FrozenInstanceError):
        catalogue[air.BUILT_IN_ALERT_POLICIES[0]].name = "x"  # type: ignore[misc]
    assert issubclass(Status, str) and issubclass(Status, enum.Enum)
    assert {s.value for s in Status} == {"current", "replaced", "retired"}


def test_status_says_which_air_triggers_are_replaced_and_by_what() -> None:
    catalogue = air.BUILT_IN_ALERT_POLICY_CATALOGUE
    statuses = {name: catalogue[name].status for name in air.AIR_TRIGGER_ALERT_POLICIES}
    replaced = {name: catalogue[name].replaced_by for name, s in statuses.items() if s is Status.REPLACED}
    # docs/wire/security-compliance.md §3.5 (APDOC): "This alert policy was replaced by ..."
    assert replaced == {
        "Email messages containing malware removed after delivery":
            "Email messages containing malicious file removed after delivery",
        "Email messages containing phish URLs removed after delivery":
            "Email messages containing malicious URL removed after delivery",
        "Remediation action taken by admin on emails or URL or sender":
            "Administrative action submitted by an Administrator",
    }
    # Each replacement is itself a current AIR trigger of the list: the loop keeps AIR working once the old go away.
    for successor in replaced.values():
        assert successor in air.AIR_TRIGGER_ALERT_POLICIES and statuses[successor] is Status.CURRENT
    # No AIR trigger is retired; the list leaves retired ones out anyway.
    assert Status.RETIRED not in statuses.values()
    assert all(e.replaced_by is None for e in catalogue.values() if e.status is not Status.REPLACED)


def test_the_retired_built_ins_are_the_four_of_mc822720() -> None:
    retired = {e.name for e in air.BUILT_IN_ALERT_POLICY_CATALOGUE.values() if e.status is Status.RETIRED}
    assert retired == {display(r.name) for r in RECORDS if r.retired}
    assert retired == {"Malware not zapped because ZAP is disabled", "Phish delivered due to an ETR override",
                       "Phish delivered due to an IP allow policy", "Phish not zapped because ZAP is disabled"}
    assert not retired & set(air.AIR_TRIGGER_ALERT_POLICIES)


def scubagear_5_1_from_the_wire_page() -> set[str]:
    text = WIRE_PAGE.read_text(encoding="utf-8")
    section = text[text.index("### 3.5"):text.index("## 4.")]
    bullet = section[section.index("ScubaGear MS.DEFENDER.5.1 requires these enabled"):]
    bullet = " ".join(bullet[:bullet.index("Source: SCUBA-DEF")].split())
    listed = bullet[bullet.index("): ") + 3:].rstrip(". ")
    return {re.sub(r"\*\*", "", name).strip() for name in listed.split(";")}


def test_scubagear_required_alert_policies_are_the_ms_defender_5_1_built_ins() -> None:
    required = air.SCUBAGEAR_REQUIRED_ALERT_POLICIES
    assert isinstance(required, tuple) and all(type(n) is str for n in required)
    assert list(required) == [display(r.name) for r in RECORDS if "MS.DEFENDER.5.1" in r.scuba]
    assert set(required) == scubagear_5_1_from_the_wire_page() and len(required) == 7
    assert all(air.BUILT_IN_ALERT_POLICY_CATALOGUE[n].status is Status.CURRENT for n in required)


def test_four_scubagear_required_built_ins_are_not_air_triggers() -> None:
    # Computed from the catalogue data, not from the SDK's lists: following only the AIR guide fails MS.DEFENDER.5.1.
    required = {display(r.name) for r in RECORDS if "MS.DEFENDER.5.1" in r.scuba}
    triggers = {display(r.name) for r in RECORDS if r.air and not r.retired}
    assert required - triggers == {"Suspicious Email Forwarding Activity", "Suspicious connector activity",
                                   "Tenant restricted from sending unprovisioned email", "Messages have been delayed"}
    assert set(air.SCUBAGEAR_REQUIRED_ALERT_POLICIES) - set(air.AIR_TRIGGER_ALERT_POLICIES) == required - triggers


def test_built_in_alert_policy_matches_names_as_the_provider_does() -> None:
    entry = air.built_in_alert_policy("email messages REMOVED after delivery" + ZWSP)
    assert entry is not None and entry.name == "Email messages removed after delivery"
    assert entry is air.BUILT_IN_ALERT_POLICY_CATALOGUE["Email messages removed after delivery"]
    assert air.built_in_alert_policy(" Suspicious connector activity ") is not None
    assert air.built_in_alert_policy("Content search deleted") is None
