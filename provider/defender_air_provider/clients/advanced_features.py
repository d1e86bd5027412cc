"""Defender for Endpoint advanced features over the Defender portal's settings API (cookie session).

Facts: docs/wire/defender-portal.md §6. There is no public API (§6.1). The portal reads the whole settings object
with ``GET /apiproxy/mtp/settings/GetAdvancedFeaturesSetting`` and writes it back whole with ``POST
.../SaveAdvancedFeaturesSetting`` (§6.2): a flat object of PascalCase keys whose key set differs between tenants
and over time (§6.3), so a write is always the object just read with only the managed keys changed; every other
key, known or not, goes back unchanged. No POST answer was ever captured (§6.2), so a write is confirmed by reading
again. "Device discovery" is stored inverted, as ``MagellanOptOut`` (§6.4). The automated investigation switch is
not a setting any more: it is read from the tenant context (§6.1, §7).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import tenacity

from ..core.backoff import ADVANCED_FEATURES_VISIBLE
from ..core.errors import OutcomeUnknown, ServiceError
from ..core.redaction import get_logger
from ..definitions.endpoint_advanced_features import ENDPOINT_ADVANCED_FEATURES
from .device_groups.session import PortalClient

LOG = get_logger()
GET_PATH = "/apiproxy/mtp/settings/GetAdvancedFeaturesSetting"
SAVE_PATH = "/apiproxy/mtp/settings/SaveAdvancedFeaturesSetting"
TENANT_CONTEXT_PATH = "/apiproxy/mtp/sccManagement/mgmt/TenantContext?realTime=true"
SAVE = "POST SaveAdvancedFeaturesSetting"

# Argument -> wire key, from the definition. The one inverted key (§6.4: XDRI sets MagellanOptOut = -not
# $DeviceDiscovery).
WIRE_KEYS: dict[str, str] = {f.name: str(f.wire) for f in ENDPOINT_ADVANCED_FEATURES.inputs}
INVERTED = frozenset({"device_discovery"})


@dataclass(frozen=True)
class AdvancedFeatures:
    """The settings object as read: kept verbatim (for writing back), with the managed toggles by argument name."""

    raw: Mapping[str, Any]

    def toggles(self) -> dict[str, bool | None]:
        """Every toggle we model, by argument name; None where the tenant's object lacks the key."""
        out: dict[str, bool | None] = {}
        for name, key in WIRE_KEYS.items():
            value = self.raw.get(key)
            out[name] = None if not isinstance(value, bool) else (not value if name in INVERTED else value)
        return out

    def differences(self, desired: Mapping[str, bool]) -> set[str]:
        """The managed toggles whose live value differs from ``desired`` (argument names)."""
        live = self.toggles()
        return {name for name, value in desired.items() if live.get(name) is not value}

    def with_toggles(self, desired: Mapping[str, bool]) -> dict[str, Any]:
        """The object to save: as read, with only the differing managed keys changed (unknown keys untouched)."""
        body = dict(self.raw)
        for name in self.differences(desired):
            value = desired[name]
            body[WIRE_KEYS[name]] = (not value) if name in INVERTED else value
        return body


class AdvancedFeaturesClient(PortalClient):
    """GET and POST of the settings object, and the tenant context. Plain data in and out."""

    permission_hint = ("The signed-in user needs the Security Administrator role (or 'Manage portal system "
                       "settings') to change advanced features.")

    def get(self) -> AdvancedFeatures:
        response = self._send("GET", f"{self._portal}{GET_PATH}", None, idempotent=True,
                              what="GET GetAdvancedFeaturesSetting")
        payload = response.json()
        if not isinstance(payload, dict):
            raise ServiceError(f"Defender portal: GET GetAdvancedFeaturesSetting answered HTTP {response.status} "
                               "without a settings object.", status=response.status,
                               operation="GET GetAdvancedFeaturesSetting")
        return AdvancedFeatures(payload)

    def save(self, body: Mapping[str, Any]) -> None:
        """POST the whole object. Not resent after a lost answer: a second POST of an object read earlier could undo
        a change made in between (the caller settles it by reading)."""
        self._send("POST", f"{self._portal}{SAVE_PATH}", dict(body), idempotent=False, what=SAVE)

    def tenant_context(self) -> Mapping[str, Any]:
        response = self._send("GET", f"{self._portal}{TENANT_CONTEXT_PATH}", None, idempotent=True,
                              what="GET TenantContext")
        payload = response.json()
        return payload if isinstance(payload, dict) else {}


class AdvancedFeaturesStore:
    """One writer per process for the tenant's one settings object: every write reads fresh, changes only the
    managed keys, saves, then reads until the change is visible (bounded, with backoff: the portal applies
    settings with a delay, NMC waits 15 s and reads again, §6.2)."""

    def __init__(self, api: AdvancedFeaturesClient, *, sleep: Callable[[float], None] = time.sleep,
                 visibility_attempts: int = ADVANCED_FEATURES_VISIBLE.reads) -> None:
        self._api = api
        self._sleep = sleep
        self._attempts = visibility_attempts
        self._lock = threading.Lock()

    def read(self) -> AdvancedFeatures:
        return self._api.get()

    def tenant_context(self) -> Mapping[str, Any]:
        return self._api.tenant_context()

    def write(self, desired: Mapping[str, bool]) -> AdvancedFeatures:
        """Make the managed toggles ``desired``; returns the object once it shows them. No save when nothing
        differs."""
        with self._lock:
            current = self._api.get()
            if not current.differences(desired):
                return current
            try:
                self._api.save(current.with_toggles(desired))
            except OutcomeUnknown as lost:
                LOG.warning("Defender portal: the save of the advanced features got no answer; reading to check it")
                settled = self._wait_until(desired)
                if settled is None:
                    raise OutcomeUnknown(
                        "Defender portal: the advanced-features change got no answer and is not visible after "
                        f"{self._attempts} reads; it may still arrive. Nothing more was sent. Run `pulumi up` again "
                        "in a few minutes.", operation=SAVE) from lost
                return settled
            settled = self._wait_until(desired)
            if settled is None:
                raise ServiceError(
                    "Defender portal: the advanced-features change was accepted but is still not visible after "
                    f"{self._attempts} reads. Run `pulumi refresh` and `pulumi up` again in a few minutes.",
                    operation=SAVE)
            return settled

    def _wait_until(self, desired: Mapping[str, bool]) -> AdvancedFeatures | None:
        retrying = tenacity.Retrying(
            stop=tenacity.stop_after_attempt(self._attempts),
            wait=ADVANCED_FEATURES_VISIBLE.wait(),
            retry=tenacity.retry_if_result(lambda found: bool(found.differences(desired))),
            sleep=self._sleep,
        )
        try:
            return retrying(self._api.get)
        except tenacity.RetryError:
            return None

