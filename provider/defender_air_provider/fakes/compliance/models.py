"""The Security & Compliance backend: the tenant's alert policies (built-in and custom) and the rules of
``*-ProtectionAlert``.

Written from ``docs/wire`` only (never from our client), so a misunderstanding in the client cannot be
mirrored here. References: ``docs/wire/invoke-command.md`` §6 (errors), ``docs/wire/security-compliance.md`` §3
(``*-ProtectionAlert``), §4-§6 (the catalogue of built-in alert policies, their identity and errors), §7
(Microsoft365DSC). Everything the pages mark as inference, and everything they say nothing about that the fake
had to choose, is tagged ``[inference]``.

State is one typed record per policy (``AlertPolicy``, the real object of docs/wire/security-compliance.md §3.4 property
for property); the rules are ``ComplianceBackend`` methods that raise the service's typed errors. The wire is
``responses.py``.
"""

from __future__ import annotations

import copy
import threading
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from ...data import BuiltInAlertPolicyRecord, built_in_alert_policies
from ..exchange.models import TENANT_DOMAIN
from ..invoke_command.exceptions import ObjectNotFound
from ..invoke_command.lag import ReplicationLag
from ..invoke_command.wire import wire_datetime
from ..records import from_wire, set_wire, to_wire, wire, wire_keys
from .exceptions import (
    BelowMinimum,
    DuplicateAlertPolicyName,
    E5Required,
    InvalidAlertBy,
    NotWithoutAggregation,
    OnlyWithSimpleAggregation,
    OperationNeedsActivity,
    RuleNotFound,
    SystemRuleNotRemovable,
    SystemRuleNotSettable,
)

# ---------------------------------------------------------------------------------------------------------------
# Constants of the modelled tenant and of the objects (docs/wire/security-compliance.md §3.4, §4/§5)
# ---------------------------------------------------------------------------------------------------------------

ZWSP = "\u200b"  # the trailing zero-width space of five built-in names (docs/wire/security-compliance.md §3.4, §5.4)

# The shared container every system rule lives in (docs/wire/security-compliance.md §5.2).
_FFO_ROOT = "FFO.extest.microsoft.com/Microsoft Exchange Hosted Organizations"
_FFO_DN = "OU=Microsoft Exchange Hosted Organizations,DC=FFO,DC=extest,DC=microsoft,DC=com"
SYSTEM_CONTAINER = "f00ed340-8f84-4eb4-83f3-0075a22b262e"
# [inference] a custom policy lives under the tenant's own organization in the same directory; the notes show
# only system rules' paths, so the tenant's container name (its initial domain) is a guess.
TENANT_CONTAINER = TENANT_DOMAIN

# [inference] the domain controller named in 404 texts (docs/wire/invoke-command.md §6 shape
# 'YQBPR01A12DC007.CANPR01A012.PROD.OUTLOOK.COM').
DOMAIN_CONTROLLER = "NAM13B001DC001.NAM13B001.PROD.OUTLOOK.COM"

ZERO_GUID = "00000000-0000-0000-0000-000000000000"
# docs/wire/security-compliance.md §3.4: the one real object's Policy GUID. [inference] every system rule shares it (one
# system alert policy container); custom rules get a tenant policy GUID of their own.
_SYSTEM_POLICY_GUID = "e9a4983d-9f4e-47b0-80d1-fb2097adb484"
_TENANT_POLICY_GUID = "3c1c1d5e-8b47-4f0b-9a55-0f4f3b0b6a21"  # [inference] made up
# docs/wire/security-compliance.md §3.4 WhenCreated/WhenChanged of the real object (PowerShell /Date(ms)/ in the
# export). [inference] every seeded system rule shows these two dates.
_SYSTEM_CREATED = datetime.fromtimestamp(1554927215, timezone.utc)  # /Date(1554927215000)/
_SYSTEM_CHANGED = datetime.fromtimestamp(1653992040, timezone.utc)  # /Date(1653992040000)/
_CUSTOM_SEED_TIME = datetime(2024, 3, 11, 9, 30, 12, 417000, tzinfo=timezone.utc)  # [inference] made up
_GUID_NAMESPACE = uuid.UUID("a1f0e3b4-6c2d-4e8f-9b1a-2d3c4e5f6a7b")  # stable seed GUIDs across runs

