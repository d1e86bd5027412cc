"""The Exchange Online backend: preset security policy rules, their component policies, and the service's rules.

Written from ``docs/wire/exchange-online.md`` and ``docs/wire/invoke-command.md`` only (never from our client), so a
misunderstanding in the client cannot be mirrored here. Section references point into those files. Everything the notes
mark as INFERENCE
is tagged ``[inference]`` below, and so is everything the notes say nothing about and the fake had to choose.

State is typed records (``ProtectionPolicyRule``, ``ComponentPolicy``) that mirror the real objects of
docs/wire/exchange-online.md §5 property for property; the rules of the cmdlets are ``ExchangeBackend`` methods that
raise the service's typed errors. The
wire (request parsing, OData envelope, annotations) is ``responses.py``.
"""

from __future__ import annotations

import copy
import re
import threading
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from ..invoke_command.exceptions import ObjectNotFound
from ..invoke_command.lag import ReplicationLag
from ..invoke_command.wire import wire_datetime
from ..records import from_wire, has_wire, set_wire, to_wire, wire
from .exceptions import DuplicateRuleName, InvalidPriority, PresetPriorityFixed

# ---------------------------------------------------------------------------------------------------------------
# Constants of the modelled tenant
# ---------------------------------------------------------------------------------------------------------------

TENANT_DOMAIN = "contoso.onmicrosoft.com"
# The forest names follow the real sample of docs/wire/exchange-online.md §5 (NAMPR09A006); the DC host name follows the
# shape of the real 404 text in docs/wire/invoke-command.md §6 ('YQBPR01A12DC007.CANPR01A012.PROD.OUTLOOK.COM').
_FOREST = "NAMPR09A006.PROD.OUTLOOK.COM"
DOMAIN_CONTROLLER = "NAMPR09A006DC004.NAMPR09A006.PROD.OUTLOOK.COM"
_ORGANIZATION_ID = (
    f"{_FOREST}/Microsoft Exchange Hosted Organizations/{TENANT_DOMAIN} - "
    f"{_FOREST}/ConfigurationUnits/{TENANT_DOMAIN}/Configuration"
)

STANDARD_RULE_NAME = "Standard Preset Security Policy"
STRICT_RULE_NAME = "Strict Preset Security Policy"
RULE_NAMES = {"standard": STANDARD_RULE_NAME, "strict": STRICT_RULE_NAME}
# docs/wire/exchange-online.md §2: "The default value for the rule that's associated with the Strict preset security
# policy is 0, and ... Standard ... is 1. ... You must use the default value".
PRESET_PRIORITY = {"strict": 0, "standard": 1}

KINDS = ("eop", "atp")
# Linked policy parameters per rule family, in the key order of the real Get output (docs/wire/exchange-online.md §5).
# New-* takes exactly these as required parameters (docs/wire/exchange-online.md §3); Set-* can't change them
# (docs/wire/exchange-online.md §3 "no policy parameters on Set").
RULE_POLICY_PARAMS: dict[str, tuple[str, ...]] = {
    "eop": ("HostedContentFilterPolicy", "AntiPhishPolicy", "MalwareFilterPolicy"),
    "atp": ("SafeAttachmentPolicy", "SafeLinksPolicy"),
}
POLICY_TYPES = (
    "AntiPhishPolicy", "HostedContentFilterPolicy", "MalwareFilterPolicy", "SafeAttachmentPolicy", "SafeLinksPolicy",
)
# Component policy types that exist only with Defender for Office 365 (the ATP family).
ATP_POLICY_TYPES = ("SafeAttachmentPolicy", "SafeLinksPolicy")

# Recipient scoping of a rule (docs/wire/exchange-online.md §3 Set-*ProtectionPolicyRule syntax). Empty = JSON null on
# the wire (docs/wire/exchange-online.md §5).
SCOPE_FIELDS = (
    "SentTo", "SentToMemberOf", "RecipientDomainIs", "ExceptIfSentTo", "ExceptIfSentToMemberOf",
    "ExceptIfRecipientDomainIs",
)

