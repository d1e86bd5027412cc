"""AlertPolicy ``ignore_missing``: a built-in the tenant lacks is kept with ``present=False``, never written to.

Against the stateful Security & Compliance fake (in-process). A tenant lacking a built-in is made with the fake's
public API (``remove_policy``); the policy "appears again" by loading the snapshot taken before it was removed.
"""

from __future__ import annotations

import logging
from typing import Any

import pytest
import respx
from pulumi.output import Unknown

from defender_air_provider.core.errors import DefenderAirError
from defender_air_provider.fakes.tenant import FakeTenant
from defender_air_provider.handlers import context
from defender_air_provider.handlers.alert_policy import AlertPolicyProvider

P = AlertPolicyProvider()
ZWSP = "\u200b"
# Replaced by "Email messages containing malicious file removed after delivery" (docs/wire/security-compliance.md
# §3.5): Microsoft says it "will eventually go away".
MALWARE = "Email messages containing malware removed after delivery"
MALWARE_ID = "0179b3f7-3fda-40c3-8f24-278563978dbb"
CAMPAIGN = "Email messages from a campaign removed after delivery"  # ends in a zero-width space on the service
CAMPAIGN_ID = "c8522cbb-9368-4e25-4ee9-08d8d899dfab"
IP_ALLOW = "Phish delivered due to an IP allow policy"  # retired (MC822720, docs/wire/security-compliance.md §5.5)
IP_ALLOW_ID = "8bd89c8d-1425-45ba-838a-e15fb89808d2"
WRITES = ("New-ProtectionAlert", "Set-ProtectionAlert", "Remove-ProtectionAlert")
SECOPS = ["secops@contoso.onmicrosoft.com"]


def outs(result: Any) -> dict[str, Any]:
    assert result.outs is not None
    return dict(result.outs)


def writes(tenant: FakeTenant) -> list[str]:
    return [op for op in tenant.log.operations("compliance") if op in WRITES]


def built_in(name: str = MALWARE, **overrides: Any) -> dict[str, Any]:
    props: dict[str, Any] = {"name": name, "enabled": True, "notify_users": SECOPS, "notification_enabled": True,
                             "adopt_existing": False, "ignore_missing": True}
    props.update(overrides)
    return props


def later() -> None:
    """A later ``pulumi`` command runs a new provider process: no list of policies cached from the last one."""
    context.current().alert_policies.invalidate()


def warnings(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]


# ---------------------------------------------------------------------------------------------- create
def test_create_of_a_missing_built_in_reads_and_writes_nothing(tenant: FakeTenant,
                                                               caplog: pytest.LogCaptureFixture) -> None:
    assert tenant.compliance.remove_policy(MALWARE_ID)
    tenant.log.clear()
    with caplog.at_level(logging.WARNING, logger="defender_air"):
        result = P.create(built_in())
    assert result.id == MALWARE_ID  # the catalogue's ImmutableId: the same in every tenant
    out = outs(result)
    assert out["present"] is False and out["is_built_in"] is True and out["policy_id"] == MALWARE_ID
    assert out["enabled"] is True and out["notify_users"] == SECOPS and out["ignore_missing"] is True
    assert out["severity"] is None  # nothing could be read: unmanaged settings are unknown
    # Two single-object reads (its ImmutableId, its exact name), no list: the cost does not grow with the tenant.
    assert writes(tenant) == [] and tenant.log.count("compliance", "Get-ProtectionAlert") == 2
    [warning] = warnings(caplog)
    assert f"'{MALWARE}'" in warning and "may have retired it" in warning
    assert "Email messages containing malicious file removed after delivery" in warning  # its replacement


def test_a_retired_built_in_says_so(tenant: FakeTenant, caplog: pytest.LogCaptureFixture) -> None:
    tenant.compliance.remove_policy(IP_ALLOW_ID)
    with caplog.at_level(logging.WARNING, logger="defender_air"):
        result = P.create(built_in(IP_ALLOW))
    assert result.id == IP_ALLOW_ID and outs(result)["present"] is False
    assert any(IP_ALLOW in w and "MC822720" in w for w in warnings(caplog))


