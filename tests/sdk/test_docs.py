"""The docs name what the code ships: every built-in that triggers AIR is in the alert-policy table."""

from pathlib import Path

from defender_air_provider.data import built_in_alert_policies

ZWSP = "\u200b"  # the trailing zero-width space of five built-in names; the docs write names without it
DOCS = Path(__file__).resolve().parents[2] / "docs"


def test_alert_policy_doc_lists_every_air_trigger_and_baseline_mapping() -> None:
    text = (DOCS / "alert-policy.md").read_text(encoding="utf-8")
    for policy in built_in_alert_policies():
        if policy.air or policy.orca242 or policy.scuba:
            row = next((line for line in text.splitlines() if f"`{policy.immutable_id}`" in line), None)
            assert row is not None, policy.name
            assert row.startswith(f"| {policy.name.rstrip(ZWSP)}")
            assert ("**yes**" in row) == policy.air
            for baseline in policy.scuba:
                assert baseline in row