# Enum values: docs/wire/security-compliance.md §3.1 "Values seen in reality" (wider than the doc) and the doc's
# Category list + DataLossPrevention.
THREAT_TYPES = ("Activity", "Malware", "Phish", "Malicious", "MaliciousUrlClick", "MailFlow")
SEVERITIES = ("Low", "Medium", "High", "Informational")
AGGREGATION_TYPES = ("None", "SimpleAggregation", "AnomalousAggregation", "CustomAggregation")
CATEGORIES = ("AccessGovernance", "ComplianceManager", "DataGovernance", "MailFlow", "Others", "PrivacyManagement",
              "Supervision", "ThreatManagement", "DataLossPrevention")
# docs/wire/security-compliance.md §3.1 AlertBy: "Activity: User or $null; Malware: Mail.Recipient or Mail.ThreatName".
# Other threat types are undocumented and not checked [inference].
_ALERT_BY: dict[str, tuple[str, ...]] = {"Activity": ("User",), "Malware": ("Mail.Recipient", "Mail.ThreatName")}

MIN_THRESHOLD = 3  # docs/wire/security-compliance.md §3.1 "≥ 3"; Microsoft365DSC ValidateRange(3, …)
# docs/wire/security-compliance.md §3.1 doc "greater than 60"; Microsoft365DSC ValidateRange(60, …), followed here
MIN_TIME_WINDOW = 60

# docs/wire/security-compliance.md §3.3 / §6 [inference]: the only settings of a system (built-in) rule that can be
# changed.
SYSTEM_SETTABLE = ("Disabled", "NotifyUser", "NotificationEnabled", "NotifyUserThrottleThreshold",
                   "NotifyUserThrottleWindow")
# The other parameters Set-ProtectionAlert accepts on a system rule: they change nothing
# (docs/wire/security-compliance.md §3.2, docs/wire/invoke-command.md §2.2).
_SYSTEM_ACCEPTED = ("Identity", "Confirm", "WhatIf")


def _utc_now() -> datetime:
    return datetime.now(timezone.utc)


def _seed_guid(*parts: str) -> str:
    return str(uuid.uuid5(_GUID_NAMESPACE, "/".join(parts)))


# ---------------------------------------------------------------------------------------------------------------
# The record
# ---------------------------------------------------------------------------------------------------------------

_PRIVACY_TYPES = "PrivacyManagementScopedSensitiveInformationTypes"


