"""Test doubles shared by the test layers (not fixtures: plain classes and functions)."""

from __future__ import annotations

import json
import threading
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from defender_air_provider.fakes.tenant import FakeTenant

TENANT_ID = "11111111-2222-3333-4444-555555555555"


class FakeTokenSource:
    """A token credential for tests: ``token-<n>`` per scope, a new one on every forced refresh."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.issued: list[tuple[str, str]] = []
        self._current: dict[str, str] = {}

    def token(self, scope: str, *, force_refresh: bool = False) -> str:
        with self._lock:
            if force_refresh or scope not in self._current:
                self._current[scope] = f"token-{len(self.issued) + 1}-{'x' * 12}"
                self.issued.append((scope, self._current[scope]))
            return self._current[scope]


class RecordingSleep:
    """Stands in for time.sleep: records the waits instead of waiting."""

    def __init__(self) -> None:
        self.waits: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)


def cmdlet_of(body: bytes) -> str:
    """The cmdlet of an InvokeCommand body (``{"CmdletInput": {"CmdletName": ...}}``, docs/wire/invoke-command.md);
    empty for any other body."""
    try:
        return str(json.loads(body or b"{}").get("CmdletInput", {}).get("CmdletName", ""))
    except (ValueError, AttributeError):
        return ""


def writes_to(tenant: FakeTenant) -> list[tuple[str, str, str]]:
    """Every request the tenant got that is not a read: (service, method, operation). Reads are GETs and ``Get-``
    cmdlets (region discovery is a POST of a Get- cmdlet); writes are New-/Set-/Remove-/Enable-/Disable- cmdlets and
    portal PUTs and POSTs."""
    return [(e.service, e.method, e.operation) for e in tenant.log.entries
            if not (e.method == "GET" or cmdlet_of(e.body).startswith("Get-"))]


def assert_read_only(tenant: FakeTenant) -> None:
    """The tenant got requests, and only reads."""
    assert tenant.log.entries, "no request was sent"
    assert writes_to(tenant) == []
