"""Declarations -> the text of the exported program: ``__main__.py``, ``Pulumi.yaml`` and ``requirements.txt``.

The program is written already formatted as ``ruff format`` (Black's style, line length 88) leaves it, so that it
is the same bytes without ruff installed: every call spread one argument per line with a trailing comma, short
lists on one line, strings in double quotes unless single ones need fewer escapes, and every character that is not
printable (the zero-width space some built-in policy names end with, control characters) written as an escape.
Values are written by their definition's kind: enums as ``air.<Enum>.<MEMBER>``, nested objects as their
``air.<Type>Args``.
"""

from __future__ import annotations

import enum
import textwrap
import unicodedata
from collections.abc import Sequence
from importlib import metadata
from typing import Any

from ..definitions.fields import Field, Kind, ObjectType
from .declarations import STEPS, Declaration

LINE = 88  # ruff format's default line length
INDENT = "    "


# ---------------------------------------------------------------------------------------------- values
def string(value: str) -> str:
    """A Python string literal, as ruff format writes it."""
    # ruff (as Black) prefers double quotes unless they need more escapes than single ones: a tie stays double.
    quote = "'" if value.count('"') > value.count("'") else '"'
    out = []
    for char in value:
        if char == "\\":
            out.append("\\\\")
        elif char == quote:
            out.append("\\" + quote)
        elif char in "\n\r\t":
            out.append({"\n": "\\n", "\r": "\\r", "\t": "\\t"}[char])
        elif not char.isprintable():
            code = ord(char)
            out.append(f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}")
        else:
            out.append(char)
    return quote + "".join(out) + quote


def width(text: str) -> int:
    """The columns ``text`` takes, as ruff measures a line: East Asian wide and fullwidth characters count two,
    combining marks none (the text holds no other zero-width character: ``string`` escapes them)."""
    return sum(0 if unicodedata.combining(char) else 2 if unicodedata.east_asian_width(char) in "WF" else 1
               for char in text)


def scalar(field: Field, value: Any) -> str:
    if isinstance(value, bool):
        return "True" if value else "False"
    if isinstance(value, int):
        return str(value)
    if field.enum is not None and isinstance(value, str):
        member = _member(field.enum, value)
        if member is not None:
            return f"air.{field.enum.__name__}.{member.name}"
    return string(str(value))


def _member(enum_type: type[enum.Enum], value: str) -> enum.Enum | None:
    return next((m for m in enum_type if str(m.value) == value), None)


def _lines(field: Field, value: Any, indent: str, head: str, tail: str,
           item_notes: dict[int, str]) -> list[str]:
    """``head`` + the value + ``tail`` as lines at ``indent`` (``head`` is ``name=`` or nothing, ``tail`` a comma)."""
    if field.kind is Kind.OBJECT and isinstance(value, dict):
        assert field.object_type is not None
        return _object(field.object_type, value, indent, head, tail)
    if isinstance(value, list):
        if field.kind is Kind.OBJECT_LIST:
            assert field.object_type is not None
            inner = indent + INDENT
            lines = [f"{indent}{head}["]
            for item in value:
                lines += _object(field.object_type, item, inner, "", ",")
            return [*lines, f"{indent}]{tail}"]
        items = [scalar(field, v) for v in value]
        flat = f"{indent}{head}[{', '.join(items)}]{tail}"
        if width(flat) <= LINE and not item_notes:
            return [flat]
        lines = [f"{indent}{head}["]
        for index, item in enumerate(items):
            note = item_notes.get(index)
            lines.append(f"{indent}{INDENT}{item},{f'  # {note}' if note else ''}")
        return [*lines, f"{indent}]{tail}"]
    return [f"{indent}{head}{scalar(field, value)}{tail}"]