# RuleVersion exactly as seen in the two real objects of docs/wire/exchange-online.md §5: the EOP rule shows 15.0.5.2,
# the ATP rule 14.0.0.0. [inference] that the version depends only on the family (the EOP sample had a condition, the
# ATP one none).
_RULE_VERSION: dict[str, dict[str, int]] = {
    "eop": {"Major": 15, "Minor": 0, "Build": 5, "Revision": 2, "MajorRevision": 0, "MinorRevision": 2},
    "atp": {"Major": 14, "Minor": 0, "Build": 0, "Revision": 0, "MajorRevision": 0, "MinorRevision": 0},
}
_DN_CONTAINER = {"eop": "EOPProtectionPolicyRuleVersioned", "atp": "ATPProtectionPolicyRuleVersioned"}

# Predicate class names: RecipientDomainIsPredicate is real (docs/wire/exchange-online.md §5); the other two follow its
# pattern [inference].
_PREDICATE_PREFIX = "Microsoft.Exchange.MessagingPolicies.Rules.Tasks."
_SENT_TO = _PREDICATE_PREFIX + "SentToPredicate"
_MEMBER_OF = _PREDICATE_PREFIX + "SentToMemberOfPredicate"
_DOMAIN_IS = _PREDICATE_PREFIX + "RecipientDomainIsPredicate"

_GUID_NAMESPACE = uuid.UUID("5d7d9b52-2f6e-4b1a-9c1e-6f2f4e0a1c11")  # stable seed GUIDs across runs
_SEED_TIME = datetime(2021, 6, 2, 16, 6, 45, 393000, tzinfo=timezone.utc)

SCENARIOS: tuple[str, ...] = ("presets_on", "presets_never_on", "rule_removed", "no_defender_for_office365")

# 13-digit suffixes of the component policies, per preset and type. The Standard EOP ones are the values of the
# New-EOPProtectionPolicyRule doc example (docs/wire/exchange-online.md §3); the others are made up in the same style.
_SUFFIXES: dict[str, dict[str, str]] = {
    "standard": {"AntiPhishPolicy": "1622650005393", "HostedContentFilterPolicy": "1622650006407",
                 "MalwareFilterPolicy": "1622650007658", "SafeAttachmentPolicy": "1622650008519",
                 "SafeLinksPolicy": "1622650009244"},
    "strict": {"AntiPhishPolicy": "1622650011072", "HostedContentFilterPolicy": "1622650012215",
               "MalwareFilterPolicy": "1622650013348", "SafeAttachmentPolicy": "1622650014460",
               "SafeLinksPolicy": "1622650015581"},
}
# [inference] names of the tenant's always-present policies: the notes do not list them. These are the names a
# Microsoft 365 tenant shows for the default EOP policies and for the built-in protection of Defender for
# Office 365 (whose rule, "ATP Built-In Protection Rule", docs/wire/exchange-online.md §2, is a separate cmdlet family
# not modelled here).
_DEFAULT_POLICY_NAMES: dict[str, str] = {
    "AntiPhishPolicy": "Office365 AntiPhish Default",
    "HostedContentFilterPolicy": "Default",
    "MalwareFilterPolicy": "Default",
    "SafeAttachmentPolicy": "Built-In Protection Policy",
    "SafeLinksPolicy": "Built-In Protection Policy",
}


def _utc_now() -> datetime:
    return datetime.now(timezone.utc)


def _seed_guid(*parts: str) -> str:
    return str(uuid.uuid5(_GUID_NAMESPACE, "/".join(parts)))


def _preset_of_policy_name(name: str) -> str | None:
    """The preset a component policy belongs to, from its documented name pattern (docs/wire/exchange-online.md §2)."""
    match = re.fullmatch(r"(Standard|Strict) Preset Security Policy\d{13}", name)
    return match.group(1).lower() if match else None


# ---------------------------------------------------------------------------------------------------------------
# Records
# ---------------------------------------------------------------------------------------------------------------

