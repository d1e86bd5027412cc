"""``AlertPolicy``: an Office 365 alert policy (Security & Compliance ``*-ProtectionAlert``).

Built-in (system) policies are adopted, never created or removed; only the settings the portal lets you
change are sent to them. Custom policies are created, updated in place (only what changed) and removed.
The resource id is the policy's ImmutableId.
"""

from __future__ import annotations

from typing import Any

from pulumi.dynamic import CheckFailure, CheckResult, CreateResult, DiffResult, ReadResult, UpdateResult

from ..clients.alert_policies import (
    BUILT_IN_EDITABLE,
    INT_FIELDS,
    LIST_FIELDS,
    WIRE_NAMES,
    AlertPolicy,
    AlertPolicySettings,
    LicenceRequired,
)
from ..core.errors import DefenderAirError, NotFound, ServiceError
from ..core.redaction import get_logger
from . import context
from .alert_policy_catalogue import BuiltInAlertPolicy, find_built_in, identity_key, without_zwsp
from .base import AirProvider, create_once, failures_named
from .values import as_int, fold, is_address, is_unknown

LOG = get_logger()
KIND = "AlertPolicy"
SETTINGS = tuple(WIRE_NAMES)  # the contract's argument names, in contract order

# Canonical spellings (o365-policies.md §3.1 "Values seen in reality"); input matching is case-insensitive.
ENUMS: dict[str, tuple[str, ...]] = {
    "severity": ("Low", "Medium", "High", "Informational"),
    "category": ("AccessGovernance", "ComplianceManager", "DataGovernance", "DataLossPrevention", "MailFlow",
                 "Others", "PrivacyManagement", "Supervision", "ThreatManagement"),
    "threat_type": ("Activity", "Malware", "Phish", "Malicious", "MaliciousUrlClick", "MailFlow"),
    "aggregation_type": ("None", "SimpleAggregation", "AnomalousAggregation", "CustomAggregation"),
}
TEXT_FIELDS = ("filter", "description", "comment")
BOOL_FIELDS = ("enabled", "notification_enabled")
MINIMUMS = {"threshold": 3, "time_window": 60, "notify_user_throttle_threshold": 1,
            "notify_user_throttle_window": 1}
NEW_REQUIRES = ("category", "threat_type", "notify_users")  # New-ProtectionAlert's mandatory parameters
COMPUTED = ("is_built_in", "policy_id", "service_name")


class AlertPolicyError(DefenderAirError):
    pass


# ---------------------------------------------------------------------------------------------- inputs
def canonical_enum(prop: str, value: object) -> str | None:
    """The service's spelling of an enum value given in any case, or None when it is not a valid value."""
    return next((c for c in ENUMS[prop] if isinstance(value, str) and c.lower() == value.lower()), None)


def _canonical_notify(value: str) -> str:
    return "TenantAdmins" if value.strip().lower() == "tenantadmins" else value.strip()


def settings_of(props: dict[str, Any]) -> AlertPolicySettings:
    """Inputs (or outputs) -> settings; engine floats become ints, enums their canonical spelling."""
    values: dict[str, Any] = {}
    for name in SETTINGS:
        raw = props.get(name)
        if raw is None or is_unknown(raw):
            continue
        if name in LIST_FIELDS:
            items = [str(v) for v in raw if isinstance(v, str)]
            values[name] = tuple(_canonical_notify(v) for v in items) if name == "notify_users" else tuple(items)
        elif name in INT_FIELDS:
            values[name] = as_int(raw)
        elif name in ENUMS:
            values[name] = canonical_enum(name, raw) or str(raw)
        else:
            values[name] = raw
    return AlertPolicySettings(**values)


def _same(name: str, old: Any, new: Any) -> bool:
    """Compare one setting the way the service does: lists order- and case-free, enums case-free."""
    if name in LIST_FIELDS:
        return fold(list(old or ())) == fold(list(new or ()))
    if name in ENUMS and isinstance(old, str) and isinstance(new, str):
        return old.lower() == new.lower()
    if name in INT_FIELDS:
        return as_int(old) == as_int(new)
    return bool(old == new)


def _changed(old: AlertPolicySettings, new: AlertPolicySettings) -> set[str]:
    """Settings given in ``new`` that differ from ``old`` (a setting not given is not managed)."""
    return {name for name, value in new.given().items() if not _same(name, getattr(old, name), value)}


