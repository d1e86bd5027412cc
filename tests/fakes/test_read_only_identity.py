"""``FakeTenant(read_only=True)``: the caller holds a read-only role (Global Reader) on every backend. Reads answer as
usual; each service refuses every write the way it refuses a role that lacks it (raw wire calls, no client code):

- Exchange Online: the write cmdlets are not recognized for the caller, the NUL-byte 403 of an unknown cmdlet
  (docs/wire/exchange-online.md §7, docs/wire/invoke-command.md §6.4);
- Security & Compliance: the 403 naming the cmdlet of an unknown cmdlet ([inference], see the fake);
- Defender portal: 403 on PUT/POST, GETs pass (docs/wire/defender-portal.md §2.8).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import respx

from defender_air_provider.fakes.tenant import FakeTenant
from tests.fakes_transport import mount

BASE = "http://emulator.test:8765"
TENANT = "00000000-0000-0000-0000-000000000000"
EXO = f"{BASE}/exchange/adminapi/beta/{TENANT}/InvokeCommand"
SCC = f"{BASE}/compliance/adminapi/beta/{TENANT}/InvokeCommand"
GROUPS = f"{BASE}/portal/apiproxy/mtp/rbacManagementApi/rbac/machine_groups"
FEATURES_GET = f"{BASE}/portal/apiproxy/mtp/settings/GetAdvancedFeaturesSetting"
FEATURES_SAVE = f"{BASE}/portal/apiproxy/mtp/settings/SaveAdvancedFeaturesSetting"
STANDARD = "Standard Preset Security Policy"
REMOVED = "Email messages removed after delivery\u200b"

EXO_WRITES: list[tuple[str, dict[str, Any]]] = [
    ("Set-EOPProtectionPolicyRule", {"Identity": STANDARD, "SentTo": ["a@contoso.com"]}),
    ("Disable-EOPProtectionPolicyRule", {"Identity": STANDARD}),
    ("Enable-ATPProtectionPolicyRule", {"Identity": STANDARD}),
    ("Remove-ATPProtectionPolicyRule", {"Identity": STANDARD}),
    ("New-EOPProtectionPolicyRule", {"Name": "Mine", "HostedContentFilterPolicy": "x", "AntiPhishPolicy": "x",
                                     "MalwareFilterPolicy": "x"}),
]
SCC_WRITES: list[tuple[str, dict[str, Any]]] = [
    ("Set-ProtectionAlert", {"Identity": REMOVED, "Disabled": True}),
    ("New-ProtectionAlert", {"Name": "Mine", "Category": "Others", "ThreatType": "Activity",
                             "NotifyUser": ["a@contoso.com"], "Operation": ["FileDownloaded"]}),
    ("Remove-ProtectionAlert", {"Identity": "Audit logging changed"}),
]


@pytest.fixture
def reader() -> FakeTenant:
    return FakeTenant(read_only=True)


@pytest.fixture
def client(reader: FakeTenant) -> Iterator[httpx.Client]:
    with respx.mock(assert_all_called=False, assert_all_mocked=True) as router:
        mount(router, reader, emulator_base=BASE)
        with httpx.Client(headers={"Authorization": "Bearer t", "Accept": "application/json"}) as http:
            yield http


def invoke(client: httpx.Client, url: str, cmdlet: str, params: dict[str, Any] | None = None) -> httpx.Response:
    request = client.build_request("POST", url, json={"CmdletInput": {"CmdletName": cmdlet,
                                                                      "Parameters": params or {}}})
    response = client.send(request, stream=True)
    try:
        response.read()
    except httpx.DecodingError:  # Exchange's NUL bytes declared gzip
        pass
    finally:
        response.close()
    return response


def state(tenant: FakeTenant) -> str:
    return json.dumps(tenant.to_state(), sort_keys=True)


def test_reads_answer_as_for_anyone(reader: FakeTenant, client: httpx.Client) -> None:
    for cmdlet in ("Get-EOPProtectionPolicyRule", "Get-ATPProtectionPolicyRule", "Get-HostedContentFilterPolicy"):
        assert invoke(client, EXO, cmdlet).status_code == 200, cmdlet
    assert invoke(client, SCC, "Get-ProtectionAlert").status_code == 200
    assert client.get(GROUPS, params={"addAadGroupNames": "true"}).status_code == 200
    assert client.get(FEATURES_GET).status_code == 200
    assert client.get(f"{BASE}/graph/v1.0/groups").status_code == 200


@pytest.mark.parametrize(("cmdlet", "params"), EXO_WRITES, ids=[c for c, _ in EXO_WRITES])
def test_exchange_write_cmdlets_are_not_recognized(reader: FakeTenant, client: httpx.Client, cmdlet: str,
                                                   params: dict[str, Any]) -> None:
    before = state(reader)
    response = invoke(client, EXO, cmdlet, params)
    assert response.status_code == 403
    assert response.headers["content-encoding"] == "gzip"  # the NUL-byte body of an unknown cmdlet
    assert state(reader) == before


@pytest.mark.parametrize(("cmdlet", "params"), SCC_WRITES, ids=[c for c, _ in SCC_WRITES])
def test_compliance_write_cmdlets_are_refused_by_name(reader: FakeTenant, client: httpx.Client, cmdlet: str,
                                                      params: dict[str, Any]) -> None:
    before = state(reader)
    response = invoke(client, SCC, cmdlet, params)
    assert response.status_code == 403
    error = response.json()["error"]
    assert error["code"] == "Forbidden" and cmdlet in error["message"]
    assert state(reader) == before


def test_portal_writes_are_forbidden(reader: FakeTenant, client: httpx.Client) -> None:
    before = state(reader)
    groups = client.get(GROUPS).json()["items"]
    assert client.put(GROUPS, json=groups).status_code == 403
    settings = client.get(FEATURES_GET).json()
    assert client.post(FEATURES_SAVE, json={**settings, "EnableWdavPassiveModeRemediation": False}).status_code == 403
    assert state(reader) == before


def test_lifted_the_same_writes_pass(reader: FakeTenant, client: httpx.Client) -> None:
    reader.set_read_only(False)
    assert invoke(client, EXO, *EXO_WRITES[0]).status_code == 200
    assert invoke(client, SCC, *SCC_WRITES[0]).status_code == 200
    assert client.put(GROUPS, json=client.get(GROUPS).json()["items"]).status_code == 200
    reader.set_read_only()
    assert invoke(client, EXO, *EXO_WRITES[0]).status_code == 403


def test_the_role_is_not_tenant_state() -> None:
    """Who calls is no property of the tenant: an emulator state file neither stores nor restores it."""
    reader = FakeTenant(read_only=True)
    copy = FakeTenant()
    copy.load_state(json.loads(json.dumps(reader.to_state())))
    assert copy.exchange.read_only is False and copy.compliance.read_only is False
    assert state(copy) == state(reader)
