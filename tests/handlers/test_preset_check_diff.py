"""PresetPolicyAssignment check and diff: local, one failure per problem, no HTTP request."""

from typing import Any

import pytest
import respx
from pulumi.output import Unknown

from defender_air_provider.handlers.preset_policy_assignment import PresetPolicyAssignmentProvider

P = PresetPolicyAssignmentProvider()


def outputs(**overrides: Any) -> dict[str, Any]:
    base = {"preset": "strict", "enabled": True, "defender_for_office365": True,
            "recipients": {"users": [], "groups": ["VIP@contoso.com"], "domains": []},
            "exclusions": {"users": [], "groups": [], "domains": []},
            "eop_rule_state": "Enabled", "atp_rule_state": "Enabled", "atp_rule_in_sync": True}
    base.update(overrides)
    return base


@respx.mock(assert_all_mocked=True)
def test_check_reports_one_failure_per_problem_without_any_request() -> None:
    result = P.check({}, {
        "preset": "strcit",
        "recipients": {"users": ["alice@contoso.com", "not-an-address", "ALICE@contoso.com"],
                       "domains": ["contoso .com"], "team": ["x"]},
        "exclusions": {"users": ["alice@contoso.com"]},
        "enabled": "yes",
    })
    reasons = {(f.property, f.reason) for f in result.failures}
    props = sorted(p for p, _ in reasons)
    assert props == ["enabled", "exclusions.users", "preset", "recipients", "recipients.domains",
                     "recipients.users", "recipients.users"]
    assert any("'not-an-address' is not an SMTP address" in r for _, r in reasons)
    assert any("'contoso .com' is not a domain name" in r for _, r in reasons)
    assert any("listed twice" in r for _, r in reasons)
    assert any("in both recipients.users and exclusions.users" in r for _, r in reasons)
    assert any("'team'" in r for _, r in reasons)
    assert len(respx.calls) == 0


def test_check_accepts_valid_input_and_normalises_the_preset() -> None:
    result = P.check({}, {"preset": "Strict", "recipients": {"groups": ["vip@contoso.com"]}})
    assert result.failures == []
    assert result.inputs["preset"] == "strict"


def test_check_passes_unknown_values_in_preview() -> None:
    result = P.check({}, {"preset": Unknown(), "recipients": {"users": [Unknown(), "a@contoso.com"]},
                          "exclusions": Unknown()})
    assert result.failures == []


def test_diff_no_change_ignores_order_case_and_null_vs_empty() -> None:
    news = {"preset": "strict", "enabled": True, "defender_for_office365": True,
            "recipients": {"groups": ["vip@CONTOSO.com"]}, "exclusions": None}
    d = P.diff("strict", outputs(), news)
    assert d.changes is False and not d.replaces


def test_diff_preset_change_is_a_replace() -> None:
    d = P.diff("strict", outputs(), {"preset": "standard"})
    assert d.changes is True and d.replaces == ["preset"]


@pytest.mark.parametrize("news", [
    {"enabled": False},
    {"recipients": {"groups": ["vip@contoso.com", "board@contoso.com"]}},
    {"exclusions": {"users": ["bob@contoso.com"]}},
    {"defender_for_office365": False},
])
def test_diff_detects_changes(news: dict[str, Any]) -> None:
    base = {"preset": "strict", "enabled": True, "defender_for_office365": True,
            "recipients": {"groups": ["vip@contoso.com"]}}
    assert P.diff("strict", outputs(), {**base, **news}).changes is True


@pytest.mark.parametrize("drift", [{"eop_rule_state": "Disabled"}, {"atp_rule_state": "Disabled"},
                                   {"atp_rule_state": None}, {"atp_rule_in_sync": False}])
def test_diff_repairs_drift_seen_by_refresh(drift: dict[str, Any]) -> None:
    news = {"preset": "strict", "enabled": True, "recipients": {"groups": ["vip@contoso.com"]}}
    assert P.diff("strict", outputs(**drift), news).changes is True


def test_diff_with_unknown_input_reports_a_change() -> None:
    assert P.diff("strict", outputs(), {"preset": "strict", "recipients": Unknown()}).changes is True
