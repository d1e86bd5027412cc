"""examples/yaml-two-tenants/Pulumi.yaml: checked against the package schema, then run through the native plugin.

There is no Pulumi CLI here, so pulumi-yaml never type-checks the program. The first tests do the checks it would
do with the schema: each resource's ``type`` is a schema token (or the provider's), each property is one of the
resource's ``inputProperties`` (snake_case, as the schema names them), the ``requiredInputs`` are present, a literal
enum value is an allowed value, nested objects follow their type, and each resource's ``options.provider`` names a
declared defender-air provider. Every check is also run on a mutated copy that must fail it.

The last test deploys the program as the engine would, one resource at a time (tests/harness/native.py): one plugin
process per explicit provider, configured with that provider's properties, each pointed at its own emulator, and a
second ``up`` must change nothing. The YAML expressions the example uses (``${config key}``, ``fn::secret``) are
resolved here; pulumi-yaml itself is not run.
"""

from __future__ import annotations

import copy
import importlib
import re
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest

from defender_air_provider.core.settings import NAMESPACE
from defender_air_provider.fakes.server import EmulatorServer
from defender_air_provider.fakes.tenant import FakeTenant
from defender_air_provider.package_schema import package_schema
from tests.harness.engine import Registration, ResourceState
from tests.harness.native import PROVIDER_TYPE, NativeEngine

# PyYAML comes with pulumi, without type stubs (mypy reports an untyped import once per run, wherever it is first).
yaml: Any = importlib.import_module("yaml")
EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "yaml-two-tenants" / "Pulumi.yaml"
SCHEMA: dict[str, Any] = package_schema()
REFERENCE = re.compile(r"^\$\{([A-Za-z][\w-]*)\}$")
PRIMITIVES: dict[str, tuple[type, ...]] = {"string": (str,), "boolean": (bool,), "array": (list,),
                                           "integer": (int,), "number": (int, float)}


def load_example() -> dict[str, Any]:
    program = yaml.safe_load(EXAMPLE.read_text(encoding="utf-8"))
    assert isinstance(program, dict)
    return program


def is_expression(value: Any) -> bool:
    """A value pulumi-yaml computes (``${...}``, ``fn::...``): its type is known only when the program runs."""
    return (isinstance(value, str) and "${" in value) or \
        (isinstance(value, dict) and len(value) == 1 and str(next(iter(value))).startswith("fn::"))


def references(value: Any) -> Iterator[str]:
    """The names a value refers to (``${name}``, ``${name.output}``)."""
    if isinstance(value, str):
        yield from (m.split(".")[0].split("[")[0] for m in re.findall(r"\$\{([^}]+)\}", value))
    elif isinstance(value, dict):
        for item in value.values():
            yield from references(item)
    elif isinstance(value, list):
        for item in value:
            yield from references(item)


def value_problems(where: str, value: Any, spec: Mapping[str, Any]) -> list[str]:
    """What is wrong with one property value against its schema spec (a ``$ref``, an array or a primitive)."""
    if is_expression(value):
        return []
    ref = spec.get("$ref")
    if ref is not None:
        target = SCHEMA["types"][ref.removeprefix("#/types/")]
        if "enum" in target:
            allowed = [member["value"] for member in target["enum"]]
            return [] if value in allowed else [f"{where}: {value!r} is not one of {allowed}"]
        return object_problems(where, value, target.get("properties", {}), target.get("required", []))
    kind = spec.get("type")
    if kind == "array":
        if not isinstance(value, list):
            return [f"{where}: expected a list, got {value!r}"]
        return [p for n, item in enumerate(value) for p in value_problems(f"{where}[{n}]", item, spec["items"])]
    if kind in PRIMITIVES and (not isinstance(value, PRIMITIVES[kind]) or (kind != "boolean" and
                                                                          isinstance(value, bool))):
        return [f"{where}: expected {kind}, got {value!r}"]
    return []


def object_problems(where: str, value: Any, properties: Mapping[str, Any], required: list[str]) -> list[str]:
    if not isinstance(value, dict):
        return [f"{where}: expected an object, got {value!r}"]
    problems = [f"{where}: no property {key!r} in the schema (it has {', '.join(sorted(properties))})"
                for key in value if key not in properties]
    problems += [f"{where}: required property {key!r} is missing" for key in required if key not in value]
    problems += [p for key, item in value.items() if key in properties
                 for p in value_problems(f"{where}.{key}", item, properties[key])]
    return problems