@dataclass(kw_only=True)
class AlertPolicy:
    """One alert policy, built-in or custom: every property of the real Get-ProtectionAlert object, in its order
    (docs/wire/security-compliance.md §3.4). The defaults are the values every object in the notes shares (what
    New-ProtectionAlert starts from)."""

    filter: str | None = field(default=None, metadata=wire("Filter"))
    operation: list[str] | None = field(default=None, metadata=wire("Operation"))
    logical_operation_name: str | None = field(default=None, metadata=wire("LogicalOperationName"))
    # [inference] New's default (an undocumented parameter)
    notification_enabled: bool = field(default=True, metadata=wire("NotificationEnabled"))
    notify_user: list[str] = field(default_factory=list, metadata=wire("NotifyUser"))
    severity: str = field(default="", metadata=wire("Severity"))
    threshold: int | None = field(default=None, metadata=wire("Threshold"))
    volume_threshold: int | None = field(default=None, metadata=wire("VolumeThreshold"))
    external_scenario_data: Any = field(default=None, metadata=wire("ExternalScenarioData"))
    time_window: int | None = field(default=None, metadata=wire("TimeWindow"))
    notify_user_on_filter_match: bool = field(default=False, metadata=wire("NotifyUserOnFilterMatch"))
    merged_rule_xml: str | None = field(default=None, metadata=wire("MergedRuleXml"))
    stream_type: str = field(default="None", metadata=wire("StreamType"))
    threat_type: str | None = field(default=None, metadata=wire("ThreatType"))
    privacy_types: list[str] | None = field(default=None, metadata=wire(_PRIVACY_TYPES))
    privacy_types_for_counting: list[str] | None = field(default=None, metadata=wire(_PRIVACY_TYPES + "ForCounting"))
    privacy_types_threshold: int | None = field(default=None, metadata=wire(_PRIVACY_TYPES + "Threshold"))
    alert_by: list[str] | None = field(default=None, metadata=wire("AlertBy"))
    alert_for: list[str] | None = field(default=None, metadata=wire("AlertFor"))
    alert_scenario: str = field(default="", metadata=wire("AlertScenario"))
    scenario: str = field(default="", metadata=wire("Scenario"))
    notify_user_throttle_threshold: int | None = field(default=None, metadata=wire("NotifyUserThrottleThreshold"))
    notify_user_throttle_window: int | None = field(default=None, metadata=wire("NotifyUserThrottleWindow"))
    notify_user_suppression_expiry_date: str | None = field(default=None,
                                                            metadata=wire("NotifyUserSuppressionExpiryDate"))
    notification_culture: str | None = field(default=None, metadata=wire("NotificationCulture"))
    # docs/wire/security-compliance.md §5.3: a tenant override's mark
    alert_override_changed_utc: str | None = field(default=None, metadata=wire("AlertOverrideChangedUtc"))
    aggregation_type: str = field(default="", metadata=wire("AggregationType"))
    category: str | None = field(default=None, metadata=wire("Category"))
    is_system_rule: bool = field(default=False, metadata=wire("IsSystemRule"))
    tag_filter: Any = field(default=None, metadata=wire("TagFilter"))
    user_tags: Any = field(default=None, metadata=wire("UserTags"))
    recipient_tags: Any = field(default=None, metadata=wire("RecipientTags"))
    sender_tags: Any = field(default=None, metadata=wire("SenderTags"))
    custom_properties: dict[str, Any] | None = field(default=None, metadata=wire("CustomProperties"))
    use_created_date_time: bool | None = field(default=None, metadata=wire("UseCreatedDateTime"))
    correlation_policy_id: str = field(default=ZERO_GUID, metadata=wire("CorrelationPolicyId"))
    read_only: bool = field(default=False, metadata=wire("ReadOnly"))
    error_metadata: Any = field(default=None, metadata=wire("ErrorMetadata"))
    external_identity: str = field(default="", metadata=wire("ExternalIdentity"))
    immutable_id: str = field(default="", metadata=wire("ImmutableId"))
    priority: int = field(default=0, metadata=wire("Priority"))
    # docs/wire/security-compliance.md §3.4; [inference] the same for every policy
    workload: str = field(default="AuditAlerting", metadata=wire("Workload"))
    policy_guid: str = field(default="", metadata=wire("Policy"))
    comment: str | None = field(default=None, metadata=wire("Comment"))
    disabled: bool = field(default=False, metadata=wire("Disabled"))
    mode: str = field(default="Enforce", metadata=wire("Mode"))
    object_version: str = field(default="", metadata=wire("ObjectVersion"))
    maximum_blob_rule_length: int = field(default=0, metadata=wire("MaximumBlobRuleLength"))
    created_by: str = field(default="", metadata=wire("CreatedBy"))
    last_modified_by: str = field(default="", metadata=wire("LastModifiedBy"))
    guid: str = field(default="", metadata=wire("Guid"))
    identity: str = field(default="", metadata=wire("Identity"))
    id: str = field(default="", metadata=wire("Id"))
    is_valid: bool = field(default=True, metadata=wire("IsValid"))
    exchange_version: str = field(default="0.20 (15.0.0.0)", metadata=wire("ExchangeVersion"))
    name: str = field(default="", metadata=wire("Name"))
    distinguished_name: str = field(default="", metadata=wire("DistinguishedName"))
    object_category: Any = field(default=None, metadata=wire("ObjectCategory"))
    object_class: list[str] = field(default_factory=lambda: ["msExchUnifiedRule"], metadata=wire("ObjectClass"))
    when_changed: str = field(default="", metadata=wire("WhenChanged"))
    when_created: str = field(default="", metadata=wire("WhenCreated"))
    when_changed_utc: str = field(default="", metadata=wire("WhenChangedUTC"))
    when_created_utc: str = field(default="", metadata=wire("WhenCreatedUTC"))
    exchange_object_id: str = field(default="", metadata=wire("ExchangeObjectId"))
    organizational_unit_root: str = field(default="", metadata=wire("OrganizationalUnitRoot"))
    organization_id: str = field(default="", metadata=wire("OrganizationId"))
    originating_server: str = field(default="", metadata=wire("OriginatingServer"))
    # docs/wire/security-compliance.md §3.4 shows "New" on a Get of a long-existing rule
    object_state: str = field(default="New", metadata=wire("ObjectState"))

    def derive_identity(self) -> None:
        """Identity, Id, DN and organization: system rules in the shared FFO container (docs/wire/security-compliance.md
        §5.2), custom ones under the
        tenant's [inference]."""
        container = SYSTEM_CONTAINER if self.is_system_rule else TENANT_CONTAINER
        root = f"{_FFO_ROOT}/{container}"
        self.identity = self.id = f"{root}/Configuration/{self.name}"
        self.distinguished_name = f"CN={self.name},CN=Configuration,CN={container},{_FFO_DN}"
        self.organizational_unit_root = root
        self.organization_id = f"{root} - {root}/Configuration"


