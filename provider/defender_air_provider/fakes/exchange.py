"""Stateful fake of the Exchange Online admin API ``InvokeCommand`` endpoint, for the preset policy rules.

Written from ``shared/research/o365-policies.md`` only (never from our client), so a misunderstanding in
the client cannot be mirrored here. Section references (§1.6 ...) point into that file. Everything the
notes mark as INFERENCE is tagged ``[inference]`` below, and so is everything the notes say nothing about
and the fake had to choose.

Split in the way Moto splits its fakes: the model here (rules and component policies of one tenant, plus the
rules of the cmdlets) and the responder in ``invoke_command.py``, shared with the Security & Compliance fake,
which speaks the wire format (request envelope, OData response envelope, error envelopes, paging).

Exchange-specific wire behaviour: an unknown cmdlet answers 403 with a body of NUL bytes declared
``Content-Encoding: gzip`` (§1.8).
"""

from __future__ import annotations

import copy
import re
import uuid
from collections.abc import Callable, Iterable
from datetime import datetime, timezone
from typing import Any

from .base import FakeRequest, FakeResponse
from .invoke_command import (
    VALIDATION_EXC,
    CmdletError,
    CmdletSpec,
    InvokeCommandFake,
    annotated,
    as_bool,
    as_identity,
    as_int,
    as_string_list,
    as_text,
    bad_request,
    missing_parameters,
    not_found,
    require,
    transformation_error,
    wire_datetime,
)

# ---------------------------------------------------------------------------------------------------------------
# Constants of the modelled tenant and of the wire
# ---------------------------------------------------------------------------------------------------------------

TENANT_DOMAIN = "contoso.onmicrosoft.com"
# The forest names follow the real sample of §4.4 (NAMPR09A006); the DC host name follows the shape of the real
# 404 text in §1.8 ('YQBPR01A12DC007.CANPR01A012.PROD.OUTLOOK.COM').
_FOREST = "NAMPR09A006.PROD.OUTLOOK.COM"
_DC = "NAMPR09A006DC004.NAMPR09A006.PROD.OUTLOOK.COM"
_ORGANIZATION_ID = (
    f"{_FOREST}/Microsoft Exchange Hosted Organizations/{TENANT_DOMAIN} - "
    f"{_FOREST}/ConfigurationUnits/{TENANT_DOMAIN}/Configuration"
)

STANDARD_RULE_NAME = "Standard Preset Security Policy"
STRICT_RULE_NAME = "Strict Preset Security Policy"
RULE_NAMES = {"standard": STANDARD_RULE_NAME, "strict": STRICT_RULE_NAME}
# §4.1: "The default value for the rule that's associated with the Strict preset security policy is 0, and ...
# Standard ... is 1. ... You must use the default value".
PRESET_PRIORITY = {"strict": 0, "standard": 1}

KINDS = ("eop", "atp")
# Linked policy parameters per rule family, in the key order of the real Get output (§4.4). New-* takes exactly
# these as required parameters (§4.2); Set-* can't change them (§4.2 "no policy parameters on Set").
RULE_POLICY_PARAMS: dict[str, tuple[str, ...]] = {
    "eop": ("HostedContentFilterPolicy", "AntiPhishPolicy", "MalwareFilterPolicy"),
    "atp": ("SafeAttachmentPolicy", "SafeLinksPolicy"),
}
POLICY_TYPES = (
    "AntiPhishPolicy", "HostedContentFilterPolicy", "MalwareFilterPolicy", "SafeAttachmentPolicy", "SafeLinksPolicy",
)
# Component policy types that exist only with Defender for Office 365 (the ATP family).
ATP_POLICY_TYPES = ("SafeAttachmentPolicy", "SafeLinksPolicy")

# Recipient scoping of a rule (§4.2 Set-*ProtectionPolicyRule syntax). Empty = JSON null on the wire (§4.4).
SCOPE_FIELDS = (
    "SentTo", "SentToMemberOf", "RecipientDomainIs", "ExceptIfSentTo", "ExceptIfSentToMemberOf",
    "ExceptIfRecipientDomainIs",
)

# RuleVersion exactly as seen in the two real objects of §4.4: the EOP rule shows 15.0.5.2, the ATP rule 14.0.0.0.
# [inference] that the version depends only on the family (the EOP sample had a condition, the ATP one none).
_RULE_VERSION: dict[str, dict[str, int]] = {
    "eop": {"Major": 15, "Minor": 0, "Build": 5, "Revision": 2, "MajorRevision": 0, "MinorRevision": 2},
    "atp": {"Major": 14, "Minor": 0, "Build": 0, "Revision": 0, "MajorRevision": 0, "MinorRevision": 0},
}
_DN_CONTAINER = {"eop": "EOPProtectionPolicyRuleVersioned", "atp": "ATPProtectionPolicyRuleVersioned"}

