"""Stateful fake of the Security & Compliance admin API ``InvokeCommand`` endpoint, for alert policies.

Written from ``shared/research`` only (never from our client), so a misunderstanding in the client cannot be
mirrored here. References: ``o365-policies.md`` §1 (wire format, errors), §2 (the service and its region
discovery), §3 (``*-ProtectionAlert``), §5 (Microsoft365DSC), §6; ``wire-details.md`` part C (the catalogue of
built-in alert policies, C1-C3). Everything the notes mark as inference, and everything they say nothing about
that the fake had to choose, is tagged ``[inference]``.

Model (this module) and responder (``invoke_command.py``, shared with the Exchange fake) are split as Moto
splits its fakes.

Hosts (§2). The same fake answers three kinds of host, told apart by the host of ``request.base_url``:
- the front door (``ps.compliance.protection.outlook.com``, and the US government ones) never runs cmdlets:
  ``POST .../InvokeCommand`` and the discovery GETs of ScubaGear (``EXOModuleFile``) and CIPP
  (``EXOBanner('AutogenSession')``) answer ``302`` to ``https://<region>.admin.protection.outlook.com:446/...``
  (the client must rewrite that to ``<region>.ps.compliance.protection.outlook.com``), or ``500`` "Could not find
  the organization container" when the lookup fails;
- a regional host (``<region>.ps.compliance.protection.outlook.com``) runs the cmdlets;
- anything else is the emulator's ``BASE/compliance``, which CONTRACT.md serves as the regional host directly
  (no region discovery).

Cmdlets: ``Get-``, ``New-``, ``Set-`` and ``Remove-ProtectionAlert``. Any other cmdlet answers 403 with a JSON
body naming it (§1.8 "unknown cmdlet on IPPS", unlike Exchange's NUL body).
"""

from __future__ import annotations

import copy
import re
import uuid
from collections.abc import Callable, Iterable
from datetime import datetime, timezone
from typing import Any
from urllib.parse import urlencode, urlsplit

from ..data import BuiltInAlertPolicyRecord, built_in_alert_policies
from .base import FakeRequest, FakeResponse
from .exchange import TENANT_DOMAIN
from .invoke_command import (
    VALIDATION_EXC,
    CmdletError,
    CmdletSpec,
    InvokeCommandFake,
    annotated,
    as_bool,
    as_enum,
    as_identity,
    as_int,
    as_string_list,
    as_text,
    bad_request,
    error_response,
    execution_error,
    missing_parameters,
    not_found,
    require,
    transformation_error,
    wire_datetime,
)

# ---------------------------------------------------------------------------------------------------------------
# Hosts and region discovery (o365-policies.md §2)
# ---------------------------------------------------------------------------------------------------------------

# Front door host -> the domain of the regional *admin* host its 302 points at.
# Commercial/GCC: §2 (ScubaGear, CIPP, the TS client's live-mirrored fake). The US government pairs are
# [inference]: the front doors are the configured cloud endpoints; that they redirect the same way to
# "<region>.admin.protection.office365.us:446" is not in the notes.
FRONT_DOORS: dict[str, str] = {
    "ps.compliance.protection.outlook.com": "admin.protection.outlook.com",
    "ps.compliance.protection.office365.us": "admin.protection.office365.us",  # GCC High [inference]
    "l5.ps.compliance.protection.office365.us": "admin.protection.office365.us",  # DoD [inference]
}
# A regional host that runs cmdlets: "<region>.ps.compliance.protection.outlook.com" (§2); the office365.us form
# is [inference]. Any region label is served: ExoHelper hard-codes eur02b for every tenant (§2), which suggests
# a regional host answers tenants of other regions too [inference].
REGIONAL_HOST = re.compile(r"^(?P<region>[a-z0-9-]+)\.ps\.compliance\.protection\.(?:outlook\.com|office365\.us)$")
# The paths the front door redirects. POST InvokeCommand: the TS client (§2). GET EXOModuleFile: ScubaGear.
# GET EXOBanner('AutogenSession'): CIPP. [inference] the Location keeps the request's path and query (only its host
# is used by every client in the notes; the TS fake's Location does keep the InvokeCommand path).
_DISCOVERY_PATH = re.compile(
    r"^/adminapi/(?:beta|v1\.0)/[^/]+/(?:InvokeCommand|EXOModuleFile|EXOBanner\('AutogenSession'\))/?$",
    re.IGNORECASE)
DISCOVERY_OPERATION = "region discovery"

# ---------------------------------------------------------------------------------------------------------------
# Constants of the modelled tenant and of the objects (§3.4, wire-details C1/C2)
# ---------------------------------------------------------------------------------------------------------------

ZWSP = "\u200b"  # the trailing zero-width space of five built-in names (§3.4, C2 "ZWSP hazards")

# The shared container every system rule lives in (C2 "Shared container").
_FFO_ROOT = "FFO.extest.microsoft.com/Microsoft Exchange Hosted Organizations"
_FFO_DN = "OU=Microsoft Exchange Hosted Organizations,DC=FFO,DC=extest,DC=microsoft,DC=com"
SYSTEM_CONTAINER = "f00ed340-8f84-4eb4-83f3-0075a22b262e"
# [inference] a custom policy lives under the tenant's own organization in the same directory; the notes show
# only system rules' paths, so the tenant's container name (its initial domain) is a guess.
TENANT_CONTAINER = TENANT_DOMAIN

# [inference] the domain controller named in 404 texts (§1.8 shape 'YQBPR01A12DC007.CANPR01A012.PROD.OUTLOOK.COM').
_DC = "NAM13B001DC001.NAM13B001.PROD.OUTLOOK.COM"

