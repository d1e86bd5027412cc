"""Small helpers shared by the resource classes (no HTTP, no clients).

The resource classes are hand-written for readable signatures and IDE help; what they send to the engine is
derived from the resource's definition (``defender_air_provider.definitions``) here, and a test keeps each
class's signature, ``...Args`` fields and declared outputs in step with its definition.
"""

from __future__ import annotations

import dataclasses
import enum
import functools
import threading
from collections.abc import Mapping, Sequence
from typing import Any

import pulumi
import pulumi.dynamic
from pulumi.runtime import settings as _settings

from defender_air_provider.core.redaction import get_logger
from defender_air_provider.definitions.fields import Field, Kind, ResourceDefinition
from defender_air_provider.registry import resource as registered_resource

# The provider's logger, at DEFENDER_AIR_LOG_LEVEL, from `import pulumi_defender_air` on: the handlers that log are
# imported on first use (registry.py).
get_logger()


def plain_args(value: Any, args_type: type, what: str) -> Any:
    """An ``...Args`` dataclass, a dict with the same snake_case keys, an Output or None -> what the provider
    receives (a dict of Inputs). Unknown dict keys are left for the provider's check to report."""
    if value is None or isinstance(value, pulumi.Output):
        return value
    if isinstance(value, args_type) and dataclasses.is_dataclass(value):
        return {f.name: _plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, Mapping):
        return {k: _plain(v) for k, v in value.items()}
    raise TypeError(f"{what} must be a {args_type.__name__} or a dict, not {type(value).__name__}")


def _plain(value: Any) -> Any:
    """A str-enum member is sent as its value (plain strings keep working)."""
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


def split_call(args_type: type, args: Sequence[Any], kwargs: dict[str, Any],
               resource: str) -> tuple[dict[str, Any], pulumi.ResourceOptions | None]:
    """Both call forms -> (argument values by name, options).

    ``X(name, XArgs(...), opts)`` and ``X(name, key=value, ..., opts=opts)`` register identical inputs.
    """
    names = {f.name for f in dataclasses.fields(args_type)}
    if not args and isinstance(kwargs.get("args"), args_type):  # X(name, args=XArgs(...)), as generated SDKs allow
        kwargs = dict(kwargs)
        args = (kwargs.pop("args"),)
    if args and isinstance(args[0], args_type):
        extra = set(kwargs) - {"opts"}
        if extra or len(args) > 2:
            raise TypeError(f"{resource}() takes either a {args_type.__name__} or keyword arguments, not both")
        values = {name: getattr(args[0], name) for name in names}
        opts = args[1] if len(args) > 1 else kwargs.get("opts")
    else:
        if len(args) > 1 or (args and not isinstance(args[0], pulumi.ResourceOptions | type(None))):
            raise TypeError(f"{resource}() takes the resource name, then a {args_type.__name__} or keyword "
                            "arguments, then opts")
        values = dict(kwargs)
        opts = values.pop("opts", args[0] if args else None)
        unknown = sorted(set(values) - names)
        if unknown:
            raise TypeError(f"{resource}() got unexpected keyword arguments: {', '.join(unknown)}")
    if opts is not None and not isinstance(opts, pulumi.ResourceOptions):
        raise TypeError(f"{resource}(): opts must be a pulumi.ResourceOptions, not {type(opts).__name__}")
    return values, opts


def props_of(definition: ResourceDefinition, values: Mapping[str, Any], nested: Mapping[str, type]) -> dict[str, Any]:
    """What the engine receives: every field of the definition (outputs as None), defaults applied, enums as their
    values, nested ``...Args`` as dicts. A required argument that is missing is a TypeError, as for any call."""
    props: dict[str, Any] = {}
    for field in definition.fields:
        value = values.get(field.name) if field.input else None
        if field.input and value is None:
            if field.required:
                raise TypeError(f"{definition.name}: missing required argument '{field.name}'")
            value = _unset(field)
        props[field.name] = _value(field, value, nested)
    return props


def _unset(field: Field) -> Any:
    if field.default is not None:
        return field.default
    if field.membership and field.kind in (Kind.STRING_LIST, Kind.OBJECT_LIST):
        return []  # lists that define membership or scope are always managed: unset means empty
    return None


def _value(field: Field, value: Any, nested: Mapping[str, type]) -> Any:
    if value is None or isinstance(value, pulumi.Output):
        return value
    if field.kind is Kind.OBJECT and field.object_type is not None:
        return plain_args(value, nested[field.object_type.name], field.name)
    if field.kind is Kind.OBJECT_LIST and field.object_type is not None:
        args_type = nested[field.object_type.name]
        return [plain_args(item, args_type, f"{field.name}[]") for item in value]
    return _plain(value)


class AirResource(pulumi.dynamic.Resource):
    """Base of the resource classes: registers the props derived from the definition with its provider."""

    _definition: ResourceDefinition

    def _register(self, resource_name: str, values: Mapping[str, Any], opts: pulumi.ResourceOptions | None,
                  nested: Mapping[str, type] | None = None) -> None:
        registered = registered_resource(self._definition.name)
        props = props_of(self._definition, values, nested or {})
        super().__init__(registered.provider(), resource_name, props, opts)

    @classmethod
    def _read(cls, resource_name: str, id: pulumi.Input[str], opts: pulumi.ResourceOptions | None) -> Any:
        """The existing object with ``id``, read live (``X.get``)."""
        registered = registered_resource(cls._definition.name)
        instance = cls.__new__(cls)
        merged = pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(id=id))
        pulumi.dynamic.Resource.__init__(instance, registered.provider(), resource_name,
                                         dict.fromkeys(cls._definition.names), merged)
        return instance


_CLAIMS_LOCK = threading.Lock()
# One entry per running program (keyed by its engine monitor): claimed key -> resource name.
_CLAIMS: dict[int, tuple[object, dict[str, str]]] = {}


def claim_unique(definition: ResourceDefinition, values: Mapping[str, Any], resource_name: str) -> None:
    """Fail the program when two resources of a kind manage the same tenant object (one preset, one alert policy
    name, one device-group rank, the singletons): both would write it and fight on every `pulumi up`, so the second
    declaration is an error. What a resource claims is its definition's (``ResourceDefinition.claims``); an argument
    that is an Output is claimed once its value is known."""
    for name in definition.unique:
        value = values.get(name)
        if isinstance(value, pulumi.Output):
            value.apply(functools.partial(_claim_known, definition, name, resource_name))
        elif value is not None:
            _claim(definition, {name: value}, resource_name)
    if not definition.unique:
        _claim(definition, {}, resource_name)


def _claim_known(definition: ResourceDefinition, name: str, resource_name: str, value: Any) -> None:
    _claim(definition, {name: value}, resource_name)


def _claim(definition: ResourceDefinition, values: Mapping[str, Any], resource_name: str) -> None:
    monitor = _settings.get_monitor()
    for claim in definition.claims(values):
        with _CLAIMS_LOCK:
            _, claims = _CLAIMS.setdefault(id(monitor), (monitor, {}))
            key = f"{claim.kind}:{claim.argument}:{claim.key}"
            other = claims.get(key)
            if other is not None and other != resource_name:
                raise ValueError(claim.conflict(resource_name, other))
            claims[key] = resource_name