# every key of the real Get-ProtectionAlert object (docs/wire/security-compliance.md §3.4)
KEY_ORDER: tuple[str, ...] = wire_keys(AlertPolicy)


def custom_policy(name: str, guid: str, when: datetime) -> AlertPolicy:
    """A custom policy with New-ProtectionAlert's defaults (docs/wire/security-compliance.md §3.1) before its parameters
    are applied."""
    stamp = wire_datetime(when)
    policy = AlertPolicy(
        severity="Low",  # docs/wire/security-compliance.md §3.1 default
        stream_type="Activity",  # docs/wire/security-compliance.md §3.4 notes: custom rules
        # docs/wire/security-compliance.md §3.4 notes: custom rules have Scenario "AuditProtectionAlert". [inference]
        # AlertScenario the same, and both regardless of ThreatType.
        alert_scenario="AuditProtectionAlert",
        scenario="AuditProtectionAlert",
        aggregation_type="SimpleAggregation",  # docs/wire/security-compliance.md §3.1 default
        immutable_id=guid,
        policy_guid=_TENANT_POLICY_GUID,
        object_version=_seed_guid("version", guid),
        guid=guid,
        name=name,
        when_changed=stamp, when_created=stamp, when_changed_utc=stamp, when_created_utc=stamp,
        exchange_object_id=guid,
    )
    policy.derive_identity()
    return policy


# ---------------------------------------------------------------------------------------------------------------
# Seed: the built-in catalogue (docs/wire/security-compliance.md §4) and two custom policies
# ---------------------------------------------------------------------------------------------------------------

# Every row of the catalogue (docs/wire/security-compliance.md §4.2), in its order:
# ``defender_air_provider/data/built_in_alert_policies.json``, shared with the handlers' catalogue (a neutral data file,
# not handler code). Names are exact, with the trailing U+200B where the catalogue flags it; the rules that trigger AIR
# carry the full filters of §4.3. The four retired T rows (MC822720) have only the catalogue table's truncated filter
# (``filter_truncated``): [inference: truncated in the notes] it is stored as printed there, without the ellipsis. The T
# row "HVE A potentially malicious URL click was detected" has neither operation nor filter in §4.2: [inference] it is
# stored without either.
SYSTEM_RULES: tuple[BuiltInAlertPolicyRecord, ...] = built_in_alert_policies()

# docs/wire/security-compliance.md §5.3 [inference]: default NotificationEnabled is false on the ZAP/removal rules, the
# user-report rules and the admin-investigation rules (RunRego-stub values), true otherwise. Which rows count as which
# is read from their names and operations here: "removed after delivery" names; Operation UserSubmission;
# AirManualInvestigation and AirAdminActionInvestigation. [inference] "Messages containing malicious entity not removed
# after delivery" is a ZAP *failure* alert and keeps notifications on.
_QUIET_OPERATIONS = ("UserSubmission", "AirManualInvestigation", "AirAdminActionInvestigation")


