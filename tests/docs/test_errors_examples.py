"""Every example in docs/errors.md "What `pulumi` prints" is the message the code really makes.

The page marks each example with ``<!-- example: ID -->`` before a text block; ``PRODUCERS`` makes the same error
for each ID (no network: the emulator's closed port, a name under ``.invalid``) and renders it as the CLI shows it.
``…`` in the page stands for text that varies; whitespace (line wrapping) is not significant.
"""

from __future__ import annotations

import re
import socket
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from defender_air_provider.core import clouds
from defender_air_provider.core.errors import DefenderAirError
from defender_air_provider.core.settings import Settings
from defender_air_provider.handlers import context
from defender_air_provider.handlers.alert_policy import AlertPolicyProvider
from defender_air_provider.handlers.device_group import DefaultDeviceGroupProvider, DeviceGroupProvider
from defender_air_provider.handlers.preset_policy_assignment import PresetPolicyAssignmentProvider
from tests.support import FakeTokenSource, RecordingSleep

PAGE = Path(__file__).resolve().parents[2] / "docs" / "errors.md"
EXAMPLE = re.compile(r"<!-- example: (?P<id>[\w-]+) -->\s*```text\n(?P<text>.*?)```", re.S)
TENANT = "11111111-2222-3333-4444-555555555555"


def examples() -> dict[str, str]:
    return {m["id"]: m["text"] for m in EXAMPLE.finditer(PAGE.read_text(encoding="utf-8"))}


# ---------------------------------------------------------------------------------------------- how the CLI shows it
def check_failure(type_name: str, resource: str, prop: str, value: Any, reason: str) -> str:
    """The engine's diagnostics 2002 / 2003 for a check failure (value: Go's ``%v`` of a PropertyValue)."""
    kind = f"pulumi-python:dynamic/air:{type_name}"
    if not prop:
        return f"error: {kind} resource '{resource}' has a problem: {reason}"
    shown = "<nil>" if value is None else value
    return f"error: {kind} resource '{resource}'s property '{prop}' value {{{shown}}} has a problem: {reason}"


def provider_exception(exc: BaseException) -> str:
    """What the dynamic server sends for an exception: the traceback, ending in ``module.Type: message``."""
    return f"error: Traceback (most recent call last): ...\n{type(exc).__module__}.{type(exc).__name__}: {exc}"


@contextmanager
def configured(config: dict[str, str]) -> Iterator[None]:
    """The provider process's ``configure`` with this stack config (and no environment), then forgotten."""
    try:
        _configure(config)
        yield
    finally:
        context.install(None)


def _configure(config: dict[str, str]) -> None:
    mp = pytest.MonkeyPatch()
    try:
        for name in ("AZURE_TENANT_ID", "AZURE_CLIENT_ID", "AZURE_CLIENT_SECRET", "AZURE_CLIENT_CERTIFICATE_PATH",
                     "DEFENDER_AIR_CLOUD", "DEFENDER_AIR_EMULATOR_URL", "DEFENDER_AIR_PORTAL_SESSION"):
            mp.delenv(name, raising=False)
        context.configure(config)
    finally:
        mp.undo()


def _one_check_failure(provider: Any, type_name: str, resource: str, news: dict[str, Any]) -> str:
    failures = provider.check({}, news).failures
    assert len(failures) == 1, failures
    failure = failures[0]
    return check_failure(type_name, resource, failure.property, news.get(failure.property), failure.reason)


def _raised(step: Callable[[], object]) -> str:
    with pytest.raises(DefenderAirError) as caught:
        step()
    return provider_exception(caught.value)


def closed_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# ---------------------------------------------------------------------------------------------- producers
def configure_tenant_id() -> str:
    with configured({"defender-air:tenantId": "contoso.onmicrosoft.com"}):
        return _one_check_failure(DeviceGroupProvider(), "DeviceGroup", "servers",
                                  {"display_name": "Servers", "automation_level": "full"})


def configure_secret_without_client_id() -> str:
    with configured({"defender-air:tenantId": TENANT, "defender-air:clientSecret": "s3cret-value"}):
        return _one_check_failure(DeviceGroupProvider(), "DeviceGroup", "servers",
                                  {"display_name": "Servers", "automation_level": "full"})


def configure_on_refresh() -> str:
    with configured({"defender-air:tenantId": "contoso.onmicrosoft.com"}):
        return _raised(lambda: DeviceGroupProvider().read("7", {"display_name": "Servers"}))


def check_enum() -> str:
    return _one_check_failure(DeviceGroupProvider(), "DeviceGroup", "servers",
                              {"display_name": "Servers", "automation_level": "fully"})


def check_new_custom_policy() -> str:
    return _one_check_failure(AlertPolicyProvider(), "AlertPolicy", "export",
                              {"name": "Mailbox export", "severity": "High"})


def connect_emulator_not_running() -> str:
    port = closed_port()
    context.install(context.ProviderContext(Settings(emulator_url=f"http://127.0.0.1:{port}"),
                                            sleep=RecordingSleep()))
    try:
        text = _raised(lambda: DefaultDeviceGroupProvider().create({"automation_level": "full"}))
    finally:
        context.install(None)
    return text.replace(str(port), "8765")


def connect_name_not_resolved() -> str:
    mp = pytest.MonkeyPatch()
    mp.setitem(clouds.CLOUDS, "public", replace(clouds.CLOUDS["public"], exchange="https://nonexistent.invalid"))
    context.install(context.ProviderContext(Settings(tenant_id=TENANT), tokens=FakeTokenSource(),
                                            sleep=RecordingSleep()))
    try:
        return _raised(lambda: PresetPolicyAssignmentProvider().create(
            {"preset": "strict", "enabled": True, "defender_for_office365": True}))
    finally:
        context.install(None)
        mp.undo()


PRODUCERS: dict[str, Callable[[], str]] = {
    "configure-tenant-id": configure_tenant_id,
    "configure-secret-without-client-id": configure_secret_without_client_id,
    "configure-on-refresh": configure_on_refresh,
    "check-enum": check_enum,
    "check-new-custom-policy": check_new_custom_policy,
    "connect-emulator-not-running": connect_emulator_not_running,
    "connect-name-not-resolved": connect_name_not_resolved,
}


def _pattern(documented: str) -> re.Pattern[str]:
    words = " ".join(documented.split())
    parts = [re.escape(part) for part in words.split("…")]
    return re.compile(".*?".join(parts), re.S)


def test_every_documented_example_has_a_producer() -> None:
    assert set(examples()) == set(PRODUCERS)


@pytest.mark.parametrize("example_id", sorted(PRODUCERS))
def test_documented_example_matches_the_real_message(example_id: str) -> None:
    documented = examples()[example_id]
    produced = " ".join(PRODUCERS[example_id]().split())
    assert _pattern(documented).fullmatch(produced), f"\ndocs:     {' '.join(documented.split())}\nproduced: {produced}"