# Predicate class names: RecipientDomainIsPredicate is real (§4.4); the other two follow its pattern [inference].
_PREDICATE_PREFIX = "Microsoft.Exchange.MessagingPolicies.Rules.Tasks."
_PREDICATES = {"SentTo": "SentToPredicate", "SentToMemberOf": "SentToMemberOfPredicate",
               "RecipientDomainIs": "RecipientDomainIsPredicate"}

# [inference] the notes give no REST capture for a duplicate rule; name chosen from Exchange conventions.
_EXISTS_EXC = "Microsoft.Exchange.Management.Transport.RulesValidationException"

# §1.8: "unknown cmdlet on EXO → 403, body is NUL bytes declared gzip". [inference] the number of bytes.
_NUL_BODY = b"\x00" * 16

_GUID_NAMESPACE = uuid.UUID("5d7d9b52-2f6e-4b1a-9c1e-6f2f4e0a1c11")  # stable seed GUIDs across runs
_SEED_TIME = datetime(2021, 6, 2, 16, 6, 45, 393000, tzinfo=timezone.utc)

SCENARIOS: tuple[str, ...] = ("presets_on", "presets_never_on", "rule_removed", "no_defender_for_office365")

# 13-digit suffixes of the component policies, per preset and type. The Standard EOP ones are the values of the
# New-EOPProtectionPolicyRule doc example (§4.2); the others are made up in the same style.
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
# Office 365 (whose rule, "ATP Built-In Protection Rule", §4.1, is a separate cmdlet family not modelled here).
_DEFAULT_POLICY_NAMES: dict[str, str] = {
    "AntiPhishPolicy": "Office365 AntiPhish Default",
    "HostedContentFilterPolicy": "Default",
    "MalwareFilterPolicy": "Default",
    "SafeAttachmentPolicy": "Built-In Protection Policy",
    "SafeLinksPolicy": "Built-In Protection Policy",
}


def unknown_cmdlet() -> FakeResponse:
    """§1.8: an unknown cmdlet on EXO answers 403 with NUL bytes declared gzip (undecodable on purpose)."""
    return FakeResponse(403, {"content-encoding": "gzip"}, _NUL_BODY)


def _not_found(identity: str) -> FakeResponse:
    """404 ManagementObjectNotFoundException naming this forest's domain controller (§1.8)."""
    return not_found(identity, _DC)


def _as_identity(params: dict[str, Any], name: str = "Identity") -> str:
    return as_identity(params, name, "Microsoft.Exchange.Configuration.Tasks.RuleIdParameter")


def _as_list(name: str, value: Any) -> list[str] | None:
    """A scoping parameter: these are arrays, not MultiValuedProperty, so the hashtable form of §1.3 is refused."""
    target = "Microsoft.Exchange.Data.Word[]" if name.endswith("DomainIs") else \
        "Microsoft.Exchange.Configuration.Tasks.RecipientIdParameter[]"
    return as_string_list(name, value, target)


# ---------------------------------------------------------------------------------------------------------------
# Small helpers
# ---------------------------------------------------------------------------------------------------------------

def _seed_guid(*parts: str) -> str:
    return str(uuid.uuid5(_GUID_NAMESPACE, "/".join(parts)))


def _preset_of_policy_name(name: str) -> str | None:
    """The preset a component policy belongs to, from its documented name pattern (§4.1)."""
    match = re.fullmatch(r"(Standard|Strict) Preset Security Policy\d{13}", name)
    return match.group(1).lower() if match else None


# ---------------------------------------------------------------------------------------------------------------
# Cmdlet table
# ---------------------------------------------------------------------------------------------------------------

# Parameters every write cmdlet documents (§4.2 syntax lines list -Confirm and -WhatIf).
_WRITE_COMMON = ("Confirm", "WhatIf")
_SET_PARAMS = ("Identity", "Comments", "Priority", "Name", *SCOPE_FIELDS, *_WRITE_COMMON)
_NEW_COMMON = ("Name", "Enabled", "Priority", "Comments", *SCOPE_FIELDS, *_WRITE_COMMON)


