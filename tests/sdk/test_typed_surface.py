"""The typed SDK surface of every registered resource (CONTRACT.md, "Typed SDK surface"), against its definition.

No network and no provider process: the classes are read (``dataclasses``, ``inspect``, ``ast`` for the
``@overload`` signatures and the attribute docstrings, so this stays Python 3.10-compatible) and run under
Pulumi's mocks (``capture_registration`` / ``resolve_outputs`` keep the runtime isolated).

Each test is parametrized over ``registry.RESOURCES``, so a resource added to the registry is held to the same
surface without touching this file, except for ``SAMPLES`` (one value per argument, which a test insists on).
"""

from __future__ import annotations

import ast
import dataclasses
import enum
import inspect
import sys
import types
from collections.abc import Callable, Iterator
from typing import Any, Union, get_args, get_origin

import pulumi
import pytest

import pulumi_defender_air as air
from defender_air_provider.definitions import Field, Kind, ObjectType, ResourceDefinition
from defender_air_provider.registry import RESOURCES, RegisteredResource
from tests.harness.engine import Registration, capture_read, capture_registration, resolve_outputs

CONTRACT_ENUMS = ("Preset", "AutomationLevel", "AlertSeverity", "AlertThreatType", "AlertAggregationType",
                  "DeviceGroupRuleProperty", "DeviceGroupRuleOperator")

# One value for every argument of each resource, enum members and nested ``...Args`` wherever they fit, so the
# two call forms are compared on everything a user can pass.
SAMPLES: dict[str, Callable[[], dict[str, Any]]] = {
    "PresetPolicyAssignment": lambda: {
        "preset": air.Preset.STRICT,
        "enabled": False,
        "recipients": air.RecipientScopeArgs(users=["ceo@contoso.com"], groups=["vip@contoso.com"],
                                             domains=["contoso.com"]),
        "exclusions": air.RecipientScopeArgs(users=["intern@contoso.com"]),
        "defender_for_office365": False,
    },
    "AlertPolicy": lambda: {
        "name": "Mass download by a single user",
        "enabled": False,
        "notify_users": ["secops@contoso.com", "TenantAdmins"],
        "notification_enabled": True,
        "severity": air.AlertSeverity.HIGH,
        "category": air.AlertCategory.THREAT_MANAGEMENT,
        "threat_type": air.AlertThreatType.ACTIVITY,
        "operations": ["FileDownloaded"],
        "aggregation_type": air.AlertAggregationType.SIMPLE_AGGREGATION,
        "threshold": 5,
        "time_window": 60,
        "filter": "Activity.UserId -like 'admin*'",
        "description": "Many downloads in an hour",
        "comment": "managed by Pulumi",
        "notify_user_throttle_threshold": 3,
        "notify_user_throttle_window": 120,
        "adopt_existing": True,
        "ignore_missing": True,
    },
    "DeviceGroup": lambda: {
        "display_name": "Tier 0 servers",
        "automation_level": air.AutomationLevel.SEMI_ALL_FOLDERS,
        "description": "Domain controllers",
        "rules": [
            air.DeviceGroupRuleArgs(property=air.DeviceGroupRuleProperty.TAG,
                                    operator=air.DeviceGroupRuleOperator.EQUALS, value="Tier0"),
            air.DeviceGroupRuleArgs(property=air.DeviceGroupRuleProperty.OS, operator=air.DeviceGroupRuleOperator.IN,
                                    value=["WindowsServer2022", "WindowsServer2019"]),
            {"property": "name", "operator": "starts_with", "value": "dc"},
        ],
        "rank": 2,
        "user_groups": ["Tier0 Admins"],
        "adopt_existing": True,
    },
    "DefaultDeviceGroup": lambda: {
        "automation_level": air.AutomationLevel.FULL,
        "user_groups": ["SOC Analysts"],
    },
    "EndpointAdvancedFeatures": lambda: {
        "auto_resolve_investigated_alerts": True,
        "allow_or_block_file": True,
        "edr_in_block_mode": True,
        "restrict_correlation_to_device_groups": False,
        "custom_network_indicators": True,
        "tamper_protection": True,
        "device_discovery": False,
        "web_content_filtering": True,
        "download_quarantined_files": False,
        "show_user_details": True,
    },
}


