"""Office 365 alert policies over the Security & Compliance admin API (``*-ProtectionAlert``).

Facts: docs/wire/security-compliance.md §3. ``Name`` and ``ThreatType`` cannot be changed by ``Set-ProtectionAlert``;
system rules (``IsSystemRule``) accept only ``Disabled``, ``NotifyUser``, ``NotificationEnabled`` and the throttle
settings (docs/wire/security-compliance.md §3.3, §6). Right after ``New-ProtectionAlert`` a read can miss the new policy
for a while (docs/wire/invoke-command.md §6.5).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import tenacity

from ..core.backoff import ALERT_POLICY_VISIBLE
from ..core.errors import NotFound, ServiceError
from ..definitions.alert_policy import ALERT_POLICY
from ..definitions.fields import Field, Kind
from .invoke_command import InvokeCommandClient

# The settings the service stores: every argument with a cmdlet parameter, except the identity (``Name`` cannot be
# changed by Set-ProtectionAlert). Names, kinds and what a built-in accepts come from the definition.
SETTINGS: tuple[Field, ...] = tuple(f for f in ALERT_POLICY.inputs if f.wire and f.name != "name")
WIRE_NAMES: dict[str, str] = {f.name: str(f.wire) for f in SETTINGS}
# What Set-ProtectionAlert may change on a built-in policy (docs/wire/security-compliance.md
# docs/wire/security-compliance.md §3.3).
BUILT_IN_EDITABLE = frozenset(f.name for f in SETTINGS if f.on_built_in)
LIST_FIELDS = frozenset(f.name for f in SETTINGS if f.kind is Kind.STRING_LIST)
INT_FIELDS = frozenset(f.name for f in SETTINGS if f.kind is Kind.INT)


class AlertPolicySettings:
    """The settings we manage, by argument name; a setting absent (or None) is not given / not managed."""

    __slots__ = ("_values",)

    def __init__(self, **values: Any) -> None:
        unknown = set(values) - set(WIRE_NAMES)
        if unknown:
            raise TypeError(f"not alert policy settings: {sorted(unknown)}")
        self._values: dict[str, Any] = {
            name: tuple(value) if name in LIST_FIELDS else value
            for name, value in values.items() if value is not None
        }

    def __getattr__(self, name: str) -> Any:
        if name in WIRE_NAMES:
            return self._values.get(name)
        raise AttributeError(name)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, AlertPolicySettings) and self._values == other._values

    def __hash__(self) -> int:
        return hash(tuple(sorted(self._values.items())))

    def __repr__(self) -> str:
        return f"AlertPolicySettings({self._values!r})"

    def given(self) -> dict[str, Any]:
        return dict(self._values)

    def to_parameters(self, only: set[str] | frozenset[str] | None = None) -> dict[str, Any]:
        params: dict[str, Any] = {}
        for name, value in self._values.items():
            if only is not None and name not in only:
                continue
            if name == "enabled":
                params["Disabled"] = not value  # inverted on the wire: Disabled = not enabled
            elif name in LIST_FIELDS:
                params[WIRE_NAMES[name]] = list(value)
            else:
                params[WIRE_NAMES[name]] = value
        return params

    @classmethod
    def from_wire(cls, obj: dict[str, Any]) -> AlertPolicySettings:
        values: dict[str, Any] = {}
        for name, wire in WIRE_NAMES.items():
            raw = obj.get(wire)
            if name == "enabled":
                values[name] = not bool(raw)
            elif name in LIST_FIELDS:
                values[name] = tuple(str(v) for v in raw) if isinstance(raw, list) else ()
            elif name in INT_FIELDS:
                values[name] = int(raw) if isinstance(raw, (int, float)) and not isinstance(raw, bool) else None
            else:
                values[name] = raw
        return cls(**values)


@dataclass(frozen=True)
class AlertPolicy:
    """A policy as ``Get-ProtectionAlert`` returns it."""

    name: str  # exact, with any trailing zero-width space
    immutable_id: str
    is_built_in: bool
    settings: AlertPolicySettings

    @classmethod
    def from_wire(cls, obj: dict[str, Any]) -> AlertPolicy:
        return cls(
            name=str(obj.get("Name") or ""),
            immutable_id=str(obj.get("ImmutableId") or obj.get("Guid") or obj.get("ExchangeObjectId") or ""),
            is_built_in=bool(obj.get("IsSystemRule")),
            settings=AlertPolicySettings.from_wire(obj),
        )


class AlertPoliciesClient:
    """Alert policy calls plus a short-lived, shared list cache.

    A refresh of many policies reads the whole list once per ``list_ttl`` window, shared by the gRPC worker
    threads (one fetch at a time; the others wait for it); any write of this process invalidates it.
    """

    def __init__(self, invoke: InvokeCommandClient, *, list_ttl: float = 15.0,
                 clock: Callable[[], float] = time.monotonic,
                 visibility_attempts: int = ALERT_POLICY_VISIBLE.reads,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        self._invoke = invoke
        self._ttl = list_ttl
        self._clock = clock
        self._lock = threading.Lock()
        self._cached: tuple[float, list[AlertPolicy]] | None = None
        self._visibility_attempts = visibility_attempts
        self._sleep = sleep

    # ----------------------------------------------------------------- reads
    def list(self) -> list[AlertPolicy]:
        with self._lock:
            if self._cached is not None and self._clock() - self._cached[0] < self._ttl:
                return self._cached[1]
            result = self._invoke.invoke("Get-ProtectionAlert", {}, idempotent=True)
            policies = [AlertPolicy.from_wire(obj) for obj in result.values]
            self._cached = (self._clock(), policies)
            return policies

    def get(self, identity: str) -> AlertPolicy | None:
        """One policy by exact name or GUID, uncached; None when the service says it does not exist."""
        try:
            result = self._invoke.invoke("Get-ProtectionAlert", {"Identity": identity}, idempotent=True,
                                         target=identity)
        except NotFound:
            return None
        return AlertPolicy.from_wire(result.values[0]) if result.values else None

    def wait_until_visible(self, identity: str) -> AlertPolicy:
        """Right after New-, reads can 404 for a while (docs/wire/invoke-command.md §6.5): retry with backoff, bounded,
        no fixed sleep."""
        retrying = tenacity.Retrying(
            stop=tenacity.stop_after_attempt(self._visibility_attempts),
            wait=ALERT_POLICY_VISIBLE.wait(),
            retry=tenacity.retry_if_result(lambda found: found is None),
            sleep=self._sleep,
        )
        try:
            found = retrying(self.get, identity)
        except tenacity.RetryError:
            found = None
        if found is None:
            raise ServiceError(
                f"Security & Compliance: alert policy '{identity}' was created but is still not visible after "
                f"{self._visibility_attempts} reads; run `pulumi refresh` in a few minutes (replication lag)."
            )
        return found

    # ----------------------------------------------------------------- writes
    def create(self, name: str, settings: AlertPolicySettings) -> AlertPolicy | None:
        """New-ProtectionAlert. Not idempotent (a second call fails: the name exists)."""
        self.invalidate()
        try:
            result = self._invoke.invoke("New-ProtectionAlert", {"Name": name, **settings.to_parameters()},
                                         idempotent=False, target=name)
        finally:
            self.invalidate()
        return AlertPolicy.from_wire(result.values[0]) if result.values else None

    def update(self, identity: str, settings: AlertPolicySettings, only: set[str] | None = None) -> None:
        """Set-ProtectionAlert with the given settings (Name and ThreatType are never sent: not settable)."""
        params = settings.to_parameters(only)
        params.pop("ThreatType", None)
        if not params:
            return
        try:
            self._invoke.invoke("Set-ProtectionAlert", {"Identity": identity, **params}, idempotent=True,
                                target=identity)
        finally:
            self.invalidate()

    def remove(self, identity: str) -> None:
        """Remove-ProtectionAlert -ForceDeletion (as Microsoft365DSC does); gone already is fine."""
        try:
            self._invoke.invoke("Remove-ProtectionAlert", {"Identity": identity, "ForceDeletion": True},
                                idempotent=True, target=identity)
        except NotFound:
            pass
        finally:
            self.invalidate()

    def invalidate(self) -> None:
        with self._lock:
            self._cached = None