@dataclass(kw_only=True)
class ComponentPolicy:
    """A component threat policy (AntiPhish, HostedContentFilter, MalwareFilter, SafeAttachment, SafeLinks).

    [inference] the property set beyond Name and RecommendedPolicyType: a real policy has dozens more settings,
    which nothing here reads.
    """

    policy_type: str  # one of POLICY_TYPES (which Get-* cmdlet lists it); not a property
    name: str = field(metadata=wire("Name"))
    # Standard / Strict for the preset ones (docs/wire/exchange-online.md §2)
    recommended_policy_type: str = field(metadata=wire("RecommendedPolicyType"))
    is_default: bool = field(metadata=wire("IsDefault"))
    # ATP types only
    is_built_in_protection: bool | None = field(default=None, metadata=wire("IsBuiltInProtection", optional=True))
    identity: str = field(metadata=wire("Identity"))
    id: str = field(metadata=wire("Id"))
    distinguished_name: str = field(metadata=wire("DistinguishedName"))
    guid: str = field(metadata=wire("Guid"))
    immutable_id: str = field(metadata=wire("ImmutableId"))
    organization_id: str = field(metadata=wire("OrganizationId"))
    is_valid: bool = field(metadata=wire("IsValid"))
    when_changed: str = field(metadata=wire("WhenChanged"))
    when_created: str = field(metadata=wire("WhenCreated"))
    object_state: str = field(metadata=wire("ObjectState"))

    def answers_to(self, identity: str) -> bool:
        """Identity matches Name case-insensitively, or the Guid/ImmutableId, or the DN."""
        wanted = identity.strip().lower()
        return any((value or "").lower() == wanted
                   for value in (self.name, self.identity, self.guid, self.immutable_id, self.distinguished_name))


