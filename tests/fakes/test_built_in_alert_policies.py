"""The built-in alert policy catalogue (``data/built_in_alert_policies.json``) agrees with itself and with the notes.

One data file serves the handlers' catalogue, the Security & Compliance fake's seed and these tests. The checks
against the research notes parse ``shared/research/wire-details.md`` part C1 (its table and its JSON block) and
``o365-policies.md`` §3.5 directly, so a transcription error in the file fails here; they are skipped where the notes
are not next to the repository (``../shared/research``).
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from defender_air_provider.data import BuiltInAlertPolicyRecord, built_in_alert_policies
from defender_air_provider.handlers.alert_policy_catalogue import AIR_TRIGGERS, CATALOGUE, find_built_in

ZWSP = "\u200b"
POLICIES = built_in_alert_policies()
NOTES = Path(__file__).resolve().parents[2].parent / "shared" / "research"
GUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
# docs/wire/security-compliance.md §3.1: the enum values (values seen in reality, wider than the doc).
THREAT_TYPES = {"Activity", "Malware", "Phish", "Malicious", "MaliciousUrlClick", "MailFlow"}
SEVERITIES = {"Low", "Medium", "High", "Informational"}
AGGREGATION_TYPES = {"None", "SimpleAggregation", "AnomalousAggregation", "CustomAggregation"}
CATEGORIES = {"AccessGovernance", "ComplianceManager", "DataGovernance", "MailFlow", "Others", "PrivacyManagement",
              "Supervision", "ThreatManagement", "DataLossPrevention"}


def notes(name: str) -> str:
    path = NOTES / name
    if not path.exists():
        pytest.skip(f"the research notes are not at {NOTES}")
    return path.read_text(encoding="utf-8")


def by_id() -> dict[str, BuiltInAlertPolicyRecord]:
    return {p.immutable_id: p for p in POLICIES}


# -- the file agrees with itself -----------------------------------------------------------------------------------

def test_ids_and_names_are_unique() -> None:
    assert len(POLICIES) == 56
    assert len(by_id()) == len(POLICIES)
    assert all(GUID.fullmatch(p.immutable_id) for p in POLICIES)
    # Names are unique even the way people compare them (without the ZWSP, any case).
    assert len({p.name.rstrip(ZWSP).casefold() for p in POLICIES}) == len(POLICIES)


def test_zwsp_only_ever_trails_a_name() -> None:
    flagged = [p.name for p in POLICIES if ZWSP in p.name]
    assert len(flagged) == 5
    assert all(name.endswith(ZWSP) and name.count(ZWSP) == 1 for name in flagged)
    text = (Path(__file__).resolve().parents[2] / "provider" / "defender_air_provider" / "data" /
            "built_in_alert_policies.json").read_text(encoding="utf-8")
    assert ZWSP not in text and text.count("\\u200b") == 5  # written as the visible escape


def test_values_are_the_service_enums() -> None:
    for p in POLICIES:
        assert p.threat_type in THREAT_TYPES and p.severity in SEVERITIES, p.name
        assert p.category in CATEGORIES and p.aggregation_type in AGGREGATION_TYPES, p.name
        # §3.1: -Operation only with -ThreatType Activity.
        assert p.operation is None or (p.operation and p.threat_type == "Activity"), p.name


def test_air_rules_are_present_with_their_full_filters() -> None:
    air = [p for p in POLICIES if p.air]
    assert len(air) == 16
    for p in air:
        assert p.source == "S" and not p.retired and not p.filter_truncated, p.name
        assert p.filter is not None or p.operation is not None, p.name
    # The handlers' catalogue is the same file: same rows, same order, same flags.
    assert [(c.name, c.immutable_id, c.air, c.orca242, c.scuba, c.replaced_by, c.retired) for c in CATALOGUE] == [
        (p.name, p.immutable_id, p.air, p.orca242, p.scuba, p.replaced_by, p.retired) for p in POLICIES]
    assert {c.immutable_id for c in AIR_TRIGGERS} == {p.immutable_id for p in air}
    for p in POLICIES:
        found = find_built_in(p.name.rstrip(ZWSP).upper())
        assert found is not None and found.immutable_id == p.immutable_id


def test_truncated_filters_and_retired_rules() -> None:
    truncated = {p.name for p in POLICIES if p.filter_truncated}
    retired = {p.name for p in POLICIES if p.retired}
    # docs/wire/security-compliance.md §5.1 (MC822720): the four legacy override alerts, known only from the T stubs.
    assert retired == truncated == {"Malware not zapped because ZAP is disabled",
                                    "Phish delivered due to an ETR override",
                                    "Phish delivered due to an IP allow policy",
                                    "Phish not zapped because ZAP is disabled"}
    assert all(p.source == "T" and p.filter for p in POLICIES if p.retired)
    assert not any("…" in (p.filter or "") for p in POLICIES)  # a truncated filter is stored without the ellipsis


def test_baseline_ids() -> None:
    assert {b for p in POLICIES for b in p.scuba} == {"MS.DEFENDER.5.1", "MS.SECURITYSUITE.4.1"}
    # "the two lists differ by one policy each" (docs/wire/security-compliance.md §4.1, docs/wire/security-compliance.md
    # §3.5)
    defender = {p.name for p in POLICIES if "MS.DEFENDER.5.1" in p.scuba}
    suite = {p.name for p in POLICIES if "MS.SECURITYSUITE.4.1" in p.scuba}
    assert len(defender - suite) == 1 and len(suite - defender) == 1


# -- the file agrees with the notes --------------------------------------------------------------------------------

def c1_table() -> list[list[str]]:
    """The rows of docs/wire/security-compliance.md §4's table, as cells."""
    text = notes("wire-details.md")
    section = text[text.index("### C1."):text.index("### C2.")]
    rows = []
    for line in section.splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if len(cells) == 10 and GUID.fullmatch(cells[1].strip("`")):
            rows.append(cells)
    return rows


