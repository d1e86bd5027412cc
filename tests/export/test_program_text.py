"""The exported program's text (``export/program.py``, the names of ``export/declarations.py``): literals that
evaluate back to the tenant's values and that ``ruff format`` leaves as they are, valid and stable names, enums, list
layout, comments, and resources written commented out."""

from __future__ import annotations

import ast
import keyword
import re
import subprocess
import sys
from typing import Any

import pytest
import respx
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import pulumi_defender_air as air_sdk
from defender_air_provider.core.settings import Settings
from defender_air_provider.export.declarations import (
    RESERVED,
    SOFT_KEYWORDS,
    Declaration,
    assign_names,
    slug,
    variable_of,
)
from defender_air_provider.export.files import export_tenant
from defender_air_provider.export.program import LINE, render_program, resource_lines, string, width
from defender_air_provider.fakes.tenant import FakeTenant
from defender_air_provider.handlers.context import ProviderContext
from defender_air_provider.registry import resource
from tests.fakes_transport import mount
from tests.support import RecordingSleep

BASE = "http://emulator.test:8765"


def ruff_format(source: str) -> str:
    """``source`` as ``ruff format --isolated`` (its defaults: line length 88, double quotes) writes it."""
    done = subprocess.run([sys.executable, "-m", "ruff", "format", "--isolated", "-"], input=source.encode("utf-8"),
                          capture_output=True, check=False, timeout=120)
    assert done.returncode == 0, done.stderr.decode("utf-8", "replace")
    return done.stdout.decode("utf-8")


def assert_ruff_keeps(source: str) -> None:
    formatted = ruff_format(source)
    changed = [(before, after) for before, after in zip(source.splitlines(), formatted.splitlines(), strict=False)
               if before != after]
    assert formatted == source, changed[:3] or (source[-200:], formatted[-200:])


# ---------------------------------------------------------------------------------------------- string()
@pytest.mark.parametrize(("value", "literal"), [
    ("plain", '"plain"'),
    ('say "hi"', "'say \"hi\"'"),  # only double quotes inside: single quotes need no escape
    ("it's", "\"it's\""),  # only single quotes inside: double quotes need none
    ('a"b"c\'d', "'a\"b\"c\\'d'"),  # more double quotes than single: single quotes escape less
    ('a"b\'c', '"a\\"b\'c"'),  # as many of each: double quotes, as ruff prefers
    ("C:\\temp\\new", '"C:\\\\temp\\\\new"'),
    ("line one\nline two\r\n", '"line one\\nline two\\r\\n"'),
    ("a\tb", '"a\\tb"'),
    ("A user clicked through to a potentially malicious URL\u200b",
     '"A user clicked through to a potentially malicious URL\\u200b"'),
    ("nul\x00 del\x7f nbsp\xa0 bell\x07", '"nul\\x00 del\\x7f nbsp\\xa0 bell\\x07"'),
    ("tag\U000e0041 bom\ufeff sep\u2028", '"tag\\U000e0041 bom\\ufeff sep\\u2028"'),
    ("Sécurité Größe 中文 Ελληνικά Ünïcode 😀", '"Sécurité Größe 中文 Ελληνικά Ünïcode 😀"'),  # printable: kept
])
def test_string_literal(value: str, literal: str) -> None:
    assert string(value) == literal
    assert ast.literal_eval(literal) == value


@given(st.text())
def test_string_evaluates_back_and_is_one_printable_line(value: str) -> None:
    literal = string(value)
    assert ast.literal_eval(literal) == value
    assert literal.isprintable()  # no raw control character, line break or invisible character in the program


TRICKY = ["", "'", '"', "\\", "\\'", '\\"', "'\"'", '"\'"', "\\\\", "a'b'c\"d", "a\"b\"c'd", "\x00\x01\x1f\x7f",
          "\u200b", "\u200bname\u200b", "\r\n\t\x0b\x0c", "\u2028\u2029\x85", "中文" * 40, "é" * 100,
          "ends with backslash \\", "\N{ZERO WIDTH JOINER}\N{COMBINING ACUTE ACCENT}e\u0301", "\U0001f600\U000e0001"]


def _assignments(values: list[str]) -> str:
    return "".join(f"x{index} = {string(value)}\n" for index, value in enumerate(values))


def test_ruff_format_keeps_tricky_literals() -> None:
    assert_ruff_keeps(_assignments(TRICKY))


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.text(), min_size=1, max_size=60))
def test_ruff_format_keeps_any_literal(values: list[str]) -> None:
    # One ruff run per example, over many values: a subprocess per value would be slow for little more.
    assert_ruff_keeps(_assignments(values))


# ---------------------------------------------------------------------------------------------- names
@pytest.mark.parametrize(("text", "expected"), [
    ("Finance laptops", "finance-laptops"),
    ("  Tier0 servers ", "tier0-servers"),
    ("Ünïcode Gruppe", "unicode-gruppe"),
    ("--a__b..c--", "a-b-c"),
    ("Audit logging changed\u200b", "audit-logging-changed"),
    ("中文", ""),
    ("", ""),
])
def test_slug(text: str, expected: str) -> None:
    assert slug(text) == expected


