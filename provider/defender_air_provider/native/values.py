"""Property values between the engine's wire form (``PropertyValue``) and what the handlers take (plain Python).

The handlers were written for ``pulumi.dynamic``, which hands them plain dicts: secrets unwrapped, unknown values as
``pulumi.output.Unknown``, numbers as floats. The native provider gives them exactly that, so the same handlers serve
both (docs/wire/pulumi-engine.md §9.2):

* inbound: a secret is unwrapped (its top-level key is remembered, so the same output goes back secret), an unknown
  (``Computed``, or the engine's sentinel string, which the SDK's unmarshalling leaves as a string) becomes
  ``Unknown()``; numbers stay floats, as the engine sends them (the handlers' ``check`` turns
  whole numbers into ``int``, ``decode`` does it again later, docs/wire/pulumi-engine.md §5.1);
* outbound: ``int`` becomes a float (the wire has only doubles; ``PropertyValue`` refuses ``int``), a str enum its
  value, ``Unknown()`` the engine's unknown sentinel (the SDK cannot marshal a ``Computed``), and every top-level key
  that was secret on the way in is secret again.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping
from typing import Any

from pulumi.output import Unknown
from pulumi.provider.experimental.property_value import Computed, PropertyValue
from pulumi.runtime import rpc

Wire = dict[str, PropertyValue]


def plain(value: PropertyValue) -> Any:
    """One engine value as a handler takes it."""
    inner = value.value
    # The engine sends an unknown as the sentinel string, which PropertyValue.unmarshal (3.272) passes on as a string.
    if isinstance(inner, Computed) or inner == rpc.UNKNOWN:
        return Unknown()
    if isinstance(inner, Mapping):
        return {key: plain(item) for key, item in inner.items()}
    if isinstance(inner, tuple):
        return [plain(item) for item in inner]
    return inner


def plain_map(values: Mapping[str, PropertyValue] | None) -> dict[str, Any]:
    return {key: plain(item) for key, item in (values or {}).items()}


def secret_keys(*maps: Mapping[str, PropertyValue] | None) -> frozenset[str]:
    """The top-level keys that hold a secret anywhere inside."""
    return frozenset(key for values in maps for key, item in (values or {}).items() if item.contains_secret())


def to_wire(value: Any, secret: bool = False) -> PropertyValue:
    """One handler value as the engine takes it."""
    if isinstance(value, Unknown):
        # The engine's own encoding: PropertyValue.marshal (3.272) cannot send a Computed.
        return PropertyValue(rpc.UNKNOWN, is_secret=secret)
    if isinstance(value, enum.Enum):
        return to_wire(value.value, secret)
    if value is None or isinstance(value, (bool, str)):
        return PropertyValue(value, is_secret=secret)
    if isinstance(value, (int, float)):
        return PropertyValue(float(value), is_secret=secret)
    if isinstance(value, Mapping):
        return PropertyValue({str(key): to_wire(item) for key, item in value.items()}, is_secret=secret)
    if isinstance(value, (list, tuple)):
        return PropertyValue([to_wire(item) for item in value], is_secret=secret)
    raise TypeError(f"cannot send a {type(value).__name__} to the engine: {value!r}")


def to_wire_map(values: Mapping[str, Any] | None, secrets: Iterable[str] = ()) -> Wire:
    hidden = frozenset(secrets)
    return {key: to_wire(item, key in hidden) for key, item in (values or {}).items()}