def test_without_ignore_missing_create_still_fails_and_says_what_to_do(tenant: FakeTenant) -> None:
    tenant.compliance.remove_policy(MALWARE_ID)
    with pytest.raises(DefenderAirError, match=r"built-in policies cannot be created.*replaced it with.*"
                                               r"Set ignore_missing=True"):
        P.create(built_in(ignore_missing=False))
    assert writes(tenant) == []


def test_an_existing_built_in_is_adopted_as_usual(tenant: FakeTenant) -> None:
    tenant.compliance.edit_policy(CAMPAIGN_ID, Disabled=True)
    result = P.create(built_in(CAMPAIGN))
    out = outs(result)
    assert result.id == CAMPAIGN_ID and out["present"] is True and out["service_name"] == CAMPAIGN + ZWSP
    assert tenant.compliance.policy(CAMPAIGN_ID)["Disabled"] is False  # type: ignore[index]
    assert tenant.compliance.policy(CAMPAIGN_ID)["NotifyUser"] == SECOPS  # type: ignore[index]


def test_without_ignore_missing_present_is_true(tenant: FakeTenant) -> None:
    out = outs(P.create(built_in(CAMPAIGN, ignore_missing=False)))
    assert out["present"] is True and out["ignore_missing"] is False


# ---------------------------------------------------------------------------------------------- where refused
def test_an_existing_custom_policy_is_refused_at_create(tenant: FakeTenant) -> None:
    # Not in the catalogue, so check let it through; the tenant shows it is a custom policy.
    with pytest.raises(DefenderAirError, match=r"'Audit logging changed' is a custom alert policy.*built-in "
                                               r"policies only.*adopt_existing=True"):
        P.create(built_in("Audit logging changed"))
    assert writes(tenant) == []


def test_an_unknown_name_that_does_not_exist_is_refused_at_create(tenant: FakeTenant) -> None:
    with pytest.raises(DefenderAirError, match=r"not a built-in policy this library knows.*misspelt"):
        P.create(built_in("Email messages containing malwre removed after delivery"))
    assert writes(tenant) == []


def test_an_uncatalogued_built_in_is_adopted_and_kept_when_it_goes(tenant: FakeTenant) -> None:
    tenant.compliance.add_custom(Name="Brand new Microsoft alert", IsSystemRule=True)
    created = P.create(built_in("Brand new Microsoft alert"))
    assert outs(created)["present"] is True and outs(created)["is_built_in"] is True
    tenant.compliance.remove_policy("Brand new Microsoft alert")
    later()
    read = P.read(created.id, outs(created))
    assert read.id == created.id and outs(read)["present"] is False


def test_a_custom_policy_that_took_a_missing_built_ins_name_is_left_alone(
        tenant: FakeTenant, caplog: pytest.LogCaptureFixture) -> None:
    tenant.compliance.remove_policy(MALWARE_ID)
    tenant.compliance.add_custom(Name=MALWARE, ThreatType="Malware", Disabled=True)
    with caplog.at_level(logging.WARNING, logger="defender_air"):
        result = P.create(built_in())
    assert result.id == MALWARE_ID and outs(result)["present"] is False
    assert writes(tenant) == [] and tenant.compliance.policy(MALWARE)["Disabled"] is True  # type: ignore[index]
    assert any("custom policy" in w and "not managed" in w for w in warnings(caplog))
    read = P.read(result.id, outs(result))  # refresh does not take the custom policy over either
    assert read.id == MALWARE_ID and outs(read)["present"] is False and outs(read)["is_built_in"] is True