def program_problems(program: Mapping[str, Any]) -> list[str]:
    """Everything in the program that the package schema does not allow (empty when it is right)."""
    resources: dict[str, Any] = program.get("resources") or {}
    providers = {name for name, res in resources.items() if res.get("type") == PROVIDER_TYPE}
    known = set(program.get("config") or {}) | set(resources) | set(program.get("variables") or {}) | {"pulumi"}
    problems = []
    for name, res in resources.items():
        token = res.get("type")
        properties = res.get("properties") or {}
        if token == PROVIDER_TYPE:
            spec = SCHEMA["provider"]
        elif token in SCHEMA["resources"]:
            spec = SCHEMA["resources"][token]
            provider = (res.get("options") or {}).get("provider")
            match = REFERENCE.match(provider) if isinstance(provider, str) else None
            if match is None or match.group(1) not in providers:
                problems.append(f"{name}: options.provider is {provider!r}, not a declared {PROVIDER_TYPE} "
                                f"({', '.join(sorted(providers))})")
        else:
            problems.append(f"{name}: {token!r} is no resource of the package schema")
            continue
        problems += object_problems(name, properties, spec["inputProperties"], spec.get("requiredInputs", []))
        problems += [f"{name}: refers to {ref!r}, which the program does not declare"
                     for ref in references(properties) if ref not in known]
    return problems


# ------------------------------------------------------------------------------------------------ the example as is
def test_the_example_has_two_providers_each_with_every_provider_key() -> None:
    """Two explicit providers, and each sets every key: one left out would fall back to its environment variable
    for both tenants alike (docs/native-provider.md, "Configuration")."""
    resources = load_example()["resources"]
    providers = {name: res for name, res in resources.items() if res["type"] == PROVIDER_TYPE}
    assert sorted(providers) == ["tenantA", "tenantB"]
    for res in providers.values():
        assert sorted(res["properties"]) == sorted(SCHEMA["provider"]["inputProperties"])
    assert load_example()["runtime"] == "yaml"


def test_every_resource_of_the_example_is_what_the_schema_allows() -> None:
    program = load_example()
    tokens = {res["type"] for res in program["resources"].values()}
    assert {PROVIDER_TYPE, "defender-air:index:PresetPolicyAssignment", "defender-air:index:AlertPolicy",
            "defender-air:index:DefaultDeviceGroup"} <= tokens
    assert program_problems(program) == []


def test_secrets_are_wrapped_and_outputs_name_schema_outputs() -> None:
    program = load_example()
    for res in program["resources"].values():
        if res["type"] == PROVIDER_TYPE:
            secret = {k for k, v in SCHEMA["provider"]["inputProperties"].items() if v.get("secret")}
            assert secret == {"clientSecret", "portalSession"}
            assert all(isinstance(res["properties"][k], dict) and "fn::secret" in res["properties"][k]
                       for k in secret)
    for expression in program["outputs"].values():
        name, output = re.fullmatch(r"\$\{([\w-]+)\.(\w+)\}", expression).groups()  # type: ignore[union-attr]
        assert output in SCHEMA["resources"][program["resources"][name]["type"]]["properties"]


# ------------------------------------------------------------------------------------------------ each check can fail
def _set(program: dict[str, Any], path: str, value: Any) -> None:
    *parents, last = path.split("/")
    node = program
    for key in parents:
        node = node[key]
    if value is _DELETE:
        del node[last]
    else:
        node[last] = value


def _rename(program: dict[str, Any], path: str, new: str) -> None:
    *parents, last = path.split("/")
    node = program
    for key in parents:
        node = node[key]
    node[new] = node.pop(last)


_DELETE = object()
MUTATIONS = {
    "unknown type token": (lambda p: _set(p, "resources/contoso-strict/type", "defender-air:index:Preset"),
                           "is no resource of the package schema"),
    "camelCase property": (lambda p: _rename(p, "resources/contoso-url-click-alert/properties/notify_users",
                                             "notifyUsers"), "no property 'notifyUsers'"),
    "required input missing": (lambda p: _set(p, "resources/fabrikam-strict/properties/preset", _DELETE),
                               "required property 'preset' is missing"),
    "enum value not allowed": (lambda p: _set(p, "resources/contoso-ungrouped-devices/properties/automation_level",
                                              "fully"), "'fully' is not one of"),
    "nested property unknown": (lambda p: _rename(p, "resources/contoso-strict/properties/recipients/groups",
                                                  "group"), "recipients: no property 'group'"),
    "wrong primitive type": (lambda p: _set(p, "resources/fabrikam-url-click-alert/properties/enabled", "yes"),
                             "enabled: expected boolean"),
    "provider not declared": (lambda p: _set(p, "resources/fabrikam-ungrouped-devices/options/provider",
                                             "${tenantC}"), "not a declared pulumi:providers:defender-air"),
    "no provider option": (lambda p: _set(p, "resources/fabrikam-ungrouped-devices/options", _DELETE),
                           "options.provider is None"),
    "unknown provider key": (lambda p: _rename(p, "resources/tenantB/properties/tenantId", "tenant_id"),
                             "tenantB: no property 'tenant_id'"),
    "undeclared config": (lambda p: _set(p, "resources/tenantA/properties/emulatorUrl", "${tenantAEmulator}"),
                          "refers to 'tenantAEmulator'"),
}


