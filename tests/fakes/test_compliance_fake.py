"""ComplianceFake against the wire facts (docs/wire/invoke-command.md, docs/wire/security-compliance.md §2-§6), through
respx.

The expected values below are transcribed from the notes (the docs/wire/security-compliance.md §3.4 object), not read
from the fake's own constants, so a transcription error in the fake fails here. The built-in catalogue is the shared
data file
``defender_air_provider/data/built_in_alert_policies.json``, which test_built_in_alert_policies.py checks against C1.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timezone
from typing import Any

import httpx
import pytest

from defender_air_provider.data import built_in_alert_policies
from defender_air_provider.fakes.compliance import ComplianceFake
from defender_air_provider.fakes.tenant import FakeTenant

from ._wire import TENANT_ID, body, exo_client, invoke

REGIONAL = "https://nam13b.ps.compliance.protection.outlook.com"
URL = f"{REGIONAL}/adminapi/beta/{TENANT_ID}/InvokeCommand"
ZWSP = "\u200b"
TM = "ThreatManagement"
FFO_SYSTEM_ROOT = ("FFO.extest.microsoft.com/Microsoft Exchange Hosted Organizations/"
                   "f00ed340-8f84-4eb4-83f3-0075a22b262e")
URL_CLICK = "A potentially malicious URL click was detected"
URL_CLICK_ID = "a74bb32a-541b-47fb-adfd-f8c62ce3d59b"
REMOVED = "Email messages removed after delivery" + ZWSP
REMOVED_ID = "b8f6b088-5487-4c70-037c-08d8d71a43fe"
USER_RESTRICTED = "User restricted from sending email"

# Every key of the real Get-ProtectionAlert object of docs/wire/security-compliance.md §3.4, in its order.
KEYS = ["Filter", "Operation", "LogicalOperationName", "NotificationEnabled", "NotifyUser", "Severity", "Threshold",
        "VolumeThreshold", "ExternalScenarioData", "TimeWindow", "NotifyUserOnFilterMatch", "MergedRuleXml",
        "StreamType", "ThreatType", "PrivacyManagementScopedSensitiveInformationTypes",
        "PrivacyManagementScopedSensitiveInformationTypesForCounting",
        "PrivacyManagementScopedSensitiveInformationTypesThreshold", "AlertBy", "AlertFor", "AlertScenario",
        "Scenario", "NotifyUserThrottleThreshold", "NotifyUserThrottleWindow", "NotifyUserSuppressionExpiryDate",
        "NotificationCulture", "AlertOverrideChangedUtc", "AggregationType", "Category", "IsSystemRule", "TagFilter",
        "UserTags", "RecipientTags", "SenderTags", "CustomProperties", "UseCreatedDateTime", "CorrelationPolicyId",
        "ReadOnly", "ErrorMetadata", "ExternalIdentity", "ImmutableId", "Priority", "Workload", "Policy", "Comment",
        "Disabled", "Mode", "ObjectVersion", "MaximumBlobRuleLength", "CreatedBy", "LastModifiedBy", "Guid",
        "Identity", "Id", "IsValid", "ExchangeVersion", "Name", "DistinguishedName", "ObjectCategory",
        "ObjectClass", "WhenChanged", "WhenCreated", "WhenChangedUTC", "WhenCreatedUTC", "ExchangeObjectId",
        "OrganizationalUnitRoot", "OrganizationId", "OriginatingServer", "ObjectState"]

# The built-in catalogue: every row of docs/wire/security-compliance.md §4, in its order (the file is checked against
# the notes in test_built_in_alert_policies.py).
CATALOGUE = built_in_alert_policies()
AIR_RULES = [p for p in CATALOGUE if p.air]


@pytest.fixture
def tenant() -> FakeTenant:
    return FakeTenant()


@pytest.fixture
def client(tenant: FakeTenant) -> Iterator[httpx.Client]:
    with exo_client(tenant) as c:
        yield c


def call(client: httpx.Client, cmdlet: str, params: dict[str, Any] | None = None, **kw: Any) -> httpx.Response:
    return invoke(client, cmdlet, params, url=URL, **kw)


def values(response: httpx.Response) -> list[dict[str, Any]]:
    assert response.status_code == 200, response.text
    result: list[dict[str, Any]] = response.json()["value"]
    return result


def get(client: httpx.Client, identity: str) -> dict[str, Any]:
    found = values(call(client, "Get-ProtectionAlert", {"Identity": identity}))
    assert len(found) == 1
    return found[0]


def plain_keys(obj: dict[str, Any]) -> list[str]:
    return [k for k in obj if "@" not in k]


def detail_parts(response: httpx.Response) -> list[str]:
    return str(response.json()["error"]["details"][0]["message"]).split("|")


def internal_message(response: httpx.Response) -> str:
    return str(response.json()["error"]["innererror"]["internalexception"]["message"])


def new_params(**overrides: Any) -> dict[str, Any]:
    params: dict[str, Any] = {"Name": "Mass delete", "Category": "DataGovernance", "NotifyUser": ["sec@contoso.com"],
                              "ThreatType": "Activity", "Operation": ["FileDeleted"]}
    params.update(overrides)
    return {k: v for k, v in params.items() if v is not ...}


# -- envelope and object shape ----------------------------------------------------------------------------------

def test_get_all_returns_every_system_rule_and_the_custom_ones(client: httpx.Client) -> None:
    response = call(client, "Get-ProtectionAlert")
    payload = response.json()
    assert payload["@odata.context"] == (
        f"{REGIONAL}/adminapi/beta/{TENANT_ID}/$metadata#Collection(Exchange.GenericHashTable)")
    assert payload["@adminapi.warnings"] == [] and "@odata.nextLink" not in payload
    policies = values(response)
    system = [p for p in policies if p["IsSystemRule"]]
    custom = [p for p in policies if not p["IsSystemRule"]]
    assert [p["Name"] for p in system] == [row.name for row in CATALOGUE]
    assert len(custom) == 2
    for policy in policies:
        assert plain_keys(policy) == KEYS


def test_object_annotations_follow_the_capture(client: httpx.Client) -> None:
    policy = get(client, URL_CLICK)
    assert policy["Guid@data.type"] == "System.Guid" and policy["Guid@odata.type"] == "#Guid"
    assert policy["ImmutableId@odata.type"] == "#Guid"
    assert policy["NotifyUser@odata.type"] == "#Collection(String)"
    assert policy["ObjectClass@odata.type"] == "#Collection(String)"
    assert "Operation@odata.type" not in policy  # null collection: no annotation
    assert policy["WhenCreated@data.type"] == "System.DateTime"
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{7}\+00:00", policy["WhenCreated"])


def test_url_click_rule_matches_the_real_object_of_3_4(client: httpx.Client) -> None:
    policy = get(client, URL_CLICK)
    expected = {
        "Filter": "(Click.IsLookBack -eq 1)", "Operation": None, "NotificationEnabled": True,
        "NotifyUser": ["TenantAdmins"], "Severity": "High", "StreamType": "None", "ThreatType": "MaliciousUrlClick",
        "AlertScenario": "MaliciousUrlClick", "Scenario": "MaliciousUrlClick", "AggregationType": "None",
        "Category": TM, "IsSystemRule": True, "CorrelationPolicyId": "00000000-0000-0000-0000-000000000000",
        "ReadOnly": False, "ExternalIdentity": "", "ImmutableId": URL_CLICK_ID, "Priority": 0,
        "Workload": "AuditAlerting", "Policy": "e9a4983d-9f4e-47b0-80d1-fb2097adb484",
        "Comment": "We have detected that one of your users has recently clicked on a link that was found to be "
                   "malicious. -V1.0.0.5",
        "Disabled": False, "Mode": "Enforce", "MaximumBlobRuleLength": 0, "Guid": URL_CLICK_ID,
        "Identity": f"{FFO_SYSTEM_ROOT}/Configuration/{URL_CLICK}",
        "Id": f"{FFO_SYSTEM_ROOT}/Configuration/{URL_CLICK}",
        "IsValid": True, "ExchangeVersion": "0.20 (15.0.0.0)", "Name": URL_CLICK,
        "DistinguishedName": f"CN={URL_CLICK},CN=Configuration,CN=f00ed340-8f84-4eb4-83f3-0075a22b262e,"
                             "OU=Microsoft Exchange Hosted Organizations,DC=FFO,DC=extest,DC=microsoft,DC=com",
        "ObjectClass": ["msExchUnifiedRule"], "ExchangeObjectId": URL_CLICK_ID,
        "OrganizationalUnitRoot": FFO_SYSTEM_ROOT,
        "OrganizationId": f"{FFO_SYSTEM_ROOT} - {FFO_SYSTEM_ROOT}/Configuration",
        # /Date(1554927215000)/ and /Date(1653992040000)/ in the PowerShell export.
        "WhenCreatedUTC": "2019-04-10T20:13:35.0000000+00:00", "WhenChangedUTC": "2022-05-31T10:14:00.0000000+00:00",
        # A fresh tenant has no override of this rule (docs/wire/security-compliance.md §5.3: the only marker of one).
        "AlertOverrideChangedUtc": None,
    }
    assert {k: policy[k] for k in expected} == expected


# -- the built-in catalogue (docs/wire/security-compliance.md §4/§5)
# ----------------------------------------------------------------

def test_every_catalogue_row_is_seeded_exactly(tenant: FakeTenant) -> None:
    for row in CATALOGUE:
        policy = tenant.compliance.policy(row.immutable_id)
        assert policy is not None, row.name
        operation = list(row.operation) if row.operation is not None else None
        assert (policy["Name"], policy["ThreatType"], policy["Severity"], policy["Category"],
                policy["AggregationType"], policy["Operation"], policy["Filter"]) == (
            row.name, row.threat_type, row.severity, row.category, row.aggregation_type, operation,
            row.filter), row.name
        assert policy["ImmutableId"] == policy["Guid"] == policy["ExchangeObjectId"] == row.immutable_id
        assert policy["IsSystemRule"] is True and policy["Mode"] == "Enforce" and policy["ReadOnly"] is False
        assert policy["CorrelationPolicyId"] == "00000000-0000-0000-0000-000000000000"
        assert policy["NotifyUser"] == ["TenantAdmins"] and policy["Disabled"] is False
        assert policy["Identity"] == f"{FFO_SYSTEM_ROOT}/Configuration/{row.name}"


def test_zwsp_names_are_exact(tenant: FakeTenant) -> None:
    names = [str(p["Name"]) for p in tenant.compliance.policies() if p["IsSystemRule"]]
    assert sorted(n for n in names if n.endswith(ZWSP)) == sorted([
        "Email messages containing malicious file removed after delivery" + ZWSP,
        "Email messages containing malicious URL removed after delivery" + ZWSP,
        "A user clicked through to a potentially malicious URL" + ZWSP,
        "Email messages removed after delivery" + ZWSP,
        "Email messages from a campaign removed after delivery" + ZWSP,
    ])
    assert all(n.count(ZWSP) <= 1 for n in names)


def test_air_rules_carry_the_full_values_of_the_json_block(client: httpx.Client) -> None:
    assert len(AIR_RULES) == 16
    for rule in AIR_RULES:
        policy = get(client, rule.immutable_id)
        assert (policy["Name"], policy["ImmutableId"], policy["ThreatType"], policy["Severity"], policy["Operation"],
                policy["Filter"]) == (rule.name, rule.immutable_id, rule.threat_type, rule.severity,
                                      list(rule.operation) if rule.operation else None, rule.filter)
        assert rule.filter is not None and not rule.filter_truncated


def test_default_notification_enabled_follows_c2(tenant: FakeTenant) -> None:
    quiet = {str(p["Name"]) for p in tenant.compliance.policies()
             if p["IsSystemRule"] and p["NotificationEnabled"] is False}
    removal = {r.name for r in CATALOGUE
               if r.name.rstrip(ZWSP).endswith("removed after delivery") and " not " not in r.name}
    reports = {r.name for r in CATALOGUE if r.operation == ("UserSubmission",)}
    investigations = {r.name for r in CATALOGUE
                      if r.operation in (("AirManualInvestigation",), ("AirAdminActionInvestigation",))}
    assert len(removal) == 6 and len(reports) == 7 and len(investigations) == 4
    assert quiet == removal | reports | investigations


def test_custom_seed_policies(tenant: FakeTenant) -> None:
    custom = [p for p in tenant.compliance.policies() if not p["IsSystemRule"]]
    for policy in custom:
        assert policy["Scenario"] == "AuditProtectionAlert" and policy["StreamType"] == "Activity"
        assert not str(policy["Identity"]).startswith(FFO_SYSTEM_ROOT)
        assert str(policy["Identity"]).endswith(f"/Configuration/{policy['Name']}")
    audit = tenant.compliance.policy("Audit logging changed")
    assert audit is not None
    assert (audit["Operation"], audit["NotifyUser"], audit["NotificationEnabled"], audit["Disabled"]) == (
        ["Set-AdminAuditLogConfig"], ["a@contoso.com"], True, False)


# -- Get -Identity -------------------------------------------------------------------------------------------------

def test_get_by_name_case_insensitive_guid_path_and_dn(tenant: FakeTenant, client: httpx.Client) -> None:
    stored = tenant.compliance.policy(REMOVED_ID)
    assert stored is not None
    for identity in (REMOVED, REMOVED.upper(), REMOVED_ID, REMOVED_ID.upper(), stored["Identity"],
                     stored["DistinguishedName"]):
        assert get(client, identity)["ImmutableId"] == REMOVED_ID


def test_name_without_its_zwsp_is_not_found(client: httpx.Client) -> None:
    response = call(client, "Get-ProtectionAlert", {"Identity": REMOVED.rstrip(ZWSP)})
    assert response.status_code == 404
    error = response.json()["error"]
    assert error["code"] == "NotFound" and error["message"] == "Error executing cmdlet"
    code, exception_type, text = detail_parts(response)
    assert re.fullmatch(r"Ex[0-9A-F]{6}", code)
    assert exception_type == "Microsoft.Exchange.Configuration.Tasks.ManagementObjectNotFoundException"
    assert text.startswith("The operation couldn't be performed because object 'Email messages removed after "
                           "delivery' couldn't be found on '")


def test_null_identity_lists_everything(client: httpx.Client) -> None:
    assert len(values(call(client, "Get-ProtectionAlert", {"Identity": None}))) == 58


# -- New-ProtectionAlert -------------------------------------------------------------------------------------------

def test_new_returns_the_created_policy_with_defaults(tenant: FakeTenant, client: httpx.Client) -> None:
    created = values(call(client, "New-ProtectionAlert", new_params(Threshold=5, TimeWindow=60,
                                                                     ThreatType="activity")))
    assert len(created) == 1
    policy = created[0]
    assert plain_keys(policy) == KEYS
    assert (policy["AggregationType"], policy["Severity"], policy["Disabled"], policy["IsSystemRule"]) == (
        "SimpleAggregation", "Low", False, False)
    assert policy["ThreatType"] == "Activity"  # enum names are matched case-insensitively, stored canonically
    assert (policy["Threshold"], policy["TimeWindow"]) == (5, 60)
    assert policy["Scenario"] == "AuditProtectionAlert" and policy["StreamType"] == "Activity"
    assert re.fullmatch(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", policy["ImmutableId"])
    assert policy["ImmutableId"] == policy["Guid"] == policy["ExchangeObjectId"]
    assert policy["Identity"].endswith("/Configuration/Mass delete")
    assert "f00ed340-8f84-4eb4-83f3-0075a22b262e" not in policy["Identity"]
    assert policy["NotifyUser"] == ["sec@contoso.com"] and policy["Operation"] == ["FileDeleted"]
    assert tenant.compliance.policy("mass delete") is not None
    assert get(client, policy["Guid"])["Name"] == "Mass delete"


@pytest.mark.parametrize("missing", ["Name", "Category", "NotifyUser", "ThreatType"])
def test_new_needs_its_mandatory_parameters(tenant: FakeTenant, client: httpx.Client, missing: str) -> None:
    response = call(client, "New-ProtectionAlert", new_params(**{missing: ...}))
    assert response.status_code == 400
    assert missing in detail_parts(response)[2]
    assert tenant.compliance.policy("Mass delete") is None


def test_new_with_an_empty_notify_user_is_refused(client: httpx.Client) -> None:
    assert call(client, "New-ProtectionAlert", new_params(NotifyUser=[])).status_code == 400


@pytest.mark.parametrize(("parameter", "value", "names"), [
    ("Category", "Nonsense", "AccessGovernance, ComplianceManager, DataGovernance, MailFlow, Others, "
                             "PrivacyManagement, Supervision, ThreatManagement, DataLossPrevention"),
    ("ThreatType", "Spam", "Activity, Malware, Phish, Malicious, MaliciousUrlClick, MailFlow"),
    ("Severity", "Critical", "Low, Medium, High, Informational"),
    ("AggregationType", "Weekly", "None, SimpleAggregation, AnomalousAggregation, CustomAggregation"),
])
def test_new_enum_values_are_validated(client: httpx.Client, parameter: str, value: str, names: str) -> None:
    response = call(client, "New-ProtectionAlert", new_params(**{parameter: value}))
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "BadRequest" and error["message"] == "Invalid Operation"
    assert error["innererror"]["internalexception"]["type"] == (
        "Microsoft.Exchange.AdminApi.CommandInvocation.ParameterTransformationException")
    message = internal_message(response)
    assert message.startswith(f"Cannot process argument transformation on parameter '{parameter}'. Cannot convert "
                              f"value \"{value}\" to type ")
    assert message.endswith(f"Unable to match the identifier name {value} to a valid enumerator name. Specify one "
                            f"of the following enumerator names and try again: {names}\"")


@pytest.mark.parametrize(("overrides", "fragment"), [
    ({"Threshold": 2}, "Threshold"),
    ({"TimeWindow": 59}, "TimeWindow"),
    ({"AggregationType": "None", "Threshold": 5}, "Threshold"),
    ({"AggregationType": "AnomalousAggregation", "TimeWindow": 120}, "TimeWindow"),
    ({"ThreatType": "Malware", "Operation": ["FileDeleted"]}, "Operation"),
    ({"AggregationType": "None", "NotifyUserOnFilterMatch": True}, "NotifyUserOnFilterMatch"),
    ({"AggregationType": "None", "AlertBy": ["User"]}, "AlertBy"),
    ({"AlertBy": ["Mail.Recipient"]}, "AlertBy"),
    ({"NotifyUser": ["not an address"]}, "not an address"),
])
def test_new_rules_of_3_1(tenant: FakeTenant, client: httpx.Client, overrides: dict[str, Any],
                          fragment: str) -> None:
    response = call(client, "New-ProtectionAlert", new_params(**overrides))
    assert response.status_code == 400
    assert fragment in internal_message(response)
    assert tenant.compliance.policy("Mass delete") is None


def test_new_rule_values_at_their_minimum_are_accepted(client: httpx.Client) -> None:
    response = call(client, "New-ProtectionAlert", new_params(Threshold=3, TimeWindow=60, AlertBy=["User"],
                                                              NotifyUserOnFilterMatch=True, Severity="informational"))
    policy = values(response)[0]
    assert (policy["Threshold"], policy["TimeWindow"], policy["AlertBy"], policy["Severity"]) == (
        3, 60, ["User"], "Informational")


@pytest.mark.parametrize("name", ["Audit logging changed", "AUDIT LOGGING CHANGED", USER_RESTRICTED])
def test_new_with_an_existing_name_fails(client: httpx.Client, name: str) -> None:
    response = call(client, "New-ProtectionAlert", new_params(Name=name))
    assert response.status_code == 400
    assert "already exists" in detail_parts(response)[2]


def test_a_system_name_without_its_zwsp_is_a_different_name(tenant: FakeTenant, client: httpx.Client) -> None:
    # The ZWSP hazard of docs/wire/security-compliance.md §5.4 in the other direction: the look-alike is a new custom
    # policy.
    created = values(call(client, "New-ProtectionAlert", new_params(Name=REMOVED.rstrip(ZWSP), AggregationType="None")))
    assert created[0]["IsSystemRule"] is False
    system = tenant.compliance.policy(REMOVED)
    assert system is not None and system["IsSystemRule"] is True


def test_without_e5_only_single_event_alerts_can_be_created() -> None:
    tenant = FakeTenant(compliance_e5=False)
    with exo_client(tenant) as client:
        for aggregation in (..., "SimpleAggregation", "AnomalousAggregation"):  # ... = the default
            response = call(client, "New-ProtectionAlert", new_params(AggregationType=aggregation))
            assert response.status_code == 400
            text = detail_parts(response)[2]
            assert "Creating advanced alert policies requires an Office 365 E5 subscription" in text
            assert "only single event alerts can be created" in text
        assert tenant.compliance.policy("Mass delete") is None
        # The doc's way around it: -AggregationType None plus an -Operation.
        assert values(call(client, "New-ProtectionAlert", new_params(AggregationType="None")))[0]["Name"] == \
            "Mass delete"
        # ... and a later change to an advanced aggregation is refused too.
        response = call(client, "Set-ProtectionAlert", {"Identity": "Mass delete",
                                                        "AggregationType": "SimpleAggregation"})
        assert response.status_code == 400


def test_new_confirm_true_applies_nothing(tenant: FakeTenant, client: httpx.Client) -> None:
    response = call(client, "New-ProtectionAlert", new_params(Confirm=True))
    assert response.status_code == 200 and response.json()["@adminapi.confirmationmessage"]
    assert response.json()["value"] == []
    assert tenant.compliance.policy("Mass delete") is None


# -- Set-ProtectionAlert -------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("parameter", "value"), [("Name", "Renamed"), ("ThreatType", "Malware")])
def test_name_and_threat_type_are_not_set_parameters(tenant: FakeTenant, client: httpx.Client, parameter: str,
                                                     value: str) -> None:
    before = tenant.compliance.policy("Audit logging changed")
    response = call(client, "Set-ProtectionAlert", {"Identity": "Audit logging changed", parameter: value})
    assert response.status_code == 400
    _, exception_type, text = detail_parts(response)
    assert exception_type == "Microsoft.Exchange.AdminApi.CommandInvocation.AmbiguousParameterSetException"
    assert text.endswith(f"Invalid cmdlet parameters specified. {parameter}")
    assert tenant.compliance.policy("Audit logging changed") == before


def test_set_a_custom_policy(tenant: FakeTenant, client: httpx.Client) -> None:
    before = tenant.compliance.policy("Audit logging changed")
    assert before is not None
    response = call(client, "Set-ProtectionAlert", {
        "Identity": "audit logging changed", "Severity": "High", "NotifyUser": ["TenantAdmins", "b@contoso.com"],
        "Disabled": True, "Description": "Audit config changed", "NotifyUserThrottleThreshold": 5})
    assert response.status_code == 200 and response.json()["value"] == []
    assert response.json()["@adminapi.warnings"] == []
    after = get(client, "Audit logging changed")
    assert (after["Severity"], after["NotifyUser"], after["Disabled"], after["NotifyUserThrottleThreshold"]) == (
        "High", ["TenantAdmins", "b@contoso.com"], True, 5)
    assert after["Comment"] == "Audit config changed"
    assert after["WhenChanged"] != before["WhenChanged"] and after["ObjectVersion"] != before["ObjectVersion"]
    assert after["AlertOverrideChangedUtc"] is None


def test_set_applies_the_rules_of_new(client: httpx.Client) -> None:
    # "Audit logging changed" has AggregationType None.
    for params in ({"Threshold": 5}, {"Severity": "Sometimes"}, {"Operation": ["A"], "Category": "Bogus"}):
        response = call(client, "Set-ProtectionAlert", {"Identity": "Audit logging changed", **params})
        assert response.status_code == 400, params
    response = call(client, "Set-ProtectionAlert", {"Identity": "Audit logging changed",
                                                    "AggregationType": "SimpleAggregation", "Threshold": 1})
    assert response.status_code == 400


def test_leaving_simple_aggregation_clears_threshold_and_time_window(client: httpx.Client) -> None:
    values(call(client, "New-ProtectionAlert", new_params(Threshold=10, TimeWindow=120)))
    assert call(client, "Set-ProtectionAlert", {"Identity": "Mass delete", "AggregationType": "None"}).status_code \
        == 200
    policy = get(client, "Mass delete")
    assert (policy["AggregationType"], policy["Threshold"], policy["TimeWindow"]) == ("None", None, None)


def test_noop_set_warns_modified(client: httpx.Client) -> None:
    response = call(client, "Set-ProtectionAlert", {"Identity": "Audit logging changed", "Disabled": False,
                                                    "Severity": "medium"})
    assert response.status_code == 200
    warnings = response.json()["@adminapi.warnings"]
    assert len(warnings) == 1 and "modified" in warnings[0]


def test_set_missing_policy_is_404(client: httpx.Client) -> None:
    response = call(client, "Set-ProtectionAlert", {"Identity": "Nope", "Disabled": True})
    assert response.status_code == 404
    assert detail_parts(response)[1].endswith("ManagementObjectNotFoundException")


# -- system rules (docs/wire/security-compliance.md §3.3, §5, §6)
# -----------------------------------------------------------------------------------

def test_system_rule_accepts_the_overridable_settings(tenant: FakeTenant, client: httpx.Client) -> None:
    before = tenant.compliance.policy(USER_RESTRICTED)
    assert before is not None and before["AlertOverrideChangedUtc"] is None
    response = call(client, "Set-ProtectionAlert", {
        "Identity": USER_RESTRICTED, "NotifyUser": ["johndoe@example.com"], "NotificationEnabled": False,
        "Disabled": True, "NotifyUserThrottleThreshold": 10, "NotifyUserThrottleWindow": 60})
    assert response.status_code == 200, response.text
    after = get(client, USER_RESTRICTED)
    assert (after["NotifyUser"], after["NotificationEnabled"], after["Disabled"]) == (
        ["johndoe@example.com"], False, True)
    assert (after["NotifyUserThrottleThreshold"], after["NotifyUserThrottleWindow"]) == (10, 60)
    # docs/wire/security-compliance.md §5.3: the override shows in AlertOverrideChangedUtc; WhenChanged stays.
    assert after["AlertOverrideChangedUtc"] is not None
    assert after["AlertOverrideChangedUtc@data.type"] == "System.DateTime"
    assert after["WhenChanged"] == before["WhenChanged"]


def test_system_rule_with_zwsp_name_is_settable_by_its_exact_name(client: httpx.Client) -> None:
    assert call(client, "Set-ProtectionAlert", {"Identity": REMOVED, "NotificationEnabled": True}).status_code == 200
    assert get(client, REMOVED)["NotificationEnabled"] is True
    response = call(client, "Set-ProtectionAlert", {"Identity": REMOVED.rstrip(ZWSP), "NotificationEnabled": False})
    assert response.status_code == 404


@pytest.mark.parametrize(("parameter", "value"), [
    ("Severity", "Low"), ("Filter", "(Click.IsLookBack -eq 0)"), ("Category", "Others"), ("Comment", "mine"),
    ("AggregationType", "None"),  # refused even when it equals the current value
])
def test_system_rule_refuses_other_settings(tenant: FakeTenant, client: httpx.Client, parameter: str,
                                            value: str) -> None:
    before = tenant.compliance.policy(URL_CLICK)
    response = call(client, "Set-ProtectionAlert", {"Identity": URL_CLICK, "Disabled": True, parameter: value})
    assert response.status_code == 400
    assert parameter in detail_parts(response)[2]
    assert tenant.compliance.policy(URL_CLICK) == before


@pytest.mark.parametrize("form", ["guid", "path"])
def test_system_rule_addressed_by_guid_or_path_answers_error_rule_not_found(tenant: FakeTenant,
                                                                            client: httpx.Client, form: str) -> None:
    stored = tenant.compliance.policy(URL_CLICK_ID)
    assert stored is not None
    identity = URL_CLICK_ID if form == "guid" else stored["Identity"]
    response = call(client, "Set-ProtectionAlert", {"Identity": identity, "Disabled": True})
    assert response.status_code == 400
    _, exception_type, text = detail_parts(response)
    assert exception_type == "Microsoft.Exchange.Management.Transport.ErrorRuleNotFoundException"
    assert text == f"There is no rule matching identity '{identity}'."
    assert tenant.compliance.policy(URL_CLICK_ID) == stored


def test_error_rule_not_found_status_can_be_404() -> None:
    tenant = FakeTenant()
    tenant.compliance.system_rule_error_status = 404
    with exo_client(tenant) as client:
        response = call(client, "Set-ProtectionAlert", {"Identity": URL_CLICK_ID, "Disabled": True})
    assert response.status_code == 404
    assert detail_parts(response)[1].endswith("ErrorRuleNotFoundException")


def test_noop_set_on_a_system_rule_leaves_no_override(tenant: FakeTenant, client: httpx.Client) -> None:
    response = call(client, "Set-ProtectionAlert", {"Identity": URL_CLICK, "NotifyUser": ["tenantadmins"]})
    assert "modified" in response.json()["@adminapi.warnings"][0]
    policy = tenant.compliance.policy(URL_CLICK)
    assert policy is not None and policy["AlertOverrideChangedUtc"] is None


# -- Remove-ProtectionAlert ----------------------------------------------------------------------------------------

def test_remove_custom(tenant: FakeTenant, client: httpx.Client) -> None:
    response = call(client, "Remove-ProtectionAlert", {"Identity": "Audit logging changed", "ForceDeletion": True,
                                                       "Confirm": False})
    assert response.status_code == 200 and response.json()["value"] == []
    assert tenant.compliance.policy("Audit logging changed") is None
    assert call(client, "Get-ProtectionAlert", {"Identity": "Audit logging changed"}).status_code == 404
    assert call(client, "Remove-ProtectionAlert", {"Identity": "Audit logging changed"}).status_code == 404


def test_remove_system_rule_is_refused(tenant: FakeTenant, client: httpx.Client) -> None:
    response = call(client, "Remove-ProtectionAlert", {"Identity": URL_CLICK, "ForceDeletion": True})
    assert response.status_code == 400
    assert "can't be removed" in detail_parts(response)[2]
    assert tenant.compliance.policy(URL_CLICK) is not None


# -- replication lag, unknown cmdlets, paging ----------------------------------------------------------------------

def test_replication_lag_hides_a_new_policy_for_some_reads(tenant: FakeTenant, client: httpx.Client) -> None:
    tenant.compliance.replication_lag_reads = 2
    created = values(call(client, "New-ProtectionAlert", new_params()))[0]
    assert call(client, "Get-ProtectionAlert", {"Identity": created["Guid"]}).status_code == 404
    assert "Mass delete" not in [p["Name"] for p in values(call(client, "Get-ProtectionAlert"))]
    assert get(client, "Mass delete")["Guid"] == created["Guid"]
    # The write side is not lagging: a second New sees the name at once.
    assert call(client, "New-ProtectionAlert", new_params()).status_code == 400


def test_unknown_cmdlet_is_403_json_naming_it(client: httpx.Client) -> None:
    response = call(client, "Get-Mailbox")
    assert response.status_code == 403
    payload = response.json()  # JSON, unlike Exchange's NUL body
    assert payload["error"]["code"] == "Forbidden"
    assert "Get-Mailbox" in payload["error"]["message"]


def test_unknown_parameter_is_400(client: httpx.Client) -> None:
    response = call(client, "Get-ProtectionAlert", {"BogusParameter": 1})
    assert response.status_code == 400
    assert detail_parts(response)[2].endswith("Invalid cmdlet parameters specified. BogusParameter")


def test_paging_with_prefer_maxpagesize_and_next_link(tenant: FakeTenant, client: httpx.Client) -> None:
    headers = {"Prefer": "odata.maxpagesize=25"}
    first = client.post(URL, json=body("Get-ProtectionAlert"), headers=headers)
    names = [p["Name"] for p in values(first)]
    assert len(names) == 25
    link = first.json()["@odata.nextLink"]
    assert link.startswith(f"{URL}?$skiptoken=")
    while link:
        page = client.post(link, json=body("Get-ProtectionAlert"), headers=headers)
        names += [p["Name"] for p in values(page)]
        link = page.json().get("@odata.nextLink")
    assert names == [p["Name"] for p in tenant.compliance.policies()]
    assert tenant.log.operations("compliance") == ["Get-ProtectionAlert"] * 3


def test_emulator_base_is_the_regional_host_without_discovery(tenant: FakeTenant) -> None:
    with exo_client(tenant, emulator_base="http://emulator.test") as client:
        url = f"http://emulator.test/compliance/adminapi/beta/{TENANT_ID}/InvokeCommand"
        response = client.post(url, json=body("Get-ProtectionAlert", {"Identity": URL_CLICK}))
    assert response.status_code == 200 and response.json()["value"][0]["Name"] == URL_CLICK
    assert tenant.log.operations("compliance") == ["Get-ProtectionAlert"]


# -- test helpers, state, threads ----------------------------------------------------------------------------------

def test_helpers_add_edit_remove(tenant: FakeTenant, client: httpx.Client) -> None:
    fake = tenant.compliance
    for index in range(50):
        fake.add_custom(Name=f"Bench {index:02d}", ThreatType="Activity", AggregationType="None",
                        Operation=["FileDeleted"])
    listed = values(call(client, "Get-ProtectionAlert"))
    assert len(listed) == 108
    bench = get(client, "Bench 07")
    assert (bench["IsSystemRule"], bench["NotifyUser"], bench["Severity"]) == (False, ["TenantAdmins"], "Low")
    with pytest.raises(ValueError):
        fake.add_custom(Name="Bench 07")
    edited = fake.edit_policy("Bench 07", Severity="High")
    assert edited["Severity"] == "High" and get(client, "Bench 07")["Severity"] == "High"
    override = fake.edit_policy(URL_CLICK, Disabled=True)
    assert override["AlertOverrideChangedUtc"] is not None
    with pytest.raises(KeyError):
        fake.edit_policy("Bench 07", Bogus=1)
    assert fake.remove_policy("Bench 07") is True and fake.remove_policy("Bench 07") is False
    assert call(client, "Get-ProtectionAlert", {"Identity": "Bench 07"}).status_code == 404


def test_state_round_trip(tenant: FakeTenant, client: httpx.Client) -> None:
    values(call(client, "New-ProtectionAlert", new_params()))
    call(client, "Set-ProtectionAlert", {"Identity": URL_CLICK, "Disabled": True})
    tenant.compliance.e5 = False
    state = json.loads(json.dumps(tenant.compliance.to_state(), ensure_ascii=False))  # JSON-able, ZWSP intact
    copy = ComplianceFake(region="eur03b")
    copy.load_state(state)
    assert copy.to_state() == tenant.compliance.to_state()
    assert copy.e5 is False and copy.region == "nam13b"
    assert copy.policy(REMOVED) == tenant.compliance.policy(REMOVED)
    restored = copy.policy(URL_CLICK)
    assert restored is not None and restored["Disabled"] is True


def test_tenant_state_includes_compliance(tenant: FakeTenant) -> None:
    assert set(tenant.to_state()) == {"exchange", "compliance", "portal", "graph"}


def test_concurrent_creates_are_all_kept(tenant: FakeTenant, client: httpx.Client) -> None:
    def create(index: int) -> int:
        return call(client, "New-ProtectionAlert", new_params(Name=f"Parallel {index}")).status_code

    with ThreadPoolExecutor(max_workers=8) as pool:
        statuses = list(pool.map(create, range(24)))
    assert statuses == [200] * 24
    names = [p["Name"] for p in tenant.compliance.policies()]
    assert len({n for n in names if str(n).startswith("Parallel ")}) == 24


def test_clock_drives_timestamps() -> None:
    moment = datetime(2026, 1, 2, 3, 4, 5, tzinfo=timezone.utc)
    fake = ComplianceFake(clock=lambda: moment)
    policy = fake.add_custom(Name="Timed")
    assert policy["WhenCreated"] == "2026-01-02T03:04:05.0000000+00:00"