class _Cmdlet(CmdletSpec):
    """One known cmdlet: its family (rule kind or policy type), its parameters and its implementation."""

    def __init__(self, name: str, verb: str, target: str, params: Iterable[str], needs_atp: bool) -> None:
        super().__init__(name, params)
        self.verb = verb  # get | set | new | enable | disable | remove | get-policy
        self.target = target  # "eop"/"atp" for rules, a POLICY_TYPES entry for Get-*Policy
        self.needs_atp = needs_atp  # unknown on a tenant without Defender for Office 365


def _cmdlet_table() -> dict[str, _Cmdlet]:
    table: dict[str, _Cmdlet] = {}

    def add(cmdlet: _Cmdlet) -> None:
        table[cmdlet.name.lower()] = cmdlet

    for kind, family in (("eop", "EOP"), ("atp", "ATP")):
        needs_atp = kind == "atp"
        add(_Cmdlet(f"Get-{family}ProtectionPolicyRule", "get", kind, ("Identity", "State"), needs_atp))
        add(_Cmdlet(f"Set-{family}ProtectionPolicyRule", "set", kind, _SET_PARAMS, needs_atp))
        add(_Cmdlet(f"Enable-{family}ProtectionPolicyRule", "enable", kind, ("Identity", *_WRITE_COMMON),
                    needs_atp))
        add(_Cmdlet(f"Disable-{family}ProtectionPolicyRule", "disable", kind, ("Identity", *_WRITE_COMMON),
                    needs_atp))
        add(_Cmdlet(f"New-{family}ProtectionPolicyRule", "new", kind,
                    (*_NEW_COMMON, *RULE_POLICY_PARAMS[kind]), needs_atp))
        add(_Cmdlet(f"Remove-{family}ProtectionPolicyRule", "remove", kind, ("Identity", *_WRITE_COMMON),
                    needs_atp))
    for policy_type in POLICY_TYPES:
        add(_Cmdlet(f"Get-{policy_type}", "get-policy", policy_type, ("Identity",),
                    policy_type in ATP_POLICY_TYPES))
    return table


_CMDLETS = _cmdlet_table()


# ---------------------------------------------------------------------------------------------------------------
# The fake
# ---------------------------------------------------------------------------------------------------------------

