"""The Security & Compliance responder: ``*-ProtectionAlert`` on ``InvokeCommand`` and the front door's region
discovery (docs/wire/invoke-command.md §2-§6, docs/wire/security-compliance.md §2-§3).

Thin: parse the cmdlet's parameters (PowerShell conversion), call ``ComplianceBackend``, render the objects with the
OData annotations of docs/wire/invoke-command.md §4. Where one request has several problems, the first one met in the
order below is answered ([inference]: the notes show one problem per request).

Hosts (docs/wire/invoke-command.md §3.3). The same fake answers three kinds of host, told apart by the host of
``request.base_url``:

- the front door (``ps.compliance.protection.outlook.com``, and the US government ones) never runs cmdlets:
  ``POST .../InvokeCommand`` and the discovery GETs of ScubaGear (``EXOModuleFile``) and CIPP
  (``EXOBanner('AutogenSession')``) answer ``302`` to ``https://<region>.admin.protection.outlook.com:446/...``
  (the client must rewrite that to ``<region>.ps.compliance.protection.outlook.com``), or ``500`` "Could not find
  the organization container" when the lookup fails;
- a regional host (``<region>.ps.compliance.protection.outlook.com``) runs the cmdlets;
- anything else is the emulator's ``BASE/compliance``, served as the regional host directly (no region discovery,
  docs/emulator.md).

Cmdlets: ``Get-``, ``New-``, ``Set-`` and ``Remove-ProtectionAlert``. Any other cmdlet answers 403 with a JSON
body naming it (docs/wire/invoke-command.md §6 "unknown cmdlet on IPPS", unlike Exchange's NUL body); so do the
write cmdlets for a read-only caller (``backend.read_only``).
"""

from __future__ import annotations

import re
from datetime import datetime, timezone
from typing import Any
from urllib.parse import urlencode, urlsplit

from ..base import FakeRequest, FakeResponse
from ..invoke_command.exceptions import (
    InvokeCommandError,
    MissingParameters,
    ParameterTransformationError,
    RouteNotFound,
)
from ..invoke_command.params import as_bool, as_enum, as_identity, as_int, as_string_list, as_text, require
from ..invoke_command.responses import CmdletOutput, CmdletSpec, InvokeCommandResponse
from ..invoke_command.wire import annotated, wire_datetime
from ..records import to_wire
from .exceptions import OrganizationNotFound, UnknownCmdlet
from .models import AGGREGATION_TYPES, CATEGORIES, SEVERITIES, THREAT_TYPES, AlertPolicy, ComplianceBackend

# ---------------------------------------------------------------------------------------------------------------
# Hosts and region discovery (docs/wire/invoke-command.md §3.3)
# ---------------------------------------------------------------------------------------------------------------

# Front door host -> the domain of the regional *admin* host its 302 points at.
# Commercial/GCC: docs/wire/invoke-command.md §3.3 (ScubaGear, CIPP, the TS client's live-mirrored fake). The US
# government pairs are [inference]: the front doors are the configured cloud endpoints; that they redirect the same way
# to "<region>.admin.protection.office365.us:446" is not in the notes.
FRONT_DOORS: dict[str, str] = {
    "ps.compliance.protection.outlook.com": "admin.protection.outlook.com",
    "ps.compliance.protection.office365.us": "admin.protection.office365.us",  # GCC High [inference]
    "l5.ps.compliance.protection.office365.us": "admin.protection.office365.us",  # DoD [inference]
}
# A regional host that runs cmdlets: "<region>.ps.compliance.protection.outlook.com" (docs/wire/invoke-command.md §3.3);
# the office365.us form is [inference]. Any region label is served: ExoHelper hard-codes eur02b for every tenant
# (docs/wire/invoke-command.md §3.3), which suggests a regional host answers tenants of other regions too [inference].
REGIONAL_HOST = re.compile(r"^(?P<region>[a-z0-9-]+)\.ps\.compliance\.protection\.(?:outlook\.com|office365\.us)$")
# The paths the front door redirects. POST InvokeCommand: the TS client (docs/wire/invoke-command.md §3.3). GET
# EXOModuleFile: ScubaGear. GET EXOBanner('AutogenSession'): CIPP. [inference] the Location keeps the request's path and
# query (only its host is used by every client in the notes; the TS fake's Location does keep the InvokeCommand path).
_DISCOVERY_PATH = re.compile(
    r"^/adminapi/(?:beta|v1\.0)/[^/]+/(?:InvokeCommand|EXOModuleFile|EXOBanner\('AutogenSession'\))/?$",
    re.IGNORECASE)
DISCOVERY_OPERATION = "region discovery"