def _object(object_type: ObjectType, value: dict[str, Any], indent: str, head: str, tail: str) -> list[str]:
    lines = [f"{indent}{head}air.{object_type.name}Args("]
    for sub in object_type.fields:
        if value.get(sub.name) is not None:
            lines += _lines(sub, value[sub.name], indent + INDENT, f"{sub.name}=", ",", {})
    return [*lines, f"{indent}){tail}"]


# ---------------------------------------------------------------------------------------------- resources
def resource_lines(declaration: Declaration) -> list[str]:
    """One resource: its notes as comments, then the constructor call (commented out when not declared)."""
    definition = declaration.definition
    call = [f"{declaration.variable} = air.{definition.name}(", f"{INDENT}{string(declaration.resource_name)},"]
    for argument in definition.inputs:
        if argument.name in declaration.inputs:
            item_notes = {index: note for (name, index), note in declaration.item_notes.items()
                          if name == argument.name}
            call += _lines(argument, declaration.inputs[argument.name], INDENT, f"{argument.name}=", ",", item_notes)
    call.append(")")
    notes = [line for note in declaration.notes for line in comment(note)]
    if not declaration.declared:
        call = [f"# {line}" for line in call]
    return [*notes, *call]


def comment(text: str, indent: str = "") -> list[str]:
    return textwrap.wrap(text, width=LINE - len(indent), initial_indent=f"{indent}# ", subsequent_indent=f"{indent}# ",
                         break_long_words=False, break_on_hyphens=False)


def _heading(title: str) -> list[str]:
    bar = "# " + "=" * (LINE - 2)
    return [bar, *comment(title), bar]


def render_program(declarations: Sequence[Declaration], *, tenant: str, emulated: bool) -> str:
    """The text of ``__main__.py``."""
    source = "the local emulator" if emulated else f"tenant {tenant}"
    left_out = [d for d in declarations if not d.declared]
    lines = [
        '"""Microsoft Defender AIR settings, exported by `defender-air export` from ' + f'{source}.',
        "",
        "Every object below exists in the tenant: `pulumi up` adopts each one and writes",
        "nothing until this file changes. From here on, edit it as code (docs/export.md of",
        "pulumi-defender-air). The steps follow Microsoft's guide \"Configure automated",
        "investigation and response capabilities in Microsoft Defender XDR\".",
    ]
    if left_out:
        lines += ["", f"{len(left_out)} object(s) could not be declared as they are and are commented out below,",
                  "each with the reason:"]
        lines += [f"- {d.definition.name} {d.resource_name}" for d in left_out]
    lines += ['"""', "", "import pulumi_defender_air as air"]
    step = section = None
    for declaration in declarations:
        if declaration.step != step:
            step, section = declaration.step, None
            lines += ["", "", *_heading(STEPS[declaration.step])]
        if declaration.section != section and declaration.section is not None:
            section = declaration.section
            lines += ["", *comment(section), "# " + "-" * (LINE - 2)]
        lines += ["", *resource_lines(declaration)]
    return "\n".join(lines) + "\n"


def render_pulumi_yaml(*, tenant: str, emulated: bool) -> str:
    where = ("pulumi config set defender-air:emulatorUrl <the emulator's URL>" if emulated
             else f"pulumi config set defender-air:tenantId {tenant}")
    return "\n".join([
        "name: defender-air",
        "description: Microsoft Defender AIR settings, exported by defender-air export",
        "runtime:",
        "  name: python",
        "  options:",
        "    toolchain: pip",
        "    virtualenv: venv",
        "# Before the first `pulumi preview`, point the stack at the tenant it was exported from:",
        f"#   {where}",
        "# and give it credentials (docs/configuration.md of pulumi-defender-air).",
        "",
    ])


def render_requirements() -> str:
    try:
        version = metadata.version("pulumi-defender-air")
    except metadata.PackageNotFoundError:  # running from a source tree that was never installed
        version = None
    ours = f"pulumi-defender-air>={version}" if version else "pulumi-defender-air"
    return f"pulumi>=3.216,<4\n{ours}\n"
