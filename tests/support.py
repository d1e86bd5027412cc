"""Test doubles shared by the test layers (not fixtures: plain classes and functions)."""

from __future__ import annotations

import threading

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
