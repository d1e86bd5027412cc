"""Replication lag (docs/wire/invoke-command.md §6.5: right after New-* a read can 404), shared by both InvokeCommand
backends."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


class ReplicationLag:
    """Objects a read can't see yet: object Guid -> how many more Get calls still miss it.

    [inference] the mechanism: after a New-, that many Get calls that would include the new object act as if it did
    not exist yet; the write side sees it at once. Not thread-safe: its backend calls it under its lock.
    """

    def __init__(self) -> None:
        self._remaining: dict[str, int] = {}

    def start(self, guid: str, reads: int) -> None:
        if reads > 0:
            self._remaining[guid] = reads

    def hides(self, guid: str) -> bool:
        """Whether this Get call still can't see the object; counts the call down."""
        remaining = self._remaining.get(guid, 0)
        if remaining <= 0:
            return False
        if remaining == 1:
            del self._remaining[guid]
        else:
            self._remaining[guid] = remaining - 1
        return True

    def forget(self, guid: str) -> None:
        self._remaining.pop(guid, None)

    def to_state(self) -> dict[str, int]:
        return dict(self._remaining)

    def load_state(self, state: Mapping[str, Any]) -> None:
        self._remaining = {str(k): int(v) for k, v in state.items()}