@pytest.mark.parametrize(("name", "variable"), [
    ("finance-laptops-2", "finance_laptops_2"),
    ("class", "class_"),
    ("import", "import_"),
    ("match", "match_"),  # soft keywords too: a reader should not have to know they are allowed
    ("case", "case_"),
    ("type", "type_"),  # a soft keyword from Python 3.12 only: the same name whatever Python exports
    ("air", "air_"),  # the program's own import
    ("pulumi", "pulumi_"),
    ("1st-floor", "n1st_floor"),
    ("2", "n2"),
])
def test_variable_of(name: str, variable: str) -> None:
    assert variable_of(name) == variable


@given(st.text())
def test_every_slug_gives_a_usable_variable(text: str) -> None:
    variable = variable_of(slug(text) or "device-group-7")
    assert variable.isidentifier() and variable.isascii()
    assert not keyword.iskeyword(variable) and not keyword.issoftkeyword(variable)
    assert variable not in SOFT_KEYWORDS | RESERVED


def _group(name_source: str, fallback: str = "device-group-1", **inputs: Any) -> Declaration:
    return Declaration(2, resource("DeviceGroup"), name_source, fallback,
                       {"display_name": name_source, "automation_level": "full", **inputs})


def _named(sources: list[tuple[str, str]]) -> list[tuple[str, str]]:
    found = [_group(source, fallback) for source, fallback in sources]
    assign_names(found)
    return [(d.resource_name, d.variable) for d in found]


def test_assign_names_deduplicates_in_the_programs_order() -> None:
    sources = [("Finance laptops", "device-group-1"), ("Finance laptops", "device-group-2"),
               ("finance LAPTOPS!", "device-group-3"), ("中文", "device-group-4"), ("Ελληνικά", "device-group-5"),
               ("class", "device-group-6"), ("Air", "device-group-7"), ("1st floor", "device-group-8"),
               ("n1st floor", "device-group-9"), ("Finance laptops 2", "device-group-10")]
    assert _named(sources) == [
        ("finance-laptops", "finance_laptops"),
        ("finance-laptops-2", "finance_laptops_2"),
        ("finance-laptops-3", "finance_laptops_3"),
        ("device-group-4", "device_group_4"),  # no usable slug: the fallback name
        ("device-group-5", "device_group_5"),
        ("class", "class_"),
        ("air", "air_"),
        ("1st-floor", "n1st_floor"),
        ("n1st-floor", "n1st_floor_2"),  # another resource name, the same variable: numbered
        ("finance-laptops-2-2", "finance_laptops_2_2"),  # its own slug was taken by the second one
    ]
    assert _named(sources) == _named(sources)  # stable: nothing depends on a set's or a service's order
    names = _named(sources)
    assert len({n for n, _ in names}) == len({v for _, v in names}) == len(sources)


# ---------------------------------------------------------------------------------------------- values and layout
def _lines_of(declaration: Declaration) -> list[str]:
    assign_names([declaration])
    return resource_lines(declaration)


def test_enums_are_written_as_sdk_members() -> None:
    declaration = _group("Servers", rules=[{"property": "os", "operator": "in", "value": ["Windows11", "macOS"]},
                                           {"property": "tag", "operator": "starts_with", "value": "Tier0"}])
    text = "\n".join(_lines_of(declaration))
    assert "automation_level=air.AutomationLevel.FULL," in text
    assert "property=air.DeviceGroupRuleProperty.OS," in text and "operator=air.DeviceGroupRuleOperator.IN," in text
    assert "operator=air.DeviceGroupRuleOperator.STARTS_WITH," in text
    assert "air.DeviceGroupRuleArgs(" in text
    for enum_name, member in re.findall(r"\bair\.(\w+)\.(\w+)\b", text):  # each one exists in the SDK
        assert getattr(getattr(air_sdk, enum_name), member) is not None
    assert air_sdk.DeviceGroupRuleArgs is not None


def test_long_lists_one_item_per_line_short_ones_on_one_line() -> None:
    many = [f"security.operations.{n}@contoso.onmicrosoft.com" for n in range(6)]
    declaration = Declaration(3, resource("AlertPolicy"), "Custom", "alert-policy-1",
                              {"name": "Custom", "notify_users": many, "operations": ["A", "B"]})
    lines = _lines_of(declaration)
    start = lines.index("    notify_users=[")
    assert lines[start + 1:start + 8] == [f'        "{m}",' for m in many] + ["    ],"]
    assert '    operations=["A", "B"],' in lines
    assert all(width(line) <= LINE for line in lines)
    assert_ruff_keeps("\n".join(lines) + "\n")


def test_wide_characters_count_double_as_ruff_counts_them() -> None:
    # 4 x 10 CJK characters: 63 code points on the line, but 103 columns.
    names = ["中文中文中文中文中文"] * 3 + ["中文中文中文中文中文x"]
    lines = _lines_of(_group("Wide", user_groups=names))
    assert '    user_groups=[' in lines
    assert_ruff_keeps("\n".join(lines) + "\n")


@settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.lists(st.text(alphabet=st.one_of(st.characters(), st.characters(min_codepoint=0x4E00,
                                                                                   max_codepoint=0x4FFF)),
                                 max_size=24), min_size=1, max_size=6), min_size=1, max_size=12))
def test_ruff_format_keeps_any_list_layout(lists: list[list[str]]) -> None:
    declarations = [Declaration(3, resource("AlertPolicy"), f"Policy {n}", f"alert-policy-{n}",
                                {"name": f"Policy {n}", "notify_users": values}) for n, values in enumerate(lists)]
    assign_names(declarations)
    assert_ruff_keeps("\n\n".join("\n".join(resource_lines(d)) for d in declarations) + "\n")


def test_user_group_notes_are_comments_on_their_own_item() -> None:
    declaration = _group("Tier0", user_groups=["2e7b9c4d-5f1a-4d3b-9c8e-7a6f4b2d1c04", "SOC Analysts"])
    declaration.item_notes[("user_groups", 0)] = "'Contractors' (2 Entra groups have this name)"
    lines = _lines_of(declaration)
    assert '        "2e7b9c4d-5f1a-4d3b-9c8e-7a6f4b2d1c04",  # \'Contractors\' (2 Entra groups have this name)' in lines
    assert '        "SOC Analysts",' in lines  # a note forces one item per line, even for a short list
    assert_ruff_keeps("\n".join(lines) + "\n")


def test_a_resource_left_out_is_commented_out_line_by_line() -> None:
    declaration = _group("Retired lab", rules=[{"property": "name", "operator": "starts_with", "value": "lab-"}],
                         user_groups=["0d4e5f60-1a2b-4c3d-8e9f-a0b1c2d3e4f5"])
    declaration.item_notes[("user_groups", 0)] = "no longer in Entra"
    declaration.leave_out("user group 0d4e5f60-1a2b-4c3d-8e9f-a0b1c2d3e4f5 no longer exists in Entra, so the "
                          "resource would fail to create; a reason long enough to be wrapped over several lines")
    lines = _lines_of(declaration)
    assert all(line.startswith("# ") for line in lines)
    call = [line for line in lines if line.startswith("# retired_lab = air.DeviceGroup(")]
    assert len(call) == 1
    start = lines.index(call[0])
    uncommented = "\n".join(line[2:] for line in lines[start:])
    tree = ast.parse(uncommented)  # uncommenting it gives a valid call
    assert isinstance(tree.body[0], ast.Assign)
    assert ast.parse("\n".join(lines)).body == []  # commented out: nothing runs


def test_a_program_with_a_resource_left_out_parses_and_lists_it() -> None:
    kept = _group("Servers")
    left = _group("Old", "device-group-2")
    left.leave_out("the reason")
    assign_names([kept, left])
    program = render_program([kept, left], tenant="t", emulated=True)
    tree = ast.parse(program)
    assert [node.targets[0].id for node in tree.body if isinstance(node, ast.Assign)  # type: ignore[attr-defined]
            ] == ["servers"]
    assert "- DeviceGroup old" in program and "# old = air.DeviceGroup(" in program
    assert_ruff_keeps(program)


# ---------------------------------------------------------------------------------------------- a whole program
def test_a_tenant_with_awkward_names_exports_a_program_ruff_keeps() -> None:
    tenant = FakeTenant()
    tenant.portal.edit_group("Workstations", Name='Ops "core" \\ team\t', Description="line one\nline two\u200b")
    wide = [tenant.graph.add_group(name) for name in
            ("セキュリティ運用チームのメンバー", "財務部の管理者グループ", "Équipe sécurité « nuit »")]
    tenant.portal.add_group(Name="財務部のノートパソコン", MachineGroupAssignments=[
        {"WcdAadGroup": {"ObjectId": group["id"], "DisplayName": group["displayName"]}} for group in wide])
    tenant.compliance.add_custom(Name="Bob's \"mass\" download", NotifyUser=[
        f"équipe.sécurité.{n}@contoso.onmicrosoft.com" for n in range(4)])
    with respx.mock(assert_all_called=False, assert_all_mocked=True) as router:
        mount(router, tenant, emulator_base=BASE)
        program = export_tenant(ProviderContext(Settings(emulator_url=BASE), sleep=RecordingSleep())
                                ).files["__main__.py"]
    assert_ruff_keeps(program)
    calls = [node.value for node in ast.parse(program).body
             if isinstance(node, ast.Assign) and isinstance(node.value, ast.Call)]
    declared = {ast.literal_eval(k.value) for call in calls for k in call.keywords
                if k.arg == "display_name"}
    assert {g["Name"] for g in tenant.portal.groups() if not g["IsUnassignedMachineGroup"]} == declared
    assert any(ast.literal_eval(k.value) == "Bob's \"mass\" download" for call in calls for k in call.keywords
               if k.arg == "name")
    assert '"財務部のノートパソコン",' in program.splitlines()[program.splitlines().index(
        "device_group_108 = air.DeviceGroup(") + 2]  # no slug: the fallback resource name, its display name as is
