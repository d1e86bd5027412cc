"""The exported program's literals and layout, for any text a tenant may hold (hypothesis).

The round-trip tests generate names from a small alphabet; this one throws any Unicode at the two places where text
decides what the program looks like: the string literal (its quotes and escapes) and whether a list fits on one line
(ruff counts a wide character as two columns). For each generated resource the rendered text must be what
``ruff format`` leaves as it is, and must evaluate back to exactly the values it was given.
"""

from __future__ import annotations

import ast

from hypothesis import given, settings
from hypothesis import strategies as st

from defender_air_provider.export.declarations import Declaration
from defender_air_provider.export.program import resource_lines
from defender_air_provider.registry import resource
from tests.export.roundtrip import ruff_format_diff

# Any character but surrogates; wide scripts, quotes, backslashes and the zero-width space made common.
TEXT = st.text(st.one_of(st.characters(codec="utf-8"), st.sampled_from("\"'\\日本語ｶﾞ\u200b\u0301 ")), max_size=30)


def _program(name: str, notify_users: list[str], operations: list[str]) -> tuple[str, dict[str, object]]:
    inputs: dict[str, object] = {"name": name, "notify_users": notify_users, "operations": operations}
    declaration = Declaration(3, resource("AlertPolicy"), name, "policy", inputs)
    declaration.resource_name, declaration.variable = "policy", "policy"
    return "import pulumi_defender_air as air\n\n" + "\n".join(resource_lines(declaration)) + "\n", inputs


# A single ruff run checks a whole program, so examples are cheap; 60 of them cover quotes, escapes and widths.
@settings(max_examples=60, deadline=None)
@given(TEXT, st.lists(TEXT, max_size=5), st.lists(TEXT, max_size=3))
def test_literals_and_line_breaks_are_what_ruff_format_writes(name: str, notify: list[str], ops: list[str]) -> None:
    text, inputs = _program(name, notify, ops)
    assert ruff_format_diff(text) == ""
    [_, assignment] = ast.parse(text).body
    assert isinstance(assignment, ast.Assign) and isinstance(assignment.value, ast.Call)
    written = {k.arg: ast.literal_eval(k.value) for k in assignment.value.keywords}
    assert written == inputs


def test_quotes_are_the_ones_that_need_fewer_escapes() -> None:
    # Found by the round trip: two double quotes and one single quote were written in double quotes.
    assert _program('Say "don\'t" twice', [], [])[0].splitlines()[4] == "    name='Say \"don\\'t\" twice',"
    assert _program("Both ' and \" quotes", [], [])[0].splitlines()[4] == "    name=\"Both ' and \\\" quotes\","


def test_a_list_that_fits_by_characters_but_not_by_columns_is_split() -> None:
    # Five wide characters take ten columns: ruff splits this list, so the program must too.
    text, _ = _program("x", ["日本語日本語日本語日本語日本語", "abcdefghijklmnopqrstuvwxyzabcdefghijklmnopq"], [])
    assert "    notify_users=[\n        \"日本語日本語日本語日本語日本語\",\n" in text
    assert ruff_format_diff(text) == ""
