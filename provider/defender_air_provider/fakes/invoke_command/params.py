"""Parameter conversion, as PowerShell's argument transformation does it (docs/wire/invoke-command.md §2.2: array =
multi-valued, string,
true = switch). The responders parse ``CmdletInput.Parameters`` with these before they call their backend; a value
that can't be converted raises the typed error the service answers with."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

from .exceptions import EnumConversionError, MissingParameters, ParameterTransformationError, ValueTooLong


def require(params: Mapping[str, Any], *names: str) -> None:
    missing = [n for n in names if params.get(n) in (None, "")]
    if missing:
        raise MissingParameters(missing)


def as_identity(params: Mapping[str, Any], name: str, target_type: str) -> str:
    value = params.get(name)
    if isinstance(value, (str, int)) and not isinstance(value, bool):
        return str(value)
    raise ParameterTransformationError(name, value, target_type,
                                       "A single value is expected.")  # [inference] reason text


def as_string_list(name: str, value: Any, target_type: str) -> list[str] | None:
    """A multi-valued parameter: JSON array (or one string) → values; null or [] → cleared (docs/wire/invoke-command.md
    §2.2)."""
    if value is None:
        return None
    if isinstance(value, str):
        value = [value]
    if isinstance(value, list) and all(isinstance(v, str) and v.strip() for v in value):
        return [v.strip() for v in value] or None
    # [inference] e.g. a {"Add":..,"Remove":..} hashtable (docs/wire/invoke-command.md §2.2) for a parameter that takes
    # a plain array.
    raise ParameterTransformationError(name, value, target_type, "Expected a list of non-empty strings.")


def as_int(name: str, value: Any, target_type: str = "System.Int32") -> int:
    # Integral floats are accepted (PowerShell converts 1.0 to 1); so are numeric strings.
    integral_float = isinstance(value, float) and value.is_integer()
    numeric_text = isinstance(value, str) and re.fullmatch(r"\s*-?\d+\s*", value) is not None
    if (isinstance(value, int) and not isinstance(value, bool)) or integral_float or numeric_text:
        return int(value)
    raise ParameterTransformationError(name, value, target_type, "Input string was not in a correct format.")


def as_bool(name: str, value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in ("true", "false", "$true", "$false"):
        return value.strip().lower().lstrip("$") == "true"
    raise ParameterTransformationError(
        name, value, "System.Boolean",
        "Cannot convert value \"System.String\" to type \"System.Boolean\". Boolean parameters accept only "
        "Boolean values and numbers, such as $True, $False, 1 or 0.")


def as_text(name: str, value: Any, limit: int | None = None) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise ParameterTransformationError(name, value, "System.String", "A string is expected.")
    if limit is not None and len(value) > limit:
        raise ValueTooLong(name, limit, len(value))
    return value


def as_enum(name: str, value: Any, names: Iterable[str], target_type: str) -> str:
    """An enum parameter: matched case-insensitively (PowerShell enum conversion), stored in its canonical case."""
    allowed = list(names)
    if isinstance(value, str):
        for candidate in allowed:
            if candidate.lower() == value.strip().lower():
                return candidate
    raise EnumConversionError(name, value, target_type, allowed)
