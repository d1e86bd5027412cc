"""The Pulumi package schema of ``defender-air``, generated from the registry and the resource definitions.

``defender-air schema`` prints it. The shape follows Pulumi's package metaschema (``pkg/codegen/schema/pulumi.json``
in pulumi/pulumi; a copy is vendored under ``tests/schema/`` and the tests validate against it):

- Property names are the definitions' snake_case names, as the SDK takes them and the resource state holds them
  (not Pulumi's usual camelCase): the schema describes these resources as they are.
- ``resources``: one ``defender-air:index:<Resource>`` per registered resource. ``inputProperties`` are the
  definition's arguments (with ``default`` and ``willReplaceOnChanges``), ``properties`` every field (the
  arguments as outputs and the computed outputs), ``requiredInputs`` the required arguments.
- ``required`` (the outputs that always hold a value) is derived from what the definitions say an unset argument
  means: required arguments, arguments with a default (the SDK always sends it) and membership lists (unset
  means empty, so the output is a list or scope, never null). Computed outputs are left optional: the
  definitions do not say which of them are always set, and some are null in normal use (``atp_rule_state``
  when the ATP rule is not managed, ``requested_rank`` when no rank was asked for).
- ``types``: the nested argument types (``defender-air:index:<ObjectType>``) and one string enum per str-enum
  a field uses (``defender-air:index:<EnumClass>``). An enum value's ``name`` is the member's name in
  PascalCase (``SEMI_ALL_FOLDERS`` -> ``SemiAllFolders``), the form Pulumi's code generators turn back into
  each language's idiom (``SEMI_ALL_FOLDERS`` in Python).
- ``config.variables`` and ``provider.inputProperties``: the provider configuration keys (``core/settings.py``),
  secrets marked, each with the environment variable it falls back to (``defaultInfo``).
"""

from __future__ import annotations

import enum
import importlib.metadata
import inspect
from typing import Any

from .core.settings import CONFIG_KEYS, SECRET_CONFIG_KEYS
from .definitions import Field, Kind, ObjectType, ResourceDefinition
from .registry import RESOURCES

PACKAGE = "defender-air"
DISTRIBUTION = "pulumi-defender-air"
# The languages' package names of an SDK generated from this schema (`pulumi package add`, `pulumi package gen-sdk`).
# Python's is not the hand-written library's (``pulumi_defender_air``, the dynamic resources): a generated native SDK
# installed beside it must not shadow it.
LANGUAGE = {
    "python": {"packageName": "pulumi_defender_air_native"},
    "nodejs": {"packageName": "@pulumi-defender-air/defender-air"},
    "csharp": {"rootNamespace": "PulumiDefenderAir"},
}

# What each configuration key means (docs/configuration.md). Kept next to the schema because settings.py
# holds only the key-to-environment mapping; a test checks both name the same keys.
CONFIG_DESCRIPTIONS: dict[str, str] = {
    "tenantId": "The tenant GUID.",
    "clientId": "The app registration's (client) id.",
    "clientSecret": "The app registration's client secret.",
    "clientCertificatePath": "Path to a PEM certificate with its private key (certificate credential).",
    "cloud": "`public` (the default, includes GCC), `usgovhigh` or `usgovdod`.",
    "portalSession": ("Defender portal session for device groups: a cookie string holding `sccauth` and "
                      "`XSRF-TOKEN`."),
    "emulatorUrl": ("Use the local emulator at this base URL instead of Microsoft's services; no credentials "
                    "needed."),
}


def package_schema() -> dict[str, Any]:
    """The package schema as plain JSON data (same input, same output: no clock, no environment)."""
    variables = _config_variables()
    return {
        "name": PACKAGE,
        "displayName": "Microsoft Defender XDR AIR",
        "description": ("Microsoft Defender XDR automated investigation and response (AIR) settings: preset "
                        "security policy assignments, alert policies and device groups."),
        "version": package_version(),
        "config": {"variables": variables},
        "provider": {
            "description": "The defender-air provider: one tenant (or the local emulator) per provider instance.",
            "inputProperties": variables,
        },
        "resources": {r.definition.token: _resource(r.definition) for r in RESOURCES},
        "types": _types(),
        "language": LANGUAGE,
    }


def package_version() -> str:
    """The installed distribution's version: the schema's, and the plugin's (GetPluginInfo), kept in lockstep."""
    try:
        return importlib.metadata.version(DISTRIBUTION)
    except importlib.metadata.PackageNotFoundError:
        return "0.0.0"  # running from a source tree that was never installed


def _config_variables() -> dict[str, Any]:
    variables: dict[str, Any] = {}
    for key, env in CONFIG_KEYS.items():
        spec: dict[str, Any] = {"type": "string", "description": CONFIG_DESCRIPTIONS[key]}
        if env:
            spec["defaultInfo"] = {"environment": [env]}
        if key in SECRET_CONFIG_KEYS:
            spec["secret"] = True
        variables[key] = spec
    return variables