def c1_json_block() -> list[dict[str, Any]]:
    text = notes("wire-details.md")
    section = text[text.index("### C1."):text.index("### C2.")]
    block = section[section.index("```json") + len("```json"):]
    result: list[dict[str, Any]] = json.loads(block[:block.index("```")])
    return result


def test_every_row_of_the_c1_table_is_in_the_file_in_order() -> None:
    rows = c1_table()
    assert len(rows) == len(POLICIES)
    full_filters = {rule["ImmutableId"]: rule["Filter"] for rule in c1_json_block()}
    for cells, p in zip(rows, POLICIES, strict=True):
        name, guid, threat, severity, category, aggregation, op_filter, air, orca, source = cells
        expected_name = name.replace(" **+U+200B**", ZWSP)
        assert (p.name, p.immutable_id, p.threat_type, p.severity, p.category, p.aggregation_type, p.source) == (
            expected_name, guid.strip("`"), threat, severity, category, aggregation, source)
        operation = re.search(r"Op `([^`]+)`", op_filter)
        assert p.operation == ((operation.group(1),) if operation else None), p.name
        printed = re.search(r"Filter `([^`]+)`", op_filter)
        if printed is None:
            assert p.filter is None, p.name
        elif printed.group(1).endswith("…"):
            prefix = printed.group(1)[:-1].rstrip()
            assert p.filter is not None and p.filter.startswith(prefix), p.name
            # Truncated in the table: the full text is in the JSON block, or only the prefix is known.
            assert p.filter == full_filters.get(p.immutable_id, prefix), p.name
            assert p.filter_truncated is (p.immutable_id not in full_filters), p.name
        else:
            assert p.filter == printed.group(1) and not p.filter_truncated, p.name
        assert p.air is air.startswith("Yes"), p.name
        assert p.retired is ("retired" in air), p.name
        assert p.orca242 is (orca == "yes"), p.name


def test_the_air_rules_have_the_values_of_the_c1_json_block() -> None:
    block = c1_json_block()
    assert {rule["ImmutableId"] for rule in block} == {p.immutable_id for p in POLICIES if p.air}
    for rule in block:
        p = by_id()[rule["ImmutableId"]]
        assert {"Name": p.name, "ImmutableId": p.immutable_id, "ThreatType": p.threat_type, "Severity": p.severity,
                "Operation": list(p.operation) if p.operation else None, "Filter": p.filter} == rule


def test_securitysuite_4_1_is_the_list_of_o365_policies_3_5() -> None:
    text = notes("o365-policies.md")
    section = text[text.index("### 3.5"):text.index("## 4.")]
    paragraph = section[section.index("ScubaGear's"):]
    paragraph = paragraph[:paragraph.index("MS.SECURITYSUITE.4.1")]
    names = {" ".join(name.split()) for name in re.findall(r"\"([^\"]+)\"", paragraph)}  # names wrap lines
    assert names == {p.name for p in POLICIES if "MS.SECURITYSUITE.4.1" in p.scuba}


# -- replaced built-ins (docs/wire/security-compliance.md §3.5, from APDOC) ----------------------------------------

WIRE_PAGE = Path(__file__).resolve().parents[2] / "docs" / "wire" / "security-compliance.md"


def test_replaced_by_is_the_wire_pages_list_of_replacements() -> None:
    text = WIRE_PAGE.read_text(encoding="utf-8")
    section = text[text.index("### 3.5"):text.index("## 4.")]
    bullet = section[section.index("APDOC marks three AIR built-ins as replaced"):]
    bullet = " ".join(bullet[:bullet.index("Source: APDOC")].split())  # names wrap lines
    pairs = re.findall(r"(?:: |; )([^;:→]+?) → ([^;(]+?)(?= \(|;|\. )", bullet)
    names = {p.name.rstrip(ZWSP): p for p in POLICIES}
    documented = {(old, new) for old, new in pairs}
    assert len(documented) == 3
    stored = {(p.name.rstrip(ZWSP), by_id()[p.replaced_by].name.rstrip(ZWSP)) for p in POLICIES if p.replaced_by}
    assert stored == documented
    for old, new in documented:  # both ends are AIR triggers that exist today
        assert names[old].air and names[new].air and not names[old].retired and not names[new].retired


def test_the_replaced_rows_are_the_legacy_rows_of_the_catalogue_table() -> None:
    text = WIRE_PAGE.read_text(encoding="utf-8")
    section = text[text.index("### 4.2"):text.index("### 4.3")]
    legacy = {line.split("|")[1].strip() for line in section.splitlines()
              if line.startswith("| ") and "legacy" in line}
    assert legacy == {p.name for p in POLICIES if p.replaced_by}