ZERO_GUID = "00000000-0000-0000-0000-000000000000"
# §3.4: the one real object's Policy GUID. [inference] every system rule shares it (one system alert policy
# container); custom rules get a tenant policy GUID of their own.
_SYSTEM_POLICY_GUID = "e9a4983d-9f4e-47b0-80d1-fb2097adb484"
_TENANT_POLICY_GUID = "3c1c1d5e-8b47-4f0b-9a55-0f4f3b0b6a21"  # [inference] made up
# §3.4 WhenCreated/WhenChanged of the real object (PowerShell /Date(ms)/ in the export). [inference] every
# seeded system rule shows these two dates.
_SYSTEM_CREATED = datetime.fromtimestamp(1554927215, timezone.utc)  # /Date(1554927215000)/
_SYSTEM_CHANGED = datetime.fromtimestamp(1653992040, timezone.utc)  # /Date(1653992040000)/
_CUSTOM_SEED_TIME = datetime(2024, 3, 11, 9, 30, 12, 417000, tzinfo=timezone.utc)  # [inference] made up
_GUID_NAMESPACE = uuid.UUID("a1f0e3b4-6c2d-4e8f-9b1a-2d3c4e5f6a7b")  # stable seed GUIDs across runs

# Every key of the real Get-ProtectionAlert object, in its order (§3.4).
KEY_ORDER: tuple[str, ...] = (
    "Filter", "Operation", "LogicalOperationName", "NotificationEnabled", "NotifyUser", "Severity", "Threshold",
    "VolumeThreshold", "ExternalScenarioData", "TimeWindow", "NotifyUserOnFilterMatch", "MergedRuleXml",
    "StreamType", "ThreatType", "PrivacyManagementScopedSensitiveInformationTypes",
    "PrivacyManagementScopedSensitiveInformationTypesForCounting",
    "PrivacyManagementScopedSensitiveInformationTypesThreshold", "AlertBy", "AlertFor", "AlertScenario",
    "Scenario", "NotifyUserThrottleThreshold", "NotifyUserThrottleWindow", "NotifyUserSuppressionExpiryDate",
    "NotificationCulture", "AlertOverrideChangedUtc", "AggregationType", "Category", "IsSystemRule", "TagFilter",
    "UserTags", "RecipientTags", "SenderTags", "CustomProperties", "UseCreatedDateTime", "CorrelationPolicyId",
    "ReadOnly", "ErrorMetadata", "ExternalIdentity", "ImmutableId", "Priority", "Workload", "Policy", "Comment",
    "Disabled", "Mode", "ObjectVersion", "MaximumBlobRuleLength", "CreatedBy", "LastModifiedBy", "Guid",
    "Identity", "Id", "IsValid", "ExchangeVersion", "Name", "DistinguishedName", "ObjectCategory", "ObjectClass",
    "WhenChanged", "WhenCreated", "WhenChangedUTC", "WhenCreatedUTC", "ExchangeObjectId", "OrganizationalUnitRoot",
    "OrganizationId", "OriginatingServer", "ObjectState",
)
# [inference] which properties carry the #Guid / System.DateTime annotations of §1.6 (the sample of §3.4 is a
# PowerShell export without annotations).
_GUID_KEYS = ("CorrelationPolicyId", "ImmutableId", "Policy", "ObjectVersion", "Guid", "ExchangeObjectId")
_DATETIME_KEYS = ("NotifyUserSuppressionExpiryDate", "AlertOverrideChangedUtc", "WhenChanged", "WhenCreated",
                  "WhenChangedUTC", "WhenCreatedUTC")

# Enum values: §3.1 "Values seen in reality" (wider than the doc) and the doc's Category list + DataLossPrevention.
THREAT_TYPES = ("Activity", "Malware", "Phish", "Malicious", "MaliciousUrlClick", "MailFlow")
SEVERITIES = ("Low", "Medium", "High", "Informational")
AGGREGATION_TYPES = ("None", "SimpleAggregation", "AnomalousAggregation", "CustomAggregation")
CATEGORIES = ("AccessGovernance", "ComplianceManager", "DataGovernance", "MailFlow", "Others", "PrivacyManagement",
              "Supervision", "ThreatManagement", "DataLossPrevention")
# [inference] the .NET namespace of the enum types; the type names are the doc's (§3.1 syntax).
_TYPE_NS = "Microsoft.Office.CompliancePolicy.Tasks."
_ENUMS: dict[str, tuple[tuple[str, ...], str]] = {
    "Category": (CATEGORIES, _TYPE_NS + "AlertRuleCategory"),
    "ThreatType": (THREAT_TYPES, _TYPE_NS + "ThreatAlertType"),
    "Severity": (SEVERITIES, _TYPE_NS + "RuleSeverity"),
    "AggregationType": (AGGREGATION_TYPES, _TYPE_NS + "AlertAggregationType"),
}
# §3.1 AlertBy: "Activity: User or $null; Malware: Mail.Recipient or Mail.ThreatName". Other threat types are
# undocumented and not checked [inference].
_ALERT_BY: dict[str, tuple[str, ...]] = {"Activity": ("User",), "Malware": ("Mail.Recipient", "Mail.ThreatName")}

MIN_THRESHOLD = 3  # §3.1 "≥ 3"; Microsoft365DSC ValidateRange(3, …)
MIN_TIME_WINDOW = 60  # §3.1 doc "greater than 60"; Microsoft365DSC ValidateRange(60, …), followed here

# §3.3 / C3 [inference]: the only settings of a system (built-in) rule that can be changed.
SYSTEM_SETTABLE = ("Disabled", "NotifyUser", "NotificationEnabled", "NotifyUserThrottleThreshold",
                   "NotifyUserThrottleWindow")

# C3: the error users got from Set-ProtectionAlert on a system rule addressed by GUID or path.
_RULE_NOT_FOUND_EXC = "Microsoft.Exchange.Management.Transport.ErrorRuleNotFoundException"

# §3.1 licensing note, quoted with an ellipsis in the notes. [inference] the full wording around it.
E5_REQUIRED_TEXT = (
    "Creating advanced alert policies requires an Office 365 E5 subscription or an Office 365 E5 add-on "
    "subscription for your organization. Without one, only single event alerts can be created: use "
    "-AggregationType None.")

