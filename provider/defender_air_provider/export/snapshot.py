"""Read everything ``defender-air export`` declares: one list call per kind, then the Entra group names.

Reads only, through the provider's own clients (``handlers/context.py``'s ``ProviderContext``), so export has the
provider's configuration, retries and error messages:

* alert policies: one ``Get-ProtectionAlert`` (docs/wire/security-compliance.md §3.1);
* preset rules: one ``Get-EOPProtectionPolicyRule`` and one ``Get-ATPProtectionPolicyRule``, each holding both presets'
  rules (docs/wire/exchange-online.md §3);
* device groups: one ``GET machine_groups`` (docs/wire/defender-portal.md §2), the default group included;
* advanced features: one ``GET GetAdvancedFeaturesSetting`` (docs/wire/defender-portal.md §6.2);
* Microsoft Graph: one ``GET groups?$filter=displayName eq '…'`` per distinct user-group name the device groups
  carry (docs/wire/microsoft-graph.md), to name a group only where its name is unique; and, only for an assigned
  group whose name no Entra group has any more, one ``GET groups/{id}`` to tell a rename from a deletion.

The four kinds are read in parallel. Any failed read fails the whole snapshot (nothing is written from half a
tenant), except one: a tenant without Defender for Office 365 refuses ``Get-ATPProtectionPolicyRule``, which is an
answer about the tenant, and the preset assignments are then exported without the ATP rule.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TypeVar

from ..clients.advanced_features import AdvancedFeatures
from ..clients.alert_policies import AlertPolicy
from ..clients.device_groups import Groups, MachineGroup, UserGroup
from ..clients.presets import PresetRule
from ..core.errors import (
    ConfigurationError,
    DefenderAirError,
    LicenceRequired,
    NotFound,
    PermissionDenied,
    ServiceError,
)
from ..handlers.context import ProviderContext

T = TypeVar("T")
Progress = Callable[[str, str], None]  # (kind, what was read), one call per kind


class ExportReadError(DefenderAirError):
    """A read failed: names the backend, what was being read and what to do; nothing was written."""


@dataclass(frozen=True)
class EntraGroup:
    """What Microsoft Graph says of one group assigned to a device group."""

    object_id: str
    portal_name: str  # the name the portal stored with the assignment (may be stale)
    same_name: tuple[UserGroup, ...]  # every Entra group that has ``portal_name`` now (at most five)
    exists: bool | None = None  # looked up by id only when no group has the portal's name: None = not looked up
    current_name: str | None = None  # its name in Entra, when looked up by id

    @property
    def unique_name(self) -> str | None:
        """The display name to declare it by: only where exactly this group has it."""
        if len(self.same_name) == 1 and self.same_name[0].object_id.lower() == self.object_id.lower():
            return self.portal_name
        return None


@dataclass(frozen=True)
class Snapshot:
    """The tenant's AIR configuration as read."""

    tenant: str  # the tenant id (the emulator's, under the emulator)
    emulated: bool
    alert_policies: tuple[AlertPolicy, ...]
    eop_rules: dict[str, PresetRule]  # preset -> its EOP rule (absent: the preset has none)
    atp_rules: dict[str, PresetRule]
    atp_unreadable: str | None  # why the ATP rules could not be read (no Defender for Office 365), or None
    device_groups: Groups
    advanced_features: AdvancedFeatures
    entra_groups: dict[str, EntraGroup]  # object id (lower-case) -> what Graph says of it

    def entra_group(self, group: UserGroup) -> EntraGroup:
        return self.entra_groups[group.object_id.lower()]


def read_tenant(ctx: ProviderContext, progress: Progress | None = None) -> Snapshot:
    """Read the tenant (see the module docstring); ``progress`` hears one line per kind as it completes."""
    report = _locked(progress or (lambda kind, text: None))
    with ThreadPoolExecutor(max_workers=4, thread_name_prefix="export") as pool:
        policies = pool.submit(_read, "alert policies", "Security & Compliance", "Get-ProtectionAlert",
                               lambda: tuple(ctx.alert_policies.list()))
        presets = pool.submit(_read_presets, ctx)
        groups = pool.submit(_read, "device groups", "Defender portal", "GET machine_groups",
                             lambda: ctx.device_groups.fresh())
        features = pool.submit(_read, "endpoint advanced features", "Defender portal",
                               "GET GetAdvancedFeaturesSetting", lambda: ctx.advanced_features.read())
        # Results in a fixed order, so the first failure reported is always the same one.
        alert_policies = policies.result()
        built_in = sum(1 for p in alert_policies if p.is_built_in)
        report("alert policies", f"{built_in} built-in, {len(alert_policies) - built_in} custom")
        eop, atp, atp_unreadable = presets.result()
        report("preset rules", f"{_presets_text(eop)}" + (f"; ATP rules not read ({atp_unreadable})"
                                                          if atp_unreadable else ""))
        device_groups = groups.result()
        report("device groups", f"{device_groups.count()} groups and the default group")
        advanced_features = features.result()
        known = sum(1 for v in advanced_features.toggles().values() if v is not None)
        report("endpoint advanced features", f"{known} toggles")
    entra = _read_entra_groups(ctx, device_groups)
    if entra:
        report("Entra groups", f"{len(entra)} assigned to device groups")
    return Snapshot(
        tenant=ctx.settings.require_tenant_id(), emulated=ctx.settings.emulated, alert_policies=alert_policies,
        eop_rules=eop, atp_rules=atp, atp_unreadable=atp_unreadable, device_groups=device_groups,
        advanced_features=advanced_features, entra_groups=entra,
    )


