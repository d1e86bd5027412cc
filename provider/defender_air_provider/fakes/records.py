"""Typed records that mirror a service's JSON object property for property.

The fakes keep their state as dataclasses (an alert policy, a preset rule, an Entra group) whose fields are declared
with ``field(metadata=wire("PropertyName"))``. The record's field order is the property order of the real object,
so ``to_wire`` rebuilds the object exactly (same keys, same order: the state file and every response depend on it)
and ``from_wire`` reads one back from a state file. A record may also declare
``other: dict = field(default_factory=dict, metadata=WIRE_OTHER)`` for the properties no source shows, kept verbatim
after the known ones.

Fields without that metadata are the fake's own bookkeeping (which cmdlet family a rule belongs to, ...) and never
reach the wire. Records are declared ``kw_only`` so that their fields can keep the wire order whatever their
defaults.
"""

from __future__ import annotations

import copy
import dataclasses
from collections.abc import Mapping
from typing import Any, TypeVar

_KEY = "wire_key"
_OPTIONAL = "wire_optional"  # the property is left out of the object while the field is None
_OTHER = "wire_other"

R = TypeVar("R")


WIRE_OTHER: Mapping[str, Any] = {_OTHER: True}


def wire(key: str, *, optional: bool = False) -> Mapping[str, Any]:
    """The field metadata of the wire property ``key``; ``optional``: the property is absent while it is None."""
    return {_KEY: key, _OPTIONAL: optional}


_KNOWN: dict[type, dict[str, dataclasses.Field[Any]]] = {}


def _known(record_type: type) -> dict[str, dataclasses.Field[Any]]:
    """The record type's wire fields by property name, in wire order (computed once per type)."""
    known = _KNOWN.get(record_type)
    if known is None:
        known = _KNOWN[record_type] = {f.metadata[_KEY]: f for f in dataclasses.fields(record_type)
                                       if _KEY in f.metadata}
    return known


def _other(record_type: type) -> str | None:
    return next((f.name for f in dataclasses.fields(record_type) if f.metadata.get(_OTHER)), None)


def wire_keys(record_type: type) -> tuple[str, ...]:
    """The known properties of a record type, in wire order."""
    return tuple(_known(record_type))


def to_wire(record: Any) -> dict[str, Any]:
    """The record as the service's JSON object (a deep copy: changing it doesn't change the record)."""
    result: dict[str, Any] = {}
    for key, f in _known(type(record)).items():
        value = getattr(record, f.name)
        if f.metadata[_OPTIONAL] and value is None:
            continue
        result[key] = copy.deepcopy(value)
    other = _other(type(record))
    if other is not None:
        result.update(copy.deepcopy(getattr(record, other)))
    return result


def from_wire(record_type: type[R], data: Mapping[str, Any], **fields: Any) -> R:
    """A record from the service's JSON object (a state file); ``fields`` sets the non-wire fields.

    A property the record does not know is kept in its ``wire_other`` field, or refused (``KeyError``) when it has
    none; a known property that is missing takes the field's default.
    """
    known = _known(record_type)
    other_name = _other(record_type)
    values = dict(fields)
    other: dict[str, Any] = {}
    for key, value in data.items():
        f = known.get(key)
        if f is not None:
            values[f.name] = copy.deepcopy(value)
        elif other_name is not None:
            other[key] = copy.deepcopy(value)
        else:
            raise KeyError(f"{record_type.__name__} has no property {key!r}")
    if other_name is not None:
        values[other_name] = other
    return record_type(**values)


def has_wire(record: Any, key: str) -> bool:
    """Whether ``key`` is a property of the record (a known one, or one it keeps verbatim)."""
    if key in _known(type(record)):
        return True
    other = _other(type(record))
    return other is not None and key in getattr(record, other)


def get_wire(record: Any, key: str) -> Any:
    """The value of the property ``key`` (``KeyError`` if the record has no such property)."""
    f = _known(type(record)).get(key)
    if f is not None:
        return getattr(record, f.name)
    other = _other(type(record))
    if other is not None and key in getattr(record, other):
        return getattr(record, other)[key]
    raise KeyError(key)


def set_wire(record: Any, key: str, value: Any) -> None:
    """Set the property ``key``: a known field, or (on a record that keeps them) a property no source shows.

    ``KeyError`` when the record neither knows nor keeps such a property.
    """
    f = _known(type(record)).get(key)
    if f is not None:
        setattr(record, f.name, value)
        return
    other = _other(type(record))
    if other is None:
        raise KeyError(key)
    getattr(record, other)[key] = value
