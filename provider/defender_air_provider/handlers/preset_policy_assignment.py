"""``PresetPolicyAssignment``: who the Standard or Strict preset security policy applies to.

One resource manages the preset's EOP rule and, unless ``defender_for_office365`` is False, its ATP rule,
keeping both identical: recipients map to ``SentTo`` / ``SentToMemberOf`` / ``RecipientDomainIs`` and
exclusions to their ``ExceptIf`` forms, on both rules (docs/wire/exchange-online.md). The id is the preset name.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pulumi.dynamic import CheckFailure, CheckResult, CreateResult, ReadResult, UpdateResult

from ..clients.presets import RULE_NAMES, PresetRule, RecipientConditions
from ..core.errors import DefenderAirError, NotFound, PermissionDenied
from ..core.redaction import get_logger
from ..definitions.preset_policy_assignment import PRESET_POLICY_ASSIGNMENT, RECIPIENT_SCOPE
from . import context
from .base import AirDiffResult, AirProvider, configuration_failures, create_once, failures_named
from .fields import changed_inputs, check_inputs, replaced
from .values import as_bool, is_address, is_domain, str_list

LOG = get_logger()
KIND = PRESET_POLICY_ASSIGNMENT.name
SCOPE_KEYS = tuple(f.name for f in RECIPIENT_SCOPE.fields)


class PresetNotTurnedOnError(DefenderAirError):
    pass


class UnknownPresetError(DefenderAirError):
    pass


@dataclass(frozen=True)
class Desired:
    preset: str
    enabled: bool
    recipients: dict[str, list[str]]
    exclusions: dict[str, list[str]]
    defender_for_office365: bool

    @classmethod
    def from_props(cls, props: dict[str, Any]) -> Desired:
        return cls(
            preset=str(props["preset"]),  # check gave it its canonical (lower-case) spelling
            enabled=as_bool(props.get("enabled"), _default("enabled")),
            recipients=_scope(props.get("recipients")),
            exclusions=_scope(props.get("exclusions")),
            defender_for_office365=as_bool(props.get("defender_for_office365"), _default("defender_for_office365")),
        )

    @property
    def kinds(self) -> tuple[str, ...]:
        return ("eop", "atp") if self.defender_for_office365 else ("eop",)

    def conditions(self) -> RecipientConditions:
        return RecipientConditions.of_scopes(self.recipients, self.exclusions)

    def inputs(self) -> dict[str, Any]:
        return {"preset": self.preset, "enabled": self.enabled, "recipients": self.recipients,
                "exclusions": self.exclusions, "defender_for_office365": self.defender_for_office365}


def _default(name: str) -> bool:
    """The argument's default, from the definition (old state may predate check filling it in)."""
    return bool(PRESET_POLICY_ASSIGNMENT.field(name).default)


def _scope(value: Any) -> dict[str, list[str]]:
    value = value if isinstance(value, dict) else {}
    return {key: str_list(value.get(key)) for key in SCOPE_KEYS}


def _scope_from_rule(rule: PresetRule, index: int) -> dict[str, list[str]]:
    """index 0: the conditions (recipients), 1: the exceptions (exclusions)."""
    return rule.conditions.scopes()[index]


def _state(enabled: bool) -> str:
    return "Enabled" if enabled else "Disabled"


