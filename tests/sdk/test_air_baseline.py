"""``air.AirBaseline``: its arguments and defaults are the contract's table, both call forms register the same
children, and each child is what the table says, parented to the baseline (under Pulumi's mocks)."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path
from typing import Any

import pytest

import pulumi_defender_air as air
from pulumi_defender_air.air_baseline import alert_policy_names, alert_resource_name
from tests.harness.engine import Registration, capture_registrations, resolve_outputs

PARENT = "defender-air:index:AirBaseline::"
DYNAMIC = "pulumi-python:dynamic/air:"

# CONTRACT.md, "air.AirBaseline": argument -> its default (the table's "default" column, as values).
CONTRACT_DEFAULTS: dict[str, Any] = {
    "default_automation_level": "full",
    "strict_recipients": None,  # no Strict assignment
    "standard_recipients": None,  # all recipients
    "alert_notify_users": None,  # not managed
    "include_scubagear_alerts": True,
    "endpoint_features": air.EndpointAdvancedFeaturesArgs(
        auto_resolve_investigated_alerts=True, allow_or_block_file=True, edr_in_block_mode=True),
}


def baseline(**kwargs: Any) -> list[Registration]:
    return capture_registrations(lambda: air.AirBaseline("b", **kwargs))


def by_type(regs: list[Registration], kind: str) -> list[Registration]:
    return [r for r in regs if r.type_token == DYNAMIC + kind]


def test_arguments_and_defaults_are_the_contract_table() -> None:
    fields = dataclasses.fields(air.AirBaselineArgs)
    assert [f.name for f in fields] == list(CONTRACT_DEFAULTS)
    defaults = air.AirBaselineArgs()
    for name, expected in CONTRACT_DEFAULTS.items():
        assert getattr(defaults, name) == expected, name
    assert defaults.default_automation_level is air.AutomationLevel.FULL
    assert "AirBaseline" in air.__all__ and "AirBaselineArgs" in air.__all__
    assert air.AirBaseline.__mro__[1] is __import__("pulumi").ComponentResource


def test_defaults_declare_the_contract_children_parented_to_the_baseline() -> None:
    regs = baseline()
    (group,) = by_type(regs, "DefaultDeviceGroup")
    (standard,) = by_type(regs, "PresetPolicyAssignment")  # no Strict assignment by default
    (features,) = by_type(regs, "EndpointAdvancedFeatures")
    policies = by_type(regs, "AlertPolicy")
    assert len(regs) == 3 + len(policies)
    for reg in regs:
        assert reg.request is not None and reg.request.parent.endswith(PARENT + "b"), reg.name
    assert group.name == "b-ungrouped-devices" and group.inputs["automation_level"] == "full"
    assert standard.name == "b-standard-preset" and standard.inputs["preset"] == "standard"
    assert "recipients" not in standard.inputs  # all recipients
    assert features.name == "b-endpoint-features"
    assert {k: features.inputs.get(k) for k in ("auto_resolve_investigated_alerts", "allow_or_block_file",
                                                 "edr_in_block_mode", "tamper_protection")} == {
        "auto_resolve_investigated_alerts": True, "allow_or_block_file": True, "edr_in_block_mode": True,
        "tamper_protection": None}
    names = [p.inputs["name"] for p in policies]
    wanted = set(air.AIR_TRIGGER_ALERT_POLICIES) | set(air.SCUBAGEAR_REQUIRED_ALERT_POLICIES)
    assert sorted(names) == sorted(wanted)  # each once
    for policy in policies:
        assert policy.inputs["enabled"] is True and policy.inputs["ignore_missing"] is True
        assert policy.inputs.get("notify_users") is None  # unset: notifications are not managed
        assert policy.name == alert_resource_name("b", policy.inputs["name"])
        assert policy.name.startswith("b-alert-") and " " not in policy.name


def test_every_argument_reaches_its_child() -> None:
    regs = baseline(default_automation_level=air.AutomationLevel.SEMI_ALL_FOLDERS,
                    strict_recipients={"groups": ["vip@contoso.com"]},
                    standard_recipients=air.RecipientScopeArgs(domains=["contoso.com"]),
                    alert_notify_users=["secops@contoso.com"], include_scubagear_alerts=False,
                    endpoint_features={"tamper_protection": True})
    (group,) = by_type(regs, "DefaultDeviceGroup")
    assert group.inputs["automation_level"] == "semi_all_folders"
    presets = {r.inputs["preset"]: r for r in by_type(regs, "PresetPolicyAssignment")}
    assert presets["strict"].name == "b-strict-preset"
    assert presets["strict"].inputs["recipients"] == {"groups": ["vip@contoso.com"]}
    assert presets["standard"].inputs["recipients"] == {"users": None, "groups": None, "domains": ["contoso.com"]}
    policies = by_type(regs, "AlertPolicy")
    assert [p.inputs["name"] for p in policies] == list(air.AIR_TRIGGER_ALERT_POLICIES)
    assert all(p.inputs["notify_users"] == ["secops@contoso.com"] for p in policies)
    (features,) = by_type(regs, "EndpointAdvancedFeatures")
    assert features.inputs["tamper_protection"] is True
    assert features.inputs.get("edr_in_block_mode") is None  # a value given replaces the default


@pytest.mark.parametrize("off", [None, False])
def test_endpoint_features_none_or_false_leaves_advanced_features_unmanaged(off: Any) -> None:
    regs = baseline(endpoint_features=off)
    assert by_type(regs, "EndpointAdvancedFeatures") == []
    assert len(by_type(regs, "DefaultDeviceGroup")) == 1


def test_default_automation_level_none_means_full() -> None:
    (group,) = by_type(baseline(default_automation_level=None), "DefaultDeviceGroup")
    assert group.inputs["automation_level"] == "full"


def test_both_call_forms_register_identical_children() -> None:
    kwargs: dict[str, Any] = {"strict_recipients": air.RecipientScopeArgs(groups=["vip@contoso.com"]),
                              "alert_notify_users": ["secops@contoso.com"]}
    by_keyword = capture_registrations(lambda: air.AirBaseline("b", **kwargs))
    positional = capture_registrations(lambda: air.AirBaseline("b", air.AirBaselineArgs(**kwargs)))
    args_keyword = capture_registrations(lambda: air.AirBaseline("b", args=air.AirBaselineArgs(**kwargs)))
    def key(regs: list[Registration]) -> list[tuple[str, str, dict[str, Any]]]:
        return [(r.type_token, r.name, {k: v for k, v in r.inputs.items() if k != "__provider"}) for r in regs]
    assert key(by_keyword) == key(positional) == key(args_keyword)
    assert len(by_keyword) == 4 + len(alert_policy_names())


def test_child_names_are_stable_and_derived_from_the_baseline_name() -> None:
    first = [r.name for r in baseline()]
    assert first == [r.name for r in baseline()]
    renamed = [r.name for r in capture_registrations(lambda: air.AirBaseline("prod"))]
    assert renamed == ["prod" + name[1:] for name in first]  # a prefix: aliases on the baseline carry over
    assert len(set(first)) == len(first)


def test_no_duplicate_alert_policies_and_scubagear_adds_the_non_air_ones() -> None:
    names = alert_policy_names()
    assert len(names) == len(set(names))
    extra = set(names) - set(air.AIR_TRIGGER_ALERT_POLICIES)
    assert extra == set(air.SCUBAGEAR_REQUIRED_ALERT_POLICIES) - set(air.AIR_TRIGGER_ALERT_POLICIES)
    assert len(extra) == 4
    assert alert_policy_names(False) == air.AIR_TRIGGER_ALERT_POLICIES


def test_wrong_arguments_fail_as_for_any_call() -> None:
    with pytest.raises(TypeError, match="unexpected keyword"):
        capture_registrations(lambda: air.AirBaseline("b", strict=True))  # type: ignore[call-overload]
    with pytest.raises(TypeError, match="endpoint_features"):
        capture_registrations(lambda: air.AirBaseline("b", endpoint_features="on"))  # type: ignore[call-overload]


DOC = Path(__file__).resolve().parents[2] / "docs" / "air-baseline.md"


def test_the_reference_page_lists_every_argument_and_its_examples_run() -> None:
    text = DOC.read_text(encoding="utf-8")
    rows = [line for line in text.splitlines() if line.startswith("| `")]
    documented = [row.split("`")[1] for row in rows][:len(CONTRACT_DEFAULTS)]
    assert documented == list(CONTRACT_DEFAULTS)
    for step in ("1. prerequisites", "2. automation level", "3. alert policies", "4. preset policies"):
        assert step in text
    blocks = re.findall(r"```python\n(.*?)```", text, re.DOTALL)
    assert blocks
    for block in blocks:
        def program(source: str = block) -> None:
            exec(source, {"__name__": "__main__"})

        regs = capture_registrations(program)
        assert len(regs) == 4 + len(alert_policy_names())
        assert all(r.request is not None and PARENT + "air" in r.request.parent for r in regs)


def test_outputs_name_the_missing_built_ins() -> None:
    answer = {"present": False, "policy_id": "id", "group_id": "1", "eop_rule_state": "Enabled"}
    outputs = resolve_outputs(lambda: air.AirBaseline("b"), answer)
    assert outputs["missing_alert_policies"] == list(alert_policy_names())
    assert outputs["alert_policy_ids"] == dict.fromkeys(alert_policy_names(), "id")


def test_endpoint_features_true_is_the_recommended_three() -> None:
    def managed(regs: list[Registration]) -> dict[str, Any]:
        (features,) = by_type(regs, "EndpointAdvancedFeatures")
        return {k: v for k, v in features.inputs.items() if k != "__provider"}
    assert managed(baseline(endpoint_features=True)) == managed(baseline())