def _notification_default(row: BuiltInAlertPolicyRecord) -> bool:
    if row.name.rstrip(ZWSP).endswith(" removed after delivery") and " not removed " not in row.name:
        return False
    return not (row.operation and row.operation[0] in _QUIET_OPERATIONS)


# docs/wire/security-compliance.md §3.4: the one real Comment. [inference] the other built-in comments are not in the
# notes; a generic sentence in the same style (a description, then a version suffix) is used.
_SYSTEM_COMMENTS = {
    "a74bb32a-541b-47fb-adfd-f8c62ce3d59b": "We have detected that one of your users has recently clicked on a link "
                                            "that was found to be malicious. -V1.0.0.5",
}
_SYSTEM_OBJECT_VERSIONS = {"a74bb32a-541b-47fb-adfd-f8c62ce3d59b": "93862b30-0045-4564-44b2-08da42ee4857"}


def system_policy(row: BuiltInAlertPolicyRecord) -> AlertPolicy:
    """A built-in policy as a fresh tenant has it (§4.2 values, §5.1-§5.3 defaults)."""
    guid = row.immutable_id
    scenario = "AuditProtectionAlert" if row.threat_type == "Activity" else row.threat_type
    policy = AlertPolicy(
        filter=row.filter,
        operation=list(row.operation) if row.operation else None,
        notification_enabled=_notification_default(row),
        notify_user=["TenantAdmins"],  # docs/wire/security-compliance.md §4.1: default on every system rule
        severity=row.severity,
        # docs/wire/security-compliance.md §3.4: StreamType "None" on the MaliciousUrlClick system rule. [inference]
        # "Activity" on the Activity ones, as on custom (Activity) rules.
        stream_type="Activity" if row.threat_type == "Activity" else "None",
        threat_type=row.threat_type,
        # docs/wire/security-compliance.md §3.4: Scenario = AlertScenario = "MaliciousUrlClick" on that rule.
        # [inference] the threat type on the other non-Activity ones, "AuditProtectionAlert" (the custom rules' value)
        # on the Activity ones.
        alert_scenario=scenario,
        scenario=scenario,
        aggregation_type=row.aggregation_type,
        category=row.category,
        is_system_rule=True,
        immutable_id=guid,
        policy_guid=_SYSTEM_POLICY_GUID,
        comment=_SYSTEM_COMMENTS.get(guid, f"Generates an alert for: {row.name.rstrip(ZWSP)}. -V1.0.0.1"),
        # docs/wire/security-compliance.md §3.4's real value for that rule; [inference] a stable made-up GUID for the
        # others.
        object_version=_SYSTEM_OBJECT_VERSIONS.get(guid, _seed_guid("version", guid)),
        guid=guid,
        name=row.name,
        when_changed=wire_datetime(_SYSTEM_CHANGED),
        when_created=wire_datetime(_SYSTEM_CREATED),
        when_changed_utc=wire_datetime(_SYSTEM_CHANGED),
        when_created_utc=wire_datetime(_SYSTEM_CREATED),
        exchange_object_id=guid,
    )
    policy.derive_identity()
    return policy


# Two custom policies as a real tenant has them. [inference] fields the sources don't give are filled plausibly.
# 1. The TS client's live-mirrored fake (docs/wire/invoke-command.md §3.3): Name, Operation, Disabled, NotifyUser,
# NotificationEnabled.
# 2. Microsoft365DSC's unit-test mock (docs/wire/security-compliance.md §7), renamed: its Name is the built-in
# "Suspicious email sending patterns detected", which a custom policy can't share; the "Custom " prefix follows
# Microsoft365DSC's own example.
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
# The backend
# ---------------------------------------------------------------------------------------------------------------

