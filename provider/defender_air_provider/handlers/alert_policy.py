"""``AlertPolicy``: an Office 365 alert policy (Security & Compliance ``*-ProtectionAlert``).

Built-in (system) policies are adopted, never created or removed; only the settings the portal lets you
change are sent to them. Custom policies are created, updated in place (only what changed) and removed.
The resource id is the policy's ImmutableId.

``ignore_missing`` (built-ins only): Microsoft removes built-ins now and then (docs/wire/security-compliance.md §5.5)
and has announced that the replaced ones "will eventually go away" (§3.5). Where the tenant lacks the built-in, create,
refresh and update write nothing and keep the resource with ``present=False`` and a warning; once the policy is there
again, refresh shows it and the next update applies the managed settings. Which names it may be used with:

* check refuses it only together with an argument that makes the policy a custom one (``severity``, ``category``,
  ..., ``adopt_existing``), which is certain without an API call. A name outside the shipped catalogue is accepted: the
  tenant may have built-ins the catalogue does not know (Microsoft adds new ones; §4.1 lists one seen elsewhere).
* create decides the rest from what the tenant has: an existing built-in is adopted as usual; an existing custom
  policy is refused (ignore_missing would hide that it is not a built-in); a name that neither exists nor is in the
  catalogue is refused too, since nothing shows it is a built-in (a typo would otherwise pass silently, and a custom
  policy would never be created). Only a catalogued built-in, whose ImmutableId is the same in every tenant (§5.1),
  is skipped at create.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pulumi.dynamic import CheckFailure, CheckResult, CreateResult, ReadResult, UpdateResult

from ..clients.alert_policies import BUILT_IN_EDITABLE, LIST_FIELDS, WIRE_NAMES, AlertPolicy, AlertPolicySettings
from ..core.errors import AlreadyExists, DefenderAirError, LicenceRequired, NotFound, ServiceError
from ..core.redaction import get_logger
from ..definitions.alert_policy import ALERT_POLICY
from ..definitions.enums import AlertAggregationType, AlertThreatType
from . import context
from .alert_policy_catalogue import BuiltInAlertPolicy, find_built_in, identity_key, replacement_of, without_zwsp
from .base import AirDiffResult, AirProvider, configuration_failures, create_once, failures_named
from .fields import changed_inputs, check_inputs, decode, replaced
from .values import is_address, is_unknown

LOG = get_logger()
KIND = ALERT_POLICY.name
SETTINGS = tuple(WIRE_NAMES)  # the service settings, in the definition's order
NEW_REQUIRES = ("category", "threat_type", "notify_users")  # New-ProtectionAlert's mandatory parameters
NEW_REQUIRES_WHY = "(New-ProtectionAlert requires Category, ThreatType and NotifyUser)"
BUILT_IN_ONLY = ", ".join(f.name for f in ALERT_POLICY.inputs if f.on_built_in and f.wire and f.name != "name")
INSTRUCTIONS = ("name", "adopt_existing", "ignore_missing")  # arguments that are not settings of the service


class AlertPolicyError(DefenderAirError):
    pass


# ---------------------------------------------------------------------------------------------- inputs
def _canonical_notify(value: str) -> str:
    return "TenantAdmins" if value.strip().lower() == "tenantadmins" else value.strip()


def settings_of(props: dict[str, Any]) -> AlertPolicySettings:
    """Checked inputs (or outputs) -> settings. Check normalised them; only engine floats are decoded here."""
    values = decode(ALERT_POLICY, props)
    return AlertPolicySettings(**{name: values.get(name) for name in SETTINGS if not is_unknown(values.get(name))})


def _changed(old: AlertPolicySettings, new: AlertPolicySettings) -> set[str]:
    """Settings given in ``new`` that differ from ``old`` (a setting not given is not managed)."""
    return set(changed_inputs(ALERT_POLICY, {k: _listed(k, v) for k, v in old.given().items()},
                              {k: _listed(k, v) for k, v in new.given().items()}, ignore=("name", "adopt_existing")))


def _listed(name: str, value: Any) -> Any:
    return list(value) if name in LIST_FIELDS and value is not None else value


# ---------------------------------------------------------------------------------------------- check
def _check(news: dict[str, Any], olds: dict[str, Any] | None = None) -> tuple[dict[str, Any], list[CheckFailure]]:
    inputs, failures = check_inputs(ALERT_POLICY, news)

    def fail(prop: str, reason: str) -> None:
        failures.append(CheckFailure(prop, reason))

    notify = inputs.get("notify_users")
    if isinstance(notify, list) and not any(f.property == "notify_users" for f in failures):
        for item in notify:
            if isinstance(item, str) and item.strip().lower() != "tenantadmins" and not is_address(item):
                fail("notify_users", f"notify_users: {item!r} is not an SMTP address or 'TenantAdmins'.")
        inputs["notify_users"] = [_canonical_notify(v) if isinstance(v, str) else v for v in notify]
        if not notify:
            fail("notify_users", "notify_users must name at least one recipient (an SMTP address or 'TenantAdmins'); "
                                 "leave it unset to keep the service's recipients.")

    # Cross-field rules of New-/Set-ProtectionAlert (docs/wire/security-compliance.md §3.1).
    # Unset aggregation_type / threat_type are not managed (New- defaults to SimpleAggregation), so only an explicit
    # conflicting value is refused.
    aggregation, threat = inputs.get("aggregation_type"), inputs.get("threat_type")
    simple = AlertAggregationType.SIMPLE_AGGREGATION.value
    for prop in ("threshold", "time_window"):
        if news.get(prop) is not None and isinstance(aggregation, str) and aggregation != simple:
            fail(prop, f"{prop} is only allowed with aggregation_type='SimpleAggregation', not '{aggregation}'.")
    if news.get("operations") and isinstance(threat, str) and threat != AlertThreatType.ACTIVITY.value:
        fail("operations", f"operations are only allowed with threat_type='Activity', not '{threat}'.")

    # A built-in policy from the shipped catalogue: only the portal-editable settings may be given.
    name = inputs.get("name")
    built_in = find_built_in(name) if isinstance(name, str) else None
    if built_in is not None:
        for prop in _not_editable(inputs):
            fail(prop, f"'{built_in.display_name}' is a built-in alert policy: only {BUILT_IN_ONLY} can be set on it, "
                       f"not {prop}.")
    elif inputs.get("ignore_missing") is True and _not_editable(inputs):
        # Not catalogued: it may still be a built-in the catalogue does not know (decided at create), but these
        # arguments make it a custom policy, which ignore_missing would silently never create.
        fail("ignore_missing", f"ignore_missing is for built-in alert policies only, and "
                               f"{', '.join(_not_editable(inputs))} can only be set on a custom policy: remove "
                               "ignore_missing, or those arguments if the policy is a built-in.")
    elif _creates_custom(inputs, olds or {}):
        missing = _missing_for_new(inputs.get)
        if missing:
            fail(missing[0], f"'{name}' is not a built-in alert policy, so create makes a new custom policy, which "
                             f"needs {', '.join(missing)} {NEW_REQUIRES_WHY}. Set them, or set adopt_existing=True to "
                             "take over a custom policy that already exists under this name.")
    return inputs, failures


def _missing_for_new(value_of: Callable[[str], Any]) -> list[str]:
    """The arguments New-ProtectionAlert requires that are not given (at check: the inputs; at create: the settings)."""
    return [prop for prop in NEW_REQUIRES if value_of(prop) is None]


def _creates_custom(inputs: dict[str, Any], olds: dict[str, Any]) -> bool:
    """Whether create will surely make a new custom policy, known without an API call: the name is not a catalogued
    built-in (checked by the caller), nothing says it exists already (``adopt_existing``) or is a built-in the catalogue
    lacks (``ignore_missing``), and the resource does not exist yet (no old inputs under the same name: an existing
    policy may leave these unset, which keeps the service's values). Unknown values (preview) never decide."""
    name = inputs.get("name")
    if not isinstance(name, str) or not name.strip():
        return False
    if any(is_unknown(inputs.get(flag)) or inputs.get(flag) is True for flag in ("adopt_existing", "ignore_missing")):
        return False
    old_name = olds.get("name")
    return not (isinstance(old_name, str) and identity_key(old_name) == identity_key(name))


def _not_editable(props: dict[str, Any]) -> list[str]:
    """Arguments given that a built-in policy does not accept (``adopt_existing`` counts only when true)."""
    return [f.name for f in ALERT_POLICY.inputs if not f.on_built_in and props.get(f.name) is not None
            and not is_unknown(props.get(f.name)) and props.get(f.name) != f.default]


# ---------------------------------------------------------------------------------------------- outputs
def _outputs(props: dict[str, Any], policy: AlertPolicy, desired: AlertPolicySettings) -> dict[str, Any]:
    """Managed settings as asked; the rest as the service has them (visible, not managed)."""
    live = policy.settings.given()
    merged = {**{name: live.get(name) for name in SETTINGS}, **desired.given()}
    out: dict[str, Any] = {name: (list(v) if name in LIST_FIELDS and v is not None else v)
                           for name, v in merged.items()}
    out["name"] = props.get("name") or policy.name
    out["adopt_existing"] = bool(props.get("adopt_existing"))
    out["ignore_missing"] = bool(props.get("ignore_missing"))
    out["is_built_in"] = policy.is_built_in
    out["present"] = True
    out["policy_id"] = policy.immutable_id
    out["service_name"] = policy.name  # exact, with any zero-width space: what later calls use
    return out


def _absent_outputs(props: dict[str, Any], policy_id: str, service_name: str) -> dict[str, Any]:
    """A built-in the tenant lacks, kept with ignore_missing: the managed settings as given (nothing was written)."""
    out: dict[str, Any] = {name: _listed(name, props.get(name)) for name in SETTINGS}
    out["name"] = props.get("name")
    out["adopt_existing"] = bool(props.get("adopt_existing"))
    out["ignore_missing"] = bool(props.get("ignore_missing"))
    out["is_built_in"] = True
    out["present"] = False
    out["policy_id"] = policy_id
    out["service_name"] = service_name
    return out


def _inputs_of(outputs: dict[str, Any]) -> dict[str, Any]:
    """What refresh reports as the inputs: the settings a resource of this kind can manage, and the instructions."""
    keep = BUILT_IN_EDITABLE if outputs.get("is_built_in") else set(SETTINGS)
    return {k: v for k, v in outputs.items() if k in keep or k in INSTRUCTIONS}


def live_inputs(policy: AlertPolicy) -> dict[str, Any]:
    """The inputs of a resource that manages ``policy`` exactly as the service has it: what refresh reports (the
    settings this kind of policy accepts, as read), with the instructions at their defaults. ``defender-air export``
    declares these."""
    return _inputs_of(_outputs({"name": policy.name}, policy, AlertPolicySettings()))


def _ids(name: str, policy_id: str | None) -> list[str]:
    """The ImmutableIds that name the policy: the resource's, then the catalogue's for a built-in."""
    catalogued = find_built_in(name)
    return list(dict.fromkeys(i for i in (policy_id, catalogued.immutable_id if catalogued else None) if i))


def _find(name: str, policy_id: str | None = None, *, by_name: bool = True) -> AlertPolicy | None:
    """In the (cached, shared) list: built-ins by ImmutableId first (stable across renames,
    docs/wire/security-compliance.md §5.1), then by name, ignoring case and a trailing zero-width space (§5.4).
    ``by_name=False`` for a managed custom policy: another policy that took its name is not ours. For refresh, where
    one list serves every resource; single steps use ``_lookup``."""
    policies = context.current().alert_policies.list()
    for wanted in _ids(name, policy_id):
        for policy in policies:
            if policy.immutable_id.lower() == wanted.lower():
                return policy
    if not by_name:
        return None
    key = identity_key(name)
    return next((p for p in policies if identity_key(p.name) == key), None)


def _lookup(name: str, policy_id: str | None = None) -> AlertPolicy | None:
    """One policy for one step, at a cost that does not grow with the tenant: single-object reads by ImmutableId, then
    by exact name (``Get-ProtectionAlert -Identity`` takes the GUID or the name, docs/wire/security-compliance.md
    §3.2). A catalogued built-in is read by its exact service name, trailing zero-width space included (§5.4), so two
    reads settle it. Otherwise, when they all miss, the list answers for a name written without the service's
    trailing zero-width space or another spelling the service's own matching does not accept."""
    client = context.current().alert_policies
    catalogued = find_built_in(name)
    for identity in (*_ids(name, policy_id), catalogued.name if catalogued else name):
        found = client.get(identity)
        if found is not None:
            return found
    return None if catalogued else _find(name, policy_id)


def _surely_new(name: str, props: dict[str, Any]) -> bool:
    """Create can only mean a new custom policy (``_creates_custom`` with no old state, not a catalogued built-in, and
    what New-ProtectionAlert requires is given): it is sent without reading first, since the service refuses a name
    that is taken."""
    return find_built_in(name) is None and _creates_custom(props, {}) and not _missing_for_new(props.get)


def _skips_missing(props: dict[str, Any]) -> bool:
    """A built-in kept while the tenant lacks it (ignore_missing): refresh and update never report it gone."""
    return props.get("ignore_missing") is True and props.get("is_built_in") is True


# ---------------------------------------------------------------------------------------------- provider
class AlertPolicyProvider(AirProvider):
    def check(self, _olds: dict[str, Any], news: dict[str, Any]) -> CheckResult:
        inputs, failures = _check(news, _olds)
        return CheckResult(inputs, configuration_failures(("tenant",)) + failures)

    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> AirDiffResult:
        changed = changed_inputs(ALERT_POLICY, olds, news, compare={
            # Built-in names may carry a trailing zero-width space on the service (docs/wire/security-compliance.md
            # §5.4); identity compares without it, case-insensitively.
            "name": lambda old, new: identity_key(str(old or "")) == identity_key(str(new)),
            # Compared only where the old value is known: an unset threat_type was never managed.
            "threat_type": lambda old, new: old is None or str(old).lower() == str(new).lower(),
            # Stored so that refresh knows whether a missing built-in is kept; state from before it existed means
            # False.
            "ignore_missing": lambda old, new: bool(old) == bool(new),
        }, ignore=("adopt_existing",))  # a create-time instruction: flipping it later changes nothing
        replaces = replaced(ALERT_POLICY, changed)
        # A new name does not clash with the old one: create the new policy before removing the old. With the same
        # name (a new threat_type only), the old policy must go first.
        return AirDiffResult(changed, replaces, delete_before_replace=bool(replaces) and "name" not in replaces)

    def create(self, props: dict[str, Any]) -> CreateResult:
        name = str(props["name"]).strip()
        desired = settings_of(props)
        with failures_named(KIND, name, "create"):
            if _surely_new(name, props):
                # One request instead of a read and a write: reading first would only tell what the service says
                # anyway when the name is taken (issue 11: creates must not cost a list each).
                try:
                    policy = _create_custom(name, desired)
                except AlreadyExists as exc:
                    policy = _adopt(_taken(name, exc), desired, props)  # refuses, as a read first would have
                return CreateResult(policy.immutable_id, _outputs(props, policy, desired))
            existing = _lookup(name)
            if props.get("ignore_missing") and (existing is None or not existing.is_built_in):
                catalogued = _skippable_built_in(name, existing)
                _warn_missing(name, catalogued, existing)
                return CreateResult(catalogued.immutable_id,
                                    _absent_outputs(props, catalogued.immutable_id, catalogued.name))
            policy = (_create_custom(name, desired, adopt=bool(props.get("adopt_existing"))) if existing is None
                      else _adopt(existing, desired, props))
            return CreateResult(policy.immutable_id, _outputs(props, policy, desired))

    def read(self, id_: str, props: dict[str, Any]) -> ReadResult:
        name = str(props.get("name") or "")
        with failures_named(KIND, name or id_, "read"):
            policy = _find(name, id_, by_name=bool(props.get("is_built_in", True)))
        if policy is not None and props.get("is_built_in") is True and not policy.is_built_in:
            policy = None  # a custom policy took the name of a built-in that is gone: not ours to manage
        if policy is None:
            if _skips_missing(props):
                _warn_missing(name, find_built_in(name), None)
                # As last seen (unmanaged settings included): nothing can be read.
                outputs = _absent_outputs(props, id_, str(props.get("service_name") or name))
                return ReadResult(id_, outputs, _inputs_of(outputs))
            return ReadResult(None, {})
        # ``Get-ProtectionAlert`` has no Description property (docs/wire/security-compliance.md §3.4): what was set
        # stays as last written, since it cannot be observed.
        unobservable = AlertPolicySettings(description=props.get("description")) \
            if policy.settings.description is None else AlertPolicySettings()
        outputs = _outputs(props, policy, unobservable)
        return ReadResult(id_, outputs, _inputs_of(outputs))

    def update(self, id_: str, olds: dict[str, Any], news: dict[str, Any]) -> UpdateResult:
        name = str(news["name"]).strip()
        desired = settings_of(news)
        with failures_named(KIND, name, "update"):
            identity = str(olds.get("service_name") or olds.get("name"))
            changed = _changed(settings_of(olds), desired)
            if olds.get("is_built_in"):
                _refuse_not_editable(name, news)
                if news.get("ignore_missing") or olds.get("present") is False:
                    return UpdateResult(_update_maybe_missing(id_, olds, news, desired))
                _set_built_in(identity, desired, changed)
            else:
                context.current().alert_policies.update(identity, desired, changed)
        outputs = {**olds, **{k: (list(v) if k in LIST_FIELDS else v) for k, v in desired.given().items()}}
        outputs["name"], outputs["adopt_existing"] = news.get("name"), bool(news.get("adopt_existing"))
        outputs["ignore_missing"], outputs["present"] = bool(news.get("ignore_missing")), True
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
def _update_maybe_missing(id_: str, olds: dict[str, Any], news: dict[str, Any],
                          desired: AlertPolicySettings) -> dict[str, Any]:
    """Update a built-in that may be missing (ignore_missing, or missing at the last read): read it first.

    Still missing: nothing is written (with ignore_missing) or it fails as create does. There (again): the managed
    settings are compared with the live ones, so a policy that reappeared gets all of them.
    """
    name = str(news["name"]).strip()
    policy = _lookup(name, id_)
    if policy is not None and not policy.is_built_in:
        policy = None  # a custom policy of that name is not the built-in
    if policy is None:
        catalogued = find_built_in(name)
        if not news.get("ignore_missing"):
            raise AlertPolicyError(_missing_built_in(name, catalogued))
        _warn_missing(name, catalogued, None)
        return _absent_outputs(news, id_, str(olds.get("service_name") or name))
    _set_built_in(policy.name, desired, _changed(policy.settings, desired))
    return _outputs(news, policy, desired)


def _skippable_built_in(name: str, existing: AlertPolicy | None) -> BuiltInAlertPolicy:
    """The catalogued built-in that create may skip (ignore_missing), or an error saying why it may not."""
    catalogued = find_built_in(name)
    if catalogued is not None:
        return catalogued  # ImmutableId the same in every tenant (docs/wire/security-compliance.md §5.1)
    if existing is not None:
        raise AlertPolicyError(
            f"'{existing.name}' is a custom alert policy, and ignore_missing is for built-in policies only. Remove "
            "ignore_missing (and set adopt_existing=True to take the custom policy over).")
    raise AlertPolicyError(
        f"no alert policy named '{name}' exists, and it is not a built-in policy this library knows, so "
        "ignore_missing cannot tell a retired built-in from a misspelt name. Check the name "
        "(air.BUILT_IN_ALERT_POLICIES lists the known built-ins), or remove the resource.")


def _warn_missing(name: str, catalogued: BuiltInAlertPolicy | None, custom: AlertPolicy | None) -> None:
    display = catalogued.display_name if catalogued is not None else without_zwsp(name.strip())
    why = "Microsoft may have retired it"
    if catalogued is not None and catalogued.retired:
        why = "Microsoft retired it in 2024 (MC822720)"
    elif catalogued is not None and (replacement := replacement_of(catalogued)) is not None:
        why = f"Microsoft replaced it with '{replacement.display_name}' and may have retired it"
    taken = f" (the custom policy '{custom.name}' of that name is not managed)" if custom is not None else ""
    LOG.warning("built-in alert policy '%s' is not in this tenant: %s%s. Nothing was changed (ignore_missing=True); "
                "the resource shows present=False until the policy is there.", display, why, taken)


def _refuse_not_editable(name: str, props: dict[str, Any]) -> None:
    not_editable = _not_editable(props)
    if not_editable:
        raise AlertPolicyError(
            f"'{name}' is a built-in alert policy: only {BUILT_IN_ONLY} can be set on it; remove "
            f"{', '.join(not_editable)} from the resource."
        )


def _set_built_in(identity: str, desired: AlertPolicySettings, changed: set[str]) -> None:
    try:
        context.current().alert_policies.update(identity, desired, changed & BUILT_IN_EDITABLE)
    except NotFound as exc:
        # Seen on real tenants: "There is no rule matching identity ..." for a built-in
        # (docs/wire/security-compliance.md §6.1).
        raise AlertPolicyError(
            f"the service would not edit built-in alert policy '{identity}': {exc}. Some tenants cannot change "
            "built-in policies with PowerShell; change it once in the Defender portal (Policies & rules > "
            "Alert policy), then run `pulumi refresh`."
        ) from exc


def _taken(name: str, refused: AlreadyExists) -> AlertPolicy:
    """The policy that holds ``name``, after New-ProtectionAlert refused it as taken."""
    existing = _lookup(name)
    if existing is None:
        raise AlertPolicyError(
            f"New-ProtectionAlert refused '{name}' ({refused}), but no policy of that name can be read yet (reads can "
            "lag behind writes, docs/wire/invoke-command.md §6.5). Run `pulumi up` again in a few minutes; set "
            "adopt_existing=True if the policy is one you want to take over.") from refused
    return existing


def _adopt(existing: AlertPolicy, desired: AlertPolicySettings, props: dict[str, Any]) -> AlertPolicy:
    """Create of a name the tenant already has: a built-in is adopted; a custom policy only with adopt_existing."""
    if existing.is_built_in:
        return _adopt_built_in(existing, desired, props)
    return _adopt_custom(existing, desired, props)


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


def _settled_as_ours(policy: AlertPolicy | None, desired: AlertPolicySettings, adopt: bool) -> AlertPolicy | None:
    """A policy found under the name after New-ProtectionAlert's answer was lost: ours only if it holds what was sent.

    The lost call may have been refused because someone else's policy had the name; a read then finds that policy,
    which must not be taken over silently (the create path sends New- without reading first). ``description`` is not
    compared: Get-ProtectionAlert does not return it (docs/wire/security-compliance.md §3.4)."""
    if policy is None or adopt:
        return policy
    differs = sorted(_changed(policy.settings, desired) - {"description"})
    if differs or policy.is_built_in:
        raise AlertPolicyError(
            f"New-ProtectionAlert got no answer, and the alert policy now named '{policy.name}' is not the one it "
            f"sent ({', '.join(differs) if differs else 'a built-in policy'} differ): a policy of that name already "
            "existed. Set adopt_existing=True to take it over (it is then updated to match this resource), or choose "
            "another name.")
    return policy


def _create_custom(name: str, desired: AlertPolicySettings, adopt: bool = False) -> AlertPolicy:
    catalogued = find_built_in(name)
    if catalogued is not None:
        raise AlertPolicyError(_missing_built_in(name, catalogued))
    missing = _missing_for_new(lambda prop: getattr(desired, prop))
    if missing:
        raise AlertPolicyError(
            f"no alert policy named '{name}' exists, and creating one needs {', '.join(missing)} {NEW_REQUIRES_WHY}."
        )
    client = context.current().alert_policies
    settled: list[bool] = []  # set when the answer to New- was lost and a read settled it

    def find() -> AlertPolicy | None:
        settled.append(True)
        return _settled_as_ours(client.get(name), desired, adopt)

    try:
        created = create_once(lambda: client.create(name, desired), find, "New-ProtectionAlert")
    except LicenceRequired as exc:
        raise AlertPolicyError(
            f"{exc} This tenant cannot create aggregated alert policies: use aggregation_type='None' with an "
            "operation (threat_type='Activity', operations=[...]), or license Office 365 E5 / Microsoft 365 E5."
        ) from exc
    # Reads right after New- can miss the policy for a while (docs/wire/invoke-command.md §6.5): wait until it is
    # visible, so the engine's next read (refresh) finds it. Bounded, with backoff; if New- gave us the id, a slow
    # replica is only a warning (failing here would leave a policy the stack does not know about).
    try:
        visible = client.wait_until_visible(name)
    except ServiceError as exc:
        if created is not None and created.immutable_id:
            LOG.warning("%s", exc)
            return created
        raise AlertPolicyError(
            f"{exc} It was created by this run: once it is visible, run `pulumi up` again with adopt_existing=True."
        ) from exc
    if settled:  # a retried New- that said "already exists" also counts as ours only when it holds what was sent
        _settled_as_ours(visible, desired, adopt)
    return visible


def _missing_built_in(name: str, policy: BuiltInAlertPolicy | None) -> str:
    if policy is None:
        return (f"built-in alert policy '{without_zwsp(name)}' is no longer in this tenant, and built-in policies "
                "cannot be created. Set ignore_missing=True to keep the resource while the tenant lacks it, or remove "
                "the resource.")
    replacement = replacement_of(policy)
    note = (" Microsoft retired it in 2024 (MC822720)." if policy.retired else
            f" Microsoft replaced it with '{replacement.display_name}'." if replacement is not None else "")
    return (f"'{policy.display_name}' is a built-in alert policy ({policy.immutable_id}) but this tenant does not "
            f"have it, and built-in policies cannot be created.{note} Set ignore_missing=True to skip it where a "
            "tenant lacks it, or remove the resource or check the name.")