def _locked(progress: Progress) -> Progress:
    lock = threading.Lock()

    def report(kind: str, text: str) -> None:
        with lock:
            progress(kind, text)

    return report


def _presets_text(eop: dict[str, PresetRule]) -> str:
    if not eop:
        return "no preset turned on"
    return ", ".join(f"{preset} {'on' if rule.enabled else 'off'}" for preset, rule in sorted(eop.items()))


def _read(kind: str, backend: str, call: str, read: Callable[[], T]) -> T:
    try:
        return read()
    except ConfigurationError as exc:
        # Export reads no stack config: the settings come from the environment (docs/export.md), so a message that
        # says `pulumi config set` needs the environment variable named.
        where = ("put that cookie string in the environment variable DEFENDER_AIR_PORTAL_SESSION instead "
                 "(DEFENDER_AIR_PORTAL_SESSION='sccauth=<value>; XSRF-TOKEN=<value>')" if backend == "Defender portal"
                 else "set the environment variable instead")
        raise ExportReadError(f"cannot read {kind} from {backend}: {exc} Export reads no stack config: {where} "
                              "(docs/export.md).") from exc
    except DefenderAirError as exc:
        raise _failed(f"reading {kind} from {backend} ({call})", exc) from exc


def _failed(what: str, exc: DefenderAirError) -> ExportReadError:
    """The error for a failed read. A refusal or a throttled call already says what to do; a service's own failure
    (HTTP 5xx) says nothing of the kind, so this does."""
    advice = ""
    if isinstance(exc, ServiceError) and exc.status is not None and exc.status >= 500:
        advice = (" A service error (HTTP 5xx) usually passes: run the export again in a few minutes; if it keeps "
                  "failing, check the service's health in the Microsoft 365 admin center (Health > Service health).")
    return ExportReadError(f"{what} failed: {exc}{advice}")


def _read_presets(ctx: ProviderContext) -> tuple[dict[str, PresetRule], dict[str, PresetRule], str | None]:
    eop = _read("preset rules", "Exchange Online", "Get-EOPProtectionPolicyRule", lambda: ctx.presets.rules("eop"))
    try:
        atp = ctx.presets.rules("atp")
    except (PermissionDenied, LicenceRequired) as exc:
        # The cmdlet belongs to Defender for Office 365: a tenant without it refuses the call. Where the real cause
        # is a missing role instead, the comment in the program and the line on stderr say so.
        return eop, {}, f"Get-ATPProtectionPolicyRule was refused: {exc.__class__.__name__}"
    except DefenderAirError as exc:
        raise _failed("reading preset rules from Exchange Online (Get-ATPProtectionPolicyRule)", exc) from exc
    return eop, atp, None


def _read_entra_groups(ctx: ProviderContext, groups: Groups) -> dict[str, EntraGroup]:
    """Every group assigned to a device group (the default group included): who else has its portal name and, where
    nobody has it any more, whether the group still exists."""
    # One group may be assigned to several device groups, and the portal stores a name with each assignment (the
    # group's name then: a renamed group shows its old name on older assignments).
    assigned: dict[str, list[UserGroup]] = {}
    for item in groups.items:
        for user_group in MachineGroup(item).user_groups:
            assigned.setdefault(user_group.object_id.lower(), []).append(user_group)
    if not assigned:
        return {}
    names = {g.display_name for same in assigned.values() for g in same if g.display_name.strip()}
    named = _read("Entra group names", "Microsoft Graph", "GET groups?$filter=displayName eq …",
                  lambda: ctx.entra_groups.named(names))
    found: dict[str, EntraGroup] = {}
    for key in sorted(assigned):
        # Which stored name to go by, never the portal's listing order (the output must not depend on it): a name
        # only this group has in Entra, else one some Entra group has, else the first.
        candidates = [EntraGroup(min(g.object_id for g in assigned[key]), name, tuple(named.get(name, ())))
                      for name in sorted({g.display_name for g in assigned[key]})]
        entry = min(candidates, key=lambda c: (c.unique_name is None, not c.same_name))
        if not any(g.object_id.lower() == key for g in entry.same_name):
            entry = _by_id(ctx, entry)
        found[key] = entry
    return found


def _by_id(ctx: ProviderContext, entry: EntraGroup) -> EntraGroup:
    """No group has the portal's name (renamed or deleted, or no name stored): ask Graph for the group itself."""
    try:
        [group] = ctx.entra_groups.resolve([entry.object_id])
    except NotFound:
        return EntraGroup(entry.object_id, entry.portal_name, entry.same_name, exists=False)
    except DefenderAirError as exc:
        raise _failed(f"reading Entra group {entry.object_id} from Microsoft Graph (GET groups/{{id}})", exc) from exc
    return EntraGroup(entry.object_id, entry.portal_name, entry.same_name, exists=True,
                      current_name=group.display_name or None)