class PresetPolicyAssignmentProvider(AirProvider):
    # ------------------------------------------------------------------ check (no API call)
    def check(self, _olds: dict[str, Any], news: dict[str, Any]) -> CheckResult:
        inputs, failures = check_inputs(PRESET_POLICY_ASSIGNMENT, news)
        failed = {f.property.split("[")[0] for f in failures}
        for key in ("recipients", "exclusions"):
            failures.extend(_check_scope(key, inputs.get(key), failed))
        failures.extend(_check_overlap(inputs.get("recipients"), inputs.get("exclusions")))
        return CheckResult(inputs, configuration_failures(("tenant",)) + failures)

    # ------------------------------------------------------------------ diff (no API call)
    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> AirDiffResult:
        changed = changed_inputs(PRESET_POLICY_ASSIGNMENT, olds, news)
        replaces = replaced(PRESET_POLICY_ASSIGNMENT, changed)
        if replaces:
            # Another preset is another pair of rules: turn the new one on before the old one off.
            return AirDiffResult(changed, replaces, delete_before_replace=False)
        if changed:
            return AirDiffResult(changed)
        old, new = Desired.from_props(olds), Desired.from_props(news)
        expected = _state(new.enabled)
        # The live rule states as last read (create, update or refresh): drift to repair shows here.
        eop_drift = olds.get("eop_rule_state", expected) != expected
        atp_drift = old.defender_for_office365 and new.defender_for_office365 and (
            olds.get("atp_rule_state") != expected or olds.get("atp_rule_in_sync") is False)
        drifted = ["eop_rule_state"] if eop_drift else []
        if atp_drift:
            drifted.append("atp_rule_in_sync" if olds.get("atp_rule_state") == expected else "atp_rule_state")
        return AirDiffResult(drifted)

    # ------------------------------------------------------------------ create / update
    def create(self, props: dict[str, Any]) -> CreateResult:
        desired = Desired.from_props(props)
        with failures_named(KIND, desired.preset, "create"):
            return CreateResult(desired.preset, _converge(desired))

    def update(self, _id: str, _olds: dict[str, Any], news: dict[str, Any]) -> UpdateResult:
        desired = Desired.from_props(news)
        with failures_named(KIND, desired.preset, "update"):
            return UpdateResult(_converge(desired))

    # ------------------------------------------------------------------ read (refresh)
    def read(self, id_: str, props: dict[str, Any]) -> ReadResult:
        preset = str(props.get("preset") or id_).lower()
        managed_atp = as_bool(props.get("defender_for_office365"), _default("defender_for_office365"))
        with failures_named(KIND, preset, "read"):
            if preset not in RULE_NAMES:
                # Only ``PresetPolicyAssignment.get`` can ask for another id; there is no such object to read.
                raise UnknownPresetError(f"there is no preset named {id_!r}: the ids are "
                                             f"{' and '.join(repr(p) for p in RULE_NAMES)}.")
            presets = context.current().presets
            eop = presets.get_rule("eop", preset)
            if eop is None:
                return ReadResult(None, {})  # the rule is gone: the engine drops the resource
            atp = _get_atp(preset) if managed_atp else None
        live = live_desired(eop, managed_atp)
        outputs = {**live.inputs(), **_computed(live, eop, atp)}
        return ReadResult(id_, outputs, live.inputs())

    # ------------------------------------------------------------------ delete
    def delete(self, _id: str, props: dict[str, Any]) -> None:
        desired = Desired.from_props(props)
        with failures_named(KIND, desired.preset, "delete"):
            presets = context.current().presets
            for kind in desired.kinds:
                # Turning the preset off keeps its recipient conditions (contract); Disable- is idempotent.
                try:
                    presets.set_enabled(kind, desired.preset, False)
                except NotFound:
                    LOG.info("%s rule of the %s preset is already gone", kind.upper(), desired.preset)


def live_desired(eop: PresetRule, defender_for_office365: bool) -> Desired:
    """The assignment as the preset's EOP rule has it (refresh reports its ``inputs()``; ``defender-air export``
    declares them)."""
    return Desired(eop.preset, eop.enabled, _scope_from_rule(eop, 0), _scope_from_rule(eop, 1), defender_for_office365)


def _get_atp(preset: str) -> PresetRule | None:
    try:
        return context.current().presets.get_rule("atp", preset)
    except PermissionDenied as exc:
        raise PermissionDenied(
            f"{exc} If the tenant has no Microsoft Defender for Office 365 (Plan 1 or 2), set "
            "defender_for_office365=False to manage only the EOP rule.", status=exc.status, code=exc.code,
            operation=exc.operation, exception_type=exc.exception_type,
        ) from exc


