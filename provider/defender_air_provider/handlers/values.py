"""Input values as the engine delivers them, translated in one place.

* Unknown values (``pulumi.output.Unknown``) arrive in check/diff during preview: validation skips them
  and diff reports a change (docs/wire/pulumi-engine.md §5.2).
* Numbers arrive as floats (``1`` -> ``1.0``, pulumi/pulumi#13830): ``as_int`` turns whole floats back.
* Nested ``...Args`` arrive as dicts with snake_case keys; null and empty lists are the same.
"""

from __future__ import annotations

import re
from typing import Any

from pulumi.output import Unknown

# RFC 5321-ish: enough to refuse typos without rejecting real addresses.
_ADDRESS = re.compile(r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+"
                      r"[A-Za-z]{2,63}$")
_DOMAIN = re.compile(r"^(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,63}$")


def is_unknown(value: Any) -> bool:
    """True for an unknown value anywhere inside ``value`` (preview)."""
    if isinstance(value, Unknown):
        return True
    if isinstance(value, dict):
        return any(is_unknown(v) for v in value.values())
    if isinstance(value, (list, tuple)):
        return any(is_unknown(v) for v in value)
    return False


def is_address(value: str) -> bool:
    return bool(_ADDRESS.match(value))


def is_domain(value: str) -> bool:
    return bool(_DOMAIN.match(value)) and len(value) <= 253


def as_int(value: Any) -> int | None:
    """Engine numbers are floats; a whole float is the int the user wrote."""
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return None


def as_bool(value: Any, default: bool) -> bool:
    return default if value is None else bool(value)


def str_list(value: Any) -> list[str]:
    """A list of strings; null means empty."""
    if value is None:
        return []
    if isinstance(value, str):
        return [value]
    if not isinstance(value, (list, tuple)):
        return []  # not a list: check reports it; nothing here may crash on it
    return [v for v in value if isinstance(v, str)]


def fold(values: list[str]) -> frozenset[str]:
    """Identity comparison: case-insensitive, order-free, duplicates ignored (as the services compare)."""
    return frozenset(v.strip().lower() for v in values)
