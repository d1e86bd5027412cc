"""Every lifecycle test in this folder runs twice: against the SDK's dynamic-provider server (what Python programs
use) and against the native plugin ``pulumi-resource-defender-air`` (every other language, ``pulumi import``,
explicit providers), each driven over gRPC as the engine drives it. The same steps must leave the tenant the same
(issue 12). A test that only makes sense for one server says so with ``@pytest.mark.dynamic_only`` and why."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.harness.engine import EngineFactory
from tests.harness.native import NativeEngineFactory

SERVERS = {"dynamic": EngineFactory, "native": NativeEngineFactory}


def _factory(request: pytest.FixtureRequest) -> Iterator[EngineFactory]:
    if request.param == "native" and request.node.get_closest_marker("dynamic_only") is not None:
        pytest.skip(str(request.node.get_closest_marker("dynamic_only").kwargs.get("reason", "dynamic server only")))
    factory = SERVERS[request.param]()
    try:
        yield factory
    finally:
        factory.close()


@pytest.fixture(params=sorted(SERVERS))
def engine_factory(request: pytest.FixtureRequest) -> Iterator[EngineFactory]:
    yield from _factory(request)


@pytest.fixture(scope="module", params=sorted(SERVERS))
def module_engine_factory(request: pytest.FixtureRequest) -> Iterator[EngineFactory]:
    yield from _factory(request)
