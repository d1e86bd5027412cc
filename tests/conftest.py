"""Shared pytest fixtures. Each fixture family lives in its own clearly marked block."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.harness.engine import EngineFactory

# --------------------------------------------------------------------------------------------------
# Engine-protocol harness (tests/harness/engine.py)
#
# `engine_factory(project="defender-air-tests", config=None, secret_config=(), env=None) -> Engine`
# starts one `python -m pulumi.dynamic` provider process per call (GetPluginInfo + Configure done)
# and stops every process it started at teardown. The module-scoped twin lets a test module share
# one process across its tests (process start dominates the cost of these tests).
# --------------------------------------------------------------------------------------------------


@pytest.fixture
def engine_factory() -> Iterator[EngineFactory]:
    factory = EngineFactory()
    try:
        yield factory
    finally:
        factory.close()


@pytest.fixture(scope="module")
def module_engine_factory() -> Iterator[EngineFactory]:
    factory = EngineFactory()
    try:
        yield factory
    finally:
        factory.close()


# --------------------------------------------------------------------------------------------------
# --------------------------------------------------------------------------------------------------
# In-process tenant: the fakes behind respx, and a provider context that talks to them with a fake
# token credential and no real sleeping. `make_tenant(scenario)` returns the FakeTenant; the context is
# installed for the handlers (`defender_air_provider.handlers.context.current()`).
# --------------------------------------------------------------------------------------------------

from collections.abc import Callable  # noqa: E402
from typing import Any  # noqa: E402

import respx  # noqa: E402

from defender_air_provider.core.settings import Settings  # noqa: E402
from defender_air_provider.fakes.tenant import FakeTenant  # noqa: E402
from defender_air_provider.handlers import context  # noqa: E402
from tests.fakes_transport import mount  # noqa: E402
from tests.support import TENANT_ID, FakeTokenSource, RecordingSleep  # noqa: E402


@pytest.fixture
def make_tenant() -> Iterator[Callable[..., FakeTenant]]:
    with respx.mock(assert_all_called=False, assert_all_mocked=True) as router:
        def make(scenario: str = "presets_on", *, fake: dict[str, Any] | None = None,
                 **settings: object) -> FakeTenant:
            tenant = FakeTenant(scenario, **(fake or {}))
            mount(router, tenant)
            context.install(context.ProviderContext(
                Settings(tenant_id=TENANT_ID, **settings),  # type: ignore[arg-type]
                tokens=FakeTokenSource(), sleep=RecordingSleep(),
            ))
            return tenant

        try:
            yield make
        finally:
            context.install(None)


@pytest.fixture
def tenant(make_tenant: Callable[..., FakeTenant]) -> FakeTenant:
    return make_tenant("presets_on")


@pytest.fixture
def portal_tenant(make_tenant: Callable[..., FakeTenant]) -> FakeTenant:
    """A tenant whose portal requires its session, and a provider configured with that session (the cookie
    string a user would paste into defender-air:portalSession)."""
    probe = FakeTenant()
    tenant = make_tenant(portal_session=probe.portal.cookie_header())
    tenant.portal.sccauth, tenant.portal.xsrf_token = probe.portal.sccauth, probe.portal.xsrf_token
    tenant.portal.allow_anonymous = False
    return tenant