# ---------------------------------------------------------------------------------------------------------------
# The built-in catalogue (wire-details.md C1)
# ---------------------------------------------------------------------------------------------------------------

# Every row of C1's table, in its order: ``defender_air_provider/data/built_in_alert_policies.json``, shared with the
# handlers' catalogue (a neutral data file, not handler code). Names are exact, with the trailing U+200B where C1
# flags it; the rules that trigger AIR carry the full filters of C1's JSON block. The four retired T rows (MC822720)
# have only C1's truncated filter (``filter_truncated``): [inference: truncated in the notes] it is stored as printed
# there, without the ellipsis. The T row "HVE A potentially malicious URL click was detected" has neither operation
# nor filter in C1: [inference] it is stored without either.
SYSTEM_RULES: tuple[BuiltInAlertPolicyRecord, ...] = built_in_alert_policies()

# C2 [inference]: default NotificationEnabled is false on the ZAP/removal rules, the user-report rules and the
# admin-investigation rules (RunRego-stub values), true otherwise. Which rows count as which is read from their
# names and operations here: "removed after delivery" names; Operation UserSubmission; AirManualInvestigation and
# AirAdminActionInvestigation. [inference] "Messages containing malicious entity not removed after delivery" is
# a ZAP *failure* alert and keeps notifications on.
_QUIET_OPERATIONS = ("UserSubmission", "AirManualInvestigation", "AirAdminActionInvestigation")


def _notification_default(row: BuiltInAlertPolicyRecord) -> bool:
    if row.name.rstrip(ZWSP).endswith(" removed after delivery") and " not removed " not in row.name:
        return False
    return not (row.operation and row.operation[0] in _QUIET_OPERATIONS)


# §3.4: the one real Comment. [inference] the other built-in comments are not in the notes; a generic sentence in
# the same style (a description, then a version suffix) is used.
_SYSTEM_COMMENTS = {
    "a74bb32a-541b-47fb-adfd-f8c62ce3d59b": "We have detected that one of your users has recently clicked on a link "
                                            "that was found to be malicious. -V1.0.0.5",
}
_SYSTEM_OBJECT_VERSIONS = {"a74bb32a-541b-47fb-adfd-f8c62ce3d59b": "93862b30-0045-4564-44b2-08da42ee4857"}

# Two custom policies as a real tenant has them. [inference] fields the sources don't give are filled plausibly.
# 1. The TS client's live-mirrored fake (§2): Name, Operation, Disabled, NotifyUser, NotificationEnabled.
# 2. Microsoft365DSC's unit-test mock (§5), renamed: its Name is the built-in "Suspicious email sending patterns
#    detected", which a custom policy can't share; the "Custom " prefix follows Microsoft365DSC's own example.
SEED_CUSTOM: tuple[dict[str, Any], ...] = (
    {"Name": "Audit logging changed", "ThreatType": "Activity", "Category": "Others", "Severity": "Medium",
     "AggregationType": "None", "Operation": ["Set-AdminAuditLogConfig"], "Disabled": False,
     "NotifyUser": ["a@contoso.com"], "NotificationEnabled": True},
    {"Name": "Custom Suspicious email sending patterns detected", "ThreatType": "Activity",
     "Category": "ThreatManagement", "Severity": "Medium", "AggregationType": "None",
     "Operation": ["CompromisedWarningAccount"], "Comment": "Other Comment", "NotificationEnabled": False,
     "NotifyUser": ["other.alert@contoso.onmicrosoft.com"], "NotifyUserOnFilterMatch": False},
)

# ---------------------------------------------------------------------------------------------------------------
# Cmdlet table (§3.1, §3.2)
# ---------------------------------------------------------------------------------------------------------------

_MULTI_VALUED = ("NotifyUser", "AlertBy", "AlertFor", "Operation", "PrivacyManagementScopedSensitiveInformationTypes",
                 "PrivacyManagementScopedSensitiveInformationTypesForCounting")
_BOOLEANS = ("Disabled", "NotificationEnabled", "NotifyUserOnFilterMatch", "UseCreatedDateTime")
_INT32S = ("NotifyUserThrottleThreshold", "NotifyUserThrottleWindow", "Threshold", "TimeWindow")
_UINT64S = ("VolumeThreshold", "PrivacyManagementScopedSensitiveInformationTypesThreshold")
_TEXTS = ("Comment", "Filter", "LogicalOperationName")
_PRIVACY = ("PrivacyManagementScopedSensitiveInformationTypes",
            "PrivacyManagementScopedSensitiveInformationTypesForCounting",
            "PrivacyManagementScopedSensitiveInformationTypesThreshold")
_WRITE_COMMON = ("Confirm", "WhatIf")
_NEW_PARAMS = (
    "Category", "Name", "NotifyUser", "ThreatType", "AggregationType", "AlertBy", "AlertFor", "Comment",
    "CorrelationPolicyId", "Description", "Disabled", "Filter", "LogicalOperationName", "NotificationCulture",
    "NotificationEnabled", "NotifyUserOnFilterMatch", "NotifyUserSuppressionExpiryDate",
    "NotifyUserThrottleThreshold", "NotifyUserThrottleWindow", "Operation", *_PRIVACY, "CustomProperties",
    "Severity", "Threshold", "TimeWindow", "UseCreatedDateTime", "VolumeThreshold", *_WRITE_COMMON,
)
# §3.2: no Name, no ThreatType (and, per the doc's list, none of CorrelationPolicyId, LogicalOperationName,
# CustomProperties, UseCreatedDateTime).
_SET_PARAMS = (
    "Identity", "AggregationType", "AlertBy", "AlertFor", "Category", "Comment", "Description", "Disabled",
    "Filter", "NotificationCulture", "NotificationEnabled", "NotifyUser", "NotifyUserOnFilterMatch",
    "NotifyUserSuppressionExpiryDate", "NotifyUserThrottleThreshold", "NotifyUserThrottleWindow", "Operation",
    *_PRIVACY, "Severity", "Threshold", "TimeWindow", "VolumeThreshold", *_WRITE_COMMON,
)
_CMDLETS: dict[str, CmdletSpec] = {spec.name.lower(): spec for spec in (
    CmdletSpec("Get-ProtectionAlert", ("Identity", "IncludeRuleXml")),
    CmdletSpec("New-ProtectionAlert", _NEW_PARAMS),
    CmdletSpec("Set-ProtectionAlert", _SET_PARAMS),
    CmdletSpec("Remove-ProtectionAlert", ("Identity", "ForceDeletion", *_WRITE_COMMON)),
)}
_MVP_TYPE = "Microsoft.Exchange.Data.MultiValuedProperty`1[System.String]"
_IDENTITY_TYPE = "Microsoft.Office.CompliancePolicy.Tasks.ComplianceRuleIdParameter"  # §3.2 (namespace [inference])
_GUID_RE = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
_CULTURE_RE = re.compile(r"^[A-Za-z]{2,3}(?:-[A-Za-z0-9]{2,8})*$")