# ---------------------------------------------------------------------------------------------- refresh
def test_refresh_keeps_a_missing_built_in_with_present_false(tenant: FakeTenant,
                                                             caplog: pytest.LogCaptureFixture) -> None:
    tenant.compliance.remove_policy(MALWARE_ID)
    created = P.create(built_in())
    tenant.log.clear()
    with caplog.at_level(logging.WARNING, logger="defender_air"):
        read = P.read(created.id, outs(created))
    assert read.id == MALWARE_ID  # never "gone"
    assert outs(read)["present"] is False and outs(read)["enabled"] is True
    assert read.inputs is not None and read.inputs["ignore_missing"] is True
    assert read.inputs["notify_users"] == SECOPS and "severity" not in read.inputs
    assert writes(tenant) == [] and any(MALWARE in w for w in warnings(caplog))


def test_a_built_in_that_goes_later_is_kept_with_present_false(tenant: FakeTenant) -> None:
    created = P.create(built_in())
    assert outs(created)["present"] is True and outs(created)["severity"] == "Informational"
    tenant.compliance.remove_policy(MALWARE_ID)
    later()
    read = P.read(created.id, outs(created))
    assert read.id == MALWARE_ID and outs(read)["present"] is False
    assert outs(read)["severity"] == "Informational"  # as last seen


def test_refresh_without_ignore_missing_reports_it_gone(tenant: FakeTenant) -> None:
    created = P.create(built_in(ignore_missing=False))
    tenant.compliance.remove_policy(MALWARE_ID)
    later()
    assert P.read(created.id, outs(created)).id is None


def test_refresh_then_update_converge_once_it_appears(tenant: FakeTenant) -> None:
    tenant.compliance.edit_policy(MALWARE_ID, Disabled=True, NotifyUser=["TenantAdmins"])
    snapshot = tenant.compliance.to_state()
    tenant.compliance.remove_policy(MALWARE_ID)
    created = P.create(built_in())
    tenant.compliance.load_state(snapshot)  # Microsoft restores it, disabled, notifying the admins
    later()
    read = P.read(created.id, outs(created))
    assert read.id == MALWARE_ID and outs(read)["present"] is True
    assert outs(read)["enabled"] is False and outs(read)["notify_users"] == ["TenantAdmins"]
    assert read.inputs is not None
    diff = P.diff(MALWARE_ID, outs(read), built_in())
    assert diff.changes is True and not diff.replaces
    updated = P.update(MALWARE_ID, outs(read), built_in())
    assert outs(updated)["present"] is True
    policy = tenant.compliance.policy(MALWARE_ID)
    assert policy is not None and policy["Disabled"] is False and policy["NotifyUser"] == SECOPS


# ---------------------------------------------------------------------------------------------- update / delete
def test_update_while_missing_writes_nothing(tenant: FakeTenant) -> None:
    tenant.compliance.remove_policy(MALWARE_ID)
    created = P.create(built_in())
    later()
    tenant.log.clear()
    updated = P.update(MALWARE_ID, outs(created), built_in(notify_users=["soc@contoso.onmicrosoft.com"]))
    assert outs(updated)["present"] is False and outs(updated)["notify_users"] == ["soc@contoso.onmicrosoft.com"]
    assert writes(tenant) == [] and tenant.log.count("compliance", "Get-ProtectionAlert") == 2  # by id, by name


def test_update_applies_every_managed_setting_once_it_is_back(tenant: FakeTenant) -> None:
    # Without a refresh in between: any update reads first, and compares with the live policy, not the old outputs.
    tenant.compliance.edit_policy(MALWARE_ID, Disabled=True)
    snapshot = tenant.compliance.to_state()
    tenant.compliance.remove_policy(MALWARE_ID)
    created = P.create(built_in())
    tenant.compliance.load_state(snapshot)
    later()
    updated = P.update(MALWARE_ID, outs(created), built_in(notification_enabled=False))
    assert outs(updated)["present"] is True and outs(updated)["severity"] == "Informational"
    policy = tenant.compliance.policy(MALWARE_ID)
    assert policy is not None and policy["Disabled"] is False  # not changed in the program, but never applied
    assert policy["NotifyUser"] == SECOPS and policy["NotificationEnabled"] is False


