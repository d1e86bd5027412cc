"""Fault injection through the tenant router (ENGINEERING.md "Fault tests"), seen through respx and httpx."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from defender_air_provider.fakes.base import FakeRequest
from defender_air_provider.fakes.tenant import FakeTenant

from ._wire import TOKEN, exo_client, invoke

STANDARD = "Standard Preset Security Policy"
STRICT = "Strict Preset Security Policy"


@pytest.fixture
def tenant() -> FakeTenant:
    return FakeTenant("presets_on")


@pytest.fixture
def client(tenant: FakeTenant) -> Iterator[httpx.Client]:
    with exo_client(tenant) as c:
        yield c


def strict_state(tenant: FakeTenant) -> str:
    rule = tenant.exchange.rule("eop", "strict")
    assert rule is not None
    return str(rule["State"])


def test_throttle_answers_429_with_retry_after_and_applies_nothing(tenant: FakeTenant,
                                                                   client: httpx.Client) -> None:
    tenant.faults.throttle("exchange", "Enable-EOPProtectionPolicyRule", retry_after=7)
    response = invoke(client, "Enable-EOPProtectionPolicyRule", {"Identity": STRICT})
    assert response.status_code == 429
    assert response.headers["retry-after"] == "7"
    assert strict_state(tenant) == "Disabled"
    assert tenant.faults.pending() == 0
    assert invoke(client, "Enable-EOPProtectionPolicyRule", {"Identity": STRICT}).status_code == 200
    assert strict_state(tenant) == "Enabled"


def test_fault_matches_only_its_operation_case_insensitively(tenant: FakeTenant, client: httpx.Client) -> None:
    tenant.faults.throttle("exchange", "set-eopprotectionpolicyrule", times=2)
    assert invoke(client, "Get-EOPProtectionPolicyRule").status_code == 200
    assert invoke(client, "Set-EOPProtectionPolicyRule", {"Identity": STANDARD}).status_code == 429
    assert invoke(client, "SET-EOPProtectionPolicyRule", {"Identity": STANDARD}).status_code == 429
    assert invoke(client, "Set-EOPProtectionPolicyRule", {"Identity": STANDARD}).status_code == 200


def test_service_unavailable(tenant: FakeTenant, client: httpx.Client) -> None:
    tenant.faults.unavailable("exchange")  # any operation
    assert invoke(client, "Get-EOPProtectionPolicyRule").status_code == 503
    assert invoke(client, "Get-EOPProtectionPolicyRule").status_code == 200
    assert [e.status for e in tenant.log.entries] == [503, 200]


def test_drop_before_apply_is_a_connect_error_and_changes_nothing(tenant: FakeTenant,
                                                                  client: httpx.Client) -> None:
    tenant.faults.drop("exchange", "Enable-EOPProtectionPolicyRule")
    with pytest.raises(httpx.ConnectError):
        invoke(client, "Enable-EOPProtectionPolicyRule", {"Identity": STRICT})
    assert strict_state(tenant) == "Disabled"
    assert tenant.log.entries[-1].status == 0  # logged as dropped


def test_drop_after_apply_is_a_read_timeout_and_the_write_happened(tenant: FakeTenant,
                                                                   client: httpx.Client) -> None:
    tenant.faults.drop("exchange", "Enable-EOPProtectionPolicyRule", after_apply=True)
    with pytest.raises(httpx.ReadTimeout):
        invoke(client, "Enable-EOPProtectionPolicyRule", {"Identity": STRICT})
    assert strict_state(tenant) == "Enabled"  # the service applied it; only the answer was lost
    # A retry of the same write converges (Enable is idempotent on the service).
    assert invoke(client, "Enable-EOPProtectionPolicyRule", {"Identity": STRICT}).status_code == 200
    assert strict_state(tenant) == "Enabled"


def test_drop_after_apply_of_set_then_retry_warns_not_modified(tenant: FakeTenant, client: httpx.Client) -> None:
    tenant.faults.drop("exchange", "Set-EOPProtectionPolicyRule", after_apply=True)
    params = {"Identity": STANDARD, "SentTo": ["alice@contoso.com"]}
    with pytest.raises(httpx.ReadTimeout):
        invoke(client, "Set-EOPProtectionPolicyRule", params)
    retry = invoke(client, "Set-EOPProtectionPolicyRule", params)
    assert retry.status_code == 200
    assert "modified" in retry.json()["@adminapi.warnings"][0]
    rule = tenant.exchange.rule("eop", "standard")
    assert rule is not None and rule["SentTo"] == ["alice@contoso.com"]


def test_revoked_token_is_401(tenant: FakeTenant, client: httpx.Client) -> None:
    assert invoke(client, "Get-EOPProtectionPolicyRule").status_code == 200
    tenant.auth.revoke(TOKEN)
    response = invoke(client, "Enable-EOPProtectionPolicyRule", {"Identity": STRICT})
    assert response.status_code == 401
    assert "www-authenticate" in response.headers
    assert strict_state(tenant) == "Disabled"
    fresh = invoke(client, "Get-EOPProtectionPolicyRule", headers={"Authorization": "Bearer renewed-token"})
    assert fresh.status_code == 200


def test_missing_token_is_401(tenant: FakeTenant) -> None:
    with exo_client(tenant) as client:
        client.headers.pop("Authorization")
        assert invoke(client, "Get-EOPProtectionPolicyRule").status_code == 401


def test_throttle_comes_before_auth(tenant: FakeTenant, client: httpx.Client) -> None:
    # A throttled request is refused at the front door: even a revoked token sees the 429 first.
    tenant.auth.revoke(TOKEN)
    tenant.faults.throttle("exchange", retry_after=3)
    response = invoke(client, "Get-EOPProtectionPolicyRule")
    assert response.status_code == 429 and response.headers["retry-after"] == "3"


def test_throttle_of_every_service_counts_across_them_all(tenant: FakeTenant) -> None:
    """``service=None``: one fault over every backend (a benchmark's "10% of all requests"), counted across them."""
    tenant.faults.throttle(None, retry_after=1, times=2, every=3)
    portal = FakeRequest("GET", "/apiproxy/mtp/rbacManagementApi/rbac/machine_groups", "http://emulator/portal")
    exchange = FakeRequest("POST", "/adminapi/beta/tenant/InvokeCommand", "http://emulator/exchange",
                           headers={"authorization": f"Bearer {TOKEN}"},
                           body=b'{"CmdletInput": {"CmdletName": "Get-EOPProtectionPolicyRule", "Parameters": {}}}')
    statuses = [tenant.dispatch(service, request).status
                for service, request in [("portal", portal), ("exchange", exchange)] * 4]
    assert statuses == [200, 200, 429, 200, 200, 429, 200, 200]  # the 3rd and 6th request, whatever the backend
    assert [e.operation for e in tenant.log.entries][2] == "GET machine_groups"
    assert [e.operation for e in tenant.log.entries][5] == "Get-EOPProtectionPolicyRule"
    assert tenant.faults.pending() == 0