# ---------------------------------------------------------------------------------------------- check
def _check(news: dict[str, Any]) -> tuple[dict[str, Any], list[CheckFailure]]:
    failures: list[CheckFailure] = []
    inputs = dict(news)

    def fail(prop: str, reason: str) -> None:
        failures.append(CheckFailure(prop, reason))

    name = news.get("name")
    if not is_unknown(name) and (not isinstance(name, str) or not name.strip()):
        fail("name", "name is required: the alert policy's name (for a built-in policy, its name as listed in "
                     "the Defender portal).")
    for prop in (*BOOL_FIELDS, "adopt_existing"):
        value = news.get(prop)
        if value is not None and not is_unknown(value) and not isinstance(value, bool):
            fail(prop, f"{prop} must be true or false, not {value!r}.")
    for prop, allowed in ENUMS.items():
        value = news.get(prop)
        if value is None or is_unknown(value):
            continue
        match = canonical_enum(prop, value)
        if match is None:
            fail(prop, f"{prop} must be one of {', '.join(allowed)}; got {value!r}.")
        else:
            inputs[prop] = match
    for prop in INT_FIELDS:
        value = news.get(prop)
        if value is None or is_unknown(value):
            continue
        number = as_int(value)
        if number is None:
            fail(prop, f"{prop} must be a whole number, not {value!r}.")
        elif number < MINIMUMS[prop]:
            fail(prop, f"{prop} must be at least {MINIMUMS[prop]}" + (" (minutes)." if "window" in prop else "."))
        else:
            inputs[prop] = number
    for prop in TEXT_FIELDS:
        value = news.get(prop)
        if value is not None and not is_unknown(value) and not isinstance(value, str):
            fail(prop, f"{prop} must be a string.")
    for prop in LIST_FIELDS:
        value = news.get(prop)
        if value is None or is_unknown(value):
            continue
        if not isinstance(value, list) or not all(isinstance(v, str) or is_unknown(v) for v in value):
            fail(prop, f"{prop} must be a list of strings.")
            continue
        if prop == "notify_users":
            for item in value:
                if isinstance(item, str) and item.strip().lower() != "tenantadmins" and not is_address(item):
                    fail(prop, f"notify_users: {item!r} is not an SMTP address or 'TenantAdmins'.")
            inputs[prop] = [_canonical_notify(v) if isinstance(v, str) else v for v in value]
        elif any(isinstance(v, str) and not v.strip() for v in value):
            fail(prop, "operations must not contain empty names.")

    # Cross-field rules of New-/Set-ProtectionAlert (o365-policies.md §3.1).
    # Unset aggregation_type / threat_type are not managed (New- defaults to SimpleAggregation), so only an explicit
    # conflicting value is refused.
    aggregation, threat = inputs.get("aggregation_type"), inputs.get("threat_type")
    for prop in ("threshold", "time_window"):
        if news.get(prop) is not None and isinstance(aggregation, str) and aggregation != "SimpleAggregation":
            fail(prop, f"{prop} is only allowed with aggregation_type='SimpleAggregation', not '{aggregation}'.")
    if news.get("operations") and isinstance(threat, str) and threat != "Activity":
        fail("operations", f"operations are only allowed with threat_type='Activity', not '{threat}'.")
    if isinstance(news.get("notify_users"), list) and not news["notify_users"]:
        fail("notify_users", "notify_users must name at least one recipient (an SMTP address or 'TenantAdmins'); "
                             "leave it unset to keep the service's recipients.")

    # A built-in policy from the shipped catalogue: only the portal-editable settings may be given.
    built_in = find_built_in(name) if isinstance(name, str) else None
    if built_in is not None:
        for prop in _not_editable(news):
            fail(prop, f"'{built_in.display_name}' is a built-in alert policy: only enabled, notify_users, "
                       f"notification_enabled and the notify_user_throttle settings can be set on it, not {prop}.")
    return inputs, failures


def _not_editable(props: dict[str, Any]) -> list[str]:
    given = [name for name in SETTINGS if props.get(name) is not None and name not in BUILT_IN_EDITABLE]
    if props.get("adopt_existing") is True:
        given.append("adopt_existing")
    return given


# ---------------------------------------------------------------------------------------------- outputs
def _outputs(props: dict[str, Any], policy: AlertPolicy, desired: AlertPolicySettings) -> dict[str, Any]:
    """Managed settings as asked; the rest as the service has them (visible, not managed)."""
    live = policy.settings.given()
    merged = {**{name: live.get(name) for name in SETTINGS}, **desired.given()}
    out: dict[str, Any] = {name: (list(v) if name in LIST_FIELDS and v is not None else v)
                           for name, v in merged.items()}
    out["name"] = props.get("name") or policy.name
    out["adopt_existing"] = bool(props.get("adopt_existing"))
    out["is_built_in"] = policy.is_built_in
    out["policy_id"] = policy.immutable_id
    out["service_name"] = policy.name  # exact, with any zero-width space: what later calls use
    return out