def _ids(resource: RegisteredResource) -> str:
    return resource.name


each_resource = pytest.mark.parametrize("resource", RESOURCES, ids=_ids)


def resource_class(resource: RegisteredResource) -> Any:
    cls = getattr(air, resource.name)
    assert isinstance(cls, type) and issubclass(cls, pulumi.CustomResource)
    return cls


def args_class(name: str) -> type:
    cls = getattr(air, f"{name}Args")
    assert isinstance(cls, type) and dataclasses.is_dataclass(cls)
    return cls


def class_node(cls: type) -> ast.ClassDef:
    """The class's definition in its module's source."""
    tree = ast.parse(inspect.getsource(sys.modules[cls.__module__]))
    nodes = [n for n in tree.body if isinstance(n, ast.ClassDef) and n.name == cls.__name__]
    assert len(nodes) == 1, cls.__name__
    return nodes[0]


def has_no_default(f: dataclasses.Field[Any]) -> bool:
    return f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING


def plain(value: Any) -> Any:
    """What the engine should receive for an argument value: enum members as their values, ``...Args`` as dicts."""
    if isinstance(value, enum.Enum):
        return value.value
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    return value


def plain_strings(sample: dict[str, Any]) -> dict[str, Any]:
    """The same arguments written without the SDK's types (plain strings and dicts)."""
    return {k: plain(v) for k, v in sample.items()}


# ------------------------------------------------------------------------------------------------- the classes
@each_resource
def test_resource_and_args_classes_are_exported(resource: RegisteredResource) -> None:
    assert resource.name in air.__all__ and f"{resource.name}Args" in air.__all__
    cls = resource_class(resource)
    assert cls.__name__ == resource.name
    assert args_class(resource.name).__name__ == f"{resource.name}Args"


@each_resource
def test_args_fields_are_the_definition_inputs_in_order(resource: RegisteredResource) -> None:
    definition = resource.definition
    fields = dataclasses.fields(args_class(resource.name))
    assert [f.name for f in fields] == [f.name for f in definition.inputs]
    assert [f.name for f in fields if has_no_default(f)] == [f.name for f in definition.inputs if f.required]


def init_overloads(cls: type) -> tuple[ast.FunctionDef, ast.FunctionDef]:
    """(the ``XArgs`` overload, the keyword overload) of ``cls.__init__``."""
    overloads = [n for n in class_node(cls).body if isinstance(n, ast.FunctionDef) and n.name == "__init__"
                 and any(ast.unparse(d) in ("overload", "typing.overload") for d in n.decorator_list)]
    assert len(overloads) == 2, f"{cls.__name__}.__init__ should have two @overload forms"
    with_args = [n for n in overloads if not n.args.kwonlyargs]
    with_keywords = [n for n in overloads if n.args.kwonlyargs]
    assert len(with_args) == 1 and len(with_keywords) == 1
    return with_args[0], with_keywords[0]


def normalised(annotation: str) -> str:
    return ast.unparse(ast.parse(annotation, mode="eval"))


@each_resource
def test_args_overload_takes_the_args_class_then_opts(resource: RegisteredResource) -> None:
    node, _ = init_overloads(resource_class(resource))
    params = node.args.args
    assert [a.arg for a in params] == ["self", "resource_name", "args", "opts"]
    assert params[2].annotation is not None and ast.unparse(params[2].annotation) == f"{resource.name}Args"
    assert len(node.args.defaults) == 1 and ast.unparse(node.args.defaults[0]) == "None"  # opts=None