# ---------------------------------------------------------------------------------------------- resources
def _resource(definition: ResourceDefinition) -> dict[str, Any]:
    inputs = definition.inputs
    return {
        "description": definition.doc,
        "inputProperties": {f.name: _input_property(f) for f in inputs},
        "requiredInputs": [f.name for f in inputs if f.required],
        "properties": {f.name: _property(f) for f in definition.outputs},
        "required": [f.name for f in definition.outputs if always_set(f)],
    }


def always_set(field: Field) -> bool:
    """Whether the output always holds a value (see the module docstring for why computed ones are not)."""
    return field.input and (field.required or field.default is not None or field.membership)


def _property(field: Field) -> dict[str, Any]:
    return {**type_spec(field), "description": field.doc}


def _input_property(field: Field) -> dict[str, Any]:
    spec = _property(field)
    if field.default is not None:
        spec["default"] = field.default
    if field.replaces:
        spec["willReplaceOnChanges"] = True
    return spec


def type_spec(field: Field) -> dict[str, Any]:
    """The metaschema's type reference for a field's kind (and its enum or object type)."""
    if field.kind in (Kind.OBJECT, Kind.OBJECT_LIST):
        if field.object_type is None:
            raise ValueError(f"field {field.name!r} is {field.kind.value} but has no object_type")
        item = _ref(field.object_type.name)
        return item if field.kind is Kind.OBJECT else {"type": "array", "items": item}
    if field.kind is Kind.BOOL:
        return {"type": "boolean"}
    if field.kind is Kind.INT:
        return {"type": "integer"}
    string = _ref(field.enum.__name__) if field.enum is not None else {"type": "string"}
    if field.kind is Kind.STRING:
        return string
    if field.kind is Kind.STRING_LIST:
        return {"type": "array", "items": string}
    if field.kind is Kind.STRING_OR_LIST:
        return {"oneOf": [string, {"type": "array", "items": string}]}
    raise ValueError(f"field {field.name!r}: no schema type for kind {field.kind!r}")


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/types/{PACKAGE}:index:{name}"}


# ---------------------------------------------------------------------------------------------- types
def _types() -> dict[str, Any]:
    types: dict[str, Any] = {}
    for object_type in object_types():
        types[f"{PACKAGE}:index:{object_type.name}"] = {
            "type": "object",
            "description": object_type.doc,
            "properties": {f.name: _property(f) for f in object_type.fields},
            "required": [f.name for f in object_type.fields if f.required],
        }
    for enum_class in enum_classes():
        types[f"{PACKAGE}:index:{enum_class.__name__}"] = _enum_type(enum_class)
    return dict(sorted(types.items()))  # sorted tokens: the printed schema does not depend on definition order


def _all_fields() -> list[Field]:
    fields: list[Field] = []
    for registered in RESOURCES:
        fields.extend(registered.definition.fields)
    for object_type in object_types():
        fields.extend(object_type.fields)
    return fields


def object_types() -> list[ObjectType]:
    """Every nested type a registered resource uses (declared in ``nested`` or reached through a field)."""
    found: dict[str, ObjectType] = {}
    pending: list[ObjectType] = []
    for registered in RESOURCES:
        pending.extend(registered.definition.nested)
        pending.extend(f.object_type for f in registered.definition.fields if f.object_type is not None)
    while pending:
        object_type = pending.pop()
        if object_type.name in found:
            continue
        found[object_type.name] = object_type
        pending.extend(f.object_type for f in object_type.fields if f.object_type is not None)
    return [found[name] for name in sorted(found)]


def enum_classes() -> list[type[enum.Enum]]:
    """Every str-enum a field of a registered resource (or of its nested types) uses, by name."""
    found = {f.enum.__name__: f.enum for f in _all_fields() if f.enum is not None}
    return [found[name] for name in sorted(found)]


def _enum_type(enum_class: type[enum.Enum]) -> dict[str, Any]:
    spec: dict[str, Any] = {"type": "string"}
    # Only the class's own docstring: Enum's inherited one ("An enumeration.") says nothing.
    doc = enum_class.__dict__.get("__doc__")
    if doc:
        spec["description"] = " ".join(inspect.cleandoc(doc).split())  # one line, as the field docs are
    spec["enum"] = [{"name": enum_value_name(member), "value": member.value} for member in enum_class]
    return spec


def enum_value_name(member: enum.Enum) -> str:
    """``SEMI_ALL_FOLDERS`` -> ``SemiAllFolders``."""
    return "".join(part.capitalize() for part in member.name.split("_"))