@dataclass(kw_only=True)
class ProtectionPolicyRule:
    """An EOP or ATP protection policy rule (a preset's rule, or one New- linked to other policies), in the
    properties and key order of the real Get output (docs/wire/exchange-online.md §5). Identity, DistinguishedName,
    Conditions, Exceptions and
    Description are derived by the service (``derive``)."""

    kind: str  # "eop" or "atp": the cmdlet family; not a property
    policies: dict[str, str]  # the linked policy of each RULE_POLICY_PARAMS[kind] parameter: the first properties
    # Enabled / Disabled; only Enable-/Disable- change it (docs/wire/exchange-online.md §2)
    state: str = field(metadata=wire("State"))
    priority: int = field(metadata=wire("Priority"))
    comments: str | None = field(metadata=wire("Comments"))
    description: str = field(metadata=wire("Description"))
    rule_version: dict[str, int] = field(metadata=wire("RuleVersion"))
    # empty scoping is null, never [] (docs/wire/exchange-online.md §5)
    sent_to: list[str] | None = field(metadata=wire("SentTo"))
    sent_to_member_of: list[str] | None = field(metadata=wire("SentToMemberOf"))
    recipient_domain_is: list[str] | None = field(metadata=wire("RecipientDomainIs"))
    except_if_sent_to: list[str] | None = field(metadata=wire("ExceptIfSentTo"))
    except_if_sent_to_member_of: list[str] | None = field(metadata=wire("ExceptIfSentToMemberOf"))
    except_if_recipient_domain_is: list[str] | None = field(metadata=wire("ExceptIfRecipientDomainIs"))
    conditions: list[str] | None = field(metadata=wire("Conditions"))
    exceptions: list[str] | None = field(metadata=wire("Exceptions"))
    identity: str = field(metadata=wire("Identity"))
    distinguished_name: str = field(metadata=wire("DistinguishedName"))
    guid: str = field(metadata=wire("Guid"))
    immutable_id: str = field(metadata=wire("ImmutableId"))
    organization_id: str = field(metadata=wire("OrganizationId"))
    name: str = field(metadata=wire("Name"))
    is_valid: bool = field(metadata=wire("IsValid"))
    when_changed: str = field(metadata=wire("WhenChanged"))
    object_state: str = field(metadata=wire("ObjectState"))

    def to_wire(self) -> dict[str, Any]:
        return {**self.policies, **to_wire(self)}

    @classmethod
    def from_wire(cls, kind: str, data: Mapping[str, Any]) -> ProtectionPolicyRule:
        linked = RULE_POLICY_PARAMS[kind]
        return from_wire(cls, {k: v for k, v in data.items() if k not in linked}, kind=kind,
                         policies={p: data[p] for p in linked})

    def has_property(self, key: str) -> bool:
        return key in self.policies or has_wire(self, key)

    def set_property(self, key: str, value: Any) -> None:
        if key in self.policies:
            self.policies[key] = value
        else:
            set_wire(self, key, value)

    def answers_to(self, identity: str) -> bool:
        """Identity matches Name case-insensitively, or the Guid/ImmutableId, or the DN (RuleIdParameter)."""
        wanted = identity.strip().lower()
        return any((value or "").lower() == wanted
                   for value in (self.name, self.identity, self.guid, self.immutable_id, self.distinguished_name))

    def derive(self) -> None:
        """Recompute the properties the service derives: Identity, DN, Conditions, Exceptions, Description."""
        self.identity = self.name  # docs/wire/exchange-online.md §5: Identity is the plain rule name for these rules
        self.distinguished_name = (
            f"CN={self.name},CN={_DN_CONTAINER[self.kind]},CN=Rules,CN=Transport Settings,CN=Configuration,"
            f"CN={TENANT_DOMAIN},CN=ConfigurationUnits,DC=NAMPR09A006,DC=PROD,DC=OUTLOOK,DC=COM"
        )
        conditions = [predicate for predicate, values in ((_SENT_TO, self.sent_to),
                                                          (_MEMBER_OF, self.sent_to_member_of),
                                                          (_DOMAIN_IS, self.recipient_domain_is)) if values]
        # [inference] exceptions use the same predicate classes as conditions (transport-rule convention).
        exceptions = [predicate for predicate, values in ((_SENT_TO, self.except_if_sent_to),
                                                          (_MEMBER_OF, self.except_if_sent_to_member_of),
                                                          (_DOMAIN_IS, self.except_if_recipient_domain_is)) if values]
        self.conditions = conditions or None  # docs/wire/exchange-online.md §5: null for an unscoped rule
        self.exceptions = exceptions or None
        self.description = self._describe()

    def _describe(self) -> str:
        """The Description text, in the layout of the real ones in docs/wire/exchange-online.md §5.

        Real: the ``If the message:`` block (only when scoped), the domain condition sentence, and the
        ``Take the following actions:`` block with the policies in key order. [inference] the sentences for
        SentTo/SentToMemberOf, how several values and several conditions are joined, and the
        ``Except if the message:`` block (transport-rule wording).
        """
        def quoted(values: list[str]) -> str:
            return " or ".join(f"'{v}'" for v in values)

        def phrases(sent_to: list[str] | None, member_of: list[str] | None, domains: list[str] | None) -> list[str]:
            out = []
            if sent_to:
                out.append(f"Is sent to {quoted(sent_to)}")
            if member_of:
                out.append(f"Is sent to a member of group {quoted(member_of)}")
            if domains:
                out.append(f"recipients's address domain portion belongs to any of these domains: {quoted(domains)}")
            return out

        text = ""
        conditions = phrases(self.sent_to, self.sent_to_member_of, self.recipient_domain_is)
        if conditions:
            text += "If the message:\r\n\t" + "\r\n\tand ".join(conditions) + "\r\n"
        labels = {"HostedContentFilterPolicy": "hosted content filter policy", "AntiPhishPolicy": "AntiPhish policy",
                  "MalwareFilterPolicy": "malware filter policy", "SafeAttachmentPolicy": "safe attachment policy",
                  "SafeLinksPolicy": "safe links policy"}
        actions = ", ".join(f"Apply {labels[p]} \"{self.policies[p]}\"." for p in RULE_POLICY_PARAMS[self.kind])
        text += "Take the following actions:\r\n\t" + actions + "\r\n"
        exceptions = phrases(self.except_if_sent_to, self.except_if_sent_to_member_of,
                             self.except_if_recipient_domain_is)
        if exceptions:
            text += "Except if the message:\r\n\t" + "\r\n\tor ".join(exceptions) + "\r\n"
        return text


