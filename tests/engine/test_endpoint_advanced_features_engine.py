"""EndpointAdvancedFeatures through the real dynamic-provider server, driven like the Pulumi engine, against the
emulator: one save per change with every other key (known or not) sent back unchanged, no request on diff, no
write on a no-op up, drift on refresh, delete without a call."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

import pulumi_defender_air as air
from defender_air_provider.fakes.server import EmulatorServer
from defender_air_provider.fakes.tenant import FakeTenant
from tests.harness.engine import CheckFailed, Engine, EngineFactory, Registration, capture_registration

SAVE, READ = "POST advanced_features", "GET advanced_features"


@pytest.fixture
def tenant() -> FakeTenant:
    tenant = FakeTenant()
    # A key no source lists (tenants differ, docs/wire/defender-portal.md §6.3): it must survive every save.
    tenant.portal.edit_advanced_features(SomeFutureToggle=True, EnableWdavPassiveModeRemediation=False)
    return tenant


@pytest.fixture
def engine(engine_factory: EngineFactory, tenant: FakeTenant) -> Iterator[Engine]:
    with EmulatorServer(tenant, host="127.0.0.1", port=0) as server:
        yield engine_factory(config={"defender-air:emulatorUrl": server.url})


def features(**kwargs: Any) -> Registration:
    return capture_registration(lambda: air.EndpointAdvancedFeatures("features", **kwargs))


def saves(tenant: FakeTenant) -> list[dict[str, Any]]:
    return [json.loads(body) for body in tenant.portal.advanced_features_saves]


def test_one_save_per_change_with_every_other_key_unchanged(engine: Engine, tenant: FakeTenant) -> None:
    before = tenant.portal.advanced_features()
    tenant.log.clear()
    created = engine.up(features(auto_resolve_investigated_alerts=True, edr_in_block_mode=True,
                                 device_discovery=False))
    assert created.step == "create" and created.state.id == "default"
    (body,) = saves(tenant)
    changed = {k for k in body if body[k] != before.get(k)}
    # Only the managed keys that differed; device discovery is stored inverted (§6.4).
    assert changed == {"EnableWdavPassiveModeRemediation", "MagellanOptOut"}
    assert body["MagellanOptOut"] is True and body["SomeFutureToggle"] is True
    assert list(body) == list(before)  # the whole object, in its order: nothing dropped or added
    assert tenant.log.count("portal", SAVE) == 1
    outputs = created.state.outputs
    assert outputs["edr_in_block_mode"] is True and outputs["device_discovery"] is False
    assert outputs["tamper_protection"] is True  # unmanaged: shown as the tenant has it
    assert outputs["automated_investigation_enabled"] is True


def test_diff_makes_no_request_and_a_no_op_up_no_write(engine: Engine, tenant: FakeTenant) -> None:
    created = engine.up(features(edr_in_block_mode=True)).state
    tenant.log.clear()
    preview = engine.preview(features(edr_in_block_mode=True), created)
    assert preview.step == "same" and tenant.log.count() == 0
    again = engine.up(features(edr_in_block_mode=True), created)
    assert again.step == "same" and tenant.log.count("portal", SAVE) == 0 and tenant.log.count() == 0


def test_an_update_writes_only_what_changed(engine: Engine, tenant: FakeTenant) -> None:
    created = engine.up(features(edr_in_block_mode=True)).state
    tenant.log.clear()
    updated = engine.up(features(edr_in_block_mode=True, allow_or_block_file=False), created)
    assert updated.step == "update" and tenant.log.count("portal", SAVE) == 1
    body = saves(tenant)[-1]
    assert body["BlockListEnabled"] is False and body["EnableWdavPassiveModeRemediation"] is True


def test_refresh_shows_drift_and_up_repairs_it(engine: Engine, tenant: FakeTenant) -> None:
    created = engine.up(features(edr_in_block_mode=True, auto_resolve_investigated_alerts=True)).state
    tenant.portal.edit_advanced_features(EnableWdavPassiveModeRemediation=False, EnableWdavAntiTampering=False)
    tenant.log.clear()
    refreshed = engine.refresh(created)
    assert refreshed is not None and tenant.log.count("portal", SAVE) == 0
    assert refreshed.outputs["edr_in_block_mode"] is False and refreshed.outputs["tamper_protection"] is False
    assert refreshed.inputs["edr_in_block_mode"] is False
    preview = engine.preview(features(edr_in_block_mode=True, auto_resolve_investigated_alerts=True), refreshed)
    assert preview.step == "update"  # the drift of a managed toggle; tamper protection is not managed
    repaired = engine.up(features(edr_in_block_mode=True, auto_resolve_investigated_alerts=True), refreshed)
    assert repaired.step == "update"
    assert tenant.portal.advanced_features()["EnableWdavPassiveModeRemediation"] is True
    assert tenant.portal.advanced_features()["EnableWdavAntiTampering"] is False  # unmanaged: left as changed


def test_delete_stops_managing_without_a_call(engine: Engine, tenant: FakeTenant) -> None:
    created = engine.up(features(edr_in_block_mode=True)).state
    tenant.log.clear()
    engine.destroy(created)
    assert tenant.log.count() == 0
    assert tenant.portal.advanced_features()["EnableWdavPassiveModeRemediation"] is True


def test_check_refuses_a_non_bool_with_no_request(engine: Engine, tenant: FakeTenant) -> None:
    tenant.log.clear()
    with pytest.raises(CheckFailed, match="edr_in_block_mode must be true or false"):
        engine.up(features(edr_in_block_mode="yes"))
    assert tenant.log.count() == 0
