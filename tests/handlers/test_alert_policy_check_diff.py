"""AlertPolicy check and diff: local, one failure per problem, no HTTP request."""

from typing import Any

import pytest
import respx
from pulumi.output import Unknown

from defender_air_provider.handlers.alert_policy import AlertPolicyProvider

P = AlertPolicyProvider()
ZWSP = "\u200b"


def custom(**overrides: Any) -> dict[str, Any]:
    base: dict[str, Any] = {"name": "Content search deleted", "enabled": True, "category": "Others",
                            "threat_type": "Activity", "operations": ["SearchRemoved"], "aggregation_type": "None",
                            "notify_users": ["secops@contoso.com"], "adopt_existing": False}
    base.update(overrides)
    return base


def failures(news: dict[str, Any]) -> list[tuple[str, str]]:
    return [(f.property, f.reason) for f in P.check({}, news).failures]


@respx.mock(assert_all_mocked=True)
def test_one_failure_per_problem_and_no_request() -> None:
    found = failures(custom(severity="Critical", threat_type="Phish", threshold=2.0, time_window=30,
                            notify_users=["TenantAdmins", "not-an-address"], enabled="yes"))
    props = sorted(p for p, _ in found)
    assert props == ["enabled", "notify_users", "operations", "severity", "threshold", "threshold", "time_window",
                     "time_window"]
    reasons = " | ".join(r for _, r in found)
    assert "severity must be one of Low, Medium, High, Informational" in reasons
    assert "threshold must be at least 3" in reasons and "time_window must be at least 60" in reasons
    assert "only allowed with aggregation_type='SimpleAggregation'" in reasons
    assert "operations are only allowed with threat_type='Activity'" in reasons
    assert "'not-an-address' is not an SMTP address or 'TenantAdmins'" in reasons
    assert len(respx.calls) == 0


def test_valid_custom_policy_is_normalised() -> None:
    result = P.check({}, custom(severity="medium", category="others", aggregation_type="simpleaggregation",
                                operations=None, threat_type="activity", threshold=5.0, time_window=120.0,
                                notify_users=["tenantadmins"]))
    assert result.failures == []
    assert result.inputs["severity"] == "Medium" and result.inputs["aggregation_type"] == "SimpleAggregation"
    assert result.inputs["threshold"] == 5 and isinstance(result.inputs["threshold"], int)
    assert result.inputs["notify_users"] == ["TenantAdmins"]


def test_built_in_accepts_only_the_editable_settings() -> None:
    name = "Email messages removed after delivery"  # the service's name ends in a zero-width space
    assert failures({"name": name, "enabled": True, "notify_users": ["secops@contoso.com"],
                     "notification_enabled": True, "notify_user_throttle_threshold": 5.0,
                     "adopt_existing": False}) == []
    found = failures({"name": name + ZWSP, "enabled": False, "severity": "High", "filter": "x",
                      "adopt_existing": True})
    assert sorted(p for p, _ in found) == ["adopt_existing", "filter", "severity"]
    assert all("is a built-in alert policy" in r for _, r in found)


def test_unknown_values_pass_check() -> None:
    assert failures({"name": Unknown(), "severity": Unknown(), "notify_users": [Unknown()]}) == []


def outputs(**overrides: Any) -> dict[str, Any]:
    base = {**custom(), "severity": "Low", "is_built_in": False, "policy_id": "id-1",
            "service_name": "Content search deleted", "filter": None, "comment": None}
    base.update(overrides)
    return base


def test_no_change_ignores_case_order_and_unmanaged_settings() -> None:
    news = custom(name="content SEARCH deleted", operations=["searchremoved"], category="OTHERS",
                  notify_users=["SecOps@Contoso.com"])
    news.pop("aggregation_type")  # unset = not managed: whatever the service has stays
    d = P.diff("id-1", outputs(), news)
    assert d.changes is False and not d.replaces


@pytest.mark.parametrize(("change", "replaces"), [
    ({"name": "Another name"}, ["name"]),
    ({"threat_type": "Malware"}, ["threat_type"]),
])
def test_immutable_settings_replace(change: dict[str, Any], replaces: list[str]) -> None:
    d = P.diff("id-1", outputs(), custom(**change))
    assert d.changes is True and d.replaces == replaces


@pytest.mark.parametrize("change", [{"enabled": False}, {"severity": "High"}, {"notify_users": ["a@contoso.com"]},
                                    {"operations": ["SearchCreated"]}, {"comment": "why"}, {"filter": "x"}])
def test_changes_are_updates(change: dict[str, Any]) -> None:
    d = P.diff("id-1", outputs(), custom(**change))
    assert d.changes is True and not d.replaces


def test_zero_width_space_and_float_ints_are_not_changes() -> None:
    old = outputs(name="Email messages removed after delivery" + ZWSP, threshold=5)
    news = custom(name="Email messages removed after delivery", threshold=5.0)
    assert P.diff("id-1", old, news).changes is False


# ------------------------------------------------------------------ create-only requirements at check (issue 10)
@respx.mock(assert_all_mocked=True)
@pytest.mark.parametrize("missing", [("category",), ("threat_type", "notify_users"),
                                     ("category", "threat_type", "notify_users")])
def test_a_new_custom_policy_without_the_new_cmdlet_arguments_fails_in_preview(missing: tuple[str, ...]) -> None:
    news = {k: v for k, v in custom().items() if k not in missing}
    found = failures(news)
    assert len(found) == 1
    prop, reason = found[0]
    assert prop == missing[0]
    assert f"needs {', '.join(missing)}" in reason and "'Content search deleted' is not a built-in" in reason
    assert "adopt_existing=True" in reason


@respx.mock(assert_all_mocked=True)
@pytest.mark.parametrize("news", [
    {"name": "Content search deleted", "adopt_existing": True},  # takes over an existing custom policy
    {"name": "Content search deleted", "ignore_missing": True},  # may be a built-in the catalogue lacks
    {"name": "Content search deleted", "adopt_existing": Unknown()},  # unknown in preview: never decides
    {"name": "Content search deleted", "category": Unknown(), "threat_type": Unknown(), "notify_users": Unknown()},
    {"name": Unknown()},
    {"name": "Creation of forwarding/redirect rule", "enabled": True},  # a catalogued built-in
])
def test_policies_that_may_exist_or_are_unknown_are_not_refused_for_missing_create_arguments(
        news: dict[str, Any]) -> None:
    assert [f for f in failures(news) if f[0] in ("category", "threat_type", "notify_users")] == []


@respx.mock(assert_all_mocked=True)
def test_an_existing_custom_policy_may_leave_the_create_arguments_unset() -> None:
    """Once created, an unset argument keeps the service's value (contract): only a new policy needs them."""
    olds = custom()
    news = {"name": "content search deleted", "enabled": False}
    assert P.check(olds, news).failures == []
    assert P.check({**olds, "name": "Another name"}, news).failures != []  # a rename replaces: a new policy
