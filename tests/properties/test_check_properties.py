"""Property tests over every registered resource's definition (hypothesis).

For any input, ``check`` ends in named failures or in valid inputs, never a crash and never a request; its
output is a fixed point (normalised once: checking it again changes nothing and fails nothing); the arguments
compare equal to themselves (``changed_inputs``), and ``diff`` runs without a request.
"""

from __future__ import annotations

from typing import Any

import pytest
import respx
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from defender_air_provider.definitions import Field, Kind, ObjectType
from defender_air_provider.handlers.fields import changed_inputs
from defender_air_provider.registry import RESOURCES, RegisteredResource

TEXT = st.text(alphabet=st.characters(codec="utf-8"), max_size=12)
ADDRESS = st.sampled_from(["secops@contoso.com", "TenantAdmins", "vip@contoso.onmicrosoft.com", "a@b.co"])
SCALAR = st.one_of(st.none(), st.booleans(), st.integers(-5, 500), st.floats(allow_nan=False), TEXT)
# Any JSON-ish value the engine can deliver (issue 10, finding 9: a list as ``automation_level`` crashed check with
# "unhashable type"): scalars, lists and dicts, nested, including dicts whose keys are argument names.
JSONISH = st.recursive(
    SCALAR,
    lambda inner: st.one_of(st.lists(inner, max_size=3),
                            st.dictionaries(st.one_of(TEXT, st.sampled_from(["property", "operator", "value", "users",
                                                                            "groups", "domains", "name"])),
                                            inner, max_size=3)),
    max_leaves=8,
)
ANYTHING = st.one_of(SCALAR, st.lists(TEXT, max_size=3), JSONISH)


def _valid_string(field: Field) -> st.SearchStrategy[Any]:
    if field.enum is not None:
        values = [str(m.value) for m in field.enum]
        return st.sampled_from(values + [v.upper() for v in values])
    if field.name in ("notify_users",):
        return ADDRESS
    return st.text(alphabet="abcdefgh XYZ-", min_size=1, max_size=10).filter(lambda s: s.strip() != "")


def _plausible(field: Field) -> st.SearchStrategy[Any]:
    """Mostly well-typed values (so valid inputs are common), sometimes anything."""
    kind = field.kind
    if kind is Kind.BOOL:
        good: st.SearchStrategy[Any] = st.booleans()
    elif kind is Kind.INT:
        low = field.minimum if field.minimum is not None else 0
        good = st.one_of(st.integers(low, low + 500), st.integers(low, low + 500).map(float))
    elif kind is Kind.STRING:
        good = _valid_string(field)
    elif kind is Kind.STRING_LIST:
        good = st.lists(_valid_string(field), max_size=3, unique_by=lambda s: s.lower())
    elif kind is Kind.STRING_OR_LIST:
        good = st.one_of(_valid_string(field), st.lists(_valid_string(field), min_size=1, max_size=3))
    elif kind is Kind.OBJECT:
        assert field.object_type is not None
        good = _object(field.object_type)
    else:
        assert field.object_type is not None
        good = st.lists(_object(field.object_type), max_size=3)
    return st.one_of(good, good, good, st.none(), ANYTHING)


def _object(object_type: ObjectType) -> st.SearchStrategy[dict[str, Any]]:
    return st.fixed_dictionaries({}, optional={f.name: _plausible(f) for f in object_type.fields})


def _inputs(registered: RegisteredResource) -> st.SearchStrategy[dict[str, Any]]:
    return st.fixed_dictionaries({}, optional={f.name: _plausible(f) for f in registered.definition.inputs})


def _paths(registered: RegisteredResource) -> set[str]:
    return {f.name for f in registered.definition.inputs}