def _converge(desired: Desired) -> dict[str, Any]:
    """Make the preset's rules match ``desired``; write only what differs. Returns the outputs.

    Everything is read (and every missing piece checked) before the first write, so a tenant where the
    preset was never turned on is left untouched.
    """
    presets = context.current().presets
    rules: dict[str, PresetRule | None] = {"eop": presets.get_rule("eop", desired.preset)}
    if desired.defender_for_office365:
        rules["atp"] = _get_atp(desired.preset)
    missing = [kind for kind, rule in rules.items() if rule is None]
    policies: dict[str, dict[str, str]] = {}
    for kind in missing:
        found = presets.find_component_policies(kind, desired.preset)
        if found is None:
            raise PresetNotTurnedOnError(
                f"the {desired.preset.capitalize()} preset security policy was never turned on in this tenant: "
                f"its {kind.upper()} rule '{RULE_NAMES[desired.preset]}' and the preset's own threat policies "
                "do not exist, and only the Defender portal can create them. Turn the preset on once in the "
                "Microsoft Defender portal (Email & collaboration > Policies & rules > Threat policies > Preset "
                "security policies), then run `pulumi up` again. Nothing was changed."
            )
        policies[kind] = found

    conditions = desired.conditions()
    for kind in missing:
        _new_rule(kind, desired, policies[kind], conditions)
    for kind, rule in rules.items():
        if rule is None:
            continue
        # Narrow the scope before turning a rule on, and turn it off before widening it, so the rule never
        # applies to more recipients than either the old or the new setting.
        if not desired.enabled and rule.enabled:
            presets.set_enabled(kind, desired.preset, False)
        if not rule.conditions.matches(conditions):
            presets.set_conditions(kind, desired.preset, conditions)
        if desired.enabled and not rule.enabled:
            presets.set_enabled(kind, desired.preset, True)

    outputs = desired.inputs()
    outputs["eop_rule_state"] = _state(desired.enabled)
    outputs["atp_rule_state"] = _state(desired.enabled) if desired.defender_for_office365 else None
    outputs["atp_rule_in_sync"] = True if desired.defender_for_office365 else None
    return outputs


def _new_rule(kind: str, desired: Desired, policies: dict[str, str], conditions: RecipientConditions) -> None:
    """Recreate a removed rule from the preset's policies (``New-`` fails if the rule exists)."""
    presets = context.current().presets
    noun = "EOPProtectionPolicyRule" if kind == "eop" else "ATPProtectionPolicyRule"
    LOG.warning("%s rule of the %s preset is missing although its policies exist; recreating it with New-%s",
                kind.upper(), desired.preset, noun)

    def create() -> bool:
        presets.new_rule(kind, desired.preset, policies, conditions, desired.enabled)
        return True

    create_once(create, lambda: presets.get_rule(kind, desired.preset), f"New-{noun}")


def _computed(live: Desired, eop: PresetRule, atp: PresetRule | None) -> dict[str, Any]:
    in_sync: bool | None = None
    if live.defender_for_office365:
        in_sync = atp is not None and atp.enabled == eop.enabled and atp.conditions.matches(eop.conditions)
    return {
        "eop_rule_state": _state(eop.enabled),
        "atp_rule_state": (_state(atp.enabled) if atp else None) if live.defender_for_office365 else None,
        "atp_rule_in_sync": in_sync,
    }


def _check_scope(key: str, value: Any, failed: set[str]) -> list[CheckFailure]:
    """Address and domain syntax, and duplicates (the definition checked the shape)."""
    if not isinstance(value, dict):
        return []
    failures = []
    for sub in SCOPE_KEYS:
        items = value.get(sub)
        if not isinstance(items, list) or f"{key}.{sub}" in failed:
            continue
        seen: set[str] = set()
        for item in items:
            if not isinstance(item, str):
                continue
            valid = is_domain(item) if sub == "domains" else is_address(item)
            if not valid:
                what = "a domain name such as contoso.com" if sub == "domains" else "an SMTP address"
                failures.append(CheckFailure(f"{key}.{sub}", f"{key}.{sub}: {item!r} is not {what}."))
            elif item.lower() in seen:
                failures.append(CheckFailure(f"{key}.{sub}", f"{key}.{sub}: {item!r} is listed twice."))
            seen.add(item.lower())
    return failures


def _check_overlap(recipients: Any, exclusions: Any) -> list[CheckFailure]:
    if not isinstance(recipients, dict) or not isinstance(exclusions, dict):
        return []
    failures = []
    for sub in SCOPE_KEYS:
        included = {i.lower() for i in str_list(recipients.get(sub))}
        for item in str_list(exclusions.get(sub)):
            if item.lower() in included:
                failures.append(CheckFailure(
                    f"exclusions.{sub}",
                    f"{item!r} is in both recipients.{sub} and exclusions.{sub}; keep it in one of them."))
    return failures