def _new_policy(policy_type: str, name: str, *, recommended: str, is_default: bool) -> ComponentPolicy:
    """A component policy with the properties the preset cmdlets depend on (docs/wire/exchange-online.md §2, §3)."""
    guid = _seed_guid("policy", policy_type, name)
    return ComponentPolicy(
        policy_type=policy_type,
        name=name,
        recommended_policy_type=recommended,
        is_default=is_default,
        is_built_in_protection=(name == _DEFAULT_POLICY_NAMES[policy_type]
                                if policy_type in ATP_POLICY_TYPES else None),
        identity=name,
        id=name,
        distinguished_name=(f"CN={name},CN={policy_type.replace('Policy', '')},CN=Transport Settings,"
                            f"CN=Configuration,CN={TENANT_DOMAIN},CN=ConfigurationUnits,"
                            "DC=NAMPR09A006,DC=PROD,DC=OUTLOOK,DC=COM"),
        guid=guid,
        immutable_id=guid,
        organization_id=_ORGANIZATION_ID,
        is_valid=True,
        when_changed=wire_datetime(_SEED_TIME),
        when_created=wire_datetime(_SEED_TIME),
        object_state="Unchanged",
    )


def _new_rule(kind: str, name: str, policies: dict[str, str], *, state: str, priority: int, guid: str,
              when: datetime) -> ProtectionPolicyRule:
    """A rule in the exact key order and shape of the real Get output (docs/wire/exchange-online.md §5), unscoped."""
    rule = ProtectionPolicyRule(
        kind=kind,
        policies={p: policies[p] for p in RULE_POLICY_PARAMS[kind]},
        state=state,
        priority=priority,
        comments=None,
        description="",
        rule_version=dict(_RULE_VERSION[kind]),
        sent_to=None, sent_to_member_of=None, recipient_domain_is=None,
        except_if_sent_to=None, except_if_sent_to_member_of=None, except_if_recipient_domain_is=None,
        conditions=None,
        exceptions=None,
        identity=name,
        distinguished_name="",
        guid=guid,
        immutable_id=guid,
        organization_id=_ORGANIZATION_ID,
        name=name,
        is_valid=True,
        when_changed=wire_datetime(when),
        object_state="Unchanged",
    )
    rule.derive()
    return rule


# ---------------------------------------------------------------------------------------------------------------
# The backend
# ---------------------------------------------------------------------------------------------------------------

