"""The portal and Graph clients on the wire: session headers, cookie rotation, error classification."""

from __future__ import annotations

from urllib.parse import unquote

import httpx
import pytest
import respx

from defender_air_provider.clients.device_groups import MachineGroupsClient, PortalSession
from defender_air_provider.clients.entra_groups import EntraGroupResolver
from defender_air_provider.core.errors import PermissionDenied, SessionExpired
from defender_air_provider.core.http import HttpClient, RetryPolicy
from defender_air_provider.core.redaction import REDACTOR
from defender_air_provider.fakes.tenant import FakeTenant
from tests.support import FakeTokenSource, RecordingSleep

PORTAL = "https://security.microsoft.com"


def portal_client(session: str | None) -> MachineGroupsClient:
    http = HttpClient(service="Defender portal", retry=RetryPolicy(max_attempts=2), sleep=RecordingSleep())
    return MachineGroupsClient(http, base_url=PORTAL, session=PortalSession(session) if session else None)


def test_the_xsrf_header_carries_the_decoded_cookie(portal_tenant: FakeTenant) -> None:
    portal = portal_tenant.portal
    assert "%" in portal.xsrf_cookie  # the fake's token needs URL-decoding
    client = portal_client(portal.cookie_header())
    assert client.get_all()
    entry = portal_tenant.log.entries[-1]
    assert entry.cookie is not None and f"XSRF-TOKEN={portal.xsrf_cookie}" in entry.cookie
    assert portal.xsrf_token == unquote(portal.xsrf_cookie)


def test_rotated_cookie_is_used_for_the_next_request(portal_tenant: FakeTenant) -> None:
    client = portal_client(portal_tenant.portal.cookie_header())
    items = client.get_all()
    client.replace(items, idempotent=True)  # the portal rotates XSRF-TOKEN on this answer
    assert client.get_all()  # refused with the old token


def test_decoded_token_is_redacted() -> None:
    PortalSession("sccauth=abcdefgh12345; XSRF-TOKEN=tok%2Bvalue%3D%3D")
    assert "tok+value==" not in REDACTOR("header was tok+value== here")


@respx.mock
def test_a_sign_in_page_is_an_expired_session_even_with_200() -> None:
    respx.get(url__startswith=f"{PORTAL}/apiproxy").mock(return_value=httpx.Response(
        200, html="<html>Sign in to your account - login.microsoftonline.com</html>"))
    with pytest.raises(SessionExpired, match="session is missing, expired or was rejected"):
        portal_client("sccauth=abcdefgh12345; XSRF-TOKEN=abcdefgh").get_all()


@respx.mock
def test_a_role_403_is_a_permission_error_not_a_session_error() -> None:
    respx.get(url__startswith=f"{PORTAL}/apiproxy").mock(return_value=httpx.Response(
        403, json={"Message": "Access denied. Missing 'Manage portal system settings'."}))
    with pytest.raises(PermissionDenied) as err:
        portal_client("sccauth=abcdefgh12345; XSRF-TOKEN=abcdefgh").get_all()
    assert not isinstance(err.value, SessionExpired) and "Security Administrator" in str(err.value)


def test_the_procedure_in_session_errors_is_readable(portal_tenant: FakeTenant) -> None:
    portal_tenant.portal.expire_session()
    with pytest.raises(SessionExpired) as err:
        portal_client(portal_tenant.portal.cookie_header()).get_all()
    assert 'sccauth=<value>; XSRF-TOKEN=<value>' in str(err.value)


@respx.mock
def test_graph_403_names_the_missing_permission() -> None:
    respx.get(url__startswith="https://graph.microsoft.com/v1.0/groups").mock(return_value=httpx.Response(
        403, json={"error": {"code": "Authorization_RequestDenied", "message": "Insufficient privileges"}}))
    resolver = EntraGroupResolver(FakeTokenSource(), graph_base="https://graph.microsoft.com",
                                  scope="https://graph.microsoft.com/.default")
    with pytest.raises(PermissionDenied, match=r"Group\.Read\.All"):
        resolver.resolve(["SOC Analysts"])


def test_graph_object_ids_are_verified(tenant: FakeTenant) -> None:
    resolver = EntraGroupResolver(FakeTokenSource(), graph_base="https://graph.microsoft.com",
                                  scope="https://graph.microsoft.com/.default")
    soc = next(g for g in tenant.graph.groups() if g["displayName"] == "SOC Analysts")
    (group,) = resolver.resolve([soc["id"]])
    assert group.display_name == "SOC Analysts"
    with pytest.raises(Exception, match="does not exist"):
        resolver.resolve(["00000000-0000-0000-0000-00000000abcd"])


def test_graph_401_refreshes_the_token_once(tenant: FakeTenant) -> None:
    tokens = FakeTokenSource()
    resolver = EntraGroupResolver(tokens, graph_base="https://graph.microsoft.com",
                                  scope="https://graph.microsoft.com/.default")
    resolver.resolve(["SOC Analysts"])
    tenant.auth.revoke(tokens.issued[-1][1])  # the cached token is now refused (expired)
    (group,) = resolver.resolve(["SOC Analysts"])
    assert group.display_name == "SOC Analysts" and len(tokens.issued) == 2