@pytest.mark.parametrize("registered", RESOURCES, ids=lambda r: r.name)
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_check_is_total_local_and_normalises_once(registered: RegisteredResource, data: st.DataObject) -> None:
    news = data.draw(_inputs(registered))
    provider = registered.provider()
    with respx.mock(assert_all_mocked=True) as router:
        result = provider.check({}, news)
        assert not router.calls
    assert result.failures is not None
    for failure in result.failures:
        root = failure.property.split(".")[0].split("[")[0]
        assert root in _paths(registered), failure.property
        assert failure.reason.strip()
    if result.failures:
        return
    inputs = dict(result.inputs or {})
    with respx.mock(assert_all_mocked=True) as router:
        again = provider.check({}, inputs)
        provider.diff("id", {**inputs}, inputs)
        assert not router.calls
    assert again.failures == [], again.failures
    assert again.inputs == inputs
    assert changed_inputs(registered.definition, inputs, inputs) == []


@pytest.mark.parametrize("registered", RESOURCES, ids=lambda r: r.name)
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_check_never_crashes_on_any_json_value_for_any_argument(registered: RegisteredResource,
                                                                 data: st.DataObject) -> None:
    """Every argument, and every key of a nested argument, given any JSON-ish value: named failures, never an
    exception."""
    names = [f.name for f in registered.definition.inputs]
    news = data.draw(st.dictionaries(st.sampled_from(names), JSONISH, min_size=1, max_size=len(names)))
    with respx.mock(assert_all_mocked=True) as router:
        result = registered.provider().check({}, news)
        assert not router.calls
    for failure in result.failures or []:
        assert failure.property.split(".")[0].split("[")[0] in _paths(registered), failure.property


def _enum_fields(fields: tuple[Field, ...], path: str = "") -> list[tuple[str, Field]]:
    found: list[tuple[str, Field]] = []
    for field in fields:
        if field.enum is not None:
            found.append((path + field.name, field))
        if field.object_type is not None:
            found += _enum_fields(tuple(field.object_type.fields), f"{path}{field.name}.")
    return found


ENUM_CASES = [(r, path, field) for r in RESOURCES for path, field in _enum_fields(tuple(r.definition.inputs))]


@pytest.mark.parametrize(("registered", "path", "field"), ENUM_CASES,
                         ids=[f"{r.name}.{path}" for r, path, _ in ENUM_CASES])
@settings(max_examples=40, deadline=None)
@given(data=st.data())
def test_every_enum_accepts_any_case_and_stores_the_canonical_spelling(
        registered: RegisteredResource, path: str, field: Field, data: st.DataObject) -> None:
    """One rule for every resource (docs/sdk.md "Enums"): ``automation_level="FULL"`` as ``preset="Strict"``."""
    assert field.enum is not None
    canonical = str(data.draw(st.sampled_from(list(field.enum))).value)
    spelled = "".join(c.upper() if data.draw(st.booleans()) else c.lower() for c in canonical)
    news = _minimal(registered)
    top, _, sub = path.partition(".")
    value: Any = spelled
    if sub:
        outer = registered.definition.field(top)
        value = {sub: spelled, **({"operator": "in", "value": ["Windows10"]} if sub == "property" else {}),
                 **({"property": "os", "value": ["Windows10"]} if sub == "operator" else {})}
        value = [value] if outer.kind is Kind.OBJECT_LIST else value
    news[top] = value
    result = registered.provider().check({}, news)
    checked = result.inputs[top]
    stored = (checked[0] if isinstance(checked, list) else checked)[sub] if sub else checked
    assert stored == canonical, (spelled, result.failures)
    assert not [f for f in result.failures or [] if f.property.split(".")[0].split("[")[0] == top
                and "must be one of" in f.reason]


def _minimal(registered: RegisteredResource) -> dict[str, Any]:
    """Required arguments with valid values, so only the enum under test matters."""
    values = {"display_name": "Servers", "automation_level": "full", "preset": "strict", "name": "Custom policy"}
    return {f.name: values[f.name] for f in registered.definition.inputs if f.required}
