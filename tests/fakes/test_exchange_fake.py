"""ExchangeFake against the wire facts (docs/wire/invoke-command.md and docs/wire/exchange-online.md), through the respx
adapter."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest

from defender_air_provider.fakes.exchange import SCENARIOS, ExchangeFake
from defender_air_provider.fakes.tenant import FakeTenant

from ._wire import EXO, INVOKE_URL, TENANT_ID, body, exo_client, invoke

CONTENT_TYPE = "application/json;odata.metadata=minimal;odata.streaming=true;IEEE754Compatible=false;charset=utf-8"
STANDARD = "Standard Preset Security Policy"
STRICT = "Strict Preset Security Policy"
SCOPE = ("SentTo", "SentToMemberOf", "RecipientDomainIs", "ExceptIfSentTo", "ExceptIfSentToMemberOf",
         "ExceptIfRecipientDomainIs")
# Every key of the real objects in docs/wire/exchange-online.md §5.1, in order.
COMMON_KEYS = ["State", "Priority", "Comments", "Description", "RuleVersion", *SCOPE, "Conditions", "Exceptions",
               "Identity", "DistinguishedName", "Guid", "ImmutableId", "OrganizationId", "Name", "IsValid",
               "WhenChanged", "ObjectState"]
EOP_KEYS = ["HostedContentFilterPolicy", "AntiPhishPolicy", "MalwareFilterPolicy", *COMMON_KEYS]
ATP_KEYS = ["SafeAttachmentPolicy", "SafeLinksPolicy", *COMMON_KEYS]


@pytest.fixture
def tenant() -> FakeTenant:
    return FakeTenant("presets_on")


@pytest.fixture
def client(tenant: FakeTenant) -> Iterator[httpx.Client]:
    with exo_client(tenant) as c:
        yield c


def values(response: httpx.Response) -> list[dict[str, Any]]:
    assert response.status_code == 200, response.text
    result: list[dict[str, Any]] = response.json()["value"]
    return result


def plain_keys(obj: dict[str, Any]) -> list[str]:
    return [k for k in obj if "@" not in k]


def detail_parts(response: httpx.Response) -> list[str]:
    return str(response.json()["error"]["details"][0]["message"]).split("|")


# -- envelope and object shape ---------------------------------------------------------------------------------

def test_success_envelope_matches_capture(client: httpx.Client) -> None:
    response = invoke(client, "Get-EOPProtectionPolicyRule")
    assert response.status_code == 200
    assert response.headers["content-type"] == CONTENT_TYPE
    payload = response.json()
    assert payload["@odata.context"] == (
        f"{EXO}/adminapi/beta/{TENANT_ID}/$metadata#Collection(Exchange.GenericHashTable)")
    assert payload["adminapi.warnings@odata.type"] == "#Collection(String)"
    assert payload["@adminapi.warnings"] == []
    assert "@odata.nextLink" not in payload
    # Both preset rules, highest priority (Strict 0) first.
    assert [(r["Name"], r["Priority"]) for r in payload["value"]] == [(STRICT, 0), (STANDARD, 1)]


def test_rule_objects_have_exactly_the_keys_of_the_real_output(client: httpx.Client) -> None:
    eop = values(invoke(client, "Get-EOPProtectionPolicyRule"))
    atp = values(invoke(client, "Get-ATPProtectionPolicyRule"))
    for rule in eop:
        assert plain_keys(rule) == EOP_KEYS
    for rule in atp:
        assert plain_keys(rule) == ATP_KEYS
    standard = next(r for r in atp if r["Name"] == STANDARD)
    assert standard["Identity"] == STANDARD
    assert standard["State"] == "Enabled"
    assert standard["RuleVersion"] == {"Major": 14, "Minor": 0, "Build": 0, "Revision": 0, "MajorRevision": 0,
                                       "MinorRevision": 0}
    assert standard["Guid"] == standard["ImmutableId"]
    assert standard["IsValid"] is True and standard["ObjectState"] == "Unchanged"
    assert standard["DistinguishedName"].startswith(
        f"CN={STANDARD},CN=ATPProtectionPolicyRuleVersioned,CN=Rules,CN=Transport Settings,")
    assert re.fullmatch(rf"{STANDARD}\d{{13}}", standard["SafeAttachmentPolicy"])
    # docs/wire/invoke-command.md §4.2 annotations for typed properties; ISO-8601 with 7 fractional digits and an
    # offset.
    assert standard["Guid@data.type"] == "System.Guid" and standard["Guid@odata.type"] == "#Guid"
    assert standard["WhenChanged@data.type"] == "System.DateTime"
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{7}\+00:00", standard["WhenChanged"])


def test_unscoped_rule_has_null_scoping_not_empty_lists(client: httpx.Client) -> None:
    for rule in values(invoke(client, "Get-EOPProtectionPolicyRule")):
        for field in (*SCOPE, "Conditions", "Exceptions", "Comments"):
            assert rule[field] is None, field
            assert f"{field}@odata.type" not in rule
        assert rule["Description"].startswith("Take the following actions:\r\n\tApply hosted content filter policy")
        assert "If the message:" not in rule["Description"]


def test_cmdlet_routing_is_case_insensitive_and_needs_no_x_cmdletname(tenant: FakeTenant,
                                                                      client: httpx.Client) -> None:
    response = invoke(client, "get-eopprotectionpolicyrule")
    assert len(values(response)) == 2
    assert tenant.log.operations("exchange")[-1] == "get-eopprotectionpolicyrule"  # the name as sent


def test_parameter_names_are_case_insensitive(client: httpx.Client) -> None:
    rules = values(invoke(client, "Get-EOPProtectionPolicyRule", {"identity": STRICT.lower()}))
    assert [r["Name"] for r in rules] == [STRICT]


# -- Get -Identity / -State --------------------------------------------------------------------------------------

def test_get_by_name_guid_and_immutable_id(tenant: FakeTenant, client: httpx.Client) -> None:
    stored = tenant.exchange.rule("eop", "standard")
    assert stored is not None
    for identity in (STANDARD.upper(), stored["Guid"], stored["ImmutableId"].upper()):
        assert [r["Name"] for r in values(invoke(client, "Get-EOPProtectionPolicyRule",
                                                 {"Identity": identity}))] == [STANDARD]


def test_get_missing_rule_is_404_management_object_not_found(client: httpx.Client) -> None:
    response = invoke(client, "Get-EOPProtectionPolicyRule", {"Identity": "No Such Rule"})
    assert response.status_code == 404
    error = response.json()["error"]
    assert error["code"] == "NotFound"
    assert error["message"] == "Error executing cmdlet"
    assert error["details"][0]["code"] == "Client" and error["details"][0]["target"] == ""
    code, exception_type, text = detail_parts(response)
    assert re.fullmatch(r"Ex[0-9A-F]{6}", code)
    assert exception_type == "Microsoft.Exchange.Configuration.Tasks.ManagementObjectNotFoundException"
    assert re.fullmatch(r"The operation couldn't be performed because object 'No Such Rule' couldn't be found "
                        r"on '[A-Z0-9]+\.[A-Z0-9]+\.PROD\.OUTLOOK\.COM'\.", text)
    assert error["innererror"]["type"] == "Microsoft.Exchange.Admin.OData.Core.ODataServiceException"
    assert error["innererror"]["internalexception"]["type"] == (
        "Microsoft.Exchange.Management.PSDirectInvoke.DirectInvokeCmdletExecutionException")


def test_get_with_null_identity_returns_all(client: httpx.Client) -> None:
    # Doc: "$null ... for the Identity parameter returns all objects" (docs/wire/exchange-online.md §3).
    assert len(values(invoke(client, "Get-EOPProtectionPolicyRule", {"Identity": None}))) == 2


def test_get_state_filter(client: httpx.Client) -> None:
    disabled = values(invoke(client, "Get-ATPProtectionPolicyRule", {"State": "Disabled"}))
    assert [r["Name"] for r in disabled] == [STRICT]
    bad = invoke(client, "Get-ATPProtectionPolicyRule", {"State": "Sometimes"})
    assert bad.status_code == 400
    assert "ParameterTransformationException" in bad.json()["error"]["innererror"]["internalexception"]["type"]


def test_unknown_parameter_on_known_cmdlet_is_400_ambiguous_parameter_set(client: httpx.Client) -> None:
    response = invoke(client, "Get-EOPProtectionPolicyRule", {"BogusParameter": 1})
    assert response.status_code == 400
    # Structure pinned verbatim in docs/wire/invoke-command.md §6.2.
    assert response.json() == {"error": {
        "code": "BadRequest", "message": "Invalid Operation",
        "details": [{"code": "Client", "target": "", "message":
                     "|Microsoft.Exchange.AdminApi.CommandInvocation.AmbiguousParameterSetException|Parameter set "
                     "cannot be resolved using the specified named parameters. Invalid cmdlet parameters "
                     "specified. BogusParameter"}],
        "innererror": {"message": "Invalid Operation",
                       "type": "Microsoft.Exchange.Admin.OData.Core.ODataServiceException", "stacktrace": "",
                       "internalexception": {
                           "message": "Parameter set cannot be resolved using the specified named parameters. "
                                      "Invalid cmdlet parameters specified. BogusParameter",
                           "type": "Microsoft.Exchange.AdminApi.CommandInvocation.AmbiguousParameterSetException",
                           "stacktrace": ""}}}}


# -- Set ------------------------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("cmdlet", "parameter", "value"), [
    ("Set-EOPProtectionPolicyRule", "Enabled", False),
    ("Set-EOPProtectionPolicyRule", "State", "Disabled"),
    ("Set-EOPProtectionPolicyRule", "AntiPhishPolicy", "Office365 AntiPhish Default"),
    ("Set-ATPProtectionPolicyRule", "SafeLinksPolicy", "Built-In Protection Policy"),
])
def test_set_rejects_state_and_policy_parameters(tenant: FakeTenant, client: httpx.Client, cmdlet: str,
                                                 parameter: str, value: Any) -> None:
    kind = "eop" if "EOP" in cmdlet else "atp"
    before = tenant.exchange.rule(kind, "standard")
    response = invoke(client, cmdlet, {"Identity": STANDARD, parameter: value, "SentTo": ["a@contoso.com"]})
    assert response.status_code == 400
    _, exception_type, text = detail_parts(response)
    assert exception_type.endswith("AmbiguousParameterSetException")
    assert text.endswith(f"Invalid cmdlet parameters specified. {parameter}")
    assert tenant.exchange.rule(kind, "standard") == before  # nothing applied


def test_set_scoping_then_clear_with_null_and_empty_list(tenant: FakeTenant, client: httpx.Client) -> None:
    response = invoke(client, "Set-EOPProtectionPolicyRule", {
        "Identity": STANDARD, "SentTo": ["alice@contoso.com", "bob@contoso.com"],
        "RecipientDomainIs": "fabrikam.com", "ExceptIfSentToMemberOf": ["Executives"], "Comments": "pilot"})
    assert response.status_code == 200 and response.json()["value"] == []
    rule = values(invoke(client, "Get-EOPProtectionPolicyRule", {"Identity": STANDARD}))[0]
    assert rule["SentTo"] == ["alice@contoso.com", "bob@contoso.com"]
    assert rule["SentTo@odata.type"] == "#Collection(String)"
    assert rule["RecipientDomainIs"] == ["fabrikam.com"]  # one string = one value
    assert rule["ExceptIfSentToMemberOf"] == ["Executives"]
    assert rule["SentToMemberOf"] is None
    assert rule["Comments"] == "pilot"
    assert rule["Conditions"] == ["Microsoft.Exchange.MessagingPolicies.Rules.Tasks.SentToPredicate",
                                  "Microsoft.Exchange.MessagingPolicies.Rules.Tasks.RecipientDomainIsPredicate"]
    assert rule["Exceptions"] == ["Microsoft.Exchange.MessagingPolicies.Rules.Tasks.SentToMemberOfPredicate"]
    assert rule["Description"].startswith("If the message:\r\n\t")
    assert "recipients's address domain portion belongs to any of these domains: 'fabrikam.com'" in \
        rule["Description"]

    response = invoke(client, "Set-EOPProtectionPolicyRule", {
        "Identity": STANDARD, "SentTo": None, "RecipientDomainIs": [], "ExceptIfSentToMemberOf": None,
        "Comments": None})
    assert response.status_code == 200
    rule = values(invoke(client, "Get-EOPProtectionPolicyRule", {"Identity": STANDARD}))[0]
    for field in (*SCOPE, "Conditions", "Exceptions", "Comments"):
        assert rule[field] is None, field
    assert rule["Description"].startswith("Take the following actions:")


def test_noop_set_warns_modified(client: httpx.Client) -> None:
    response = invoke(client, "Set-ATPProtectionPolicyRule", {"Identity": STRICT, "SentTo": None, "Priority": 0})
    assert response.status_code == 200
    payload = response.json()
    assert payload["value"] == []
    assert len(payload["@adminapi.warnings"]) == 1
    assert "modified" in payload["@adminapi.warnings"][0]
    assert STRICT in payload["@adminapi.warnings"][0]


def test_a_changing_set_has_no_warning_and_updates_when_changed(tenant: FakeTenant, client: httpx.Client) -> None:
    before = tenant.exchange.rule("atp", "strict")
    assert before is not None
    response = invoke(client, "Set-ATPProtectionPolicyRule", {"Identity": STRICT, "SentTo": ["x@contoso.com"]})
    assert response.json()["@adminapi.warnings"] == []
    after = tenant.exchange.rule("atp", "strict")
    assert after is not None and after["WhenChanged"] != before["WhenChanged"]


@pytest.mark.parametrize(("identity", "priority"), [(STANDARD, 0), (STANDARD, 2), (STRICT, 1)])
def test_set_priority_must_stay_the_preset_default(tenant: FakeTenant, client: httpx.Client, identity: str,
                                                   priority: int) -> None:
    response = invoke(client, "Set-EOPProtectionPolicyRule", {"Identity": identity, "Priority": priority})
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "BadRequest"
    assert [r["Priority"] for r in tenant.exchange.rules("eop")] == [1, 0]


def test_set_default_priority_is_accepted(client: httpx.Client) -> None:
    response = invoke(client, "Set-EOPProtectionPolicyRule", {"Identity": STANDARD, "Priority": 1})
    assert response.status_code == 200


def test_set_missing_rule_is_404(client: httpx.Client) -> None:
    response = invoke(client, "Set-EOPProtectionPolicyRule", {"Identity": "Nope", "SentTo": ["a@contoso.com"]})
    assert response.status_code == 404
    assert detail_parts(response)[1].endswith("ManagementObjectNotFoundException")


def test_set_without_identity_is_400(client: httpx.Client) -> None:
    assert invoke(client, "Set-EOPProtectionPolicyRule", {"SentTo": ["a@contoso.com"]}).status_code == 400


def test_set_confirm_true_applies_nothing(tenant: FakeTenant, client: httpx.Client) -> None:
    # docs/wire/invoke-command.md §2.2: the module first calls with Confirm=$true and reads
    # @adminapi.confirmationmessage.
    before = tenant.exchange.rule("eop", "standard")
    response = invoke(client, "Set-EOPProtectionPolicyRule",
                      {"Identity": STANDARD, "SentTo": ["a@contoso.com"], "Confirm": True})
    assert response.status_code == 200
    assert response.json()["@adminapi.confirmationmessage"]
    assert tenant.exchange.rule("eop", "standard") == before
    response = invoke(client, "Set-EOPProtectionPolicyRule",
                      {"Identity": STANDARD, "SentTo": ["a@contoso.com"], "Confirm": False})
    assert response.status_code == 200
    rule = tenant.exchange.rule("eop", "standard")
    assert rule is not None and rule["SentTo"] == ["a@contoso.com"]


# -- Enable / Disable -------------------------------------------------------------------------------------------

def test_enable_and_disable_set_state(tenant: FakeTenant, client: httpx.Client) -> None:
    response = invoke(client, "Enable-EOPProtectionPolicyRule", {"Identity": STRICT})
    assert response.status_code == 200 and response.json()["value"] == []
    assert values(invoke(client, "Get-EOPProtectionPolicyRule", {"Identity": STRICT}))[0]["State"] == "Enabled"
    assert invoke(client, "Disable-ATPProtectionPolicyRule", {"Identity": STANDARD}).status_code == 200
    rule = tenant.exchange.rule("atp", "standard")
    assert rule is not None and rule["State"] == "Disabled"
    assert invoke(client, "Enable-ATPProtectionPolicyRule", {"Identity": "Nope"}).status_code == 404


# -- New ---------------------------------------------------------------------------------------------------------

def _strict_policies(client: httpx.Client, *cmdlets: str) -> dict[str, str]:
    names = {}
    for cmdlet in cmdlets:
        policies = values(invoke(client, cmdlet))
        names[cmdlet.removeprefix("Get-")] = next(
            p["Name"] for p in policies if p["RecommendedPolicyType"] == "Strict")
    return names


EOP_POLICY_CMDLETS = ("Get-AntiPhishPolicy", "Get-HostedContentFilterPolicy", "Get-MalwareFilterPolicy")
ATP_POLICY_CMDLETS = ("Get-SafeAttachmentPolicy", "Get-SafeLinksPolicy")


def test_new_rule_when_it_exists_fails(client: httpx.Client) -> None:
    params = {"Name": STRICT, **_strict_policies(client, *EOP_POLICY_CMDLETS)}
    response = invoke(client, "New-EOPProtectionPolicyRule", params)
    assert response.status_code == 400
    assert "already exists" in detail_parts(response)[2]


def test_new_rule_after_removal_returns_the_rule() -> None:
    tenant = FakeTenant("rule_removed")
    with exo_client(tenant) as client:
        assert [r["Name"] for r in values(invoke(client, "Get-EOPProtectionPolicyRule"))] == [STANDARD]
        policies = _strict_policies(client, *EOP_POLICY_CMDLETS)
        response = invoke(client, "New-EOPProtectionPolicyRule", {"Name": STRICT, "Enabled": False, **policies})
        created = values(response)
        assert len(created) == 1
        rule = created[0]
        assert plain_keys(rule) == EOP_KEYS
        assert rule["Name"] == STRICT and rule["Priority"] == 0 and rule["State"] == "Disabled"
        assert rule["AntiPhishPolicy"] == policies["AntiPhishPolicy"]
        assert rule["SentTo"] is None
        atp = invoke(client, "New-ATPProtectionPolicyRule",
                     {"Name": STRICT, **_strict_policies(client, *ATP_POLICY_CMDLETS),
                      "ExceptIfRecipientDomainIs": ["fabrikam.com"]})
        assert values(atp)[0]["State"] == "Enabled"  # -Enabled defaults to $true (docs/wire/exchange-online.md §3)
        assert values(atp)[0]["ExceptIfRecipientDomainIs"] == ["fabrikam.com"]
    assert tenant.exchange.rule("eop", "strict") is not None
    assert tenant.exchange.rule("atp", "strict") is not None


def test_new_rule_needs_every_policy_parameter() -> None:
    tenant = FakeTenant("rule_removed")
    with exo_client(tenant) as client:
        policies = _strict_policies(client, *EOP_POLICY_CMDLETS)
        del policies["MalwareFilterPolicy"]
        response = invoke(client, "New-EOPProtectionPolicyRule", {"Name": STRICT, **policies})
        assert response.status_code == 400
        assert "MalwareFilterPolicy" in detail_parts(response)[2]
    assert tenant.exchange.rule("eop", "strict") is None


def test_new_rule_with_a_policy_that_does_not_exist_is_404() -> None:
    tenant = FakeTenant("rule_removed")
    with exo_client(tenant) as client:
        policies = _strict_policies(client, *ATP_POLICY_CMDLETS)
        policies["SafeLinksPolicy"] = "Strict Preset Security Policy0000000000000"
        response = invoke(client, "New-ATPProtectionPolicyRule", {"Name": STRICT, **policies})
        assert response.status_code == 404
        assert "'Strict Preset Security Policy0000000000000'" in detail_parts(response)[2]
    assert tenant.exchange.rule("atp", "strict") is None


def test_new_rule_priority_must_be_the_preset_default() -> None:
    tenant = FakeTenant("rule_removed")
    with exo_client(tenant) as client:
        params = {"Name": STRICT, "Priority": 3, **_strict_policies(client, *EOP_POLICY_CMDLETS)}
        assert invoke(client, "New-EOPProtectionPolicyRule", params).status_code == 400
    assert tenant.exchange.rule("eop", "strict") is None


def test_replication_lag_hides_a_new_rule_for_some_reads() -> None:
    tenant = FakeTenant("rule_removed")
    tenant.exchange.replication_lag_reads = 2
    with exo_client(tenant) as client:
        params = {"Name": STRICT, **_strict_policies(client, *EOP_POLICY_CMDLETS)}
        assert invoke(client, "New-EOPProtectionPolicyRule", params).status_code == 200
        assert invoke(client, "Get-EOPProtectionPolicyRule", {"Identity": STRICT}).status_code == 404
        # An unfiltered read doesn't show it either (and counts as one of the lagging reads).
        assert [r["Name"] for r in values(invoke(client, "Get-EOPProtectionPolicyRule"))] == [STANDARD]
        assert values(invoke(client, "Get-EOPProtectionPolicyRule", {"Identity": STRICT}))[0]["Name"] == STRICT
        # A second New sees it at once (the write side is not lagging).
        assert invoke(client, "New-EOPProtectionPolicyRule", params).status_code == 400


def test_reads_of_other_rules_do_not_consume_the_lag() -> None:
    tenant = FakeTenant("rule_removed")
    tenant.exchange.replication_lag_reads = 1
    with exo_client(tenant) as client:
        params = {"Name": STRICT, **_strict_policies(client, *EOP_POLICY_CMDLETS)}
        assert invoke(client, "New-EOPProtectionPolicyRule", params).status_code == 200
        assert invoke(client, "Get-EOPProtectionPolicyRule", {"Identity": STANDARD}).status_code == 200
        assert invoke(client, "Get-EOPProtectionPolicyRule", {"Identity": STRICT}).status_code == 404
        assert invoke(client, "Get-EOPProtectionPolicyRule", {"Identity": STRICT}).status_code == 200


def test_remove_rule(tenant: FakeTenant, client: httpx.Client) -> None:
    assert invoke(client, "Remove-ATPProtectionPolicyRule", {"Identity": STRICT, "Confirm": False}).status_code \
        == 200
    assert tenant.exchange.rule("atp", "strict") is None
    assert invoke(client, "Get-ATPProtectionPolicyRule", {"Identity": STRICT}).status_code == 404


# -- unknown cmdlet -----------------------------------------------------------------------------------------------

def test_unknown_cmdlet_is_403_with_nul_bytes_declared_gzip(client: httpx.Client) -> None:
    request = client.build_request("POST", INVOKE_URL, json=body("Get-Mailbox"))
    response = client.send(request, stream=True)
    try:
        assert response.status_code == 403
        assert response.headers["content-encoding"] == "gzip"
        raw = b"".join(response.iter_raw())
        assert raw and set(raw) == {0}
    finally:
        response.close()
    with pytest.raises(httpx.DecodingError):
        client.post(INVOKE_URL, json=body("Get-Mailbox"))


# -- paging -------------------------------------------------------------------------------------------------------

def test_paging_with_prefer_maxpagesize_and_next_link(tenant: FakeTenant, client: httpx.Client) -> None:
    request_body = body("Get-AntiPhishPolicy")
    first = client.post(INVOKE_URL, json=request_body, headers={"Prefer": "odata.maxpagesize=2"})
    assert first.status_code == 200
    names = [p["Name"] for p in first.json()["value"]]
    assert len(names) == 2
    link = first.json()["@odata.nextLink"]
    assert link.startswith(f"{EXO}/adminapi/beta/{TENANT_ID}/InvokeCommand?$skiptoken=")
    while link:
        page = client.post(link, json=request_body, headers={"Prefer": "odata.maxpagesize=2"})
        assert page.status_code == 200
        assert len(page.json()["value"]) <= 2
        names += [p["Name"] for p in page.json()["value"]]
        link = page.json().get("@odata.nextLink")
    assert names == [p["Name"] for p in tenant.exchange.policies("AntiPhishPolicy")]
    assert len(names) == 3
    # Every page is logged as the same cmdlet.
    assert tenant.log.operations("exchange") == ["Get-AntiPhishPolicy"] * 2


def test_next_link_needs_the_same_body(client: httpx.Client) -> None:
    first = client.post(INVOKE_URL, json=body("Get-EOPProtectionPolicyRule"),
                        headers={"Prefer": "odata.maxpagesize = 1;odata.continue-on-error"})
    link = first.json()["@odata.nextLink"]
    assert client.post(link, json=body("Get-ATPProtectionPolicyRule")).status_code == 400
    again = client.post(link, json=body("Get-EOPProtectionPolicyRule"))
    assert [r["Name"] for r in values(again)] == [STANDARD]


def test_server_side_max_page_size() -> None:
    tenant = FakeTenant("presets_on")
    tenant.exchange.max_page_size = 1
    with exo_client(tenant) as client:
        response = client.post(INVOKE_URL, json=body("Get-ATPProtectionPolicyRule"),
                               headers={"Prefer": "odata.maxpagesize=1000"})
        assert len(values(response)) == 1
        assert "@odata.nextLink" in response.json()


def test_select_query_keeps_selected_properties_with_annotations(client: httpx.Client) -> None:
    response = client.post(INVOKE_URL + "?$select=Name,Guid", json=body("Get-EOPProtectionPolicyRule"))
    for rule in values(response):
        assert plain_keys(rule) == ["Guid", "Name"]
        assert rule["Guid@odata.type"] == "#Guid"


# -- component policies and scenarios -----------------------------------------------------------------------------

def test_presets_on_policies(client: httpx.Client) -> None:
    rules = {r["Name"]: r for r in values(invoke(client, "Get-EOPProtectionPolicyRule"))}
    for cmdlet in EOP_POLICY_CMDLETS + ATP_POLICY_CMDLETS:
        policies = values(invoke(client, cmdlet))
        kinds = sorted(p["RecommendedPolicyType"] for p in policies)
        assert kinds == ["Custom", "Standard", "Strict"], cmdlet
        for policy in policies:
            assert {"Name", "Identity", "Guid", "RecommendedPolicyType", "IsDefault"} <= set(policy)
            if policy["RecommendedPolicyType"] in ("Standard", "Strict"):
                assert re.fullmatch(rf"{policy['RecommendedPolicyType']} Preset Security Policy\d{{13}}",
                                    policy["Name"])
                assert policy["IsDefault"] is False
    anti_phish = {p["RecommendedPolicyType"]: p["Name"] for p in values(invoke(client, "Get-AntiPhishPolicy"))}
    assert rules[STANDARD]["AntiPhishPolicy"] == anti_phish["Standard"]
    assert rules[STRICT]["AntiPhishPolicy"] == anti_phish["Strict"]
    default = [p for p in values(invoke(client, "Get-HostedContentFilterPolicy")) if p["IsDefault"]]
    assert len(default) == 1 and default[0]["RecommendedPolicyType"] == "Custom"
    assert rules[STANDARD]["State"] == "Enabled" and rules[STRICT]["State"] == "Disabled"


def test_presets_never_on() -> None:
    tenant = FakeTenant("presets_never_on")
    with exo_client(tenant) as client:
        assert values(invoke(client, "Get-EOPProtectionPolicyRule")) == []
        assert values(invoke(client, "Get-ATPProtectionPolicyRule")) == []
        assert invoke(client, "Get-EOPProtectionPolicyRule", {"Identity": STANDARD}).status_code == 404
        for cmdlet in EOP_POLICY_CMDLETS + ATP_POLICY_CMDLETS:
            assert [p["RecommendedPolicyType"] for p in values(invoke(client, cmdlet))] == ["Custom"]
    assert tenant.exchange.rule("eop", "standard") is None


def test_rule_removed_keeps_policies() -> None:
    tenant = FakeTenant("rule_removed")
    assert tenant.exchange.rule("eop", "strict") is None and tenant.exchange.rule("atp", "strict") is None
    assert tenant.exchange.rule("eop", "standard") is not None
    assert any(p["RecommendedPolicyType"] == "Strict" for p in tenant.exchange.policies("SafeLinksPolicy"))


def test_no_defender_for_office365() -> None:
    tenant = FakeTenant("no_defender_for_office365")
    with exo_client(tenant) as client:
        assert [r["Name"] for r in values(invoke(client, "Get-EOPProtectionPolicyRule"))] == [STRICT, STANDARD]
        for cmdlet in ("Get-ATPProtectionPolicyRule", "Enable-ATPProtectionPolicyRule", "Get-SafeLinksPolicy",
                       "Get-SafeAttachmentPolicy"):
            response = client.send(client.build_request("POST", INVOKE_URL, json=body(cmdlet)), stream=True)
            assert response.status_code == 403, cmdlet
            assert response.headers["content-encoding"] == "gzip"
            response.close()


def test_unknown_scenario() -> None:
    with pytest.raises(ValueError, match="scenario"):
        ExchangeFake(scenario="nonsense")
    assert SCENARIOS == ("presets_on", "presets_never_on", "rule_removed", "no_defender_for_office365")


# -- state and test helpers ---------------------------------------------------------------------------------------

def test_state_round_trip(tenant: FakeTenant, client: httpx.Client) -> None:
    invoke(client, "Set-EOPProtectionPolicyRule", {"Identity": STANDARD, "SentTo": ["a@contoso.com"]})
    invoke(client, "Enable-ATPProtectionPolicyRule", {"Identity": STRICT})
    state = json.loads(json.dumps(tenant.exchange.to_state()))  # JSON-able
    copy = ExchangeFake(scenario="presets_never_on")
    copy.load_state(state)
    assert copy.to_state() == tenant.exchange.to_state()
    assert copy.rule("eop", "standard") == tenant.exchange.rule("eop", "standard")
    rule = copy.rule("atp", "strict")
    assert rule is not None and rule["State"] == "Enabled"


def test_state_round_trip_without_defender() -> None:
    original = ExchangeFake(scenario="no_defender_for_office365")
    copy = ExchangeFake()
    copy.load_state(json.loads(json.dumps(original.to_state())))
    assert copy.defender_for_office365 is False
    assert copy.rules("atp") == []


def test_edit_rule_out_of_band_recomputes_derived_fields(tenant: FakeTenant, client: httpx.Client) -> None:
    edited = tenant.exchange.edit_rule("eop", "standard", RecipientDomainIs=["fabrikam.com"], State="Disabled")
    assert edited["Conditions"] == ["Microsoft.Exchange.MessagingPolicies.Rules.Tasks.RecipientDomainIsPredicate"]
    rule = values(invoke(client, "Get-EOPProtectionPolicyRule", {"Identity": STANDARD}))[0]
    assert rule["RecipientDomainIs"] == ["fabrikam.com"] and rule["State"] == "Disabled"
    tenant.exchange.edit_rule("eop", "standard", RecipientDomainIs=[])
    stored = tenant.exchange.rule("eop", "standard")
    assert stored is not None and stored["RecipientDomainIs"] is None
    with pytest.raises(KeyError):
        tenant.exchange.edit_rule("eop", "standard", Bogus=1)


def test_remove_rule_helper(tenant: FakeTenant) -> None:
    assert tenant.exchange.remove_rule("atp", "standard") is True
    assert tenant.exchange.rule("atp", "standard") is None
    assert tenant.exchange.remove_rule("atp", "standard") is False
    with pytest.raises(ValueError):
        tenant.exchange.rule("exo", "standard")


def test_rule_helper_follows_a_renamed_rule(tenant: FakeTenant, client: httpx.Client) -> None:
    assert invoke(client, "Set-EOPProtectionPolicyRule", {"Identity": STANDARD, "Name": "Renamed"}).status_code \
        == 200
    rule = tenant.exchange.rule("eop", "standard")
    assert rule is not None and rule["Name"] == rule["Identity"] == "Renamed"
    assert rule["DistinguishedName"].startswith("CN=Renamed,")
    assert invoke(client, "Set-EOPProtectionPolicyRule", {"Identity": "Renamed", "Name": STRICT}).status_code \
        == 400


def test_description_of_a_domain_scoped_rule_matches_the_real_text(tenant: FakeTenant) -> None:
    # The real EOP object of docs/wire/exchange-online.md §5.1, with this tenant's policy names in place of the
    # sample's.
    rule = tenant.exchange.edit_rule("eop", "strict", RecipientDomainIs=["badpeople.r.us"])
    expected = (
        "If the message:\r\n\trecipients's address domain portion belongs to any of these domains: "
        "'badpeople.r.us'\r\nTake the following actions:\r\n\t"
        f"Apply hosted content filter policy \"{rule['HostedContentFilterPolicy']}\"., "
        f"Apply AntiPhish policy \"{rule['AntiPhishPolicy']}\"., "
        f"Apply malware filter policy \"{rule['MalwareFilterPolicy']}\".\r\n")
    assert rule["Description"] == expected
    assert rule["Conditions"] == ["Microsoft.Exchange.MessagingPolicies.Rules.Tasks.RecipientDomainIsPredicate"]
    assert rule["Exceptions"] is None


def test_atp_description_of_an_unscoped_rule_matches_the_real_text(tenant: FakeTenant) -> None:
    rule = tenant.exchange.rule("atp", "standard")
    assert rule is not None
    assert rule["Description"] == (
        "Take the following actions:\r\n\t"
        f"Apply safe attachment policy \"{rule['SafeAttachmentPolicy']}\"., "
        f"Apply safe links policy \"{rule['SafeLinksPolicy']}\".\r\n")


def test_get_policy_by_identity(client: httpx.Client) -> None:
    policies = values(invoke(client, "Get-SafeAttachmentPolicy"))
    strict = next(p for p in policies if p["RecommendedPolicyType"] == "Strict")
    for identity in (strict["Name"].lower(), strict["Guid"]):
        found = values(invoke(client, "Get-SafeAttachmentPolicy", {"Identity": identity}))
        assert [p["Name"] for p in found] == [strict["Name"]]
    assert invoke(client, "Get-SafeAttachmentPolicy", {"Identity": "nope"}).status_code == 404
    assert invoke(client, "Get-SafeAttachmentPolicy", {"State": "Enabled"}).status_code == 400


def test_malformed_requests(client: httpx.Client) -> None:
    assert client.post(INVOKE_URL, json={"Cmdlet": "Get-EOPProtectionPolicyRule"}).status_code == 400
    assert client.post(INVOKE_URL, content=b"not json").status_code == 400
    wrong_type = invoke(client, "Set-EOPProtectionPolicyRule", {"Identity": STANDARD, "SentTo": {"Add": "x"}})
    assert wrong_type.status_code == 400
    assert invoke(client, "Set-EOPProtectionPolicyRule", {"Identity": STANDARD, "Priority": "one"}).status_code \
        == 400
    assert invoke(client, "Set-EOPProtectionPolicyRule", {"Identity": STANDARD, "Comments": "x" * 1025}) \
        .status_code == 400
    assert client.get(INVOKE_URL).status_code == 405
    assert client.post(INVOKE_URL.replace("InvokeCommand", "Elsewhere"), json={}).status_code == 404


def test_concurrent_requests_are_serialised(tenant: FakeTenant, client: httpx.Client) -> None:
    # One client shared by the threads (respx patching is process-wide, so it's set up once, here).
    def work(i: int) -> int:
        cmdlet = "Enable-ATPProtectionPolicyRule" if i % 2 else "Disable-ATPProtectionPolicyRule"
        statuses = {invoke(client, cmdlet, {"Identity": STRICT}).status_code,
                    invoke(client, "Set-ATPProtectionPolicyRule",
                           {"Identity": STRICT, "SentTo": [f"user{i}@contoso.com"]}).status_code,
                    invoke(client, "Get-ATPProtectionPolicyRule").status_code}
        return max(statuses)

    with ThreadPoolExecutor(max_workers=8) as pool:
        assert set(pool.map(work, range(32))) == {200}
    assert tenant.log.count("exchange") == 96
    rule = tenant.exchange.rule("atp", "strict")
    assert rule is not None and len(rule["SentTo"]) == 1
