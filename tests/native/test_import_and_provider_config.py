"""What docs/native-provider.md says about import and the provider's configuration, through the plugin as the engine
drives it (tests/harness/native.py): ``pulumi import <type> <name> <id>`` is a Read with the id alone, with each
resource's id (``id_doc``); an id that does not exist fails the import; DiffConfig replaces the provider's resources
for a new tenant, cloud or emulator URL, and not for rotated credentials; a second resource for the same tenant object
fails Check."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from defender_air_provider.fakes.server import EmulatorServer
from defender_air_provider.fakes.tenant import FakeTenant
from tests.harness.engine import ProviderError, Registration
from tests.harness.native import NativeEngine

GUID = "11111111-2222-3333-4444-555555555555"


@pytest.fixture(scope="module")
def tenant() -> FakeTenant:
    return FakeTenant()


@pytest.fixture(scope="module")
def emulator(tenant: FakeTenant) -> Iterator[str]:
    with EmulatorServer(tenant, host="127.0.0.1", port=0) as server:
        yield server.url


@pytest.fixture(scope="module")
def engine(emulator: str) -> Iterator[NativeEngine]:
    engine = NativeEngine.start(config={"defender-air:emulatorUrl": emulator})
    try:
        yield engine
    finally:
        engine.close()


def ids(tenant: FakeTenant) -> dict[str, str]:
    """An existing object of each kind, by the id its resource takes."""
    state = tenant.to_state()
    built_in = next(p for p in state["compliance"]["policies"] if p.get("IsSystemRule"))
    group = next(g for g in state["portal"]["groups"] if not g.get("IsUnassignedMachineGroup"))
    return {"PresetPolicyAssignment": "strict", "AlertPolicy": str(built_in["ImmutableId"]),
            "DeviceGroup": str(group["MachineGroupId"]), "DefaultDeviceGroup": "default",
            "EndpointAdvancedFeatures": "default"}


@pytest.mark.parametrize("kind", ["PresetPolicyAssignment", "AlertPolicy", "DeviceGroup", "DefaultDeviceGroup",
                                  "EndpointAdvancedFeatures"])
def test_import_reads_each_resource_by_its_id_alone(engine: NativeEngine, tenant: FakeTenant, emulator: str,
                                                    kind: str) -> None:
    resource_id = ids(tenant)[kind]
    state = engine.import_(kind, f"imported-{kind.lower()}", resource_id)
    assert state.id == resource_id
    assert state.outputs["tenant"].endswith(f"@{emulator}")
    assert set(state.inputs) <= set(state.outputs)


@pytest.mark.parametrize(("kind", "missing"), [("AlertPolicy", "00000000-1111-2222-3333-444444444444"),
                                               ("DeviceGroup", "999999"), ("PresetPolicyAssignment", "nope")])
def test_importing_an_id_that_does_not_exist_fails(engine: NativeEngine, kind: str, missing: str) -> None:
    with pytest.raises(ProviderError, match=f"{kind} '{missing}'"):
        engine.import_(kind, f"missing-{kind.lower()}", missing)


@pytest.mark.parametrize(("key", "new"), [("tenantId", "99999999-2222-3333-4444-555555555555"),
                                          ("cloud", "usgovhigh"), ("emulatorUrl", "http://127.0.0.1:8766")])
def test_a_new_tenant_cloud_or_endpoint_replaces_the_providers_resources(engine: NativeEngine, key: str,
                                                                         new: str) -> None:
    olds = {"tenantId": GUID, "cloud": "public", "emulatorUrl": "http://127.0.0.1:8765"}
    answer = engine.diff_config(olds, {**olds, key: new})
    assert list(answer.replaces) == [key]


def test_rotated_credentials_update_the_provider_without_replacing(engine: NativeEngine) -> None:
    olds = {"tenantId": GUID, "clientId": GUID, "clientSecret": "old-secret", "portalSession": "sccauth=a"}
    answer = engine.diff_config(olds, {**olds, "clientSecret": "new-secret", "portalSession": "sccauth=b"})
    assert list(answer.replaces) == []
    assert sorted(answer.diffs) == ["clientSecret", "portalSession"]


def test_a_second_resource_for_the_same_object_fails_check_in_the_plugin(engine: NativeEngine) -> None:
    """Programs in other languages never run the Python SDK's one-owner check: the plugin makes it in Check."""
    first = Registration("defender-air:index:PresetPolicyAssignment", "strict-a", {"preset": "strict"})
    second = Registration("defender-air:index:PresetPolicyAssignment", "strict-b", {"preset": "Strict"})
    assert engine.check(first).failures == []
    [(prop, reason)] = engine.check(second).failures
    assert prop == "preset"
    assert reason.startswith("PresetPolicyAssignment 'strict-b' claims the same preset")
    assert engine.check(first).failures == []  # the owner checks again (a second up) without a conflict
