"""Check and diff derived from the resource definitions (``definitions/``).

``check_inputs`` validates every argument by its kind, enum and bounds with no API call and returns the
normalised inputs: enums in their canonical spelling, whole numbers as ``int``, membership lists as lists. Later
steps trust that output; ``decode`` only undoes the engine's one wire quirk (numbers arrive as floats,
docs/wire/pulumi-engine.md §5.1). ``changed_inputs`` compares old outputs with new inputs the way the services
compare: case-insensitive where they are, lists order-free, unset optional scalars unmanaged.
Resource-specific rules (cross-field constraints, address syntax, ranks) stay in each handler.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from pulumi.dynamic import CheckFailure

from ..definitions.fields import Field, Kind, ObjectType, ResourceDefinition
from .values import as_int, fold, is_unknown

Compare = Callable[[Any, Any], bool]


# ---------------------------------------------------------------------------------------------- check
def check_inputs(definition: ResourceDefinition, news: Mapping[str, Any]) -> tuple[dict[str, Any], list[CheckFailure]]:
    """The normalised inputs and one failure per problem (unknown values pass untouched)."""
    inputs = dict(news)
    failures: list[CheckFailure] = []
    for field in definition.inputs:
        value, problems = check_value(field, news.get(field.name), field.name)
        failures += problems
        if value is not None or field.name in inputs:
            inputs[field.name] = value
    return inputs, failures


def check_value(field: Field, value: Any, path: str) -> tuple[Any, list[CheckFailure]]:
    """One value -> (normalised value, failures)."""
    if is_unknown(value) and not isinstance(value, (list, dict)):
        return value, []
    if value is None:
        if field.required:
            allowed = f": one of {_allowed(field)}" if field.enum is not None else ""
            return None, [CheckFailure(path, f"{path} is required{allowed}.")]
        if field.default is not None:
            return field.default, []  # an unset argument with a default means the default (normalised here)
        return ([] if field.membership and field.kind in (Kind.STRING_LIST, Kind.OBJECT_LIST) else None), []
    kind = field.kind
    if kind is Kind.BOOL:
        return value, ([] if isinstance(value, bool) else [_fail(path, f"must be true or false, not {value!r}.")])
    if kind is Kind.INT:
        number = as_int(value)
        if number is None:
            return value, [_fail(path, f"must be a whole number, not {value!r}.")]
        if field.minimum is not None and number < field.minimum:
            return value, [_fail(path, f"must be at least {field.minimum}, not {number}.")]
        return number, []
    if kind is Kind.STRING:
        return _check_string(field, value, path)
    if kind is Kind.STRING_OR_LIST and isinstance(value, str):
        return _check_string(field, value, path)
    if kind in (Kind.STRING_LIST, Kind.STRING_OR_LIST):
        if not isinstance(value, list) or not all(isinstance(v, str) or is_unknown(v) for v in value):
            expected = "a string or a list of strings" if kind is Kind.STRING_OR_LIST else "a list of strings"
            return value, [_fail(path, f"must be {expected}.")]
        if any(isinstance(v, str) and not v.strip() for v in value):
            return value, [_fail(path, "must not contain empty values.")]
        return list(value), []
    if kind is Kind.OBJECT:
        assert field.object_type is not None
        return check_object(field.object_type, value, path)
    assert kind is Kind.OBJECT_LIST and field.object_type is not None
    if not isinstance(value, list):
        return value, [_fail(path, f"must be a list of {field.object_type.name}Args or dicts.")]
    items, failures = [], []
    for index, item in enumerate(value):
        normal, problems = check_object(field.object_type, item, f"{path}[{index}]")
        items.append(normal)
        failures += problems
    return items, failures


def check_object(object_type: ObjectType, value: Any, path: str) -> tuple[Any, list[CheckFailure]]:
    if is_unknown(value) and not isinstance(value, dict):
        return value, []
    keys = ", ".join(f.name for f in object_type.fields)
    if not isinstance(value, dict):
        return value, [_fail(path, f"must be a {object_type.name}Args or a dict with {keys}.")]
    failures = [_fail(path, f"has an unknown key {extra!r}; use {keys}.")
                for extra in sorted(set(value) - {f.name for f in object_type.fields})]
    normal = dict(value)
    for sub in object_type.fields:
        checked, problems = check_value(sub, value.get(sub.name), f"{path}.{sub.name}")
        failures += problems
        if checked is not None or sub.name in normal:
            normal[sub.name] = checked
    return normal, failures


def _check_string(field: Field, value: Any, path: str) -> tuple[Any, list[CheckFailure]]:
    if not isinstance(value, str):
        return value, [_fail(path, f"must be a string, not {value!r}.")]
    if field.required and not value.strip():
        return value, [_fail(path, "is required and must not be empty.")]
    if field.enum is not None:
        canonical = canonical_enum(field, value)
        if canonical is None:
            return value, [_fail(path, f"must be one of {_allowed(field)}; got {value!r}.")]
        return canonical, []
    return value, []


def _allowed(field: Field) -> str:
    assert field.enum is not None
    return ", ".join(str(member.value) for member in field.enum)


def canonical_enum(field: Field, value: object) -> str | None:
    """The canonical spelling of an enum value given in any case, or None when it is not one."""
    assert field.enum is not None
    if not isinstance(value, str):
        return None
    return next((str(m.value) for m in field.enum if str(m.value).lower() == value.strip().lower()), None)


def _fail(path: str, text: str) -> CheckFailure:
    return CheckFailure(path, f"{path} {text}")


# ---------------------------------------------------------------------------------------------- decode
def decode(definition: ResourceDefinition, props: Mapping[str, Any]) -> dict[str, Any]:
    """Props as the engine delivers them (numbers as floats) -> the values check produced."""
    return {name: _decode(definition.field(name), value) if name in definition.names else value
            for name, value in props.items()}


def _decode(field: Field, value: Any) -> Any:
    if field.kind is Kind.INT and isinstance(value, float):
        return as_int(value) if value.is_integer() else value
    return value


# ---------------------------------------------------------------------------------------------- diff
def same(field: Field, old: Any, new: Any) -> bool:
    """Whether two values of ``field`` are the same setting, as the service compares them."""
    kind = field.kind
    if kind is Kind.INT:
        return as_int(old) == as_int(new)
    if kind is Kind.BOOL:
        return old == new
    if kind in (Kind.STRING, Kind.STRING_OR_LIST) and (isinstance(old, str) or isinstance(new, str)):
        if field.case_insensitive or field.enum is not None:
            return isinstance(old, str) and isinstance(new, str) and old.lower() == new.lower()
        return bool(old == new)
    if kind in (Kind.STRING_LIST, Kind.STRING_OR_LIST):
        olds, news = [str(v) for v in old or []], [str(v) for v in new or []]
        if field.case_insensitive:
            return fold(olds) == fold(news)
        return sorted(set(olds)) == sorted(set(news))
    if kind is Kind.OBJECT:
        assert field.object_type is not None
        return all(same(sub, (old or {}).get(sub.name), (new or {}).get(sub.name)) for sub in field.object_type.fields)
    assert kind is Kind.OBJECT_LIST and field.object_type is not None
    return _items_key(field.object_type, old) == _items_key(field.object_type, new)


def _items_key(object_type: ObjectType, items: Any) -> list[str]:
    """Objects of a list compare as an unordered collection (device-group rules are ORed / ANDed, not ordered)."""
    return sorted(repr(tuple(_key(sub, item.get(sub.name)) for sub in object_type.fields))
                  for item in items or [] if isinstance(item, dict))


def _key(field: Field, value: Any) -> Any:
    if isinstance(value, list):  # a list value is a set (an OS list; platform names compare case-insensitively)
        return tuple(sorted({str(v).strip().lower() for v in value}))
    if isinstance(value, str) and (field.case_insensitive or field.enum is not None):
        return value.strip().lower()
    return as_int(value) if field.kind is Kind.INT else value


def changed_inputs(definition: ResourceDefinition, olds: Mapping[str, Any], news: Mapping[str, Any], *,
                   compare: Mapping[str, Compare] | None = None, ignore: tuple[str, ...] = ()) -> list[str]:
    """The arguments whose new value differs from the old output. An optional scalar left unset is not managed
    (never a change); membership lists left unset mean empty. ``compare`` overrides the rule for a field;
    ``ignore`` names arguments that never change the object (create-time instructions such as
    ``adopt_existing``), unknown or not."""
    changed = []
    for field in definition.inputs:
        if field.name in ignore:
            continue
        new = news.get(field.name)
        if is_unknown(new):
            changed.append(field.name)
            continue
        if new is None and not field.membership:
            continue
        equal = (compare or {}).get(field.name) or (lambda a, b, f=field: same(f, a, b))  # type: ignore[misc]
        if not equal(olds.get(field.name), new):
            changed.append(field.name)
    return changed


def replaced(definition: ResourceDefinition, changed: list[str]) -> list[str]:
    return [name for name in changed if definition.field(name).replaces]