class ComplianceBackend:
    """Security & Compliance alert policies for one fake tenant: every built-in (system) rule of
    docs/wire/security-compliance.md §4
    plus two custom policies, and the rules of ``*-ProtectionAlert``.

    Plain attributes: ``e5`` (False = only AggregationType None can be created, docs/wire/security-compliance.md §3.1
    licensing note), ``region`` (the label the front door redirects to), ``discovery_fails`` (the front door answers the
    500 of
    docs/wire/invoke-command.md §3.3), ``replication_lag_reads`` (after a New-, that many Get calls that would include
    the new policy act as if it
    did not exist yet, docs/wire/invoke-command.md §6), ``system_rule_error_status`` (400 or 404: the status of
    security-compliance.md §6.1's ErrorRuleNotFoundException, which the notes leave open), ``read_only`` (the caller
    holds a read-only role such as Global Reader: only Get-ProtectionAlert is in its session) and ``clock``. Every
    method runs under ``lock``.
    """

    def __init__(self, *, e5: bool = True, region: str = "nam13b", discovery_fails: bool = False,
                 replication_lag_reads: int = 0, clock: Callable[[], datetime] | None = None,
                 system_rule_error_status: int = 400) -> None:
        self.lock = threading.RLock()
        self.e5 = e5
        self.region = region
        self.discovery_fails = discovery_fails
        self.replication_lag_reads = replication_lag_reads
        self.system_rule_error_status = system_rule_error_status
        self.read_only = False
        self.clock: Callable[[], datetime] = clock or _utc_now
        self.lag = ReplicationLag()
        self._policies: list[AlertPolicy] = [system_policy(row) for row in SYSTEM_RULES]
        for fields in SEED_CUSTOM:
            policy = custom_policy(str(fields["Name"]), _seed_guid("custom", str(fields["Name"])), _CUSTOM_SEED_TIME)
            for key, value in fields.items():
                set_wire(policy, key, copy.deepcopy(value))
            self._policies.append(policy)

    # -- lookups ----------------------------------------------------------------------------------------------

    def lookup(self, identity: str) -> tuple[AlertPolicy, str] | None:
        """The policy an Identity names, and how it named it: ``name``, ``guid``, ``path`` or ``dn``.

        docs/wire/security-compliance.md §3.2: Identity = Name, DN or GUID; docs/wire/security-compliance.md §3.4:
        Identity is a path string. Names compare case-insensitively but otherwise exactly: a name without its trailing
        U+200B does not match (docs/wire/security-compliance.md
        §5.4).
        """
        wanted = identity.lower()
        for policy in self._policies:
            if str(policy.name).lower() == wanted:
                return policy, "name"
        for policy in self._policies:
            if wanted in (str(policy.guid).lower(), str(policy.immutable_id).lower(),
                          str(policy.exchange_object_id).lower()):
                return policy, "guid"
            if str(policy.identity).lower() == wanted:
                return policy, "path"
            if str(policy.distinguished_name).lower() == wanted:
                return policy, "dn"
        return None

    def find(self, identity: str) -> tuple[AlertPolicy, str]:
        found = self.lookup(identity)
        if found is None:
            # docs/wire/invoke-command.md §6: a missing object answers 404 ManagementObjectNotFoundException.
            # [inference] the Security & Compliance cmdlets answer it like the Exchange ones (the 404 capture is of an
            # Exchange cmdlet).
            raise ObjectNotFound(identity, DOMAIN_CONTROLLER)
        return found

    # -- the cmdlets' rules -----------------------------------------------------------------------------------

    def get_policies(self, identity: str | None) -> list[AlertPolicy]:
        """Get-ProtectionAlert [-Identity] (docs/wire/security-compliance.md §3.2): every policy, system and custom, or
        the one named."""
        selected = list(self._policies) if identity is None else [self.find(identity)[0]]
        visible = [p for p in selected if not self.lag.hides(p.guid)]
        if identity is not None and not visible:
            raise ObjectNotFound(identity, DOMAIN_CONTROLLER)  # replication lag: the new policy 404s for a while
        return visible

    def new_policy(self, name: str, settings: Mapping[str, Any], given: Iterable[str], *,
                   dry_run: bool) -> AlertPolicy:
        """New-ProtectionAlert (docs/wire/security-compliance.md §3.1): ``settings`` are the converted parameters by
        property name; ``given`` every
        parameter of the call. Checked against the docs/wire/security-compliance.md §3.1 rules, the other policies'
        names and the licence."""
        policy = custom_policy(name, str(uuid.uuid4()), self.clock())
        for key, value in settings.items():
            set_wire(policy, key, value)
        check_rules(policy, given)
        if any(str(p.name).lower() == name.lower() for p in self._policies):
            raise DuplicateAlertPolicyName(name)
        if not self.e5 and policy.aggregation_type != "None":
            # docs/wire/security-compliance.md §3.1 licensing note (includes the default SimpleAggregation)
            raise E5Required()
        if not dry_run:
            self._policies.append(policy)
            self.lag.start(policy.guid, self.replication_lag_reads)
        return policy

    def check_settable(self, policy: AlertPolicy, form: str, identity: str, given: Sequence[str]) -> None:
        """What Set-ProtectionAlert may do to a system (built-in) rule (docs/wire/security-compliance.md §3.3, §6.1)."""
        if not policy.is_system_rule:
            return
        if form != "name":
            raise RuleNotFound(identity, self.system_rule_error_status)  # security-compliance.md §6.1, by GUID or path
        refused = [k for k in given if k not in (*SYSTEM_SETTABLE, *_SYSTEM_ACCEPTED)]
        if refused:
            raise SystemRuleNotSettable(policy.name, refused, SYSTEM_SETTABLE)

    def set_policy(self, policy: AlertPolicy, settings: Mapping[str, Any], given: Iterable[str], *,
                   dry_run: bool) -> bool:
        """Set-ProtectionAlert (docs/wire/security-compliance.md §3.2, §3.3, §6) after ``check_settable``. Returns
        whether anything changed (on a dry
        run: whether the change is allowed, always True)."""
        updated = copy.deepcopy(policy)
        for key, value in settings.items():
            set_wire(updated, key, value)
        check_rules(updated, given)
        if not self.e5 and updated.aggregation_type != "None" and updated.aggregation_type != policy.aggregation_type:
            raise E5Required()  # [inference] the licence check applies to a change too
        if dry_run:
            return True
        if updated == policy:
            return False
        self._stamp(updated, override=policy.is_system_rule)
        self._policies[self._policies.index(policy)] = updated
        return True

    def delete_policy(self, policy: AlertPolicy, *, dry_run: bool) -> None:
        """Remove-ProtectionAlert -Identity [-ForceDeletion] (docs/wire/security-compliance.md §3.2): custom policies
        only."""
        if policy.is_system_rule:
            raise SystemRuleNotRemovable(policy.name)
        if not dry_run:
            self._policies.remove(policy)
            self.lag.forget(policy.guid)

    def _stamp(self, policy: AlertPolicy, *, override: bool) -> None:
        now = wire_datetime(self.clock())
        if override:
            # docs/wire/security-compliance.md §5.3: a tenant override of a system rule shows only in
            # AlertOverrideChangedUtc; its WhenChanged stays (the docs/wire/security-compliance.md §3.4 sample: override
            # 2024, WhenChanged 2022).
            policy.alert_override_changed_utc = now
        else:
            policy.when_changed = policy.when_changed_utc = now
            policy.object_version = str(uuid.uuid4())  # [inference] a new version on every change

    # -- helpers for tests (out-of-band views and edits) ------------------------------------------------------

    def policy(self, name_or_id: str) -> dict[str, Any] | None:
        """A copy of the stored policy with this exact Name (case-insensitive; ZWSP counts), GUID or Identity."""
        with self.lock:
            found = self.lookup(name_or_id)
            return to_wire(found[0]) if found is not None else None

    def policies(self) -> list[dict[str, Any]]:
        with self.lock:
            return [to_wire(p) for p in self._policies]

    def edit_policy(self, name_or_id: str, **fields: Any) -> dict[str, Any]:
        """Change a policy out of band (an admin in the portal), without validation; returns the new copy.

        A change to a system rule's overridable settings stamps AlertOverrideChangedUtc
        (docs/wire/security-compliance.md §5.3); any other change stamps WhenChanged. Renaming recomputes Identity and
        DN.
        """
        with self.lock:
            found = self.lookup(name_or_id)
            if found is None:
                raise KeyError(f"no alert policy {name_or_id!r}")
            policy = found[0]
            _check_fields(fields)
            for key, value in fields.items():
                set_wire(policy, key, copy.deepcopy(value))
            policy.derive_identity()
            self._stamp(policy, override=policy.is_system_rule and set(fields) <= set(SYSTEM_SETTABLE))
            return to_wire(policy)

    def remove_policy(self, name_or_id: str) -> bool:
        """Delete a policy out of band (also a system rule, which the API itself refuses)."""
        with self.lock:
            found = self.lookup(name_or_id)
            if found is None:
                return False
            self._policies.remove(found[0])
            self.lag.forget(found[0].guid)
            return True

    def add_custom(self, **fields: Any) -> dict[str, Any]:
        """Create a custom policy directly (no validation, no replication lag), e.g. many for a benchmark.

        ``Name`` is required; unset fields take New-ProtectionAlert's defaults. Returns the stored copy.
        """
        name = fields.get("Name")
        if not isinstance(name, str) or not name:
            raise ValueError("Name is required")
        with self.lock:
            if self.lookup(name) is not None:
                raise ValueError(f"an alert policy named {name!r} already exists")
            policy = custom_policy(name, str(uuid.uuid4()), self.clock())
            _check_fields(fields)
            for key, value in fields.items():
                set_wire(policy, key, copy.deepcopy(value))
            policy.notify_user = policy.notify_user or ["TenantAdmins"]
            policy.derive_identity()
            self._policies.append(policy)
            return to_wire(policy)

    # -- persistence ------------------------------------------------------------------------------------------

    def to_state(self) -> dict[str, Any]:
        with self.lock:
            return {
                "e5": self.e5,
                "region": self.region,
                "discovery_fails": self.discovery_fails,
                "policies": [to_wire(p) for p in self._policies],
                "lagging": self.lag.to_state(),
            }

    def load_state(self, state: dict[str, Any]) -> None:
        with self.lock:
            self.e5 = bool(state.get("e5", True))
            self.region = str(state.get("region", self.region))
            self.discovery_fails = bool(state.get("discovery_fails", False))
            self._policies = [from_wire(AlertPolicy, p) for p in state.get("policies", [])]
            self.lag.load_state(state.get("lagging", {}))