def _find(name: str, policy_id: str | None = None, *, by_name: bool = True) -> AlertPolicy | None:
    """Built-ins by ImmutableId first (stable across renames, wire-details C2), then by name. ``by_name=False``
    for a managed custom policy: another policy that took its name is not ours."""
    policies = context.current().alert_policies.list()
    catalogued = find_built_in(name)
    ids = [i for i in (policy_id, catalogued.immutable_id if catalogued else None) if i]
    for wanted in ids:
        for policy in policies:
            if policy.immutable_id.lower() == wanted.lower():
                return policy
    if not by_name:
        return None
    key = identity_key(name)
    return next((p for p in policies if identity_key(p.name) == key), None)


# ---------------------------------------------------------------------------------------------- provider
class AlertPolicyProvider(AirProvider):
    def check(self, _olds: dict[str, Any], news: dict[str, Any]) -> CheckResult:
        inputs, failures = _check(news)
        return CheckResult(inputs, failures)

    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        name = news.get("name")
        if is_unknown(name) or identity_key(str(name)) != identity_key(str(olds.get("name") or "")):
            # A new name does not clash with the old one: create the new policy before removing the old.
            return DiffResult(changes=True, replaces=["name"], delete_before_replace=False)
        threat = news.get("threat_type")
        if is_unknown(threat) or (threat is not None and olds.get("threat_type") is not None
                                  and str(threat).lower() != str(olds["threat_type"]).lower()):
            # Same name, so the old policy must go first.
            return DiffResult(changes=True, replaces=["threat_type"], delete_before_replace=True)
        if any(is_unknown(news.get(prop)) for prop in SETTINGS):
            return DiffResult(changes=True)
        changed = _changed(settings_of(olds), settings_of(news))
        return DiffResult(changes=bool(changed), replaces=[])

    def create(self, props: dict[str, Any]) -> CreateResult:
        name = str(props["name"]).strip()
        desired = settings_of(props)
        with failures_named(KIND, name, "create"):
            existing = _find(name)
            if existing is not None and existing.is_built_in:
                policy = _adopt_built_in(existing, desired, props)
            elif existing is not None:
                policy = _adopt_custom(existing, desired, props)
            else:
                policy = _create_custom(name, desired)
            return CreateResult(policy.immutable_id, _outputs(props, policy, desired))

    def read(self, id_: str, props: dict[str, Any]) -> ReadResult:
        name = str(props.get("name") or "")
        with failures_named(KIND, name or id_, "read"):
            policy = _find(name, id_, by_name=bool(props.get("is_built_in", True)))
        if policy is None:
            return ReadResult(None, {})
        # ``Get-ProtectionAlert`` has no Description property (o365-policies.md §3.4): what was set stays as
        # last written, since it cannot be observed.
        unobservable = AlertPolicySettings(description=props.get("description")) \
            if policy.settings.description is None else AlertPolicySettings()
        outputs = _outputs(props, policy, unobservable)
        keep = BUILT_IN_EDITABLE if policy.is_built_in else set(SETTINGS)
        inputs = {k: v for k, v in outputs.items() if k in keep or k in ("name", "adopt_existing")}
        return ReadResult(id_, outputs, inputs)

    def update(self, id_: str, olds: dict[str, Any], news: dict[str, Any]) -> UpdateResult:
        name = str(news["name"]).strip()
        desired = settings_of(news)
        with failures_named(KIND, name, "update"):
            identity = str(olds.get("service_name") or olds.get("name"))
            changed = _changed(settings_of(olds), desired)
            if olds.get("is_built_in"):
                _refuse_not_editable(name, news)
                _set_built_in(identity, desired, changed)
            else:
                context.current().alert_policies.update(identity, desired, changed)
        outputs = {**olds, **{k: (list(v) if k in LIST_FIELDS else v) for k, v in desired.given().items()}}
        outputs["name"], outputs["adopt_existing"] = news.get("name"), bool(news.get("adopt_existing"))
        return UpdateResult(outputs)

    def delete(self, _id: str, props: dict[str, Any]) -> None:
        if props.get("is_built_in"):
            LOG.info("built-in alert policy '%s' is no longer managed; left as it is", props.get("name"))
            return  # built-ins are never removed (contract)
        with failures_named(KIND, props.get("name"), "delete"):
            client = context.current().alert_policies
            identity = str(props.get("service_name") or props.get("name"))
            current = client.get(identity)
            if current is None:
                return
            if current.immutable_id.lower() != str(_id).lower():
                LOG.warning("alert policy '%s' now belongs to another object (%s); not removing it", identity,
                            current.immutable_id)
                return
            client.remove(identity)


