"""The docs' argument and output tables, rendered from the resource definitions.

The docs hold generated blocks between marker comments; everything outside them is written by hand::

    <!-- generated: arguments AlertPolicy -->
    ...
    <!-- /generated -->

Blocks: ``arguments <Resource>``, ``outputs <Resource>`` and ``type <ObjectType>`` (a nested argument type).
Regenerate after changing a definition::

    python -m defender_air_provider.docs_tables --write

Without ``--write`` it lists the docs whose blocks are out of date and exits 1 (``tests/schema/test_docs_tables.py``
fails in that case too).
"""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from .definitions import Field, Kind, ObjectType, ResourceDefinition
from .package_schema import object_types
from .registry import RESOURCES

COMMAND = "python -m defender_air_provider.docs_tables --write"
DOCS_DIR = Path(__file__).resolve().parents[2] / "docs"  # the repository's docs/ (an editable install)

BLOCK = re.compile(r"(?P<start><!-- generated: (?P<kind>\S+) (?P<name>\S+) -->\n)(?P<body>.*?)"
                   r"(?P<end><!-- /generated -->)", re.DOTALL)

_KIND_TEXT = {Kind.STRING: "str", Kind.BOOL: "bool", Kind.INT: "int", Kind.STRING_LIST: "list of str",
              Kind.STRING_OR_LIST: "str or list of str"}


# ---------------------------------------------------------------------------------------------- rendering
def arguments_table(definition: ResourceDefinition) -> str:
    return _table(("argument", "type", "description"),
                  [(f"`{f.name}`", type_text(f, argument=True), f.doc) for f in definition.inputs])


def outputs_table(definition: ResourceDefinition) -> str:
    rows = [(f"`{f.name}`", type_text(f, argument=False),
             f.doc + (" Kept in state for the provider's own use." if f.advanced else ""))
            for f in definition.fields if f.computed]
    lines = ["Every argument is also an output. Computed outputs:", "", _table(("output", "type", "description"), rows),
             "", f"The resource id (what `{definition.name}.get` takes): {definition.id_doc}."]
    return "\n".join(lines)


def type_table(object_type: ObjectType) -> str:
    rows = [(f"`{f.name}`", type_text(f, argument=True), f.doc) for f in object_type.fields]
    return "\n".join([f"`air.{object_type.name}Args` (or a dict with the same keys). {object_type.doc}", "",
                      _table(("field", "type", "description"), rows)])


def type_text(field: Field, *, argument: bool) -> str:
    """``str / `air.AlertSeverity`, optional; one of `Low`, ...``: the Python type with its enum values and, for
    an argument, its str-enum, smallest value and whether it is required or has a default."""
    if field.kind is Kind.OBJECT or field.kind is Kind.OBJECT_LIST:
        if field.object_type is None:
            raise ValueError(f"field {field.name!r} is {field.kind.value} but has no object_type")
        args = f"`air.{field.object_type.name}Args` / dict"
        text = args if field.kind is Kind.OBJECT else f"list of {args}"
    else:
        text = _KIND_TEXT[field.kind]
        if field.enum is not None and argument:  # outputs come back as plain strings
            text += f" / `air.{field.enum.__name__}`"
    if argument:
        if field.minimum is not None:
            text += f" >= {field.minimum}"
        if field.required:
            text += ", required"
        elif field.default is not None:
            text += f", default `{_python_literal(field.default)}`"
        else:
            text += ", optional"
    if field.enum is not None:
        text += "; one of " + ", ".join(f"`{member.value}`" for member in field.enum)
    return text


def _python_literal(value: Any) -> str:
    return f'"{value}"' if isinstance(value, str) else repr(value)


def _table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    lines = [_row(header), "|" + "---|" * len(header)]
    lines.extend(_row(row) for row in rows)
    return "\n".join(lines)


def _row(cells: Sequence[str]) -> str:
    return "| " + " | ".join(cell.replace("|", "\\|") for cell in cells) + " |"


def render(kind: str, name: str) -> str:
    """The body of the block ``<!-- generated: <kind> <name> -->``."""
    definitions = {r.definition.name: r.definition for r in RESOURCES}
    types = {o.name: o for o in object_types()}
    if kind in ("arguments", "outputs") and name in definitions:
        definition = definitions[name]
        return arguments_table(definition) if kind == "arguments" else outputs_table(definition)
    if kind == "type" and name in types:
        return type_table(types[name])
    raise ValueError(f"unknown generated block {kind!r} {name!r}: use 'arguments <Resource>', 'outputs <Resource>' "
                     f"(resources: {', '.join(definitions)}) or 'type <ObjectType>' (types: {', '.join(types)})")


# ---------------------------------------------------------------------------------------------- the docs
def update(text: str) -> str:
    """``text`` with every generated block re-rendered (blank lines around the body keep Markdown tables apart
    from the marker comments)."""
    return BLOCK.sub(lambda m: f"{m['start']}\n{render(m['kind'], m['name'])}\n\n{m['end']}", text)


def blocks(text: str) -> list[tuple[str, str]]:
    """The (kind, name) of every generated block in ``text``."""
    return [(m["kind"], m["name"]) for m in BLOCK.finditer(text)]


def stale_docs(docs_dir: Path = DOCS_DIR) -> list[Path]:
    return [path for path in sorted(docs_dir.glob("*.md"))
            if update(text := path.read_text(encoding="utf-8")) != text]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m defender_air_provider.docs_tables",
                                     description="Check (or with --write, regenerate) the docs' argument and "
                                                 "output tables from the resource definitions.")
    parser.add_argument("--write", action="store_true", help="rewrite the generated blocks in place")
    parser.add_argument("--docs", type=Path, default=DOCS_DIR, help=f"docs folder (default: {DOCS_DIR})")
    args = parser.parse_args(argv)
    stale = stale_docs(args.docs)
    if args.write:
        for path in stale:
            path.write_text(update(path.read_text(encoding="utf-8")), encoding="utf-8")
            print(f"regenerated {path}")
        return 0
    for path in stale:
        print(f"out of date: {path} (run `{COMMAND}`)", file=sys.stderr)
    return 1 if stale else 0


if __name__ == "__main__":
    sys.exit(main())