@pytest.mark.parametrize("mutation", sorted(MUTATIONS))
def test_a_mutated_copy_of_the_example_fails(mutation: str) -> None:
    mutate, expected = MUTATIONS[mutation]
    program = copy.deepcopy(load_example())
    mutate(program)
    problems = program_problems(program)
    assert len(problems) == 1 and expected in problems[0], problems


# ------------------------------------------------------------------------------------------------ through the plugin
def resolve(value: Any, config: Mapping[str, str]) -> tuple[Any, bool]:
    """A property value with the example's expressions evaluated: ``${config key}`` and ``fn::secret``; whether it
    is secret."""
    if isinstance(value, dict) and set(value) == {"fn::secret"}:
        return resolve(value["fn::secret"], config)[0], True
    if isinstance(value, str) and (match := REFERENCE.match(value)):
        return config[match.group(1)], False
    if isinstance(value, dict):
        return {k: resolve(v, config)[0] for k, v in value.items()}, False
    if isinstance(value, list):
        return [resolve(v, config)[0] for v in value], False
    return value, False


def stack_config(program: Mapping[str, Any], **values: str) -> dict[str, str]:
    """The project's config with its defaults, and ``values`` set as `pulumi config set` would."""
    config = {key: str(spec.get("default", "")) for key, spec in program["config"].items()}
    assert set(values) <= set(config)
    return {**config, **values}


@pytest.fixture()
def emulators() -> Iterator[tuple[tuple[FakeTenant, str], tuple[FakeTenant, str]]]:
    a, b = FakeTenant(), FakeTenant()
    with EmulatorServer(a, host="127.0.0.1", port=0) as server_a, EmulatorServer(b, host="127.0.0.1", port=0) as \
            server_b:
        yield (a, server_a.url), (b, server_b.url)


def test_the_example_deploys_each_tenant_through_its_own_provider_process(
        emulators: tuple[tuple[FakeTenant, str], tuple[FakeTenant, str]]) -> None:
    (tenant_a, url_a), (tenant_b, url_b) = emulators
    program = load_example()
    config = stack_config(program, tenantAEmulatorUrl=url_a, tenantBEmulatorUrl=url_b)
    resources = program["resources"]
    engines: dict[str, NativeEngine] = {}
    try:
        for name, res in resources.items():
            if res["type"] != PROVIDER_TYPE:
                continue
            inputs = {key: resolve(value, config) for key, value in res["properties"].items()}
            engines[name] = NativeEngine.start(
                provider_name=name, config={f"{NAMESPACE}:{k}": v for k, (v, _) in inputs.items()},
                secret_config=[f"{NAMESPACE}:{k}" for k, (_, secret) in inputs.items() if secret])
            assert engines[name].config_failures == []
        states: dict[str, ResourceState] = {}
        for name, res in resources.items():
            if res["type"] == PROVIDER_TYPE:
                continue
            engine = engines[REFERENCE.match(res["options"]["provider"]).group(1)]  # type: ignore[union-attr]
            registration = Registration(res["type"], name, resolve(res["properties"], config)[0])
            result = engine.up(registration)
            assert result.step == "create"
            states[name] = result.state
            assert engine.up(registration, result.state).step == "same"  # a second `pulumi up` changes nothing
    finally:
        for engine in engines.values():
            engine.close()

    # Each tenant's resources went to its own emulator, and their state records it.
    for prefix, url in (("contoso", url_a), ("fabrikam", url_b)):
        mine = [state for name, state in states.items() if name.startswith(prefix)]
        assert len(mine) == 3 and {state.outputs["tenant"].split("@", 1)[1] for state in mine} == {url}
    assert states["contoso-strict"].outputs["eop_rule_state"] == "Enabled"
    assert states["fabrikam-strict"].outputs["recipients"]["groups"] == ["executives@fabrikam.onmicrosoft.com"]
    assert states["contoso-url-click-alert"].outputs["notify_users"] == ["secops@contoso.onmicrosoft.com"]
    assert states["fabrikam-url-click-alert"].outputs["notify_users"] == ["soc@fabrikam.onmicrosoft.com"]
    assert states["contoso-ungrouped-devices"].outputs["automation_level"] == "full"
    assert states["fabrikam-ungrouped-devices"].outputs["automation_level"] == "full"
    assert tenant_a.log.count() > 0 and tenant_b.log.count() > 0
