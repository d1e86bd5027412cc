"""Wire helpers for the fake tests: raw httpx calls shaped as in docs/wire/invoke-command.md §2.2/§2.3 (no client
code)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import respx

from defender_air_provider.fakes.tenant import FakeTenant
from tests.fakes_transport import mount

TENANT_ID = "6f1b7c3e-0a57-4a5e-9d1b-3b8f2c9e4d10"
EXO = "https://outlook.office365.com"
INVOKE_URL = f"{EXO}/adminapi/beta/{TENANT_ID}/InvokeCommand"
TOKEN = "test-token"


def body(cmdlet: str, params: dict[str, Any] | None = None) -> dict[str, Any]:
    """The request envelope of docs/wire/invoke-command.md §2.2."""
    return {"CmdletInput": {"CmdletName": cmdlet, "Parameters": params or {}}}


def invoke(client: httpx.Client, cmdlet: str, params: dict[str, Any] | None = None, *,
           url: str = INVOKE_URL, headers: dict[str, str] | None = None) -> httpx.Response:
    return client.post(url, json=body(cmdlet, params), headers=headers or {})


@contextmanager
def exo_client(tenant: FakeTenant, *, emulator_base: str | None = None,
               token: str = TOKEN) -> Iterator[httpx.Client]:
    """An httpx client whose requests to the Microsoft hosts reach ``tenant`` through respx."""
    with respx.mock(assert_all_called=False, assert_all_mocked=True) as router:
        mount(router, tenant, emulator_base=emulator_base)
        with httpx.Client(headers={"Authorization": f"Bearer {token}", "Accept": "application/json"}) as client:
            yield client
