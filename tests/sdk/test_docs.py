"""The docs name what the code ships: every built-in that triggers AIR is in the alert-policy table, with its status,
and the page's examples run."""

import re
from pathlib import Path

import pulumi_defender_air as air
from defender_air_provider.data import built_in_alert_policies
from tests.harness.engine import capture_registrations

ZWSP = "\u200b"  # the trailing zero-width space of five built-in names; the docs write names without it
DOCS = Path(__file__).resolve().parents[2] / "docs"
PYTHON_BLOCK = re.compile(r"```python\n(.*?)```", re.DOTALL)


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
            entry = air.BUILT_IN_ALERT_POLICY_CATALOGUE[policy.name.rstrip(ZWSP)]
            note = [cell.strip() for cell in row.strip().strip("|").split("|")][-1]
            expected = {air.BuiltInAlertPolicyStatus.CURRENT: "",
                        air.BuiltInAlertPolicyStatus.REPLACED: f"replaced by *{entry.replaced_by}*",
                        air.BuiltInAlertPolicyStatus.RETIRED: "retired by Microsoft (MC822720)"}[entry.status]
            assert note == expected, policy.name


def test_the_alert_policy_examples_run_and_keep_missing_built_ins() -> None:
    blocks = PYTHON_BLOCK.findall((DOCS / "alert-policy.md").read_text(encoding="utf-8"))
    assert len(blocks) >= 3
    for block in blocks:
        def program(source: str = block) -> None:
            exec(source, {"__name__": "__main__"})

        registrations = capture_registrations(program)
        assert registrations, block
        for reg in registrations:  # the docs teach ignore_missing wherever they declare built-ins
            if air.built_in_alert_policy(reg.inputs["name"]) is not None:
                assert reg.inputs["ignore_missing"] is True, reg.inputs["name"]