# ---------------------------------------------------------------------------------------------------------------
# Cmdlet table and parameter types (docs/wire/security-compliance.md §3.1, §3.2)
# ---------------------------------------------------------------------------------------------------------------

# [inference] the .NET namespace of the enum types; the type names are the doc's (docs/wire/security-compliance.md §3.1
# syntax).
_TYPE_NS = "Microsoft.Office.CompliancePolicy.Tasks."
_ENUMS: dict[str, tuple[tuple[str, ...], str]] = {
    "Category": (CATEGORIES, _TYPE_NS + "AlertRuleCategory"),
    "ThreatType": (THREAT_TYPES, _TYPE_NS + "ThreatAlertType"),
    "Severity": (SEVERITIES, _TYPE_NS + "RuleSeverity"),
    "AggregationType": (AGGREGATION_TYPES, _TYPE_NS + "AlertAggregationType"),
}
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
# docs/wire/security-compliance.md §3.2: no Name, no ThreatType (and, per the doc's list, none of CorrelationPolicyId,
# LogicalOperationName, CustomProperties, UseCreatedDateTime).
_SET_PARAMS = (
    "Identity", "AggregationType", "AlertBy", "AlertFor", "Category", "Comment", "Description", "Disabled",
    "Filter", "NotificationCulture", "NotificationEnabled", "NotifyUser", "NotifyUserOnFilterMatch",
    "NotifyUserSuppressionExpiryDate", "NotifyUserThrottleThreshold", "NotifyUserThrottleWindow", "Operation",
    *_PRIVACY, "Severity", "Threshold", "TimeWindow", "VolumeThreshold", *_WRITE_COMMON,
)
CMDLETS: dict[str, CmdletSpec] = {spec.name.lower(): spec for spec in (
    CmdletSpec("Get-ProtectionAlert", ("Identity", "IncludeRuleXml")),
    CmdletSpec("New-ProtectionAlert", _NEW_PARAMS),
    CmdletSpec("Set-ProtectionAlert", _SET_PARAMS),
    CmdletSpec("Remove-ProtectionAlert", ("Identity", "ForceDeletion", *_WRITE_COMMON)),
)}
_MVP_TYPE = "Microsoft.Exchange.Data.MultiValuedProperty`1[System.String]"
# docs/wire/security-compliance.md §3.2 (namespace [inference])
_IDENTITY_TYPE = "Microsoft.Office.CompliancePolicy.Tasks.ComplianceRuleIdParameter"
_GUID_RE = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
_CULTURE_RE = re.compile(r"^[A-Za-z]{2,3}(?:-[A-Za-z0-9]{2,8})*$")

# [inference] which properties carry the #Guid / System.DateTime annotations of docs/wire/invoke-command.md §4 (the
# sample of docs/wire/security-compliance.md §3.4 is a PowerShell export without annotations).
_GUID_KEYS = ("CorrelationPolicyId", "ImmutableId", "Policy", "ObjectVersion", "Guid", "ExchangeObjectId")
_DATETIME_KEYS = ("NotifyUserSuppressionExpiryDate", "AlertOverrideChangedUtc", "WhenChanged", "WhenCreated",
                  "WhenChangedUTC", "WhenCreatedUTC")


def _wire(policy: AlertPolicy) -> dict[str, Any]:
    return annotated(to_wire(policy), guid_keys=_GUID_KEYS, datetime_keys=_DATETIME_KEYS)


def _recipient(value: str) -> str:
    """docs/wire/security-compliance.md §3.1 NotifyUser takes SMTP addresses; docs/wire/security-compliance.md §3.4 the
    token TenantAdmins. [inference] a light format check."""
    if value.lower() == "tenantadmins":
        return "TenantAdmins"
    if re.fullmatch(r"[^@\s]+@[^@\s]+\.[^@\s]+", value) is None:
        raise ParameterTransformationError("NotifyUser", value, _MVP_TYPE,
                                           f"'{value}' is not a valid SMTP address or TenantAdmins.")
    return value


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
    raise ParameterTransformationError(name, value, "System.DateTime",
                                       "String was not recognized as a valid DateTime.")


