"""`defender-air schema`: the package schema is valid for Pulumi and says what the definitions say.

Validated against Pulumi's own metaschema, vendored next to this file (see README.md here).
"""

from __future__ import annotations

import copy
import importlib.metadata
import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator, ValidationError, validators

import pulumi_defender_air
from defender_air_provider.cli import main
from defender_air_provider.core.clouds import CLOUDS
from defender_air_provider.core.settings import CONFIG_KEYS
from defender_air_provider.definitions import Field, Kind, ResourceDefinition
from defender_air_provider.definitions import enums as enum_module
from defender_air_provider.fakes.tenant import FakeTenant
from defender_air_provider.package_schema import always_set, enum_classes, object_types, package_schema
from defender_air_provider.registry import RESOURCES

HERE = Path(__file__).resolve().parent
METASCHEMA: dict[str, Any] = json.loads((HERE / "pulumi-package-metaschema.json").read_text(encoding="utf-8"))
PREFIX = "defender-air:index:"


def python_regex(pattern: str) -> str:
    """JSON Schema patterns are ECMA-262 regexes; the metaschema's semver pattern uses ECMA named groups
    ``(?<major>...)``, which Python's ``re`` spells ``(?P<major>...)`` (jsonschema hands patterns to ``re`` as
    they are, and ``re`` rejects them). Lookbehinds ``(?<=`` / ``(?<!`` are not followed by a letter, so they
    are left alone."""
    return re.sub(r"\(\?<(?=[A-Za-z_])", "(?P<", pattern)


def _ecma_pattern(validator: Any, pattern: str, instance: Any, schema: Any) -> Iterator[ValidationError]:
    if validator.is_type(instance, "string") and not re.search(python_regex(pattern), instance):
        yield ValidationError(f"{instance!r} does not match {pattern!r}")


def metaschema_validator() -> Any:
    declared = validators.validator_for(METASCHEMA)  # the Draft the metaschema's "$schema" names
    cls = validators.extend(declared, {"pattern": _ecma_pattern})
    return cls(METASCHEMA, format_checker=declared.FORMAT_CHECKER)


def errors(document: dict[str, Any]) -> list[str]:
    return [f"{'/'.join(map(str, e.absolute_path))}: {e.message[:300]}"
            for e in metaschema_validator().iter_errors(document)]


@pytest.fixture(scope="module")
def schema() -> dict[str, Any]:
    return package_schema()


def resource_spec(schema: dict[str, Any], definition: ResourceDefinition) -> dict[str, Any]:
    spec: dict[str, Any] = schema["resources"][PREFIX + definition.name]
    return spec


DEFINITIONS = [r.definition for r in RESOURCES]
IDS = [d.name for d in DEFINITIONS]