@each_resource
def test_keyword_overload_lists_exactly_the_inputs(resource: RegisteredResource) -> None:
    definition = resource.definition
    _, node = init_overloads(resource_class(resource))
    assert [a.arg for a in node.args.args] == ["self", "resource_name", "opts"]
    keywords = node.args.kwonlyargs
    assert [a.arg for a in keywords] == [f.name for f in definition.inputs]
    required = [a.arg for a, default in zip(keywords, node.args.kw_defaults, strict=True) if default is None]
    assert required == [f.name for f in definition.inputs if f.required]
    # Both forms accept the same types: each keyword is annotated as the XArgs field of the same name.
    fields = {f.name: f for f in dataclasses.fields(args_class(resource.name))}
    for arg in keywords:
        assert arg.annotation is not None
        assert normalised(ast.unparse(arg.annotation)) == normalised(str(fields[arg.arg].type)), arg.arg


@each_resource
def test_get_takes_resource_name_id_and_opts(resource: RegisteredResource) -> None:
    cls = resource_class(resource)
    params = list(inspect.signature(cls.get).parameters.values())
    assert [p.name for p in params] == ["resource_name", "id", "opts"]
    assert params[2].default is None


# ------------------------------------------------------------------------------------------------- outputs
def declared_outputs(cls: type) -> Iterator[tuple[str, ast.expr, str | None]]:
    """(name, annotation, docstring of the statement that follows) of each ``pulumi.Output`` class annotation."""
    body = class_node(cls).body
    for i, stmt in enumerate(body):
        if not (isinstance(stmt, ast.AnnAssign) and isinstance(stmt.target, ast.Name)):
            continue
        if not ast.unparse(stmt.annotation).startswith("pulumi.Output["):
            continue
        following = body[i + 1] if i + 1 < len(body) else None
        doc = (following.value.value if isinstance(following, ast.Expr) and isinstance(following.value, ast.Constant)
               and isinstance(following.value.value, str) else None)
        yield stmt.target.id, stmt.annotation, doc


@each_resource
def test_every_field_is_a_declared_output_with_its_doc(resource: RegisteredResource) -> None:
    definition = resource.definition
    declared = list(declared_outputs(resource_class(resource)))
    assert [name for name, _, _ in declared] == list(definition.names)
    for name, _, doc in declared:
        assert doc == definition.field(name).doc, f"{resource.name}.{name}: attribute docstring"


def _non_null(tp: Any) -> Any:
    """``T`` of ``T | None`` (``Optional[T]``); unions of several types are returned as they are."""
    if get_origin(tp) in (Union, types.UnionType):
        rest = [a for a in get_args(tp) if a is not type(None)]
        return rest[0] if len(rest) == 1 else tp
    return tp


def _check_output_type(field: Field, inner: Any) -> None:
    tp = _non_null(inner)
    where = f"{field.name}: pulumi.Output[{inner}]"
    if field.kind is Kind.INT:
        assert tp is int, where  # exactly int: what pulumi's output typing turns the engine's doubles into
    elif field.kind is Kind.BOOL:
        assert tp is bool, where
    elif field.kind is Kind.STRING:
        assert tp is str, where
    elif field.kind is Kind.STRING_LIST:
        assert get_origin(tp) is list and get_args(tp) == (str,), where
    elif field.kind is Kind.OBJECT_LIST:
        assert get_origin(tp) is list and get_origin(get_args(tp)[0]) is dict, where
    elif field.kind is Kind.OBJECT:
        assert get_origin(tp) is dict or tp is dict, where
    else:  # STRING_OR_LIST appears only in nested types
        raise AssertionError(f"{where}: no output type rule for kind {field.kind}")


@each_resource
def test_output_annotations_match_the_field_kinds(resource: RegisteredResource) -> None:
    cls = resource_class(resource)
    annotations = inspect.get_annotations(cls, eval_str=True)
    for field in resource.definition.fields:
        annotation = annotations[field.name]
        assert get_origin(annotation) is pulumi.Output, f"{field.name}: {annotation}"
        (inner,) = get_args(annotation)
        _check_output_type(field, inner)


# ------------------------------------------------------------------------------------------------- nested types
NESTED: list[ObjectType] = list({t.name: t for r in RESOURCES for t in r.definition.nested}.values())


def test_nested_types_include_the_documented_ones() -> None:
    assert {"DeviceGroupRule", "RecipientScope"} <= {t.name for t in NESTED}
    for resource in RESOURCES:  # every object-typed field's type is listed with its resource
        for field in resource.definition.fields:
            if field.kind in (Kind.OBJECT, Kind.OBJECT_LIST):
                assert field.object_type in resource.definition.nested, f"{resource.name}.{field.name}"


@pytest.mark.parametrize("object_type", NESTED, ids=lambda t: t.name)
def test_nested_args_have_exactly_the_object_type_fields(object_type: ObjectType) -> None:
    assert f"{object_type.name}Args" in air.__all__
    fields = dataclasses.fields(args_class(object_type.name))
    assert [f.name for f in fields] == [f.name for f in object_type.fields]
    assert [f.name for f in fields if has_no_default(f)] == [f.name for f in object_type.fields if f.required]


# ------------------------------------------------------------------------------------------------- enums
def _fields_with_nested(definition: ResourceDefinition) -> Iterator[Field]:
    yield from definition.fields
    for object_type in definition.nested:
        yield from object_type.fields


USED_ENUMS: dict[str, type[enum.Enum]] = {
    f.enum.__name__: f.enum for r in RESOURCES for f in _fields_with_nested(r.definition) if f.enum is not None
}


@pytest.mark.parametrize("name", sorted(USED_ENUMS))
def test_every_enum_of_a_field_is_exported_under_its_name(name: str) -> None:
    assert name in air.__all__
    exported = getattr(air, name)
    assert exported is USED_ENUMS[name]
    assert issubclass(exported, str) and issubclass(exported, enum.Enum)


def test_the_contract_enums_are_exported_and_used() -> None:
    for name in CONTRACT_ENUMS:
        assert name in USED_ENUMS, name
        assert getattr(air, name) is USED_ENUMS[name]
    assert air.Preset.STRICT == "strict" and air.AutomationLevel("full") is air.AutomationLevel.FULL


# ------------------------------------------------------------------------------------------------- call forms
def sample(resource: RegisteredResource) -> dict[str, Any]:
    values = SAMPLES[resource.name]()
    assert list(values) == [f.name for f in resource.definition.inputs], "SAMPLES must give every argument"
    return values


def with_args(resource: RegisteredResource, values: dict[str, Any], *rest: Any, **kwargs: Any) -> Registration:
    cls, args_type = resource_class(resource), args_class(resource.name)
    return capture_registration(lambda: cls("sample", args_type(**values), *rest, **kwargs))


def with_keywords(resource: RegisteredResource, values: dict[str, Any], *rest: Any, **kwargs: Any) -> Registration:
    cls = resource_class(resource)
    return capture_registration(lambda: cls("sample", *rest, **values, **kwargs))


@each_resource
def test_both_call_forms_register_identical_inputs(resource: RegisteredResource) -> None:
    values = sample(resource)
    by_args, by_keywords = with_args(resource, values), with_keywords(resource, values)
    assert by_args.type_token == by_keywords.type_token == f"pulumi-python:dynamic/air:{resource.name}"
    assert by_args.inputs == by_keywords.inputs
    assert by_args.provider_payload == by_keywords.provider_payload
    # Plain strings and dicts keep working and register the same thing.
    assert with_keywords(resource, plain_strings(values)).inputs == by_keywords.inputs


@each_resource
def test_enums_are_sent_as_their_values_and_nested_args_as_dicts(resource: RegisteredResource) -> None:
    values = sample(resource)
    reg = with_args(resource, values)
    sent = {k: v for k, v in reg.inputs.items() if k != "__provider"}
    assert set(sent) <= set(resource.definition.names)
    for name, value in values.items():
        assert sent[name] == plain(value), name  # numbers travel as doubles: 5 == 5.0
        if isinstance(value, enum.Enum):
            assert type(sent[name]) is str, name
    for field in resource.definition.inputs:
        if field.kind is Kind.OBJECT:
            assert isinstance(sent[field.name], dict), field.name
        if field.kind is Kind.OBJECT_LIST:
            assert all(isinstance(item, dict) for item in sent[field.name]), field.name


def protected() -> pulumi.ResourceOptions:
    return pulumi.ResourceOptions(protect=True, delete_before_replace=True)


@each_resource
def test_opts_take_effect_positionally_or_by_keyword_in_both_forms(resource: RegisteredResource) -> None:
    values = sample(resource)
    plain_reg = with_args(resource, values)
    assert plain_reg.request is not None and not plain_reg.request.protect
    regs = {
        "XArgs, opts positional": with_args(resource, values, protected()),
        "XArgs, opts=": with_args(resource, values, opts=protected()),
        "keywords, opts=": with_keywords(resource, values, opts=protected()),
        "keywords, opts positional": with_keywords(resource, values, protected()),
    }
    for form, reg in regs.items():
        assert reg.request is not None and reg.request.protect, form
        assert reg.delete_before_replace, form
        assert reg.inputs == plain_reg.inputs, form


@each_resource
def test_args_plus_keywords_is_a_type_error(resource: RegisteredResource) -> None:
    values = sample(resource)
    first = resource.definition.inputs[0].name
    cls, args_type = resource_class(resource), args_class(resource.name)
    with pytest.raises(TypeError, match="not both"):
        capture_registration(lambda: cls("sample", args_type(**values), **{first: values[first]}))


@each_resource
def test_unknown_keyword_is_a_type_error(resource: RegisteredResource) -> None:
    values = sample(resource)
    cls = resource_class(resource)
    with pytest.raises(TypeError, match="colour"):
        capture_registration(lambda: cls("sample", **values, colour="blue"))


@each_resource
def test_missing_required_argument_is_a_type_error(resource: RegisteredResource) -> None:
    cls, args_type = resource_class(resource), args_class(resource.name)
    required = [f.name for f in resource.definition.inputs if f.required]
    if not required:
        pytest.skip(f"{resource.name} has no required argument")
    for name in required:
        values = {k: v for k, v in sample(resource).items() if k != name}
        with pytest.raises(TypeError, match=name):
            capture_registration(lambda: cls("sample", **values))  # noqa: B023 (called at once)
        with pytest.raises(TypeError, match=name):
            args_type(**values)


@each_resource
def test_opts_of_another_type_is_a_type_error(resource: RegisteredResource) -> None:
    values = sample(resource)
    cls = resource_class(resource)
    with pytest.raises(TypeError, match="opts"):
        capture_registration(lambda: cls("sample", **values, opts={"protect": True}))


# ------------------------------------------------------------------------------------------------- numbers
# The engine carries every number as a double; what the provider returned as 6 arrives as 6.0.
FLOATS = {"rank": 6.0, "requested_rank": 2.0, "threshold": 5.0, "time_window": 60.0,
          "notify_user_throttle_threshold": 3.0, "notify_user_throttle_window": 120.0}


def engine_state(definition: ResourceDefinition) -> dict[str, Any]:
    """A full state for ``definition`` as the engine hands it back: numbers as doubles."""

    def value(field: Field) -> Any:
        if field.kind is Kind.INT:
            return FLOATS.get(field.name, 7.0)
        if field.kind is Kind.BOOL:
            return True
        if field.kind is Kind.STRING:
            return next(iter(field.enum)).value if field.enum is not None else f"{field.name}-value"
        if field.kind is Kind.STRING_LIST:
            return [f"{field.name}-1"]
        if field.kind is Kind.OBJECT and field.object_type is not None:
            return {f.name: value(f) for f in field.object_type.fields}
        if field.kind is Kind.OBJECT_LIST and field.object_type is not None:
            return [{f.name: value(f) for f in field.object_type.fields}]
        return f"{field.name}-value"

    return {f.name: value(f) for f in definition.fields}