def _check_fields(fields: Mapping[str, Any]) -> None:
    for key in fields:
        if key not in KEY_ORDER:
            raise KeyError(f"alert policies have no field {key!r}")


def check_rules(policy: AlertPolicy, given: Iterable[str]) -> None:
    """The docs/wire/security-compliance.md §3.1 rules on the policy as it would be stored; ``given`` are the parameters
    of this call.

    A setting that the new AggregationType forbids is refused when given in this call and cleared when only
    stored: [inference] how the service treats a stored Threshold when the aggregation changes is not known.
    """
    given = set(given)
    aggregation = policy.aggregation_type
    simple = aggregation == "SimpleAggregation"
    for key, minimum, unit in (("Threshold", MIN_THRESHOLD, ""), ("TimeWindow", MIN_TIME_WINDOW, " minutes")):
        value = policy.threshold if key == "Threshold" else policy.time_window
        if value is None:
            continue
        if not simple:
            if key in given:
                raise OnlyWithSimpleAggregation(key, aggregation)
            set_wire(policy, key, None)
        elif value < minimum:
            raise BelowMinimum(key, minimum, unit, value)
    if aggregation == "None":
        if policy.notify_user_on_filter_match:
            if "NotifyUserOnFilterMatch" in given:
                raise NotWithoutAggregation("NotifyUserOnFilterMatch")
            policy.notify_user_on_filter_match = False
        if policy.alert_by:
            if "AlertBy" in given:
                raise NotWithoutAggregation("AlertBy")
            policy.alert_by = None
    if policy.operation and policy.threat_type != "Activity":
        raise OperationNeedsActivity(policy.threat_type)
    allowed = _ALERT_BY.get(str(policy.threat_type))
    if policy.alert_by and allowed is not None and "AlertBy" in given:
        wrong = [v for v in policy.alert_by if v not in allowed]
        if wrong:
            raise InvalidAlertBy(wrong, str(policy.threat_type), allowed)