class ExchangeBackend:
    """Exchange Online for one fake tenant: the EOP and ATP protection policy rules and the component threat
    policies (AntiPhish, HostedContentFilter, MalwareFilter, SafeAttachment, SafeLinks), and the rules of their
    cmdlets.

    ``scenario`` (one of ``SCENARIOS``) picks the seed. ``replication_lag_reads`` models docs/wire/invoke-command.md §6
    "right after New-* a read can 404": after a New-*, that many Get calls that would include the new rule act as if it
    did not exist
    yet. ``clock`` stamps WhenChanged. ``read_only`` (default False): the caller holds a read-only role such as Global
    Reader, so only the Get- cmdlets are in its session (docs/wire/exchange-online.md §7). All four are plain attributes
    and may be changed later. Every method runs under ``lock`` (the responder holds it for a whole request).
    """

    SCENARIOS = SCENARIOS

    def __init__(self, scenario: str = "presets_on", *, replication_lag_reads: int = 0,
                 clock: Callable[[], datetime] | None = None) -> None:
        if scenario not in SCENARIOS:
            raise ValueError(f"unknown scenario {scenario!r}; expected one of {', '.join(SCENARIOS)}")
        self.lock = threading.RLock()
        self.clock: Callable[[], datetime] = clock or _utc_now
        self.replication_lag_reads = replication_lag_reads
        self.lag = ReplicationLag()
        self.scenario = scenario
        self.defender_for_office365 = True
        self.read_only = False
        self._rules: dict[str, list[ProtectionPolicyRule]] = {kind: [] for kind in KINDS}
        self._policies: dict[str, list[ComponentPolicy]] = {t: [] for t in POLICY_TYPES}
        self._seed(scenario)

    # -- seeding --------------------------------------------------------------------------------------------

    def _seed(self, scenario: str) -> None:
        self.defender_for_office365 = scenario != "no_defender_for_office365"
        types = [t for t in POLICY_TYPES if self.defender_for_office365 or t not in ATP_POLICY_TYPES]
        for policy_type in types:
            self._policies[policy_type].append(_new_policy(
                policy_type, _DEFAULT_POLICY_NAMES[policy_type],
                # [inference] the Default/built-in policies' RecommendedPolicyType: the notes only document
                # Standard/Strict for the preset ones (docs/wire/exchange-online.md §2).
                recommended="Custom", is_default=policy_type not in ATP_POLICY_TYPES))
        if scenario == "presets_never_on":
            # docs/wire/exchange-online.md §2: "If you never turned on the preset security policy, the associated rules
            # don't exist."
            return
        for preset in ("standard", "strict"):
            for policy_type in types:
                name = f"{RULE_NAMES[preset]}{_SUFFIXES[preset][policy_type]}"
                self._policies[policy_type].append(_new_policy(
                    policy_type, name, recommended=preset.capitalize(), is_default=False))
        for kind in KINDS:
            if kind == "atp" and not self.defender_for_office365:
                continue
            for preset in ("standard", "strict"):
                if scenario == "rule_removed" and preset == "strict":
                    # the rule was removed; its component policies stay (docs/wire/exchange-online.md §3 "unless the
                    # rule was removed")
                    continue
                policies = {p: f"{RULE_NAMES[preset]}{_SUFFIXES[preset][p]}" for p in RULE_POLICY_PARAMS[kind]}
                self._rules[kind].append(_new_rule(
                    kind, RULE_NAMES[preset], policies,
                    # Standard turned on (everyone), Strict turned on once and off again: turning a preset off
                    # keeps its rules (docs/wire/exchange-online.md §2), with State Disabled.
                    state="Enabled" if preset == "standard" else "Disabled",
                    priority=PRESET_PRIORITY[preset], guid=_seed_guid("rule", kind, preset), when=_SEED_TIME))

    # -- lookups ----------------------------------------------------------------------------------------------

    def find_rule(self, kind: str, identity: str) -> ProtectionPolicyRule:
        """The rule an Identity names (Name, Guid, ImmutableId or DN); ObjectNotFound (docs/wire/invoke-command.md §6)
        when none does."""
        for rule in self._rules[kind]:
            if rule.answers_to(identity):
                return rule
        raise ObjectNotFound(identity, DOMAIN_CONTROLLER)

    def find_policy(self, policy_type: str, identity: str) -> ComponentPolicy:
        """The component policy an Identity names; ObjectNotFound (docs/wire/invoke-command.md §6) when none does."""
        for policy in self._policies[policy_type]:
            if policy.answers_to(identity):
                return policy
        raise ObjectNotFound(identity, DOMAIN_CONTROLLER)

    def preset_of(self, kind: str, policies: Mapping[str, str]) -> str | None:
        """Which preset a rule serves: the RecommendedPolicyType of its first linked policy
        (docs/wire/exchange-online.md §2/§3)."""
        policy_type = RULE_POLICY_PARAMS[kind][0]
        name = policies.get(policy_type) or ""
        for policy in self._policies[policy_type]:
            if policy.name.lower() == name.lower():
                recommended = str(policy.recommended_policy_type).lower()
                return recommended if recommended in PRESET_PRIORITY else None
        return _preset_of_policy_name(name)

    # -- the cmdlets' rules -----------------------------------------------------------------------------------

    def get_rules(self, kind: str, identity: str | None, state: str | None) -> list[ProtectionPolicyRule]:
        """Get-*ProtectionPolicyRule [-Identity] [-State]: the rules in priority order.

        ``identity`` None: every rule (doc caution, docs/wire/exchange-online.md §3: "$null or a non-existent value for
        the Identity parameter returns *all* objects"; a JSON null/empty Identity is treated as "no Identity").
        [inference]
        (docs/wire/exchange-online.md §5): a non-existent Identity over REST answers 404 ManagementObjectNotFound, the
        general pattern of
        docs/wire/invoke-command.md §6, rather than the doc's "returns all objects". The fake follows the 404.
        """
        if identity is None:
            selected = list(self._rules[kind])
        else:
            selected = [r for r in self._rules[kind] if r.answers_to(identity)]
            if not selected:
                raise ObjectNotFound(identity, DOMAIN_CONTROLLER)
        if state is not None:
            selected = [r for r in selected if r.state.lower() == state.lower()]
        visible = [r for r in selected if not self.lag.hides(r.guid)]
        if identity is not None and not visible and selected:
            raise ObjectNotFound(identity, DOMAIN_CONTROLLER)  # replication lag: the new rule 404s for a while
        visible.sort(key=lambda r: int(r.priority))
        return visible

    def get_policies(self, policy_type: str, identity: str | None) -> list[ComponentPolicy]:
        """Get-<policy type> [-Identity]: the same [inference] 404 as for the rules."""
        selected = list(self._policies[policy_type])
        if identity is not None:
            selected = [p for p in selected if p.answers_to(identity)]
            if not selected:
                raise ObjectNotFound(identity, DOMAIN_CONTROLLER)
        return selected

    def check_rule_name_free(self, kind: str, name: str) -> None:
        """Rule names are unique per family (docs/wire/exchange-online.md §3 "If the rule already exists, the command
        will fail").

        [inference] compared case-insensitively, against every rule of the family: renaming a rule to its own
        name is refused too.
        """
        if any(r.name.lower() == name.lower() for r in self._rules[kind]):
            raise DuplicateRuleName(name)

    def check_priority(self, kind: str, policies: Mapping[str, str], priority: int) -> None:
        """docs/wire/exchange-online.md §2: a preset's rule keeps its default priority (Strict 0, Standard 1); no rule
        has a negative one."""
        preset = self.preset_of(kind, policies)
        if preset is not None and priority != PRESET_PRIORITY[preset]:
            raise PresetPriorityFixed(preset, PRESET_PRIORITY[preset], priority)
        if priority < 0:
            raise InvalidPriority(priority)

    def set_rule(self, rule: ProtectionPolicyRule, changes: Mapping[str, Any]) -> bool:
        """Set-*ProtectionPolicyRule: scoping, Comments, Name, Priority (by property name, already converted).

        Returns whether anything changed; a change stamps WhenChanged.
        """
        updated = copy.deepcopy(rule)
        self._apply(updated, changes)
        updated.derive()
        if updated == rule:
            return False
        updated.when_changed = wire_datetime(self.clock())
        self._replace(rule, updated)
        return True

    def enable_rule(self, rule: ProtectionPolicyRule, enable: bool) -> None:
        """Enable-/Disable-*ProtectionPolicyRule: the only way to change State (docs/wire/exchange-online.md §2, §3)."""
        state = "Enabled" if enable else "Disabled"
        if rule.state != state:
            # [inference] enabling an enabled rule is silent (no warning; the notes say nothing).
            rule.state = state
            rule.when_changed = wire_datetime(self.clock())

    def new_rule(self, kind: str, name: str, policies: dict[str, str], *, enabled: bool,
                 changes: Mapping[str, Any]) -> ProtectionPolicyRule:
        """New-*ProtectionPolicyRule (docs/wire/exchange-online.md §3): links the family's policies; fails if the rule
        exists.

        Returns the rule as New- returns it (ObjectState New); later reads show it Unchanged.
        """
        self.check_rule_name_free(kind, name)
        rule = _new_rule(kind, name, policies, state="Enabled" if enabled else "Disabled", priority=0,
                         guid=str(uuid.uuid4()), when=self.clock())
        preset = self.preset_of(kind, policies)
        if preset is not None:
            rule.priority = PRESET_PRIORITY[preset]
        else:
            # [inference] a rule linked to non-preset policies goes after the existing rules.
            rule.priority = max((int(r.priority) for r in self._rules[kind]), default=-1) + 1
        self._apply(rule, changes)
        rule.derive()
        self._rules[kind].append(rule)
        self.lag.start(rule.guid, self.replication_lag_reads)
        created = copy.deepcopy(rule)
        # [inference] freshly created objects report New (cf. docs/wire/security-compliance.md §3.4's sample)
        created.object_state = "New"
        return created

    def delete_rule(self, rule: ProtectionPolicyRule) -> None:
        """Remove-*ProtectionPolicyRule: deletes the rule; its component policies stay."""
        self._rules[rule.kind].remove(rule)
        self.lag.forget(rule.guid)

    def _apply(self, rule: ProtectionPolicyRule, changes: Mapping[str, Any]) -> None:
        """The parameters Set-* and New-* share (docs/wire/exchange-online.md §3), checked against the rules of the
        family."""
        for key, value in changes.items():
            if key == "Name":
                self.check_rule_name_free(rule.kind, value)
            elif key == "Priority":
                self.check_priority(rule.kind, rule.policies, value)
            rule.set_property(key, value)

    def _replace(self, rule: ProtectionPolicyRule, updated: ProtectionPolicyRule) -> None:
        rules = self._rules[rule.kind]
        rules[rules.index(rule)] = updated

    # -- helpers for tests (out-of-band views and edits) ------------------------------------------------------

    def rule(self, kind: str, preset: str) -> dict[str, Any] | None:
        """A copy of the stored rule of ``kind`` ("eop"/"atp") for ``preset`` ("standard"/"strict"), or None."""
        with self.lock:
            found = self._find_preset_rule(kind, preset)
            return found.to_wire() if found is not None else None

    def rules(self, kind: str) -> list[dict[str, Any]]:
        with self.lock:
            return [r.to_wire() for r in self._rules[kind]]

    def policies(self, policy_type: str) -> list[dict[str, Any]]:
        with self.lock:
            return [to_wire(p) for p in self._policies[policy_type]]

    def edit_rule(self, kind: str, preset: str, **fields: Any) -> dict[str, Any]:
        """Change a rule out of band (an admin in the portal). Derived fields are recomputed.

        Scoping fields accept a list or None ([] is stored as None, as the service shows it).
        """
        with self.lock:
            rule = self._find_preset_rule(kind, preset)
            if rule is None:
                raise KeyError(f"no {kind} rule for preset {preset!r}")
            for key, value in fields.items():
                if not rule.has_property(key):
                    raise KeyError(f"rules have no field {key!r}")
                rule.set_property(key, (list(value) or None) if key in SCOPE_FIELDS and value is not None else value)
            rule.derive()
            rule.when_changed = wire_datetime(self.clock())
            return rule.to_wire()

    def remove_rule(self, kind: str, preset: str) -> bool:
        """Delete a rule out of band (its component policies stay, as in scenario rule_removed)."""
        with self.lock:
            rule = self._find_preset_rule(kind, preset)
            if rule is None:
                return False
            self.delete_rule(rule)
            return True

    def _find_preset_rule(self, kind: str, preset: str) -> ProtectionPolicyRule | None:
        if kind not in KINDS or preset not in RULE_NAMES:
            raise ValueError(f"kind must be one of {KINDS}, preset one of {tuple(RULE_NAMES)}")
        for rule in self._rules[kind]:
            if self.preset_of(kind, rule.policies) == preset:
                return rule
        return None

    # -- persistence ------------------------------------------------------------------------------------------

    def to_state(self) -> dict[str, Any]:
        with self.lock:
            return {
                "scenario": self.scenario,
                "defender_for_office365": self.defender_for_office365,
                "rules": {kind: [r.to_wire() for r in rules] for kind, rules in self._rules.items()},
                "policies": {t: [to_wire(p) for p in policies] for t, policies in self._policies.items()},
                "lagging": self.lag.to_state(),
            }

    def load_state(self, state: dict[str, Any]) -> None:
        with self.lock:
            self.scenario = state.get("scenario", self.scenario)
            self.defender_for_office365 = bool(state.get("defender_for_office365", True))
            self._rules = {kind: [ProtectionPolicyRule.from_wire(kind, r) for r in state.get("rules", {}).get(kind, [])]
                           for kind in KINDS}
            self._policies = {t: [from_wire(ComponentPolicy, p, policy_type=t)
                                  for p in state.get("policies", {}).get(t, [])] for t in POLICY_TYPES}
            self.lag.load_state(state.get("lagging", {}))