# ---------------------------------------------------------------------------------------------- steps
def _refuse_not_editable(name: str, props: dict[str, Any]) -> None:
    not_editable = _not_editable(props)
    if not_editable:
        raise AlertPolicyError(
            f"'{name}' is a built-in alert policy: only enabled, notify_users, notification_enabled and the "
            f"notify_user_throttle settings can be set on it; remove {', '.join(not_editable)} from the resource."
        )


def _set_built_in(identity: str, desired: AlertPolicySettings, changed: set[str]) -> None:
    try:
        context.current().alert_policies.update(identity, desired, changed & BUILT_IN_EDITABLE)
    except ServiceError as exc:
        if not isinstance(exc, NotFound) and "ErrorRuleNotFoundException" not in str(exc):
            raise
        # Seen on real tenants: "There is no rule matching identity ..." for a built-in (wire-details C3).
        raise AlertPolicyError(
            f"the service would not edit built-in alert policy '{identity}': {exc}. Some tenants cannot change "
            "built-in policies with PowerShell; change it once in the Defender portal (Policies & rules > "
            "Alert policy), then run `pulumi refresh`."
        ) from None


def _adopt_built_in(policy: AlertPolicy, desired: AlertPolicySettings, props: dict[str, Any]) -> AlertPolicy:
    # Catalogued names were refused at check already; this catches built-ins the catalogue does not know.
    _refuse_not_editable(without_zwsp(policy.name), props)
    _set_built_in(policy.name, desired, _changed(policy.settings, desired))
    return policy


def _adopt_custom(policy: AlertPolicy, desired: AlertPolicySettings, props: dict[str, Any]) -> AlertPolicy:
    if not props.get("adopt_existing"):
        raise AlertPolicyError(
            f"an alert policy named '{policy.name}' already exists in the tenant. Set adopt_existing=True to "
            "take it over (it is then updated to match this resource), or choose another name."
        )
    if desired.threat_type and policy.settings.threat_type and \
            desired.threat_type.lower() != str(policy.settings.threat_type).lower():
        raise AlertPolicyError(
            f"cannot adopt '{policy.name}': its threat_type is {policy.settings.threat_type!r}, the resource asks "
            f"for {desired.threat_type!r}, and threat_type cannot be changed. Use the existing value or another name."
        )
    context.current().alert_policies.update(policy.name, desired, _changed(policy.settings, desired))
    return policy


def _create_custom(name: str, desired: AlertPolicySettings) -> AlertPolicy:
    catalogued = find_built_in(name)
    if catalogued is not None:
        raise AlertPolicyError(_missing_built_in(catalogued))
    missing = [prop for prop in NEW_REQUIRES if getattr(desired, prop) is None]
    if missing:
        raise AlertPolicyError(
            f"no alert policy named '{name}' exists, and creating one needs {', '.join(missing)} "
            "(New-ProtectionAlert requires Category, ThreatType and NotifyUser)."
        )
    client = context.current().alert_policies
    try:
        created = create_once(lambda: client.create(name, desired), lambda: client.get(name),
                              "New-ProtectionAlert")
    except LicenceRequired as exc:
        raise AlertPolicyError(
            f"{exc} This tenant cannot create aggregated alert policies: use aggregation_type='None' with an "
            "operation (threat_type='Activity', operations=[...]), or license Office 365 E5 / Microsoft 365 E5."
        ) from None
    # Reads right after New- can miss the policy for a while (§1.8): wait until it is visible, so the engine's
    # next read (refresh) finds it. Bounded, with backoff; if New- gave us the id, a slow replica is only a warning
    # (failing here would leave a policy the stack does not know about).
    try:
        return client.wait_until_visible(name)
    except ServiceError as exc:
        if created is not None and created.immutable_id:
            LOG.warning("%s", exc)
            return created
        raise AlertPolicyError(
            f"{exc} It was created by this run: once it is visible, run `pulumi up` again with adopt_existing=True."
        ) from None


def _missing_built_in(policy: BuiltInAlertPolicy) -> str:
    note = " Microsoft retired it in 2024 (MC822720)." if policy.retired else ""
    return (f"'{policy.display_name}' is a built-in alert policy ({policy.immutable_id}) but this tenant does not "
            f"have it, and built-in policies cannot be created.{note} Remove the resource or check the name.")