# ---------------------------------------------------------------------------------------------- metaschema
def test_the_vendored_metaschema_is_draft_2020_12_and_itself_valid() -> None:
    assert METASCHEMA["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert validators.validator_for(METASCHEMA) is Draft202012Validator
    # Without format checks: the "regex" format checker compiles patterns with Python's re (see python_regex).
    Draft202012Validator.check_schema(METASCHEMA, format_checker=None)


def test_every_metaschema_pattern_compiles_once_translated_to_python() -> None:
    def patterns(node: Any) -> Iterator[str]:
        if isinstance(node, dict):
            if isinstance(node.get("pattern"), str):
                yield node["pattern"]
            for value in node.values():
                yield from patterns(value)
        elif isinstance(node, list):
            for value in node:
                yield from patterns(value)

    found = list(patterns(METASCHEMA))
    assert any("(?<major>" in p for p in found)  # the construct python_regex exists for
    for pattern in found:
        re.compile(python_regex(pattern))


def test_the_schema_validates_against_pulumis_metaschema(schema: dict[str, Any]) -> None:
    assert errors(schema) == []


def _broken_version(s: dict[str, Any]) -> None:
    s["version"] = "0.1"


def _broken_kind(s: dict[str, Any]) -> None:
    s["resources"][PREFIX + "AlertPolicy"]["properties"]["notify_users"] = {"type": "string_list"}


def _broken_token(s: dict[str, Any]) -> None:
    s["resources"]["AlertPolicy"] = s["resources"].pop(PREFIX + "AlertPolicy")


def _broken_enum(s: dict[str, Any]) -> None:
    del s["types"][PREFIX + "Preset"]["enum"]


def _broken_array(s: dict[str, Any]) -> None:
    del s["types"][PREFIX + "DeviceGroupRule"]["properties"]["value"]["oneOf"][1]["items"]


@pytest.mark.parametrize("breakage", [_broken_version, _broken_kind, _broken_token, _broken_enum, _broken_array])
def test_the_metaschema_check_rejects_a_broken_schema(schema: dict[str, Any], breakage: Any) -> None:
    broken = copy.deepcopy(schema)
    breakage(broken)
    assert errors(broken), "the metaschema validation accepted a broken schema: it checks nothing"


def test_the_python_language_section_fits_the_metaschemas_python_spec(schema: dict[str, Any]) -> None:
    # The metaschema types "language" as any object; its Python overrides are defined but not referenced.
    python_spec = {**METASCHEMA["$defs"]["pythonLanguageSpec"], "$defs": METASCHEMA["$defs"]}
    Draft202012Validator(python_spec).validate(schema["language"]["python"])
    # A generated native Python SDK must not shadow the hand-written library of the dynamic resources.
    assert schema["language"]["python"]["packageName"] == "pulumi_defender_air_native" != pulumi_defender_air.__name__


@pytest.mark.parametrize("language", ["python", "nodejs", "csharp"])
def test_each_language_section_fits_its_metaschema_spec(schema: dict[str, Any], language: str) -> None:
    spec = {**METASCHEMA["$defs"][f"{language}LanguageSpec"], "$defs": METASCHEMA["$defs"]}
    Draft202012Validator(spec).validate(schema["language"][language])


def test_every_reference_resolves_to_a_type(schema: dict[str, Any]) -> None:
    def refs(node: Any) -> Iterator[str]:
        if isinstance(node, dict):
            if "$ref" in node:
                yield node["$ref"]
            for value in node.values():
                yield from refs(value)
        elif isinstance(node, list):
            for value in node:
                yield from refs(value)

    found = set(refs(schema))
    assert found, "no references at all: nested and enum types are not referenced"
    for ref in found:
        assert ref.startswith("#/types/"), ref
        assert ref.removeprefix("#/types/") in schema["types"], ref
    unused = set(schema["types"]) - {ref.removeprefix("#/types/") for ref in found}
    assert not unused, f"types no property refers to: {unused}"


# ---------------------------------------------------------------------------------------------- resources
def test_package_identity(schema: dict[str, Any]) -> None:
    assert schema["name"] == "defender-air"
    assert schema["version"] == importlib.metadata.version("pulumi-defender-air")
    assert list(schema["resources"]) == [PREFIX + r.name for r in RESOURCES]
    # CONTRACT.md "Native provider": the tokens every registered resource must have (EndpointAdvancedFeatures
    # joins when it is registered).
    assert {PREFIX + n for n in ("DeviceGroup", "DefaultDeviceGroup", "AlertPolicy", "PresetPolicyAssignment")} \
        <= set(schema["resources"])


@pytest.mark.parametrize("definition", DEFINITIONS, ids=IDS)
def test_every_input_and_output_field_appears(schema: dict[str, Any], definition: ResourceDefinition) -> None:
    spec = resource_spec(schema, definition)
    assert spec["description"] == definition.doc
    assert list(spec["inputProperties"]) == [f.name for f in definition.fields if f.input]
    assert list(spec["properties"]) == [f.name for f in definition.fields]
    for f in definition.fields:
        assert spec["properties"][f.name]["description"] == f.doc
        if f.input:
            assert spec["inputProperties"][f.name]["description"] == f.doc
    computed_only = {f.name for f in definition.fields if not f.input}
    assert computed_only <= set(spec["properties"]) and not computed_only & set(spec["inputProperties"])


EXPECTED_REPLACES = {"AlertPolicy": {"name", "threat_type"}, "PresetPolicyAssignment": {"preset"},
                     "DeviceGroup": set(), "DefaultDeviceGroup": set(),
                     "EndpointAdvancedFeatures": set()}  # CONTRACT.md: what is "immutable"


@pytest.mark.parametrize("definition", DEFINITIONS, ids=IDS)
def test_will_replace_on_changes_exactly_on_replacing_fields(schema: dict[str, Any],
                                                            definition: ResourceDefinition) -> None:
    spec = resource_spec(schema, definition)
    flagged = {name for name, p in spec["inputProperties"].items() if p.get("willReplaceOnChanges")}
    assert flagged == {f.name for f in definition.fields if f.input and f.replaces}
    assert flagged == EXPECTED_REPLACES[definition.name]
    assert all(p.get("willReplaceOnChanges") is True for name, p in spec["inputProperties"].items() if name in flagged)
    assert not any("willReplaceOnChanges" in p for p in spec["properties"].values())


EXPECTED_REQUIRED_INPUTS = {"AlertPolicy": ["name"], "PresetPolicyAssignment": ["preset"],
                            "DeviceGroup": ["display_name", "automation_level"],
                            "DefaultDeviceGroup": ["automation_level"],
                            "EndpointAdvancedFeatures": []}  # CONTRACT.md's "required" arguments


@pytest.mark.parametrize("definition", DEFINITIONS, ids=IDS)
def test_required_inputs_match(schema: dict[str, Any], definition: ResourceDefinition) -> None:
    spec = resource_spec(schema, definition)
    assert spec["requiredInputs"] == [f.name for f in definition.fields if f.input and f.required]
    assert spec["requiredInputs"] == EXPECTED_REQUIRED_INPUTS[definition.name]
    assert set(spec["requiredInputs"]) <= set(spec["required"])
    assert set(spec["required"]) <= set(spec["properties"])


@pytest.mark.parametrize("definition", DEFINITIONS, ids=IDS)
def test_defaults_are_the_definitions_defaults(schema: dict[str, Any], definition: ResourceDefinition) -> None:
    spec = resource_spec(schema, definition)
    for f in definition.fields:
        if not f.input:
            continue
        prop = spec["inputProperties"][f.name]
        if f.default is None:
            assert "default" not in prop, f.name
        else:
            assert prop["default"] == f.default and type(prop["default"]) is type(f.default), f.name


def test_field_types(schema: dict[str, Any]) -> None:
    def prop(resource: str, name: str) -> Any:
        return schema["resources"][PREFIX + resource]["properties"][name]

    ref = "#/types/" + PREFIX
    assert prop("AlertPolicy", "name")["type"] == "string"
    assert prop("AlertPolicy", "enabled")["type"] == "boolean"
    assert prop("AlertPolicy", "threshold")["type"] == "integer"
    assert prop("AlertPolicy", "notify_users")["type"] == "array"
    assert prop("AlertPolicy", "notify_users")["items"] == {"type": "string"}
    assert prop("AlertPolicy", "severity")["$ref"] == ref + "AlertSeverity"
    assert prop("DeviceGroup", "automation_level")["$ref"] == ref + "AutomationLevel"
    assert prop("DeviceGroup", "rules")["items"] == {"$ref": ref + "DeviceGroupRule"}
    assert prop("PresetPolicyAssignment", "recipients")["$ref"] == ref + "RecipientScope"
    assert prop("PresetPolicyAssignment", "eop_rule_state")["$ref"] == ref + "RuleState"
    rule = schema["types"][PREFIX + "DeviceGroupRule"]
    assert rule["type"] == "object" and rule["required"] == ["property", "operator", "value"]
    assert rule["properties"]["value"]["oneOf"] == [{"type": "string"},
                                                    {"type": "array", "items": {"type": "string"}}]
    assert rule["properties"]["operator"]["$ref"] == ref + "DeviceGroupRuleOperator"
    scope = schema["types"][PREFIX + "RecipientScope"]
    assert list(scope["properties"]) == ["users", "groups", "domains"] and scope["required"] == []


def _kind_of(spec: dict[str, Any]) -> Kind:
    """Read a property spec back into the field kind it must have come from."""
    if "oneOf" in spec:
        return Kind.STRING_OR_LIST
    if spec.get("type") == "array":
        return Kind.OBJECT_LIST if _is_object_ref(spec["items"]) else Kind.STRING_LIST
    if "$ref" in spec:
        return Kind.OBJECT if _is_object_ref(spec) else Kind.STRING  # else: a string enum
    return {"string": Kind.STRING, "boolean": Kind.BOOL, "integer": Kind.INT}[spec["type"]]


def _is_object_ref(spec: dict[str, Any]) -> bool:
    return "$ref" in spec and spec["$ref"].rsplit(":", 1)[-1] in _OBJECT_NAMES


_OBJECT_NAMES = {o.name for o in object_types()}


def _all_fields() -> list[tuple[str, Field, dict[str, Any]]]:
    schema = package_schema()
    found = [(d.name, f, resource_spec(schema, d)["properties"][f.name]) for d in DEFINITIONS for f in d.fields]
    found += [(o.name, f, schema["types"][PREFIX + o.name]["properties"][f.name]) for o in object_types()
              for f in o.fields]
    return found


def test_every_fields_kind_maps_to_its_schema_type() -> None:
    for owner, f, spec in _all_fields():
        assert _kind_of(spec) is f.kind, f"{owner}.{f.name}: {spec}"


# ---------------------------------------------------------------------------------------------- enums
def _snake(pascal: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", pascal).upper()


def test_enums_match_the_enum_classes(schema: dict[str, Any]) -> None:
    used = {f.enum for _, f, _ in _all_fields() if f.enum is not None}
    assert set(enum_classes()) == used
    enum_types = {token.removeprefix(PREFIX): spec for token, spec in schema["types"].items() if "enum" in spec}
    assert set(enum_types) == {cls.__name__ for cls in used}
    for cls in used:
        spec = enum_types[cls.__name__]
        assert spec["type"] == "string"
        assert [v["value"] for v in spec["enum"]] == [m.value for m in cls]
        assert [_snake(v["name"]) for v in spec["enum"]] == [m.name for m in cls]
    # CONTRACT.md "Typed SDK surface": the closed sets every user sees as str-enums.
    for name in ("Preset", "AutomationLevel", "AlertSeverity", "AlertThreatType", "AlertAggregationType",
                 "DeviceGroupRuleProperty", "DeviceGroupRuleOperator"):
        assert getattr(enum_module, name).__name__ in enum_types, name


def test_enum_values_are_what_the_contract_names(schema: dict[str, Any]) -> None:
    def values(name: str) -> list[str]:
        return [v["value"] for v in schema["types"][PREFIX + name]["enum"]]

    assert values("Preset") == ["standard", "strict"]
    assert values("AutomationLevel") == ["full", "semi_all_folders", "semi_core_folders", "semi_non_temp_folders",
                                         "none"]
    assert values("AlertSeverity") == ["Low", "Medium", "High", "Informational"]
    assert values("DeviceGroupRuleOperator") == ["equals", "starts_with", "ends_with", "contains", "in"]
    assert [v["name"] for v in schema["types"][PREFIX + "AutomationLevel"]["enum"]][:2] == ["Full", "SemiAllFolders"]


# ---------------------------------------------------------------------------------------------- configuration
def test_config_variables_are_the_providers_configuration_keys(schema: dict[str, Any]) -> None:
    variables = schema["config"]["variables"]
    assert list(variables) == list(CONFIG_KEYS)
    assert {k for k, v in variables.items() if v.get("secret")} == {"clientSecret", "portalSession"}
    for key, env in CONFIG_KEYS.items():
        assert variables[key]["type"] == "string" and variables[key]["description"]
        assert variables[key].get("defaultInfo") == ({"environment": [env]} if env else None)
    assert schema["provider"]["inputProperties"] == variables
    for cloud in CLOUDS:
        assert f"`{cloud}`" in variables["cloud"]["description"]


# ---------------------------------------------------------------------------------------------- required outputs
# Inputs as the SDK sends them with only the required arguments given: defaults filled in, the rest None.
MINIMAL_INPUTS: dict[str, dict[str, Any]] = {
    "PresetPolicyAssignment": {"preset": "standard"},
    "AlertPolicy": {"name": "Content search deleted", "category": "Others", "threat_type": "Activity",
                    "operations": ["SearchRemoved"], "aggregation_type": "None",
                    "notify_users": ["secops@contoso.onmicrosoft.com"]},  # what New-ProtectionAlert needs
    "DeviceGroup": {"display_name": "Schema test group", "automation_level": "full"},
    "DefaultDeviceGroup": {"automation_level": "full"},
    "EndpointAdvancedFeatures": {"auto_resolve_investigated_alerts": True},
}
# The rest: the created id.
GET_IDS = {"PresetPolicyAssignment": "standard", "DefaultDeviceGroup": "default", "EndpointAdvancedFeatures": "default"}


@pytest.mark.parametrize("registered", RESOURCES, ids=IDS)
def test_required_outputs_are_set_after_create_and_after_get(portal_tenant: FakeTenant, registered: Any) -> None:
    """`required` promises a value in every output: check it against the handlers and the fakes, for create and
    for a read by id alone (`X.get`)."""
    definition: ResourceDefinition = registered.definition
    required = resource_spec(package_schema(), definition)["required"]
    assert required == [f.name for f in definition.fields if always_set(f)]
    given = MINIMAL_INPUTS[definition.name]
    news = {f.name: given.get(f.name, f.default) for f in definition.fields if f.input}
    provider = registered.provider()
    checked = provider.check({}, news)
    assert not checked.failures, checked.failures
    created = provider.create(dict(checked.inputs))
    read = provider.read(GET_IDS.get(definition.name, created.id), {})
    for outputs in (created.outs, read.outs):
        assert outputs is not None
        assert [name for name in required if outputs.get(name) is None] == []


# ---------------------------------------------------------------------------------------------- command line
def test_the_command_prints_the_schema(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["schema"]) == 0
    out = capsys.readouterr().out
    assert json.loads(out) == package_schema()
    assert out == json.dumps(package_schema(), indent=2) + "\n"


def test_the_output_is_the_same_bytes_on_every_run() -> None:
    def run(hash_seed: str) -> bytes:
        env = {**os.environ, "PYTHONHASHSEED": hash_seed}  # a set iterated somewhere would change the order
        done = subprocess.run([sys.executable, "-m", "defender_air_provider.cli", "schema"], env=env,
                              capture_output=True, check=True, timeout=120)
        return done.stdout

    first, second = run("1"), run("2")
    assert first == second
    assert json.loads(first) == package_schema()


def test_a_reader_that_goes_away_is_not_an_error() -> None:
    """``defender-air schema | head`` ends quietly: no traceback, exit status 0."""
    import subprocess
    import sys

    script = ("import sys, io\n"
              "from defender_air_provider import cli\n"
              "r, w = __import__('os').pipe()\n"
              "__import__('os').close(r)\n"  # nobody will read: every write is a broken pipe
              "__import__('os').dup2(w, 1)\n"
              "sys.stdout = io.TextIOWrapper(io.FileIO(1, 'w', closefd=False), write_through=True)\n"
              "sys.exit(cli.main(['schema']))\n")
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr
