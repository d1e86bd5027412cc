"""Small helpers shared by the resource classes (no HTTP, no clients)."""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Mapping
from typing import Any

import pulumi
from pulumi.runtime import settings as _settings


def plain_args(value: Any, args_type: type, what: str) -> Any:
    """An ``...Args`` dataclass, a dict with the same snake_case keys, an Output or None -> what the provider
    receives (a dict of Inputs). Unknown dict keys are left for the provider's check to report."""
    if value is None or isinstance(value, pulumi.Output):
        return value
    if isinstance(value, args_type) and dataclasses.is_dataclass(value):
        return {f.name: getattr(value, f.name) for f in dataclasses.fields(value)}
    if isinstance(value, Mapping):
        return dict(value)
    raise TypeError(f"{what} must be a {args_type.__name__} or a dict, not {type(value).__name__}")


_CLAIMS_LOCK = threading.Lock()
# One entry per running program (keyed by its engine monitor): claimed key -> resource name.
_CLAIMS: dict[int, tuple[object, dict[str, str]]] = {}


def claim_singleton(kind: str, key: pulumi.Input[str] | pulumi.Input[int], resource_name: str,
                    what: str = "") -> None:
    """Fail the program when two resources of ``kind`` manage the same tenant-wide object (e.g. one preset).

    Both would write the same rules and fight on every `pulumi up`; the second declaration is an error.
    """
    def register(value: Any) -> None:
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        if not isinstance(value, (str, int)) or isinstance(value, bool):
            return
        monitor = _settings.get_monitor()
        with _CLAIMS_LOCK:
            _, claims = _CLAIMS.setdefault(id(monitor), (monitor, {}))
            claimed = f"{kind}:{what}:{str(value).strip().lower()}"
            other = claims.get(claimed)
            if other is not None and other != resource_name:
                subject = f"{what} {value!r}" if what else repr(value)
                raise ValueError(
                    f"{kind} '{resource_name}' claims the same {subject} as {kind} '{other}': "
                    f"declare one {kind} per {subject} in a program."
                )
            claims[claimed] = resource_name

    if isinstance(key, pulumi.Output):
        key.apply(register)
    else:
        register(key)
