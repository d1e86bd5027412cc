"""The docs' argument and output tables are the ones the definitions render (docs_tables.py)."""

from __future__ import annotations

import difflib
import shutil
from pathlib import Path

import pytest

from defender_air_provider import docs_tables
from defender_air_provider.package_schema import object_types
from defender_air_provider.registry import RESOURCES, resource

ALERT_POLICY = resource("AlertPolicy").definition
DEVICE_GROUP = resource("DeviceGroup").definition
PRESET_POLICY_ASSIGNMENT = resource("PresetPolicyAssignment").definition

DOCS = Path(__file__).resolve().parents[2] / "docs"


def test_the_tool_works_on_this_repositorys_docs() -> None:
    assert docs_tables.DOCS_DIR == DOCS and (DOCS / "alert-policy.md").is_file()


@pytest.mark.parametrize("path", sorted(DOCS.glob("*.md")), ids=lambda p: p.name)
def test_generated_blocks_match_the_definitions(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    expected = docs_tables.update(text)
    if expected != text:
        diff = "".join(difflib.unified_diff(text.splitlines(True), expected.splitlines(True), "docs", "definitions",
                                            n=0))
        pytest.fail(f"docs/{path.name}: the generated tables differ from the definitions; regenerate them with "
                    f"`{docs_tables.COMMAND}`\n{diff[:3000]}")


def test_every_resource_and_nested_type_has_its_tables_once() -> None:
    found = [block for path in sorted(DOCS.glob("*.md")) for block in docs_tables.blocks(path.read_text("utf-8"))]
    expected = [(kind, r.name) for r in RESOURCES for kind in ("arguments", "outputs")]
    expected += [("type", o.name) for o in object_types()]
    assert sorted(found) == sorted(expected)


def _rows(table: str) -> list[list[str]]:
    return [[cell.strip() for cell in line.strip("|").split(" | ")] for line in table.splitlines()
            if line.startswith("| `")]


def test_argument_tables_say_what_the_definitions_say() -> None:
    rows = {row[0]: row for row in _rows(docs_tables.arguments_table(ALERT_POLICY))}
    assert list(rows) == [f"`{f.name}`" for f in ALERT_POLICY.fields if f.input]
    assert rows["`name`"][1] == "str, required"
    assert rows["`enabled`"][1] == "bool, default `True`"
    assert rows["`adopt_existing`"][1] == "bool, default `False`"
    assert rows["`threshold`"][1] == "int >= 3, optional"
    assert rows["`notify_users`"][1] == "list of str, optional"
    assert rows["`severity`"][1] == ("str / `air.AlertSeverity`, optional; "
                                     "one of `Low`, `Medium`, `High`, `Informational`")
    assert rows["`threat_type`"][2] == ALERT_POLICY.field("threat_type").doc
    assert "`is_built_in`" not in rows  # an output only
    groups = {row[0]: row for row in _rows(docs_tables.arguments_table(DEVICE_GROUP))}
    assert groups["`rules`"][1] == "list of `air.DeviceGroupRuleArgs` / dict, optional"
    presets = {row[0]: row for row in _rows(docs_tables.arguments_table(PRESET_POLICY_ASSIGNMENT))}
    assert presets["`recipients`"][1] == "`air.RecipientScopeArgs` / dict, optional"


def test_output_tables_list_the_computed_fields_and_the_id() -> None:
    table = docs_tables.outputs_table(DEVICE_GROUP)
    rows = {row[0]: row for row in _rows(table)}
    assert list(rows) == ["`rank`", "`group_id`", "`requested_rank`", "`rank_in_place`", "`user_group_ids`", "`tenant`"]
    assert rows["`user_group_ids`"][1] == "list of str"
    assert "Kept in state for the provider's own use." in rows["`requested_rank`"][2]
    assert f"`DeviceGroup.get` takes): {DEVICE_GROUP.id_doc}." in table
    states = {row[0]: row for row in _rows(docs_tables.outputs_table(PRESET_POLICY_ASSIGNMENT))}
    assert states["`atp_rule_state`"][1] == "str; one of `Enabled`, `Disabled`"


def test_nested_type_tables() -> None:
    rule = next(o for o in object_types() if o.name == "DeviceGroupRule")
    rows = {row[0]: row for row in _rows(docs_tables.type_table(rule))}
    assert list(rows) == ["`property`", "`operator`", "`value`"]
    assert rows["`value`"][1] == "str or list of str, required"
    assert rows["`operator`"][1].endswith("one of `equals`, `starts_with`, `ends_with`, `contains`, `in`")


def test_a_pipe_in_a_doc_does_not_split_the_cell() -> None:
    assert docs_tables._row(["`a`", "str", "x | y"]) == "| `a` | str | x \\| y |"


def test_write_regenerates_only_the_blocks_and_check_reports_stale_docs(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    shutil.copy(DOCS / "alert-policy.md", tmp_path / "alert-policy.md")
    doc = tmp_path / "alert-policy.md"
    original = doc.read_text(encoding="utf-8")
    stale = original.replace("| `name` | str, required |", "| `name` | str, written by hand |", 1)
    stale = stale.replace("Unmanaged arguments show", "Hand-written prose stays: unmanaged arguments show", 1)
    assert stale.count("written by hand") == 1 and stale.count("Hand-written prose") == 1
    doc.write_text(stale, encoding="utf-8")

    assert docs_tables.main(["--docs", str(tmp_path)]) == 1
    assert docs_tables.COMMAND in capsys.readouterr().err

    assert docs_tables.main(["--docs", str(tmp_path), "--write"]) == 0
    written = doc.read_text(encoding="utf-8")
    assert "written by hand" not in written and "Hand-written prose stays" in written
    assert written == original.replace("Unmanaged arguments show", "Hand-written prose stays: unmanaged arguments show")
    assert docs_tables.main(["--docs", str(tmp_path)]) == 0


def test_an_unknown_block_is_an_error_naming_it() -> None:
    with pytest.raises(ValueError, match="'arguments' 'NoSuchResource'"):
        docs_tables.update("<!-- generated: arguments NoSuchResource -->\n<!-- /generated -->\n")
