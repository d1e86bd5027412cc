"""Preset security policy rules (Standard / Strict) over the Exchange Online admin API.

Facts: ``docs/wire/exchange-online.md``. Each preset has an EOP rule (``*-EOPProtectionPolicyRule``)
and, with Defender for Office 365, an ATP rule (``*-ATPProtectionPolicyRule``), both named
"<Preset> Preset Security Policy". ``Set-`` has no Enabled/State parameter: ``Enable-``/``Disable-`` turn a
rule on and off. Priorities are fixed (Strict 0, Standard 1). Empty scoping fields read back as ``null``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..definitions.preset_policy_assignment import RECIPIENT_SCOPE
from .invoke_command import InvokeCommandClient

RULE_NAMES = {"standard": "Standard Preset Security Policy", "strict": "Strict Preset Security Policy"}
# "You must use the default value" (Set-/New-EOPProtectionPolicyRule docs, docs/wire/exchange-online.md §2).
PRESET_PRIORITY = {"strict": 0, "standard": 1}


@dataclass(frozen=True)
class RuleFamily:
    kind: str  # "eop" | "atp"
    noun: str  # cmdlet noun
    policies: tuple[tuple[str, str], ...]  # (New-* parameter, Get- cmdlet of that policy type)


FAMILIES = {
    "eop": RuleFamily("eop", "EOPProtectionPolicyRule", (
        ("AntiPhishPolicy", "Get-AntiPhishPolicy"),
        ("HostedContentFilterPolicy", "Get-HostedContentFilterPolicy"),
        ("MalwareFilterPolicy", "Get-MalwareFilterPolicy"),
    )),
    "atp": RuleFamily("atp", "ATPProtectionPolicyRule", (
        ("SafeAttachmentPolicy", "Get-SafeAttachmentPolicy"),
        ("SafeLinksPolicy", "Get-SafeLinksPolicy"),
    )),
}

# Recipient scope key (users, groups, domains) -> (condition parameter, exception parameter), the same on both
# rules: the wire names come from the definition, and each exception is its condition's ``ExceptIf`` form
# (docs/wire/exchange-online.md §4).
SCOPE_PARAMETERS: dict[str, tuple[str, str]] = {
    f.name: (str(f.wire), f"ExceptIf{f.wire}") for f in RECIPIENT_SCOPE.fields
}
# Recipient conditions and exceptions, in the order of the cmdlet syntax.
CONDITION_FIELDS = (*(c for c, _ in SCOPE_PARAMETERS.values()), *(e for _, e in SCOPE_PARAMETERS.values()))


def _normalise(values: Any) -> tuple[str, ...]:
    """``null`` and ``[]`` are the same (the service reads back ``null`` for empty, docs/wire/exchange-online.md §5)."""
    if not values:
        return ()
    if isinstance(values, str):
        values = [values]
    return tuple(str(v) for v in values if str(v).strip())


@dataclass(frozen=True)
class RecipientConditions:
    """Who a rule applies to. Keys are the cmdlet parameter names of ``CONDITION_FIELDS``."""

    fields: tuple[tuple[str, tuple[str, ...]], ...]

    @classmethod
    def of(cls, **values: Any) -> RecipientConditions:
        unknown = set(values) - set(CONDITION_FIELDS)
        if unknown:
            raise ValueError(f"unknown condition fields {sorted(unknown)}")
        return cls(tuple((name, _normalise(values.get(name))) for name in CONDITION_FIELDS))

    @classmethod
    def of_scopes(cls, recipients: dict[str, list[str]], exclusions: dict[str, list[str]]) -> RecipientConditions:
        """From the resource's scopes (``{users, groups, domains}``): recipients are the conditions, exclusions
        the exceptions."""
        values: dict[str, Any] = {}
        for key, (condition, exception) in SCOPE_PARAMETERS.items():
            values[condition] = recipients.get(key)
            values[exception] = exclusions.get(key)
        return cls.of(**values)

    def scopes(self) -> tuple[dict[str, list[str]], dict[str, list[str]]]:
        """(recipients, exclusions) as ``{users, groups, domains}`` lists."""
        return ({key: list(self.get(condition)) for key, (condition, _) in SCOPE_PARAMETERS.items()},
                {key: list(self.get(exception)) for key, (_, exception) in SCOPE_PARAMETERS.items()})

    @classmethod
    def from_rule(cls, rule: dict[str, Any]) -> RecipientConditions:
        return cls.of(**{name: rule.get(name) for name in CONDITION_FIELDS})

    def get(self, name: str) -> tuple[str, ...]:
        return dict(self.fields)[name]

    def matches(self, other: RecipientConditions) -> bool:
        """Addresses and domains compare case-insensitively and in any order, as the service does."""
        def key(c: RecipientConditions) -> dict[str, frozenset[str]]:
            return {name: frozenset(v.lower() for v in values) for name, values in c.fields}
        return key(self) == key(other)

    def parameters(self) -> dict[str, list[str] | None]:
        # An empty field is sent as null: "Clear all scoping: Set-... -SentTo $null ..." (Set-*Rule docs,
        # docs/wire/exchange-online.md §3).
        return {name: (list(values) if values else None) for name, values in self.fields}


@dataclass(frozen=True)
class PresetRule:
    kind: str
    preset: str
    enabled: bool
    conditions: RecipientConditions

    @classmethod
    def from_wire(cls, kind: str, preset: str, obj: dict[str, Any]) -> PresetRule:
        return cls(
            kind=kind,
            preset=preset,
            enabled=str(obj.get("State") or "").lower() == "enabled",
            conditions=RecipientConditions.from_rule(obj),
        )


class PresetRulesClient:
    """Reads and writes the preset rules. Plain records in and out; knows nothing of Pulumi."""

    def __init__(self, invoke: InvokeCommandClient) -> None:
        self._invoke = invoke

    def get_rule(self, kind: str, preset: str) -> PresetRule | None:
        """The preset's rule, or None when it does not exist (one unfiltered ``Get-``: see ``rules``)."""
        return self.rules(kind).get(preset)

    def rules(self, kind: str) -> dict[str, PresetRule]:
        """Both presets' rules of one family (``eop`` or ``atp``), by preset; a preset without its rule is absent.

        An unfiltered ``Get-`` is used and filtered by name: the docs warn that a non-existent ``-Identity``
        "returns all objects" while the admin API's general pattern is a 404 (docs/wire/exchange-online.md §3, §5), so
        filtering ourselves is right under either behaviour. A missing rule is then simply not in the list, so any
        error (404 included) is a failed read, never "absent" (a refresh must not drop the resource on a transient
        failure).
        """
        family = FAMILIES[kind]
        result = self._invoke.invoke(f"Get-{family.noun}", {}, idempotent=True)
        found: dict[str, PresetRule] = {}
        for obj in result.values:
            name = str(obj.get("Name") or "").strip().lower()
            for preset, rule_name in RULE_NAMES.items():
                if name == rule_name.lower() and preset not in found:
                    found[preset] = PresetRule.from_wire(kind, preset, obj)
        return found

    def set_conditions(self, kind: str, preset: str, conditions: RecipientConditions) -> None:
        # Setting the same values twice is harmless, so the call is idempotent (safe to retry).
        self._invoke.invoke(
            f"Set-{FAMILIES[kind].noun}",
            {"Identity": RULE_NAMES[preset], **conditions.parameters()},
            idempotent=True, target=RULE_NAMES[preset],
        )

    def set_enabled(self, kind: str, preset: str, enabled: bool) -> None:
        verb = "Enable" if enabled else "Disable"
        self._invoke.invoke(f"{verb}-{FAMILIES[kind].noun}", {"Identity": RULE_NAMES[preset]},
                            idempotent=True, target=RULE_NAMES[preset])

    def find_component_policies(self, kind: str, preset: str) -> dict[str, str] | None:
        """The preset's own threat policies (``RecommendedPolicyType`` = Standard/Strict), or None if any is
        missing: then the preset was never turned on in the portal (docs/wire/exchange-online.md §2)."""
        found: dict[str, str] = {}
        for parameter, get_cmdlet in FAMILIES[kind].policies:
            result = self._invoke.invoke(get_cmdlet, {}, idempotent=True)
            names = [str(p.get("Name")) for p in result.values
                     if str(p.get("RecommendedPolicyType") or "").lower() == preset and p.get("Name")]
            if not names:
                return None
            found[parameter] = sorted(names)[-1]  # the newest by its 13-digit timestamp suffix
        return found

    def new_rule(self, kind: str, preset: str, policies: dict[str, str], conditions: RecipientConditions,
                 enabled: bool) -> None:
        """``New-*Rule``: only where the rule was removed but the preset's policies exist (docs/wire/exchange-online.md
        §3).

        Not idempotent ("If the rule already exists, the command will fail"): the caller handles a lost
        answer by re-reading.
        """
        parameters: dict[str, Any] = {
            "Name": RULE_NAMES[preset],
            "Priority": PRESET_PRIORITY[preset],
            "Enabled": enabled,
            **policies,
        }
        parameters.update({k: v for k, v in conditions.parameters().items() if v})
        self._invoke.invoke(f"New-{FAMILIES[kind].noun}", parameters, idempotent=False,
                            target=RULE_NAMES[preset])
