"""The InvokeCommand client against the Exchange fake: envelope, headers, paging, warnings, errors."""

import json

import pytest

from defender_air_provider.clients.invoke_command import InvokeCommandClient
from defender_air_provider.core.errors import NotFound, PermissionDenied, ServiceError, Throttled
from defender_air_provider.core.http import HttpClient, RetryPolicy
from defender_air_provider.fakes.tenant import FakeTenant
from defender_air_provider.handlers.context import EXCHANGE_PERMISSION_HINT
from tests.support import TENANT_ID, FakeTokenSource, RecordingSleep


def client(page_size: int = 1000, warnings: list[str] | None = None) -> InvokeCommandClient:
    http = HttpClient(service="Exchange Online admin API", tokens=FakeTokenSource(),
                      scope="https://outlook.office365.com/.default", retry=RetryPolicy(max_attempts=3),
                      sleep=RecordingSleep())
    return InvokeCommandClient(http, base_url="https://outlook.office365.com", tenant_id=TENANT_ID,
                               service="Exchange Online", permission_hint=EXCHANGE_PERMISSION_HINT,
                               page_size=page_size, on_warning=(warnings.append if warnings is not None else None))


def test_request_envelope_and_headers(tenant: FakeTenant) -> None:
    client().invoke("Get-EOPProtectionPolicyRule", {}, idempotent=True)
    entry = tenant.log.entries[-1]
    assert entry.path == f"/adminapi/beta/{TENANT_ID}/InvokeCommand"
    assert json.loads(entry.body) == {"CmdletInput": {"CmdletName": "Get-EOPProtectionPolicyRule", "Parameters": {}}}
    assert (entry.authorization or "").startswith("Bearer token-")


def test_paging_posts_the_same_body_to_next_link(tenant: FakeTenant) -> None:
    everything = client().invoke("Get-AntiPhishPolicy", {}, idempotent=True).values
    assert len(everything) >= 3
    tenant.log.clear()
    paged = client(page_size=1).invoke("Get-AntiPhishPolicy", {}, idempotent=True).values
    assert [p["Name"] for p in paged] == [p["Name"] for p in everything]
    entries = tenant.log.entries
    assert len(entries) == len(everything)
    assert len({e.body for e in entries}) == 1  # the same body on every page


def test_warnings_are_surfaced(tenant: FakeTenant) -> None:
    seen: list[str] = []
    c = client(warnings=seen)
    c.invoke("Set-EOPProtectionPolicyRule", {"Identity": "Standard Preset Security Policy", "SentTo": None},
             idempotent=True)
    assert seen and "modified" in seen[0]
    assert seen[0].startswith("Exchange Online: Set-EOPProtectionPolicyRule:")


def test_not_found_names_the_object_and_the_service_text(tenant: FakeTenant) -> None:
    with pytest.raises(NotFound) as err:
        client().invoke("Enable-EOPProtectionPolicyRule", {"Identity": "No Such Rule"}, idempotent=True,
                        target="No Such Rule")
    message = str(err.value)
    assert "'No Such Rule' was not found" in message
    assert "couldn't be found" in message and "ManagementObjectNotFoundException" in message


def test_bad_parameter_is_a_400_with_the_service_message(tenant: FakeTenant) -> None:
    with pytest.raises(ServiceError) as err:
        client().invoke("Set-EOPProtectionPolicyRule",
                        {"Identity": "Strict Preset Security Policy", "Enabled": True}, idempotent=True)
    assert err.value.status == 400 and "Enabled" in str(err.value)


def test_403_with_nul_body_gives_the_permissions_hint(tenant: FakeTenant) -> None:
    with pytest.raises(PermissionDenied) as err:
        client().invoke("Get-SomethingUnknown", {}, idempotent=True)
    assert err.value.status == 403
    assert "Exchange.ManageAsApp" in str(err.value) and "Security Administrator" in str(err.value)


def test_persistent_throttling_is_a_clear_error(tenant: FakeTenant) -> None:
    tenant.faults.throttle("exchange", "Get-EOPProtectionPolicyRule", retry_after=2, times=10)
    with pytest.raises(Throttled, match="still throttled"):
        client().invoke("Get-EOPProtectionPolicyRule", {}, idempotent=True)