def _settings(params: dict[str, Any]) -> dict[str, Any]:
    """The parameters New and Set share, converted (PowerShell argument transformation), by property name."""
    settings: dict[str, Any] = {}
    for key in ("Category", "Severity", "AggregationType"):
        if key in params:
            settings[key] = as_enum(key, params[key], *_ENUMS[key])
    for key in _MULTI_VALUED:
        if key in params:
            settings[key] = as_string_list(key, params[key], _MVP_TYPE)  # null or [] clears
    if "NotifyUser" in params:
        # [inference] a cleared NotifyUser reads back as [] (the notes show no empty one).
        settings["NotifyUser"] = [_recipient(v) for v in settings["NotifyUser"] or []]
    for key in _BOOLEANS:
        if key in params:
            # UseCreatedDateTime is a nullable Boolean (docs/wire/security-compliance.md §3.1 syntax "System.Boolean",
            # null in docs/wire/security-compliance.md §3.4).
            nullable = key == "UseCreatedDateTime" and params[key] is None
            settings[key] = None if nullable else as_bool(key, params[key])
    for key in _INT32S:
        if key in params:
            settings[key] = None if params[key] is None else as_int(key, params[key])  # $null = no limit
    for key in _UINT64S:
        if key in params:
            value = None if params[key] is None else as_int(key, params[key], "System.UInt64")
            if value is not None and value < 0:
                raise ParameterTransformationError(key, value, "System.UInt64",
                                                   "Value was either too large or too small for a UInt64.")
            settings[key] = value
    for key in _TEXTS:
        if key in params:
            settings[key] = as_text(key, params[key]) or None
    if "Description" in params:
        # [inference] the Get object (docs/wire/security-compliance.md §3.4) has no Description; the built-in rules'
        # Comment is the portal's description text, so -Description is stored in Comment (after -Comment, so it wins).
        settings["Comment"] = as_text("Description", params["Description"]) or None
    if "NotificationCulture" in params:
        culture = as_text("NotificationCulture", params["NotificationCulture"])
        if culture is not None and _CULTURE_RE.match(culture) is None:
            raise ParameterTransformationError("NotificationCulture", culture, "System.Globalization.CultureInfo",
                                               "Culture is not supported.")
        settings["NotificationCulture"] = culture or None
    if "NotifyUserSuppressionExpiryDate" in params:
        settings["NotifyUserSuppressionExpiryDate"] = _as_datetime(
            "NotifyUserSuppressionExpiryDate", params["NotifyUserSuppressionExpiryDate"])
    return settings


