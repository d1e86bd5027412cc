"""One owner per tenant object among the resources one provider instance serves.

The dynamic SDK refuses, in the program, a second resource that manages the same object (``claim_unique``): one
preset, one alert policy name, one device-group rank or name, one default group, one settings object. Programs in
other languages never run that code, so the native provider checks the same claims (``ResourceDefinition.claims``)
in ``check``: the engine checks every resource of a deployment in the one process that serves their provider, so a
second URN with the same claim is refused before anything is written.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from typing import Any

from ..definitions.fields import ResourceDefinition


class Claims:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._owners: dict[tuple[str, str, str], str] = {}  # (kind, argument, key) -> URN

    def claim(self, definition: ResourceDefinition, urn: str, inputs: Mapping[str, Any]) -> list[tuple[str, str]]:
        """Record what the resource ``urn`` claims; (property, reason) for each claim another resource holds."""
        failures = []
        with self._lock:
            for claim in definition.claims(inputs):
                key = (claim.kind, claim.argument, claim.key)
                owner = self._owners.setdefault(key, urn)
                if owner != urn:
                    failures.append((claim.argument, claim.conflict(_name(urn), _name(owner))))
        return failures


def _name(urn: str) -> str:
    """The resource's name, the last part of its URN."""
    return urn.rsplit("::", 1)[-1]