def _seed_guid(*parts: str) -> str:
    return str(uuid.uuid5(_GUID_NAMESPACE, "/".join(parts)))


def _unknown_cmdlet_response(name: str) -> FakeResponse:
    """§1.8/§2: an unknown cmdlet on IPPS answers 403 Forbidden with a JSON body naming the cmdlet.

    [inference] the body's structure (the error envelope of §1.8) and its text; the notes only say it is JSON
    and names the cmdlet.
    """
    text = (f"The term '{name}' is not recognized as a cmdlet available in this session, or the caller has no "
            "role that grants it.")
    return error_response(403, {"error": {
        "code": "Forbidden",
        "message": text,
        "details": [{"code": "Client", "target": "",
                     "message": f"|System.Management.Automation.CommandNotFoundException|{text}"}],
    }})


def _validation(text: str) -> CmdletError:
    # [inference] rule violations (threshold, aggregation, licence, duplicate name, system-rule edits) have no REST
    # capture; they are answered as the 400 BadRequest envelope of §1.8 with a validation exception.
    return CmdletError(bad_request(VALIDATION_EXC, text))


# ---------------------------------------------------------------------------------------------------------------
# The fake
# ---------------------------------------------------------------------------------------------------------------

class ComplianceFake(InvokeCommandFake[CmdletSpec]):
    """Security & Compliance admin API for one fake tenant: alert policies (``*-ProtectionAlert``).

    State: every built-in (system) rule of wire-details C1 plus two custom policies, stored in the plain shape and
    key order of §3.4 (annotations are added on the way out).

    Constructor flags: ``e5`` (False = only AggregationType None can be created, §3.1 licensing note), ``region``
    (the label the front door redirects to), ``discovery_fails`` (the front door answers the 500 of §2),
    ``replication_lag_reads`` (after a New-, that many Get calls that would include the new policy act as if it
    did not exist yet, §1.8), ``max_page_size``, ``clock``, and ``system_rule_error_status`` (400 or 404: the
    status of C3's ErrorRuleNotFoundException, which the notes leave open). All are plain attributes.
    """

    name = "compliance"

    def __init__(self, *, e5: bool = True, region: str = "nam13b", discovery_fails: bool = False,
                 max_page_size: int | None = None, replication_lag_reads: int = 0,
                 clock: Callable[[], datetime] | None = None, system_rule_error_status: int = 400) -> None:
        super().__init__(max_page_size=max_page_size)
        self.e5 = e5
        self.region = region
        self.discovery_fails = discovery_fails
        self.replication_lag_reads = replication_lag_reads
        self.system_rule_error_status = system_rule_error_status
        self._clock = clock or (lambda: datetime.now(timezone.utc))
        self._policies: list[dict[str, Any]] = []
        self._seed()

    # -- seeding and object shape ----------------------------------------------------------------------------

    def _seed(self) -> None:
        for row in SYSTEM_RULES:
            self._policies.append(self._system_object(row))
        for fields in SEED_CUSTOM:
            policy = self._custom_object(str(fields["Name"]), _seed_guid("custom", str(fields["Name"])),
                                         _CUSTOM_SEED_TIME)
            policy.update(fields)
            self._policies.append(policy)

    @staticmethod
    def _blank() -> dict[str, Any]:
        """An object with every key of §3.4 in order and the values every object in the notes shares."""
        policy: dict[str, Any] = dict.fromkeys(KEY_ORDER)
        policy.update({
            "NotificationEnabled": True,  # [inference] New's default (undocumented parameter)
            "NotifyUser": [],
            "NotifyUserOnFilterMatch": False,
            "StreamType": "None",
            "IsSystemRule": False,
            "CorrelationPolicyId": ZERO_GUID,
            "ReadOnly": False,
            "ExternalIdentity": "",
            "Priority": 0,
            "Workload": "AuditAlerting",  # §3.4; [inference] the same for every policy
            "Disabled": False,
            "Mode": "Enforce",
            "MaximumBlobRuleLength": 0,
            "CreatedBy": "",
            "LastModifiedBy": "",
            "IsValid": True,
            "ExchangeVersion": "0.20 (15.0.0.0)",
            "ObjectClass": ["msExchUnifiedRule"],
            "OriginatingServer": "",
            "ObjectState": "New",  # §3.4 shows "New" on a Get of a long-existing rule
        })
        return policy

    def _system_object(self, row: BuiltInAlertPolicyRecord) -> dict[str, Any]:
        guid = row.immutable_id
        operation = list(row.operation) if row.operation else None
        policy = self._blank()
        scenario = "AuditProtectionAlert" if row.threat_type == "Activity" else row.threat_type
        policy.update({
            "Filter": row.filter,
            "Operation": operation,
            "NotificationEnabled": _notification_default(row),
            "NotifyUser": ["TenantAdmins"],  # C1: default on every system rule
            "Severity": row.severity,
            # §3.4: StreamType "None" on the MaliciousUrlClick system rule. [inference] "Activity" on the
            # Activity ones, as on custom (Activity) rules.
            "StreamType": "Activity" if row.threat_type == "Activity" else "None",
            "ThreatType": row.threat_type,
            # §3.4: Scenario = AlertScenario = "MaliciousUrlClick" on that rule. [inference] the threat type on the
            # other non-Activity ones, "AuditProtectionAlert" (the custom rules' value) on the Activity ones.
            "AlertScenario": scenario,
            "Scenario": scenario,
            "AggregationType": row.aggregation_type,
            "Category": row.category,
            "IsSystemRule": True,
            "ImmutableId": guid,
            "Policy": _SYSTEM_POLICY_GUID,
            "Comment": _SYSTEM_COMMENTS.get(guid, f"Generates an alert for: {row.name.rstrip(ZWSP)}. -V1.0.0.1"),
            # §3.4's real value for that rule; [inference] a stable made-up GUID for the others.
            "ObjectVersion": _SYSTEM_OBJECT_VERSIONS.get(guid, _seed_guid("version", guid)),
            "Guid": guid,
            "Name": row.name,
            "WhenChanged": wire_datetime(_SYSTEM_CHANGED),
            "WhenCreated": wire_datetime(_SYSTEM_CREATED),
            "WhenChangedUTC": wire_datetime(_SYSTEM_CHANGED),
            "WhenCreatedUTC": wire_datetime(_SYSTEM_CREATED),
            "ExchangeObjectId": guid,
        })
        self._derive_identity(policy)
        return policy

    def _custom_object(self, name: str, guid: str, when: datetime) -> dict[str, Any]:
        """A custom policy with New-ProtectionAlert's defaults (§3.1) before its parameters are applied."""
        policy = self._blank()
        policy.update({
            "Severity": "Low",  # §3.1 default
            "StreamType": "Activity",  # §3.4 notes: custom rules
            # §3.4 notes: custom rules have Scenario "AuditProtectionAlert". [inference] AlertScenario the same, and
            # both regardless of ThreatType.
            "AlertScenario": "AuditProtectionAlert",
            "Scenario": "AuditProtectionAlert",
            "AggregationType": "SimpleAggregation",  # §3.1 default
            "ImmutableId": guid,
            "Policy": _TENANT_POLICY_GUID,
            "ObjectVersion": _seed_guid("version", guid),
            "Guid": guid,
            "Name": name,
            "WhenChanged": wire_datetime(when),
            "WhenCreated": wire_datetime(when),
            "WhenChangedUTC": wire_datetime(when),
            "WhenCreatedUTC": wire_datetime(when),
            "ExchangeObjectId": guid,
        })
        self._derive_identity(policy)
        return policy

    @staticmethod
    def _derive_identity(policy: dict[str, Any]) -> None:
        """Identity, Id, DN and organization of a policy: system rules in the shared FFO container (C2)."""
        container = SYSTEM_CONTAINER if policy["IsSystemRule"] else TENANT_CONTAINER
        root = f"{_FFO_ROOT}/{container}"
        policy["Identity"] = policy["Id"] = f"{root}/Configuration/{policy['Name']}"
        policy["DistinguishedName"] = f"CN={policy['Name']},CN=Configuration,CN={container},{_FFO_DN}"
        policy["OrganizationalUnitRoot"] = root
        policy["OrganizationId"] = f"{root} - {root}/Configuration"

    # -- helpers for tests (out-of-band views and edits) ------------------------------------------------------

    def policy(self, name_or_id: str) -> dict[str, Any] | None:
        """A copy of the stored policy with this exact Name (case-insensitive; ZWSP counts), GUID or Identity."""
        with self._lock:
            found = self._lookup(name_or_id)
            return copy.deepcopy(found[0]) if found is not None else None

    def policies(self) -> list[dict[str, Any]]:
        with self._lock:
            return copy.deepcopy(self._policies)

    def edit_policy(self, name_or_id: str, **fields: Any) -> dict[str, Any]:
        """Change a policy out of band (an admin in the portal), without validation; returns the new copy.

        A change to a system rule's overridable settings stamps AlertOverrideChangedUtc (C2); any other change
        stamps WhenChanged. Renaming recomputes Identity and DN.
        """
        with self._lock:
            found = self._lookup(name_or_id)
            if found is None:
                raise KeyError(f"no alert policy {name_or_id!r}")
            policy = found[0]
            for key in fields:
                if key not in policy:
                    raise KeyError(f"alert policies have no field {key!r}")
            policy.update(copy.deepcopy(fields))
            self._derive_identity(policy)
            self._stamp(policy, override=bool(policy["IsSystemRule"]) and set(fields) <= set(SYSTEM_SETTABLE))
            return copy.deepcopy(policy)

    def remove_policy(self, name_or_id: str) -> bool:
        """Delete a policy out of band (also a system rule, which the API itself refuses)."""
        with self._lock:
            found = self._lookup(name_or_id)
            if found is None:
                return False
            self._policies.remove(found[0])
            self._lagging.pop(found[0]["Guid"], None)
            return True

    def add_custom(self, **fields: Any) -> dict[str, Any]:
        """Create a custom policy directly (no validation, no replication lag), e.g. many for a benchmark.

        ``Name`` is required; unset fields take New-ProtectionAlert's defaults. Returns the stored copy.
        """
        name = fields.get("Name")
        if not isinstance(name, str) or not name:
            raise ValueError("Name is required")
        with self._lock:
            if self._lookup(name) is not None:
                raise ValueError(f"an alert policy named {name!r} already exists")
            policy = self._custom_object(name, str(uuid.uuid4()), self._clock())
            for key in fields:
                if key not in policy:
                    raise KeyError(f"alert policies have no field {key!r}")
            policy.update(copy.deepcopy(fields))
            policy["NotifyUser"] = policy["NotifyUser"] or ["TenantAdmins"]
            self._derive_identity(policy)
            self._policies.append(policy)
            return copy.deepcopy(policy)

    def _stamp(self, policy: dict[str, Any], *, override: bool) -> None:
        now = wire_datetime(self._clock())
        if override:
            # C2: a tenant override of a system rule shows only in AlertOverrideChangedUtc; its WhenChanged stays
            # (the §3.4 sample: override 2024, WhenChanged 2022).
            policy["AlertOverrideChangedUtc"] = now
        else:
            policy["WhenChanged"] = policy["WhenChangedUTC"] = now
            policy["ObjectVersion"] = str(uuid.uuid4())  # [inference] a new version on every change

    # -- persistence ------------------------------------------------------------------------------------------

    def to_state(self) -> dict[str, Any]:
        with self._lock:
            return {
                "e5": self.e5,
                "region": self.region,
                "discovery_fails": self.discovery_fails,
                "policies": copy.deepcopy(self._policies),
                "lagging": dict(self._lagging),
            }

    def load_state(self, state: dict[str, Any]) -> None:
        with self._lock:
            self.e5 = bool(state.get("e5", True))
            self.region = str(state.get("region", self.region))
            self.discovery_fails = bool(state.get("discovery_fails", False))
            self._policies = copy.deepcopy(state.get("policies", []))
            self._lagging = {str(k): int(v) for k, v in state.get("lagging", {}).items()}
            self._forget_pages()

    # -- hosts: front door, regional host, emulator (§2) ------------------------------------------------------

    @staticmethod
    def _front_door(request: FakeRequest) -> str | None:
        """The admin-host domain this request's front door redirects to, or None when it is not a front door."""
        host = (urlsplit(request.base_url).hostname or "").lower()
        return FRONT_DOORS.get(host)

    def operation(self, request: FakeRequest) -> str:
        if self._front_door(request) is not None:
            return DISCOVERY_OPERATION
        return super().operation(request)

    def handle(self, request: FakeRequest) -> FakeResponse:
        admin_domain = self._front_door(request)
        if admin_domain is not None:
            return self._discover(request, admin_domain)
        return super().handle(request)

    def _discover(self, request: FakeRequest, admin_domain: str) -> FakeResponse:
        """The front door: never runs a cmdlet; redirects to the tenant's region or fails the lookup (§2)."""
        if _DISCOVERY_PATH.match(request.path) is None:
            # [inference] other paths on the front door are not modelled.
            return error_response(404, {"error": {"code": "NotFound",
                                                  "message": f"No route for {request.method} {request.path}"}})
        if self.discovery_fails:
            # §2: "a failed region lookup: { error: { message: "Could not find the organization container" } }
            # with status 500" (the TS client's live-mirrored fake).
            return FakeResponse.json(500, {"error": {"message": "Could not find the organization container"}})
        query = urlencode(request.query, safe="'(),")
        location = f"https://{self.region}.{admin_domain}:446{request.path}" + (f"?{query}" if query else "")
        # §2: 302 with an empty body and the admin host on port 446; the client rewrites the host.
        return FakeResponse(302, {"location": location}, b"")

    # -- InvokeCommand hooks ----------------------------------------------------------------------------------

    def _lookup_cmdlet(self, name: str) -> CmdletSpec | None:
        return _CMDLETS.get(name.lower())

    def _unknown_cmdlet(self, name: str) -> FakeResponse:
        return _unknown_cmdlet_response(name)

    def _run(self, request: FakeRequest, cmdlet: CmdletSpec, params: dict[str, Any], warnings: list[str],
             extra: dict[str, Any]) -> list[dict[str, Any]]:
        verb = cmdlet.name.split("-", 1)[0].lower()
        if verb == "get":
            return self._get(params)
        # §1.3: the module first calls with Confirm=$true and reads @adminapi.confirmationmessage. [inference] as
        # in the Exchange fake: the call is validated, nothing is applied. WhatIf "doesn't work in Security &
        # Compliance PowerShell" (§3.2): [inference] it is accepted and ignored, so the change IS applied.
        dry_run = params.get("Confirm") is True
        if verb == "new":
            value = self._new(params, dry_run)
        elif verb == "set":
            value = self._set(params, warnings, dry_run)
        else:
            value = self._remove(params, dry_run)
        if dry_run:
            extra["@adminapi.confirmationmessage"] = (
                f"Are you sure you want to perform this action? {cmdlet.name} "
                f"Identity:\"{params.get('Identity') or params.get('Name')}\"")
            return []
        return value

    # -- lookup -----------------------------------------------------------------------------------------------

    def _lookup(self, identity: str) -> tuple[dict[str, Any], str] | None:
        """The policy an Identity names, and how it named it: ``name``, ``guid``, ``path`` or ``dn``.

        §3.2: Identity = Name, DN or GUID; §3.4: Identity is a path string. Names compare case-insensitively
        but otherwise exactly: a name without its trailing U+200B does not match (C2 "ZWSP hazards").
        """
        wanted = identity.lower()
        for policy in self._policies:
            if str(policy["Name"]).lower() == wanted:
                return policy, "name"
        for policy in self._policies:
            if wanted in (str(policy["Guid"]).lower(), str(policy["ImmutableId"]).lower(),
                          str(policy["ExchangeObjectId"]).lower()):
                return policy, "guid"
            if str(policy["Identity"]).lower() == wanted:
                return policy, "path"
            if str(policy["DistinguishedName"]).lower() == wanted:
                return policy, "dn"
        return None

    def _find(self, params: dict[str, Any]) -> tuple[dict[str, Any], str, str]:
        require(params, "Identity")
        identity = as_identity(params, "Identity", _IDENTITY_TYPE)
        found = self._lookup(identity)
        if found is None:
            # §1.8: a missing object answers 404 ManagementObjectNotFoundException. [inference] the Security &
            # Compliance cmdlets answer it like the Exchange ones (the 404 capture is of an Exchange cmdlet).
            raise CmdletError(not_found(identity, _DC))
        return found[0], found[1], identity

    @staticmethod
    def _wire(policy: dict[str, Any]) -> dict[str, Any]:
        return annotated(copy.deepcopy(policy), guid_keys=_GUID_KEYS, datetime_keys=_DATETIME_KEYS)

    # -- cmdlets ----------------------------------------------------------------------------------------------

    def _get(self, params: dict[str, Any]) -> list[dict[str, Any]]:
        """Get-ProtectionAlert [-Identity] (§3.2): every policy, system and custom, or the one named."""
        if params.get("IncludeRuleXml") is not None:
            # [inference] accepted; MergedRuleXml stays null (the notes have no rule XML).
            as_bool("IncludeRuleXml", params["IncludeRuleXml"])
        identity = params.get("Identity")
        selected = list(self._policies) if identity in (None, "") else [self._find(params)[0]]
        visible = [p for p in selected if not self._hidden_by_lag(p)]
        if identity not in (None, "") and not visible:
            raise CmdletError(not_found(str(identity), _DC))  # replication lag: the new policy 404s for a while
        return [self._wire(p) for p in visible]

    def _new(self, params: dict[str, Any], dry_run: bool) -> list[dict[str, Any]]:
        """New-ProtectionAlert (§3.1): validated, licence-checked, created, returned in ``value``."""
        require(params, "Name", "Category", "NotifyUser", "ThreatType")
        if params.get("NotifyUser") == []:
            raise CmdletError(missing_parameters(["NotifyUser"]))
        name = as_text("Name", params["Name"]) or ""
        policy = self._custom_object(name, str(uuid.uuid4()), self._clock())
        policy["ThreatType"] = as_enum("ThreatType", params["ThreatType"], *_ENUMS["ThreatType"])
        if params.get("CorrelationPolicyId") is not None:
            value = params["CorrelationPolicyId"]
            if not isinstance(value, str) or _GUID_RE.match(value) is None:
                raise CmdletError(transformation_error("CorrelationPolicyId", value, "System.Guid",
                                                       "Guid should contain 32 digits with 4 dashes "
                                                       "(xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx)."))
            policy["CorrelationPolicyId"] = value.lower()
        if params.get("CustomProperties") is not None:
            value = params["CustomProperties"]
            if not isinstance(value, dict):
                raise CmdletError(transformation_error("CustomProperties", value, "PswsHashtable",
                                                       "A hashtable is expected."))
            # §1.3: hashtables arrive with "@odata.type": "#Exchange.GenericHashTable" inside; not a property.
            policy["CustomProperties"] = {k: v for k, v in value.items() if not k.startswith("@")}
        self._apply(policy, params)
        self._check_rules(policy, set(params))
        if any(str(p["Name"]).lower() == name.lower() for p in self._policies):
            raise _validation(f"An alert policy named '{name}' already exists. Alert policy names must be "
                              "unique.")  # [inference] text
        if not self.e5 and policy["AggregationType"] != "None":
            raise _validation(E5_REQUIRED_TEXT)  # §3.1 licensing note (includes the default SimpleAggregation)
        if dry_run:
            return []
        self._policies.append(policy)
        if self.replication_lag_reads > 0:
            self._lagging[policy["Guid"]] = self.replication_lag_reads
        return [self._wire(policy)]

    def _set(self, params: dict[str, Any], warnings: list[str], dry_run: bool) -> list[dict[str, Any]]:
        """Set-ProtectionAlert (§3.2, §3.3, C3); returns ``value: []`` (§6.1)."""
        policy, form, identity = self._find(params)
        system = bool(policy["IsSystemRule"])
        if system and form != "name":
            # C3: "There is no rule matching identity '2d161684-…'" for a GUID, and the same for the path form
            # (#8121). [inference] over REST it is the §1.8 envelope with this exception in details; the status
            # (400 or 404) is not known, so it is a flag.
            status = self.system_rule_error_status
            raise CmdletError(execution_error(status, "NotFound" if status == 404 else "BadRequest",
                                              _RULE_NOT_FOUND_EXC, f"There is no rule matching identity "
                                                                   f"'{identity}'."))
        if system:
            refused = [k for k in params if k not in (*SYSTEM_SETTABLE, "Identity", *_WRITE_COMMON)]
            if refused:
                # §3.3 / C3 [inference]: only Disabled, NotifyUser, NotificationEnabled and the throttle settings
                # can be changed on a default policy; the real rejection text was not found.
                raise _validation(
                    f"The alert policy '{policy['Name']}' is a default (system) alert policy. "
                    f"{', '.join(refused)} can't be changed on a default alert policy; only "
                    f"{', '.join(SYSTEM_SETTABLE)} can be changed.")
        updated = copy.deepcopy(policy)
        self._apply(updated, params)
        self._check_rules(updated, set(params))
        if (not self.e5 and updated["AggregationType"] != "None"
                and updated["AggregationType"] != policy["AggregationType"]):
            raise _validation(E5_REQUIRED_TEXT)  # [inference] the licence check applies to a change too
        if dry_run:
            return []
        if updated == policy:
            # §1.6: a no-op Set- returns a warning containing "modified". [inference] exact text.
            warnings.append(f"The command completed successfully but no settings of '{policy['Identity']}' "
                            "have been modified.")
            return []
        self._stamp(updated, override=system)
        policy.clear()
        policy.update(updated)
        return []

    def _remove(self, params: dict[str, Any], dry_run: bool) -> list[dict[str, Any]]:
        """Remove-ProtectionAlert -Identity [-ForceDeletion] (§3.2)."""
        policy, _, _ = self._find(params)
        if params.get("ForceDeletion") is not None:
            as_bool("ForceDeletion", params["ForceDeletion"])
        if policy["IsSystemRule"]:
            # [inference] default policies can be turned off, not removed (§3.3 "can't be edited"); text made up.
            raise _validation(f"The alert policy '{policy['Name']}' is a default (system) alert policy and can't "
                              "be removed. Turn it off with Set-ProtectionAlert -Disabled $true instead.")
        if not dry_run:
            self._policies.remove(policy)
            self._lagging.pop(policy["Guid"], None)
        return []

    # -- parameter conversion and rules (§3.1) ----------------------------------------------------------------

    @staticmethod
    def _apply(policy: dict[str, Any], params: dict[str, Any]) -> None:
        """Convert and store the parameters New and Set share (PowerShell argument transformation)."""
        for key in ("Category", "Severity", "AggregationType"):
            if key in params:
                policy[key] = as_enum(key, params[key], *_ENUMS[key])
        for key in _MULTI_VALUED:
            if key in params:
                policy[key] = as_string_list(key, params[key], _MVP_TYPE)  # null or [] clears
        if "NotifyUser" in params:
            # [inference] a cleared NotifyUser reads back as [] (the notes show no empty one).
            policy["NotifyUser"] = [ComplianceFake._recipient(v) for v in policy["NotifyUser"] or []]
        for key in _BOOLEANS:
            if key in params:
                # UseCreatedDateTime is a nullable Boolean (§3.1 syntax "System.Boolean", null in §3.4).
                nullable = key == "UseCreatedDateTime" and params[key] is None
                policy[key] = None if nullable else as_bool(key, params[key])
        for key in _INT32S:
            if key in params:
                policy[key] = None if params[key] is None else as_int(key, params[key])  # $null = no limit
        for key in _UINT64S:
            if key in params:
                value = None if params[key] is None else as_int(key, params[key], "System.UInt64")
                if value is not None and value < 0:
                    raise CmdletError(transformation_error(key, value, "System.UInt64",
                                                           "Value was either too large or too small for a UInt64."))
                policy[key] = value
        for key in _TEXTS:
            if key in params:
                policy[key] = as_text(key, params[key]) or None
        if "Description" in params:
            # [inference] the Get object (§3.4) has no Description; the built-in rules' Comment is the portal's
            # description text, so -Description is stored in Comment (after -Comment, so it wins).
            policy["Comment"] = as_text("Description", params["Description"]) or None
        if "NotificationCulture" in params:
            culture = as_text("NotificationCulture", params["NotificationCulture"])
            if culture is not None and _CULTURE_RE.match(culture) is None:
                raise CmdletError(transformation_error("NotificationCulture", culture,
                                                       "System.Globalization.CultureInfo",
                                                       "Culture is not supported."))
            policy["NotificationCulture"] = culture or None
        if "NotifyUserSuppressionExpiryDate" in params:
            policy["NotifyUserSuppressionExpiryDate"] = ComplianceFake._as_datetime(
                "NotifyUserSuppressionExpiryDate", params["NotifyUserSuppressionExpiryDate"])

    @staticmethod
    def _recipient(value: str) -> str:
        """§3.1 NotifyUser takes SMTP addresses; §3.4 the token TenantAdmins. [inference] a light format check."""
        if value.lower() == "tenantadmins":
            return "TenantAdmins"
        if re.fullmatch(r"[^@\s]+@[^@\s]+\.[^@\s]+", value) is None:
            raise CmdletError(transformation_error(
                "NotifyUser", value, _MVP_TYPE,
                f"'{value}' is not a valid SMTP address or TenantAdmins."))
        return value

    @staticmethod
    def _as_datetime(name: str, value: Any) -> str | None:
        if value is None:
            return None
        if isinstance(value, str):
            try:
                moment = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
            except ValueError:
                moment = None
            if moment is not None:
                return wire_datetime(moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc))
        raise CmdletError(transformation_error(name, value, "System.DateTime",
                                               "String was not recognized as a valid DateTime."))

    @staticmethod
    def _check_rules(policy: dict[str, Any], given: Iterable[str]) -> None:
        """The §3.1 rules on the policy as it would be stored; ``given`` are the parameters of this call.

        A setting that the new AggregationType forbids is refused when given in this call and cleared when only
        stored: [inference] how the service treats a stored Threshold when the aggregation changes is not known.
        """
        given = set(given)
        aggregation = policy["AggregationType"]
        simple = aggregation == "SimpleAggregation"
        for key, minimum in (("Threshold", MIN_THRESHOLD), ("TimeWindow", MIN_TIME_WINDOW)):
            value = policy[key]
            if value is None:
                continue
            if not simple:
                if key in given:
                    raise _validation(f"The {key} parameter can only be used when the AggregationType parameter "
                                      f"is SimpleAggregation (it is {aggregation}).")
                policy[key] = None
            elif value < minimum:
                unit = " minutes" if key == "TimeWindow" else ""
                raise _validation(f"The value of the {key} parameter must be {minimum}{unit} or greater. The value "
                                  f"{value} isn't valid.")
        if aggregation == "None":
            if policy["NotifyUserOnFilterMatch"]:
                if "NotifyUserOnFilterMatch" in given:
                    raise _validation("The NotifyUserOnFilterMatch parameter can't be used when the AggregationType "
                                      "parameter is None.")
                policy["NotifyUserOnFilterMatch"] = False
            if policy["AlertBy"]:
                if "AlertBy" in given:
                    raise _validation("The AlertBy parameter can't be used when the AggregationType parameter is "
                                      "None.")
                policy["AlertBy"] = None
        if policy["Operation"] and policy["ThreatType"] != "Activity":
            raise _validation(f"The Operation parameter can only be used when the ThreatType is Activity (it is "
                              f"{policy['ThreatType']}).")
        allowed = _ALERT_BY.get(policy["ThreatType"])
        if policy["AlertBy"] and allowed is not None and "AlertBy" in given:
            wrong = [v for v in policy["AlertBy"] if v not in allowed]
            if wrong:
                raise _validation(f"AlertBy value {', '.join(wrong)} isn't valid for ThreatType "
                                  f"{policy['ThreatType']}. Valid values: {', '.join(allowed)}.")