def test_turning_ignore_missing_off_while_missing_fails_like_create(tenant: FakeTenant) -> None:
    tenant.compliance.remove_policy(MALWARE_ID)
    created = P.create(built_in())
    with pytest.raises(DefenderAirError, match="built-in policies cannot be created"):
        P.update(MALWARE_ID, outs(created), built_in(ignore_missing=False))
    assert writes(tenant) == []


def test_ignore_missing_on_a_present_built_in_still_updates(tenant: FakeTenant) -> None:
    created = P.create(built_in(CAMPAIGN))
    P.update(CAMPAIGN_ID, outs(created), built_in(CAMPAIGN, enabled=False))
    assert tenant.compliance.policy(CAMPAIGN_ID)["Disabled"] is True  # type: ignore[index]
    tenant.compliance.remove_policy(CAMPAIGN_ID)  # gone since: the update writes nothing instead of failing
    later()
    tenant.log.clear()
    updated = P.update(CAMPAIGN_ID, outs(created), built_in(CAMPAIGN, enabled=True))
    assert outs(updated)["present"] is False and writes(tenant) == []


def test_delete_of_a_missing_built_in_makes_no_call(tenant: FakeTenant) -> None:
    tenant.compliance.remove_policy(MALWARE_ID)
    created = P.create(built_in())
    tenant.log.clear()
    P.delete(MALWARE_ID, outs(created))
    assert tenant.log.count() == 0


# ---------------------------------------------------------------------------------------------- check / diff
def failures(news: dict[str, Any]) -> list[tuple[str, str]]:
    return [(f.property, f.reason) for f in P.check({}, news).failures]


@respx.mock(assert_all_mocked=True)
def test_check_refuses_ignore_missing_only_with_custom_policy_arguments() -> None:
    assert failures(built_in()) == []  # catalogued
    assert failures(built_in("Brand new Microsoft alert")) == []  # may be a built-in the catalogue doesn't know
    [(prop, reason)] = failures(built_in("My alert", severity="High", category="Others"))
    assert prop == "ignore_missing" and "built-in alert policies only" in reason and "severity, category" in reason
    [(prop, reason)] = failures(built_in("My alert", adopt_existing=True))
    assert prop == "ignore_missing" and "adopt_existing" in reason
    # Catalogued: the custom-only arguments are refused one by one, as without ignore_missing.
    assert [p for p, _ in failures(built_in(severity="High"))] == ["severity"]
    assert failures(built_in("My alert", ignore_missing=Unknown(), severity="High")) == []  # preview
    assert [p for p, _ in failures(built_in(ignore_missing="yes"))] == ["ignore_missing"]


@respx.mock(assert_all_mocked=True)
def test_check_defaults_ignore_missing_to_false() -> None:
    news = built_in()
    del news["ignore_missing"]
    assert P.check({}, news).inputs["ignore_missing"] is False


@respx.mock(assert_all_mocked=True)
def test_diff_of_ignore_missing_and_present() -> None:
    olds = {**built_in(CAMPAIGN, ignore_missing=False), "is_built_in": True, "present": True,
            "policy_id": CAMPAIGN_ID, "service_name": CAMPAIGN + ZWSP}
    news = built_in(CAMPAIGN, ignore_missing=False)
    assert P.diff(CAMPAIGN_ID, olds, news).changes is False
    flipped = P.diff(CAMPAIGN_ID, olds, built_in(CAMPAIGN))
    assert flipped.changes is True and not flipped.replaces  # stored for refresh; never a replacement
    # State written before ignore_missing and present existed: no diff after upgrading.
    legacy = {k: v for k, v in olds.items() if k not in ("ignore_missing", "present")}
    assert P.diff(CAMPAIGN_ID, legacy, news).changes is False
    # A missing built-in with the same inputs: no diff (and no request); a refresh notices when it is back.
    assert P.diff(CAMPAIGN_ID, {**olds, "ignore_missing": True, "present": False}, built_in(CAMPAIGN)).changes is False
