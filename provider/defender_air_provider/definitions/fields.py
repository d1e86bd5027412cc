"""The shape of a resource definition: plain data, one ``Field`` per argument or output.

A resource is described once (``definitions/<resource>.py``), in the way Terraform's azuread provider describes
one with a ``Schema`` map. Check, diff, the wire mapping, the SDK's typed surface, the package schema and the
docs' argument tables are derived from these definitions or tested against them.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any


class Kind(str, enum.Enum):
    """What a field holds (the engine's JSON types, plus the list and object shapes we use)."""

    STRING = "string"
    BOOL = "boolean"
    INT = "integer"
    STRING_LIST = "string_list"
    STRING_OR_LIST = "string_or_list"  # a string, or a list of strings (a device-group rule's value)
    OBJECT = "object"
    OBJECT_LIST = "object_list"


@dataclass(frozen=True)
class Field:
    """One argument or output of a resource (or of a nested object type)."""

    name: str  # the user's (snake_case) name
    kind: Kind
    doc: str  # one sentence or two, as the docs' argument table and the SDK show it
    wire: str | None = None  # the service's name for it (cmdlet parameter, JSON key), where there is one
    enum: type[enum.Enum] | None = None  # a closed set of strings (the SDK's str-enum)
    minimum: int | None = None  # the smallest whole number allowed
    required: bool = False  # must be given (on create and every update)
    default: Any = None  # what an unset argument means and the SDK sends; None = unset is not managed
    replaces: bool = False  # changing it replaces the resource
    on_built_in: bool = True  # may be set on a built-in (system) object
    input: bool = True  # an argument; False = an output only
    computed: bool = False  # the provider sets it (an output; with ``input``, the actual value of an argument)
    membership: bool = False  # a list that defines membership or scope: unset means empty, and is managed
    case_insensitive: bool = False  # values compare case-insensitively, as the service compares them
    object_type: ObjectType | None = None  # for OBJECT and OBJECT_LIST
    advanced: bool = False  # kept in state for the provider's own use; documented, not an argument


@dataclass(frozen=True)
class ObjectType:
    """A nested argument type: the SDK's ``<name>Args`` class and the schema's ``defender-air:index:<name>``."""

    name: str
    doc: str
    fields: tuple[Field, ...]

    def field(self, name: str) -> Field:
        return next(f for f in self.fields if f.name == name)


@dataclass(frozen=True)
class ResourceDefinition:
    """One resource: its arguments and outputs, in the order the docs and the SDK list them."""

    name: str  # the SDK class and the schema token's last part: ``defender-air:index:<name>``
    doc: str
    id_doc: str  # what the resource id is (and what ``<name>.get`` takes)
    fields: tuple[Field, ...]
    singleton: bool = False  # one per tenant; the id is fixed
    nested: tuple[ObjectType, ...] = field(default=())
    # Arguments that name the tenant object: two resources of this kind in one program may not share a value (they
    # would overwrite each other on every `pulumi up`). Empty for a singleton: then the kind itself is claimed.
    unique: tuple[str, ...] = ()

    @property
    def token(self) -> str:
        return f"defender-air:index:{self.name}"

    @property
    def inputs(self) -> tuple[Field, ...]:
        return tuple(f for f in self.fields if f.input)

    @property
    def outputs(self) -> tuple[Field, ...]:
        """Every output: the arguments (as applied, or as the service has them) and the computed values."""
        return self.fields

    @property
    def computed_only(self) -> tuple[Field, ...]:
        return tuple(f for f in self.fields if not f.input)

    def field(self, name: str) -> Field:
        return next(f for f in self.fields if f.name == name)

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(f.name for f in self.fields)

    def claims(self, values: Mapping[str, Any]) -> list[Claim]:
        """What a resource with these arguments claims in a program: one claim per ``unique`` argument that holds a
        known value, or the kind itself for a singleton without one. The SDK (``claim_unique``) and the native
        provider (``native/claims.py``) refuse a second resource with the same claim."""
        if not self.unique:
            return [Claim(self.name, "", self.name, self.name)] if self.singleton else []
        claims = []
        for name in self.unique:
            value = values.get(name)
            if isinstance(value, enum.Enum):
                value = value.value
            if isinstance(value, float) and value.is_integer():
                value = int(value)
            if isinstance(value, (str, int)) and not isinstance(value, bool):
                claims.append(Claim(self.name, name, value, name_key(str(value))))
        return claims


@dataclass(frozen=True)
class Claim:
    """One tenant object a resource manages: ``kind`` and ``argument`` (empty for a singleton) with the ``value`` as
    given and the ``key`` two claims compare by."""

    kind: str
    argument: str
    value: str | int
    key: str

    def conflict(self, resource: str, other: str) -> str:
        """The error when ``resource`` makes the claim ``other`` made already."""
        if not self.argument:
            return (f"{self.kind} '{resource}' manages the same tenant-wide settings as {self.kind} '{other}': "
                    f"declare one {self.kind} per program (per provider).")
        subject = f"{self.argument} {self.value!r}"
        return (f"{self.kind} '{resource}' claims the same {subject} as {self.kind} '{other}': declare one "
                f"{self.kind} per {subject} in a program.")


def name_key(name: str) -> str:
    """How names compare, as the services compare them: trimmed, case-insensitive, without the trailing zero-width
    space some built-in alert policy names carry (docs/wire/security-compliance.md §5.4)."""
    return name.strip().rstrip("\u200b").strip().casefold()


# Every resource's record of where it was created (handlers/binding.py; docs/configuration.md "Tenant binding").
TENANT_FIELD = Field(
    "tenant", Kind.STRING,
    "Where the resource was created: `<tenant id>@<cloud>` (`...@public`), or under the emulator "
    "`<tenant id>@<emulator URL>`; `*` for the tenant id when none is configured (portal resources). Refresh, update "
    "and delete fail, with no API call, when the provider is configured for another tenant or endpoint.",
    input=False, computed=True)