def _check_resolved(definition: ResourceDefinition, state: dict[str, Any], outputs: dict[str, Any]) -> None:
    for field in definition.fields:
        got = outputs[field.name]
        if field.kind is Kind.INT:
            assert type(got) is int and got == state[field.name], f"{field.name}: {got!r}"
        elif field.kind is Kind.BOOL:
            assert got is True, field.name
        else:
            assert got == state[field.name], field.name


@each_resource
def test_numbers_come_back_as_int_from_a_constructor(resource: RegisteredResource) -> None:
    cls = resource_class(resource)
    values = sample(resource)
    state = engine_state(resource.definition)
    outputs = resolve_outputs(lambda: cls("typed", **values), state)
    _check_resolved(resource.definition, state, outputs)


@each_resource
def test_numbers_come_back_as_int_from_get(resource: RegisteredResource) -> None:
    cls = resource_class(resource)
    state = engine_state(resource.definition)
    outputs = resolve_outputs(lambda: cls.get("typed", "some-id"), state)
    assert outputs["id"] == "some-id"
    _check_resolved(resource.definition, state, outputs)


def test_the_named_float_outputs_resolve_to_int() -> None:
    """The contract's example: rank 6.0, requested_rank 2.0 and threshold 5.0 come back as 6, 2 and 5."""
    group = resolve_outputs(lambda: air.DeviceGroup("g", display_name="G", automation_level="full"),
                            {"display_name": "G", "automation_level": "full", "rank": 6.0, "requested_rank": 2.0})
    assert (group["rank"], group["requested_rank"]) == (6, 2)
    assert type(group["rank"]) is int and type(group["requested_rank"]) is int
    policy = resolve_outputs(lambda: air.AlertPolicy("p", name="P"), {"name": "P", "threshold": 5.0})
    assert policy["threshold"] == 5 and type(policy["threshold"]) is int


# ------------------------------------------------------------------------------------------------- get
@each_resource
def test_get_sends_a_read_of_that_id_with_the_provider(resource: RegisteredResource) -> None:
    cls = resource_class(resource)
    read = capture_read(lambda: cls.get("existing", "the-id"))
    assert read.type_token == f"pulumi-python:dynamic/air:{resource.name}"
    assert (read.name, read.id) == ("existing", "the-id")
    # The same provider as a registration of that class, so the engine's Read reaches the same handler.
    assert read.provider_payload == with_args(resource, sample(resource)).provider_payload
    assert set(read.properties) <= {"__provider", *resource.definition.names}
    assert all(v is None for k, v in read.properties.items() if k != "__provider")


@each_resource
def test_get_takes_opts_positionally_or_by_keyword(resource: RegisteredResource) -> None:
    cls = resource_class(resource)
    secret = resource.definition.fields[0].name
    for read in (capture_read(lambda: cls.get("existing", "the-id", pulumi.ResourceOptions(
                     additional_secret_outputs=[secret]))),
                 capture_read(lambda: cls.get("existing", "the-id", opts=pulumi.ResourceOptions(
                     additional_secret_outputs=[secret])))):
        assert read.id == "the-id"
        assert read.request is not None and list(read.request.additionalSecretOutputs) == [secret]


def test_args_may_also_be_given_by_keyword() -> None:
    """``X(name, args=XArgs(...))`` is the same call as ``X(name, XArgs(...))`` (generated Pulumi SDKs allow it)."""
    positional = capture_registration(lambda: air.DefaultDeviceGroup(
        "ungrouped", air.DefaultDeviceGroupArgs(automation_level=air.AutomationLevel.FULL)))
    by_keyword = capture_registration(lambda: air.DefaultDeviceGroup(
        "ungrouped", args=air.DefaultDeviceGroupArgs(automation_level=air.AutomationLevel.FULL)))
    assert by_keyword.inputs == positional.inputs