class ComplianceResponse(InvokeCommandResponse[CmdletSpec]):
    """Security & Compliance's ``InvokeCommand`` (and front door) for one ``ComplianceBackend``."""

    def __init__(self, backend: ComplianceBackend, *, max_page_size: int | None = None) -> None:
        super().__init__(backend.lock, max_page_size=max_page_size)
        self.backend = backend

    # -- hosts: front door, regional host, emulator (docs/wire/invoke-command.md §3.3)
    # ------------------------------------------------------

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
        if admin_domain is None:
            return super().handle(request)
        try:
            return self._discover(request, admin_domain)
        except InvokeCommandError as error:
            return error.response()

    def _discover(self, request: FakeRequest, admin_domain: str) -> FakeResponse:
        """The front door: never runs a cmdlet; redirects to the tenant's region or fails the lookup
        (docs/wire/invoke-command.md §3.3)."""
        if _DISCOVERY_PATH.match(request.path) is None:
            raise RouteNotFound(request.method, request.path)  # [inference] other front door paths
        if self.backend.discovery_fails:
            raise OrganizationNotFound()
        query = urlencode(request.query, safe="'(),")
        location = f"https://{self.backend.region}.{admin_domain}:446{request.path}" + (f"?{query}" if query else "")
        # docs/wire/invoke-command.md §3.3: 302 with an empty body and the admin host on port 446; the client rewrites
        # the host.
        return FakeResponse(302, {"location": location}, b"")

    # -- InvokeCommand ----------------------------------------------------------------------------------------

    def lookup_cmdlet(self, name: str) -> CmdletSpec | None:
        cmdlet = CMDLETS.get(name.lower())
        if cmdlet is not None and self.backend.read_only and not cmdlet.name.lower().startswith("get-"):
            # A read-only caller (Global Reader) lacks the Organization Management / Security Administrator role groups
            # that grant the write cmdlets (docs/wire/security-compliance.md §2). [inference] Security & Compliance
            # answers a cmdlet the caller's roles do not grant like an unknown one (403 naming it): Exchange, on the
            # same endpoint, does so (docs/wire/invoke-command.md §6.4; docs/wire/exchange-online.md §7), and the
            # notes have no capture of Security & Compliance's own answer.
            return None
        return cmdlet

    def unknown_cmdlet(self, name: str) -> InvokeCommandError:
        return UnknownCmdlet(name)

    def run(self, request: FakeRequest, cmdlet: CmdletSpec, params: dict[str, Any]) -> CmdletOutput:
        verb = cmdlet.name.split("-", 1)[0].lower()
        if verb == "get":
            return CmdletOutput(self._get(params))
        # docs/wire/invoke-command.md §2.2: the module first calls with Confirm=$true and reads
        # @adminapi.confirmationmessage. [inference] as in the Exchange fake: the call is validated, nothing is applied.
        # WhatIf "doesn't work in Security & Compliance PowerShell" (docs/wire/security-compliance.md §3.2): [inference]
        # it is accepted and ignored, so the change IS applied.
        dry_run = params.get("Confirm") is True
        if verb == "new":
            output = CmdletOutput(self._new(params, dry_run))
        elif verb == "set":
            output = self._set(params, dry_run)
        else:
            output = CmdletOutput(self._remove(params, dry_run))
        if dry_run:
            return CmdletOutput([], annotations={"@adminapi.confirmationmessage": (
                f"Are you sure you want to perform this action? {cmdlet.name} "
                f"Identity:\"{params.get('Identity') or params.get('Name')}\"")})
        return output

    def _find(self, params: dict[str, Any]) -> tuple[AlertPolicy, str, str]:
        require(params, "Identity")
        identity = as_identity(params, "Identity", _IDENTITY_TYPE)
        policy, form = self.backend.find(identity)
        return policy, form, identity

    def _get(self, params: dict[str, Any]) -> list[dict[str, Any]]:
        """Get-ProtectionAlert [-Identity] (docs/wire/security-compliance.md §3.2)."""
        if params.get("IncludeRuleXml") is not None:
            # [inference] accepted; MergedRuleXml stays null (the notes have no rule XML).
            as_bool("IncludeRuleXml", params["IncludeRuleXml"])
        identity = None
        if params.get("Identity") not in (None, ""):
            identity = as_identity(params, "Identity", _IDENTITY_TYPE)
        return [_wire(p) for p in self.backend.get_policies(identity)]

    def _new(self, params: dict[str, Any], dry_run: bool) -> list[dict[str, Any]]:
        """New-ProtectionAlert (docs/wire/security-compliance.md §3.1): returns the created policy in ``value``."""
        require(params, "Name", "Category", "NotifyUser", "ThreatType")
        if params.get("NotifyUser") == []:
            raise MissingParameters(["NotifyUser"])
        name = as_text("Name", params["Name"]) or ""
        settings: dict[str, Any] = {"ThreatType": as_enum("ThreatType", params["ThreatType"], *_ENUMS["ThreatType"])}
        if params.get("CorrelationPolicyId") is not None:
            value = params["CorrelationPolicyId"]
            if not isinstance(value, str) or _GUID_RE.match(value) is None:
                raise ParameterTransformationError("CorrelationPolicyId", value, "System.Guid",
                                                   "Guid should contain 32 digits with 4 dashes "
                                                   "(xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx).")
            settings["CorrelationPolicyId"] = value.lower()
        if params.get("CustomProperties") is not None:
            value = params["CustomProperties"]
            if not isinstance(value, dict):
                raise ParameterTransformationError("CustomProperties", value, "PswsHashtable",
                                                   "A hashtable is expected.")
            # docs/wire/invoke-command.md §2.2: hashtables arrive with "@odata.type": "#Exchange.GenericHashTable"
            # inside; not a property.
            settings["CustomProperties"] = {k: v for k, v in value.items() if not k.startswith("@")}
        settings.update(_settings(params))
        policy = self.backend.new_policy(name, settings, params, dry_run=dry_run)
        return [] if dry_run else [_wire(policy)]

    def _set(self, params: dict[str, Any], dry_run: bool) -> CmdletOutput:
        """Set-ProtectionAlert (docs/wire/security-compliance.md §3.2, §3.3, §6); returns ``value: []``
        (docs/wire/invoke-command.md §4.4)."""
        policy, form, identity = self._find(params)
        self.backend.check_settable(policy, form, identity, list(params))
        if self.backend.set_policy(policy, _settings(params), params, dry_run=dry_run) or dry_run:
            return CmdletOutput([])
        # docs/wire/invoke-command.md §4: a no-op Set- returns a warning containing "modified". [inference] exact text.
        return CmdletOutput([], warnings=[f"The command completed successfully but no settings of "
                                          f"'{policy.identity}' have been modified."])

    def _remove(self, params: dict[str, Any], dry_run: bool) -> list[dict[str, Any]]:
        """Remove-ProtectionAlert -Identity [-ForceDeletion] (docs/wire/security-compliance.md §3.2)."""
        policy, _, _ = self._find(params)
        if params.get("ForceDeletion") is not None:
            as_bool("ForceDeletion", params["ForceDeletion"])
        self.backend.delete_policy(policy, dry_run=dry_run)
        return []
