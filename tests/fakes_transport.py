"""respx adapter: puts a ``FakeTenant`` behind the real Microsoft hosts (and an emulator base URL) in-process.

Usage in a test::

    with respx.mock(assert_all_called=False) as router:
        mount(router, tenant, emulator_base="http://emulator.test")
        httpx.post("https://outlook.office365.com/adminapi/beta/<tid>/InvokeCommand", ...)

Requests reach exactly the same ``FakeTenant.dispatch`` as the localhost emulator, so the two adapters can't
disagree on behaviour. A dropped connection becomes the httpx exception a real client would see:
``httpx.ReadTimeout`` when the service had already applied the request (the answer never came back), else
``httpx.ConnectError``.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Callable, Iterator
from urllib.parse import parse_qsl

import httpx
import respx

from defender_air_provider.fakes.base import DropConnection, FakeRequest, FakeResponse
from defender_air_provider.fakes.tenant import FakeTenant

# Service name -> host pattern of the real service (a full-match regex on the host name). Adding a fake for
# another backend API is one line here.
REAL_HOSTS: tuple[tuple[str, str], ...] = (
    # Exchange Online admin API: the commercial front door (docs/wire/invoke-command.md §3.1) and the US government
    # clouds (GCC High, DoD), from the same source.
    ("exchange", r"outlook\.office365\.com|outlook\.office365\.us|outlook-dod\.office365\.us"),
    # Security & Compliance front door (docs/wire/invoke-command.md §3.3; GCC High and DoD hosts as in
    # docs/wire/invoke-command.md §3.1): answers region discovery only (the fake tells the hosts apart).
    ("compliance", r"ps\.compliance\.protection\.outlook\.com|ps\.compliance\.protection\.office365\.us"
                   r"|l5\.ps\.compliance\.protection\.office365\.us"),
    # Security & Compliance regional hosts, "<region>.ps.compliance.protection.outlook.com" (docs/wire/invoke-command.md
    # §3.3), which run cmdlets.
    ("compliance", r"[a-z0-9-]+\.ps\.compliance\.protection\.(?:outlook\.com|office365\.us)"),
    # Defender portal (docs/wire/invoke-command.md §3.1: security.microsoft.com) and its US government hosts (GCC High
    # security.microsoft.us, DoD security.apps.mil; Microsoft's US Government pages, docs/wire/invoke-command.md §3.1).
    ("portal", r"security\.microsoft\.com|security\.microsoft\.us|security\.apps\.mil"),
    # Microsoft Graph: the global endpoint and the US government national clouds (Graph docs "National cloud
    # deployments": graph.microsoft.us for L4/GCC High, dod-graph.microsoft.us for L5/DoD).
    ("graph", r"graph\.microsoft\.com|graph\.microsoft\.us|dod-graph\.microsoft\.us"),
)


def _to_fake_request(request: httpx.Request, path: str, base_url: str) -> FakeRequest:
    headers: dict[str, str] = {}
    for key, value in request.headers.multi_items():
        name = key.lower()
        headers[name] = f"{headers[name]}, {value}" if name in headers else value
    query = dict(parse_qsl(request.url.query.decode("ascii"), keep_blank_values=True))
    return FakeRequest(
        method=request.method,
        path=path or "/",
        base_url=base_url,
        query=query,
        headers=headers,
        body=request.read(),
    )


class _BodyStream(httpx.SyncByteStream, httpx.AsyncByteStream):
    """The response body, handed to the client unread.

    Not ``content=`` nor ``httpx.ByteStream``: both get read (and so decoded per ``Content-Encoding``) on the
    mock side, by httpx or by respx's pre-read. The 403 NUL body declared gzip (docs/wire/invoke-command.md §6.4) must
    fail where it fails against the real service: in the client, when it reads the body, after it could
    see the status (``stream=True``). Re-iterable, so respx's call log can read it again.
    """

    def __init__(self, body: bytes) -> None:
        self._body = body

    def __iter__(self) -> Iterator[bytes]:
        yield self._body

    async def __aiter__(self) -> AsyncIterator[bytes]:
        yield self._body


def _to_httpx_response(response: FakeResponse) -> httpx.Response:
    return httpx.Response(response.status, headers=response.headers, stream=_BodyStream(response.body))


def _answer(tenant: FakeTenant, service: str, fake_request: FakeRequest,
            request: httpx.Request) -> httpx.Response:
    try:
        return _to_httpx_response(tenant.dispatch(service, fake_request))
    except DropConnection as drop:
        if drop.applied:
            raise httpx.ReadTimeout("fake: the service applied the request but no answer came back",
                                    request=request) from drop
        raise httpx.ConnectError("fake: connection dropped before the request was sent",
                                 request=request) from drop


def _real_host_handler(tenant: FakeTenant, service: str) -> Callable[[httpx.Request], httpx.Response]:
    def handler(request: httpx.Request) -> httpx.Response:
        # The service root is the origin the client reached (used for @odata.nextLink and @odata.context).
        base_url = f"{request.url.scheme}://{request.url.netloc.decode('ascii')}"
        return _answer(tenant, service, _to_fake_request(request, request.url.path, base_url), request)

    return handler


def _emulator_handler(tenant: FakeTenant, base: str) -> Callable[[httpx.Request], httpx.Response]:
    base_path = httpx.URL(base).path.rstrip("/")

    def handler(request: httpx.Request) -> httpx.Response:
        rest = request.url.path[len(base_path):]
        service, _, tail = rest.lstrip("/").partition("/")
        fake_request = _to_fake_request(request, "/" + tail, f"{base}/{service}")
        return _answer(tenant, service, fake_request, request)

    return handler


def mount(router: respx.Router | respx.MockRouter, tenant: FakeTenant, *,
          emulator_base: str | None = None) -> None:
    """Route the real hosts of every service the tenant has, and ``emulator_base/<service>/...``, to it.

    Only services present in ``tenant.services`` are routed, so hosts of fakes that don't exist yet fall
    through to respx's own "not mocked" handling instead of a misleading 404.
    """
    for service, host_pattern in REAL_HOSTS:
        if service in tenant.services:
            router.route(scheme="https", host__regex=rf"^(?:{host_pattern})$").mock(
                side_effect=_real_host_handler(tenant, service))
    if emulator_base is not None:
        base = emulator_base.rstrip("/")
        router.route(url__regex=rf"^{re.escape(base)}/").mock(side_effect=_emulator_handler(tenant, base))