class ExchangeFake(InvokeCommandFake[_Cmdlet]):
    """Exchange Online admin API (``POST /adminapi/beta/{tenant}/InvokeCommand``) for one fake tenant.

    State: the EOP and ATP protection policy rules (stored in the plain shape of §4.4, without annotations)
    and the component threat policies (AntiPhish, HostedContentFilter, MalwareFilter, SafeAttachment,
    SafeLinks). ``replication_lag_reads`` models §1.8 "right after New-* a read can 404": after a New-*, that
    many Get calls that would include the new rule act as if it did not exist yet.

    Constructor: ``scenario`` (one of ``SCENARIOS``), ``max_page_size`` (server-side cap on a page, default
    ``MAX_PAGE_SIZE`` = 1000; lower it in tests), ``replication_lag_reads``, ``clock`` (for WhenChanged).
    ``max_page_size`` and ``replication_lag_reads`` are plain attributes and may be changed later.
    """

    name = "exchange"
    SCENARIOS = SCENARIOS

    def __init__(self, scenario: str = "presets_on", *, max_page_size: int | None = None,
                 replication_lag_reads: int = 0, clock: Callable[[], datetime] | None = None) -> None:
        if scenario not in SCENARIOS:
            raise ValueError(f"unknown scenario {scenario!r}; expected one of {', '.join(SCENARIOS)}")
        super().__init__(max_page_size=max_page_size)
        self.replication_lag_reads = replication_lag_reads
        self._clock = clock or (lambda: datetime.now(timezone.utc))
        self.scenario = scenario
        self.defender_for_office365 = True
        self._rules: dict[str, list[dict[str, Any]]] = {kind: [] for kind in KINDS}
        self._policies: dict[str, list[dict[str, Any]]] = {t: [] for t in POLICY_TYPES}
        self._seed(scenario)

    # -- seeding --------------------------------------------------------------------------------------------

    def _seed(self, scenario: str) -> None:
        self.defender_for_office365 = scenario != "no_defender_for_office365"
        types = [t for t in POLICY_TYPES if self.defender_for_office365 or t not in ATP_POLICY_TYPES]
        for policy_type in types:
            self._policies[policy_type].append(self._new_policy(
                policy_type, _DEFAULT_POLICY_NAMES[policy_type],
                # [inference] the Default/built-in policies' RecommendedPolicyType: the notes only document
                # Standard/Strict for the preset ones (§4.1).
                recommended="Custom", is_default=policy_type not in ATP_POLICY_TYPES))
        if scenario == "presets_never_on":
            return  # §4.1: "If you never turned on the preset security policy, the associated rules don't exist."
        for preset in ("standard", "strict"):
            for policy_type in types:
                name = f"{RULE_NAMES[preset]}{_SUFFIXES[preset][policy_type]}"
                self._policies[policy_type].append(self._new_policy(
                    policy_type, name, recommended=preset.capitalize(), is_default=False))
        for kind in KINDS:
            if kind == "atp" and not self.defender_for_office365:
                continue
            for preset in ("standard", "strict"):
                if scenario == "rule_removed" and preset == "strict":
                    continue  # the rule was removed; its component policies stay (§4.2 "unless the rule was removed")
                policies = {p: f"{RULE_NAMES[preset]}{_SUFFIXES[preset][p]}" for p in RULE_POLICY_PARAMS[kind]}
                rule = self._build_rule(
                    kind, RULE_NAMES[preset], policies,
                    # Standard turned on (everyone), Strict turned on once and off again: turning a preset off
                    # keeps its rules (§4.1), with State Disabled.
                    state="Enabled" if preset == "standard" else "Disabled",
                    priority=PRESET_PRIORITY[preset], guid=_seed_guid("rule", kind, preset), when=_SEED_TIME)
                self._rules[kind].append(rule)

    def _new_policy(self, policy_type: str, name: str, *, recommended: str, is_default: bool) -> dict[str, Any]:
        """A component policy with the properties the preset cmdlets depend on (§4.1, §4.2).

        [inference] the property set beyond Name and RecommendedPolicyType: a real policy has dozens more
        settings, which nothing here reads.
        """
        guid = _seed_guid("policy", policy_type, name)
        policy: dict[str, Any] = {
            "Name": name,
            "RecommendedPolicyType": recommended,
            "IsDefault": is_default,
        }
        if policy_type in ATP_POLICY_TYPES:
            policy["IsBuiltInProtection"] = name == _DEFAULT_POLICY_NAMES[policy_type]
        policy.update({
            "Identity": name,
            "Id": name,
            "DistinguishedName": (f"CN={name},CN={policy_type.replace('Policy', '')},CN=Transport Settings,"
                                  f"CN=Configuration,CN={TENANT_DOMAIN},CN=ConfigurationUnits,"
                                  "DC=NAMPR09A006,DC=PROD,DC=OUTLOOK,DC=COM"),
            "Guid": guid,
            "ImmutableId": guid,
            "OrganizationId": _ORGANIZATION_ID,
            "IsValid": True,
            "WhenChanged": wire_datetime(_SEED_TIME),
            "WhenCreated": wire_datetime(_SEED_TIME),
            "ObjectState": "Unchanged",
        })
        return policy

    def _build_rule(self, kind: str, name: str, policies: dict[str, str], *, state: str, priority: int,
                    guid: str, when: datetime, comments: str | None = None,
                    scope: dict[str, list[str] | None] | None = None) -> dict[str, Any]:
        """A rule in the exact key order and shape of the real Get output (§4.4)."""
        rule: dict[str, Any] = {p: policies[p] for p in RULE_POLICY_PARAMS[kind]}
        rule.update({
            "State": state,
            "Priority": priority,
            "Comments": comments,
            "Description": "",
            "RuleVersion": dict(_RULE_VERSION[kind]),
        })
        for field in SCOPE_FIELDS:
            rule[field] = (scope or {}).get(field) or None  # empty scoping is null, never [] (§4.4)
        rule.update({
            "Conditions": None,
            "Exceptions": None,
            "Identity": name,
            "DistinguishedName": "",
            "Guid": guid,
            "ImmutableId": guid,
            "OrganizationId": _ORGANIZATION_ID,
            "Name": name,
            "IsValid": True,
            "WhenChanged": wire_datetime(when),
            "ObjectState": "Unchanged",
        })
        self._derive(kind, rule)
        return rule

    @staticmethod
    def _derive(kind: str, rule: dict[str, Any]) -> None:
        """Recompute the fields the service derives: Identity, DN, Conditions, Exceptions, Description."""
        name = rule["Name"]
        rule["Identity"] = name  # §4.4: Identity is the plain rule name for these rules
        rule["DistinguishedName"] = (
            f"CN={name},CN={_DN_CONTAINER[kind]},CN=Rules,CN=Transport Settings,CN=Configuration,"
            f"CN={TENANT_DOMAIN},CN=ConfigurationUnits,DC=NAMPR09A006,DC=PROD,DC=OUTLOOK,DC=COM"
        )
        conditions = [_PREDICATE_PREFIX + _PREDICATES[f] for f in ("SentTo", "SentToMemberOf", "RecipientDomainIs")
                      if rule[f]]
        # [inference] exceptions use the same predicate classes as conditions (transport-rule convention).
        exceptions = [_PREDICATE_PREFIX + _PREDICATES[f] for f in ("SentTo", "SentToMemberOf", "RecipientDomainIs")
                      if rule["ExceptIf" + f]]
        rule["Conditions"] = conditions or None  # §4.4: null for an unscoped rule
        rule["Exceptions"] = exceptions or None
        rule["Description"] = ExchangeFake._describe(kind, rule)

    @staticmethod
    def _describe(kind: str, rule: dict[str, Any]) -> str:
        """The Description text, in the layout of the real ones in §4.4.

        Real: the ``If the message:`` block (only when scoped), the domain condition sentence, and the
        ``Take the following actions:`` block with the policies in key order. [inference] the sentences for
        SentTo/SentToMemberOf, how several values and several conditions are joined, and the
        ``Except if the message:`` block (transport-rule wording).
        """
        def quoted(values: list[str]) -> str:
            return " or ".join(f"'{v}'" for v in values)

        def phrases(prefix: str) -> list[str]:
            out = []
            if rule[prefix + "SentTo"]:
                out.append(f"Is sent to {quoted(rule[prefix + 'SentTo'])}")
            if rule[prefix + "SentToMemberOf"]:
                out.append(f"Is sent to a member of group {quoted(rule[prefix + 'SentToMemberOf'])}")
            if rule[prefix + "RecipientDomainIs"]:
                out.append("recipients's address domain portion belongs to any of these domains: "
                           f"{quoted(rule[prefix + 'RecipientDomainIs'])}")
            return out

        text = ""
        conditions = phrases("")
        if conditions:
            text += "If the message:\r\n\t" + "\r\n\tand ".join(conditions) + "\r\n"
        labels = {"HostedContentFilterPolicy": "hosted content filter policy", "AntiPhishPolicy": "AntiPhish policy",
                  "MalwareFilterPolicy": "malware filter policy", "SafeAttachmentPolicy": "safe attachment policy",
                  "SafeLinksPolicy": "safe links policy"}
        actions = ", ".join(f"Apply {labels[p]} \"{rule[p]}\"." for p in RULE_POLICY_PARAMS[kind])
        text += "Take the following actions:\r\n\t" + actions + "\r\n"
        exceptions = phrases("ExceptIf")
        if exceptions:
            text += "Except if the message:\r\n\t" + "\r\n\tor ".join(exceptions) + "\r\n"
        return text

    # -- helpers for tests (out-of-band views and edits) ------------------------------------------------------

    def rule(self, kind: str, preset: str) -> dict[str, Any] | None:
        """A copy of the stored rule of ``kind`` ("eop"/"atp") for ``preset`` ("standard"/"strict"), or None."""
        with self._lock:
            found = self._find_preset_rule(kind, preset)
            return copy.deepcopy(found) if found is not None else None

    def rules(self, kind: str) -> list[dict[str, Any]]:
        with self._lock:
            return copy.deepcopy(self._rules[kind])

    def policies(self, policy_type: str) -> list[dict[str, Any]]:
        with self._lock:
            return copy.deepcopy(self._policies[policy_type])

    def edit_rule(self, kind: str, preset: str, **fields: Any) -> dict[str, Any]:
        """Change a rule out of band (an admin in the portal). Derived fields are recomputed.

        Scoping fields accept a list or None ([] is stored as None, as the service shows it).
        """
        with self._lock:
            rule = self._find_preset_rule(kind, preset)
            if rule is None:
                raise KeyError(f"no {kind} rule for preset {preset!r}")
            for key, value in fields.items():
                if key not in rule:
                    raise KeyError(f"rules have no field {key!r}")
                rule[key] = (list(value) or None) if key in SCOPE_FIELDS and value is not None else value
            self._derive(kind, rule)
            rule["WhenChanged"] = wire_datetime(self._clock())
            return copy.deepcopy(rule)

    def remove_rule(self, kind: str, preset: str) -> bool:
        """Delete a rule out of band (its component policies stay, as in scenario rule_removed)."""
        with self._lock:
            rule = self._find_preset_rule(kind, preset)
            if rule is None:
                return False
            self._rules[kind].remove(rule)
            self._lagging.pop(rule["Guid"], None)
            return True

    def _find_preset_rule(self, kind: str, preset: str) -> dict[str, Any] | None:
        if kind not in KINDS or preset not in RULE_NAMES:
            raise ValueError(f"kind must be one of {KINDS}, preset one of {tuple(RULE_NAMES)}")
        for rule in self._rules[kind]:
            if self._preset_of_rule(kind, rule) == preset:
                return rule
        return None

    def _preset_of_rule(self, kind: str, rule: dict[str, Any]) -> str | None:
        """Which preset a rule serves: the RecommendedPolicyType of its first linked policy (§4.1/§4.2)."""
        policy_type = RULE_POLICY_PARAMS[kind][0]
        name = rule.get(policy_type) or ""
        for policy in self._policies[policy_type]:
            if policy["Name"].lower() == name.lower():
                recommended = str(policy["RecommendedPolicyType"]).lower()
                return recommended if recommended in PRESET_PRIORITY else None
        return _preset_of_policy_name(name)

    # -- persistence ------------------------------------------------------------------------------------------

    def to_state(self) -> dict[str, Any]:
        with self._lock:
            return {
                "scenario": self.scenario,
                "defender_for_office365": self.defender_for_office365,
                "rules": copy.deepcopy(self._rules),
                "policies": copy.deepcopy(self._policies),
                "lagging": dict(self._lagging),
            }

    def load_state(self, state: dict[str, Any]) -> None:
        with self._lock:
            self.scenario = state.get("scenario", self.scenario)
            self.defender_for_office365 = bool(state.get("defender_for_office365", True))
            self._rules = {kind: copy.deepcopy(state.get("rules", {}).get(kind, [])) for kind in KINDS}
            self._policies = {t: copy.deepcopy(state.get("policies", {}).get(t, [])) for t in POLICY_TYPES}
            self._lagging = {str(k): int(v) for k, v in state.get("lagging", {}).items()}
            self._forget_pages()

    # -- InvokeCommand hooks (the responder is InvokeCommandFake) --------------------------------------------

    def _lookup_cmdlet(self, name: str) -> _Cmdlet | None:
        cmdlet = _CMDLETS.get(name.lower())
        if cmdlet is None or (cmdlet.needs_atp and not self.defender_for_office365):
            # [inference] a tenant without the Defender for Office 365 licence answers the ATP cmdlets like
            # unknown ones (they don't exist there).
            return None
        return cmdlet

    def _unknown_cmdlet(self, name: str) -> FakeResponse:
        return unknown_cmdlet()  # §1.8: 403 NUL gzip

    def _run(self, request: FakeRequest, cmdlet: _Cmdlet, params: dict[str, Any], warnings: list[str],
             extra: dict[str, Any]) -> list[dict[str, Any]]:
        writes = cmdlet.verb not in ("get", "get-policy")
        if writes and (params.get("WhatIf") is True or params.get("Confirm") is True):
            # §1.3: the module first calls with Confirm=$true and reads @adminapi.confirmationmessage, then calls
            # again with Confirm=$false. [inference] nothing is applied and the text of the message.
            self._check_write(cmdlet, params)
            extra["@adminapi.confirmationmessage"] = (
                f"Are you sure you want to perform this action? {cmdlet.name} "
                f"Identity:\"{params.get('Identity') or params.get('Name')}\"")
            return []
        if cmdlet.verb == "get":
            return self._get_rules(cmdlet.target, params)
        if cmdlet.verb == "get-policy":
            return self._get_policies(cmdlet.target, params)
        if cmdlet.verb == "set":
            return self._set_rule(cmdlet.target, params, warnings)
        if cmdlet.verb in ("enable", "disable"):
            return self._toggle_rule(cmdlet.target, params, cmdlet.verb == "enable")
        if cmdlet.verb == "new":
            return self._new_rule(cmdlet.target, params)
        return self._remove_rule(cmdlet.target, params)

    # -- rule lookup --------------------------------------------------------------------------------------------

    @staticmethod
    def _matches(obj: dict[str, Any], identity: str) -> bool:
        """Identity matches Name case-insensitively, or the Guid/ImmutableId, or the DN (RuleIdParameter)."""
        wanted = identity.strip().lower()
        return any(str(obj.get(key) or "").lower() == wanted
                   for key in ("Name", "Identity", "Guid", "ImmutableId", "DistinguishedName"))

    def _find_rule(self, kind: str, identity: str) -> dict[str, Any]:
        for rule in self._rules[kind]:
            if self._matches(rule, identity):
                return rule
        raise CmdletError(_not_found(identity))

    def _default_priority(self, kind: str, preset: str | None) -> int:
        if preset is not None:
            return PRESET_PRIORITY[preset]
        # [inference] a rule linked to non-preset policies goes after the existing rules.
        return max((int(r["Priority"]) for r in self._rules[kind]), default=-1) + 1

    # -- cmdlets -------------------------------------------------------------------------------------------------

    def _get_rules(self, kind: str, params: dict[str, Any]) -> list[dict[str, Any]]:
        state_filter = params.get("State")
        if state_filter is not None and (
                not isinstance(state_filter, str) or state_filter.lower() not in ("enabled", "disabled")):
            raise CmdletError(transformation_error(
                "State", state_filter, "Microsoft.Exchange.MessagingPolicies.Rules.RuleState",
                f"Unable to match the identifier name {state_filter} to a valid enumerator name. Specify one "
                "of the following enumerator names and try again: Enabled, Disabled"))
        identity = params.get("Identity")
        if identity in (None, ""):
            # Doc caution (§4.2): "$null or a non-existent value for the Identity parameter returns *all*
            # objects". A JSON null/empty Identity is treated as "no Identity" and returns all rules.
            selected = list(self._rules[kind])
        else:
            # [inference] (§4.4): a non-existent Identity over REST answers 404 ManagementObjectNotFound, the
            # general pattern of §1.8, rather than the doc's "returns all objects". The fake follows the 404.
            wanted = _as_identity(params)
            selected = [r for r in self._rules[kind] if self._matches(r, wanted)]
            if not selected:
                raise CmdletError(_not_found(wanted))
        if state_filter is not None:
            selected = [r for r in selected if r["State"].lower() == str(state_filter).lower()]
        visible = [r for r in selected if not self._hidden_by_lag(r)]
        if identity not in (None, "") and not visible and selected:
            raise CmdletError(_not_found(str(identity)))  # replication lag: the new rule 404s for a while
        visible.sort(key=lambda r: int(r["Priority"]))
        return [self._rule_wire(r) for r in visible]

    @staticmethod
    def _rule_wire(rule: dict[str, Any]) -> dict[str, Any]:
        return annotated(copy.deepcopy(rule), guid_keys=("Guid", "ImmutableId"), datetime_keys=("WhenChanged",))

    def _get_policies(self, policy_type: str, params: dict[str, Any]) -> list[dict[str, Any]]:
        selected = list(self._policies[policy_type])
        if params.get("Identity") not in (None, ""):
            wanted = _as_identity(params)
            selected = [p for p in selected if self._matches(p, wanted)]
            if not selected:
                raise CmdletError(_not_found(wanted))  # same [inference] as for the rules
        return [annotated(copy.deepcopy(p), guid_keys=("Guid", "ImmutableId"),
                           datetime_keys=("WhenChanged", "WhenCreated")) for p in selected]

    def _check_write(self, cmdlet: _Cmdlet, params: dict[str, Any]) -> None:
        """Validation shared by a real call and a Confirm/WhatIf dry run."""
        if cmdlet.verb == "new":
            require(params, "Name", *RULE_POLICY_PARAMS[cmdlet.target])
        else:
            require(params, "Identity")
            self._find_rule(cmdlet.target, _as_identity(params))

    def _apply_scope_and_text(self, kind: str, rule: dict[str, Any], params: dict[str, Any]) -> None:
        """Parameters Set-* and New-* share: scoping, Comments, Priority, Name (§4.2)."""
        for field in SCOPE_FIELDS:
            if field in params:
                rule[field] = _as_list(field, params[field])
        if "Comments" in params:
            rule["Comments"] = as_text("Comments", params["Comments"], 1024)
        if "Name" in params:
            name = as_text("Name", params["Name"], 64)
            if not name or not name.strip():
                raise CmdletError(missing_parameters(["Name"]))
            for other in self._rules[kind]:
                if other is not rule and other["Name"].lower() == name.strip().lower():
                    # [inference] text and type; rule names are unique per family.
                    raise CmdletError(bad_request(
                        _EXISTS_EXC, f"A rule named '{name.strip()}' already exists. Rule names must be unique."))
            rule["Name"] = name.strip()
        if "Priority" in params:
            priority = as_int("Priority", params["Priority"])
            preset = self._preset_of_rule(kind, rule)
            if preset is not None and priority != PRESET_PRIORITY[preset]:
                # §4.1: "You must use the default value" (Strict 0, Standard 1). [inference] the error text/type.
                raise CmdletError(bad_request(
                    VALIDATION_EXC,
                    f"The priority of the rule that's associated with the {preset.capitalize()} preset security "
                    f"policy must be {PRESET_PRIORITY[preset]}. The value {priority} isn't valid."))
            if priority < 0:
                raise CmdletError(bad_request(VALIDATION_EXC, f"The priority {priority} isn't valid."))
            rule["Priority"] = priority

    def _set_rule(self, kind: str, params: dict[str, Any], warnings: list[str]) -> list[dict[str, Any]]:
        """Set-*ProtectionPolicyRule: scoping, Comments, Priority, Name; returns ``value: []`` (§6.1)."""
        require(params, "Identity")
        rule = self._find_rule(kind, _as_identity(params))
        updated = copy.deepcopy(rule)
        self._apply_scope_and_text(kind, updated, params)
        self._derive(kind, updated)
        if updated == rule:
            # §1.6: a no-op Set- returns a warning containing "modified". [inference] exact text.
            warnings.append(f"The command completed successfully but no settings of '{rule['Identity']}' "
                            "have been modified.")
            return []
        updated["WhenChanged"] = wire_datetime(self._clock())
        rule.clear()
        rule.update(updated)
        return []

    def _toggle_rule(self, kind: str, params: dict[str, Any], enable: bool) -> list[dict[str, Any]]:
        """Enable-/Disable-*ProtectionPolicyRule: the only way to change State (§4.1, §4.2)."""
        require(params, "Identity")
        rule = self._find_rule(kind, _as_identity(params))
        state = "Enabled" if enable else "Disabled"
        if rule["State"] != state:
            # [inference] enabling an enabled rule is silent (no warning; the notes say nothing).
            rule["State"] = state
            rule["WhenChanged"] = wire_datetime(self._clock())
        return []

    def _new_rule(self, kind: str, params: dict[str, Any]) -> list[dict[str, Any]]:
        """New-*ProtectionPolicyRule (§4.2): needs Name and the family's policies; fails if the rule exists."""
        require(params, "Name", *RULE_POLICY_PARAMS[kind])
        policies: dict[str, str] = {}
        for param in RULE_POLICY_PARAMS[kind]:
            wanted = _as_identity(params, param)
            match = next((p for p in self._policies[param] if self._matches(p, wanted)), None)
            if match is None:
                raise CmdletError(_not_found(wanted))  # the named policy must exist
            policies[param] = match["Name"]
        name = as_text("Name", params["Name"], 64) or ""
        if any(r["Name"].lower() == name.strip().lower() for r in self._rules[kind]):
            # §4.2: "If the rule already exists, the command will fail." [inference] text and type.
            raise CmdletError(bad_request(
                _EXISTS_EXC, f"A rule named '{name.strip()}' already exists. Rule names must be unique."))
        enabled = as_bool("Enabled", params["Enabled"]) if params.get("Enabled") is not None else True
        rule = self._build_rule(kind, name.strip(), policies, state="Enabled" if enabled else "Disabled",
                                priority=0, guid=str(uuid.uuid4()), when=self._clock())
        preset = self._preset_of_rule(kind, rule)
        rule["Priority"] = self._default_priority(kind, preset)
        rule["ObjectState"] = "New"  # [inference] freshly created objects report New (cf. §3.4's sample)
        self._apply_scope_and_text(kind, rule, {k: v for k, v in params.items() if k != "Name"})
        self._derive(kind, rule)
        self._rules[kind].append(rule)
        if self.replication_lag_reads > 0:
            self._lagging[rule["Guid"]] = self.replication_lag_reads
        returned = self._rule_wire(rule)
        rule["ObjectState"] = "Unchanged"  # what later reads show
        return [returned]

    def _remove_rule(self, kind: str, params: dict[str, Any]) -> list[dict[str, Any]]:
        """Remove-*ProtectionPolicyRule: deletes the rule; its component policies stay."""
        require(params, "Identity")
        rule = self._find_rule(kind, _as_identity(params))
        self._rules[kind].remove(rule)
        self._lagging.pop(rule["Guid"], None)
        return []
