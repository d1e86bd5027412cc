"""Resolve Entra groups (object IDs or display names) through Microsoft Graph with msgraph-sdk.

Device groups grant access to Entra user groups (``MachineGroupAssignments[].WcdAadGroup{ObjectId,
DisplayName}``, docs/wire/defender-portal.md §3.7). Users may name a group by object ID (verified to exist) or display
name (must match exactly one group). msgraph-sdk is async; our provider methods are sync, so each resolution runs
its own event loop (docs/wire/pulumi-engine.md §7). It is imported lazily: it is slow to import and most
provider calls never need it.
"""

from __future__ import annotations

import asyncio
import functools
import re
from collections.abc import Awaitable, Callable, Iterable
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

from ..core.credentials import TokenSource
from ..core.errors import NotFound, PermissionDenied, ServiceError, Throttled
from ..core.http import ConnectFailure
from ..core.redaction import REDACTOR
from .device_groups.wire import UserGroup

if TYPE_CHECKING:  # msgraph is imported lazily at run time (see above)
    from msgraph import GraphServiceClient

T = TypeVar("T")
GUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")


class AmbiguousGroupError(ServiceError):
    pass


class RefreshableTokens(Protocol):
    """The token provider behind a Graph client: ``force_refresh`` makes its next token a new one."""

    force_refresh: bool


def is_object_id(value: str) -> bool:
    return bool(GUID.match(value.strip()))


class EntraGroupResolver:
    def __init__(self, tokens: TokenSource, *, graph_base: str, scope: str, timeout: float = 60.0,
                 emulator_url: str | None = None) -> None:
        self._tokens = tokens
        self._base = graph_base.rstrip("/")
        self._scope = scope
        self._timeout = timeout
        self._emulator_url = emulator_url  # a connection error then asks whether the emulator runs

    def resolve(self, names_or_ids: Iterable[str]) -> list[UserGroup]:
        """Each object ID (verified to exist) or display name (exactly one group must have it) as a group."""
        wanted = [v.strip() for v in names_or_ids]
        if not wanted:
            return []

        async def resolve_all(client: GraphServiceClient, tokens: RefreshableTokens) -> list[UserGroup]:
            found = []
            for value in wanted:  # one at a time: an error names the first value that fails
                found.append(await _retrying_401(tokens, value, functools.partial(self._lookup, client, value),
                                                 self._emulator_url))
            return found

        return asyncio.run(self._with_client(resolve_all))

    def named(self, names: Iterable[str], *, concurrency: int = 8) -> dict[str, list[UserGroup]]:
        """Every Entra group that has each display name (Graph compares it as ``displayName eq``), one request per
        distinct name, ``concurrency`` at a time (``defender-air export`` names user groups only where the name is
        unique). At most five groups per name are returned: enough to tell one from several."""
        wanted = sorted({n for n in names if n.strip()})
        if not wanted:
            return {}

        async def look_up_all(client: GraphServiceClient, tokens: RefreshableTokens) -> dict[str, list[UserGroup]]:
            gate = asyncio.Semaphore(concurrency)

            async def one(name: str) -> list[UserGroup]:
                async with gate:
                    return await _retrying_401(tokens, name, lambda: self._matches(client, name), self._emulator_url)

            # Every lookup runs to its end (none is left in flight when one fails), and the error raised is the one
            # of the first name in order, whatever finished first.
            found = await asyncio.gather(*(one(name) for name in wanted), return_exceptions=True)
            failed = next((result for result in found if isinstance(result, BaseException)), None)
            if failed is not None:
                raise failed
            return {name: result for name, result in zip(wanted, found, strict=True)
                    if not isinstance(result, BaseException)}

        return asyncio.run(self._with_client(look_up_all))

    async def _with_client(self, work: Callable[[GraphServiceClient, RefreshableTokens], Awaitable[T]]) -> T:
        """Run ``work(client, token_provider)`` with a Graph client of its own (one per call: the resolver is shared
        by the provider's worker threads, each with its own event loop)."""
        import httpx
        from kiota_abstractions.authentication import (
            AccessTokenProvider,
            AllowedHostsValidator,
            BaseBearerTokenAuthenticationProvider,
        )
        from msgraph import GraphRequestAdapter, GraphServiceClient
        from msgraph_core import GraphClientFactory

        tokens, scope, host = self._tokens, self._scope, httpx.URL(self._base).host

        class _Tokens(AccessTokenProvider):
            """Our token source behind kiota's interface (the SDK's azure adapter needs async credentials)."""

            force_refresh = False

            async def get_authorization_token(self, uri: str,
                                              additional_authentication_context: dict[str, Any] | None = None) -> str:
                token = tokens.token(scope, force_refresh=self.force_refresh)
                self.force_refresh = False
                return token

            def get_allowed_hosts_validator(self) -> AllowedHostsValidator:
                return AllowedHostsValidator([host])

        # The SDK's default middleware retries 429/503 honouring Retry-After.
        http = GraphClientFactory.create_with_default_middleware(client=httpx.AsyncClient(timeout=self._timeout))
        token_provider = _Tokens()
        adapter = GraphRequestAdapter(BaseBearerTokenAuthenticationProvider(token_provider), client=http)
        adapter.base_url = f"{self._base}/v1.0"
        client = GraphServiceClient(request_adapter=adapter)
        try:
            return await work(client, token_provider)
        finally:
            await http.aclose()

    async def _matches(self, client: GraphServiceClient, name: str) -> list[UserGroup]:
        """The groups whose display name equals ``name`` (at most five)."""
        from kiota_abstractions.base_request_configuration import RequestConfiguration
        from msgraph.generated.groups.groups_request_builder import GroupsRequestBuilder

        literal = name.replace("'", "''")  # OData string literal escaping
        query = GroupsRequestBuilder.GroupsRequestBuilderGetQueryParameters(
            filter=f"displayName eq '{literal}'", select=["id", "displayName"], top=5)
        page = await client.groups.get(request_configuration=RequestConfiguration(query_parameters=query))
        return [UserGroup(str(g.id), str(g.display_name or name)) for g in (page.value if page else None) or []]

    async def _lookup(self, client: GraphServiceClient, value: str) -> UserGroup:
        if is_object_id(value):
            group = await client.groups.by_group_id(value).get()
            return UserGroup(str(group.id), str(group.display_name or ""))
        matches = await self._matches(client, value)
        if not matches:
            raise NotFound(f"Microsoft Graph: no Entra group has the display name {value!r}; use its exact "
                           "display name or its object ID.", operation=f"GET groups ({value})")
        if len(matches) > 1:
            ids = ", ".join(g.object_id for g in matches)
            raise AmbiguousGroupError(f"Microsoft Graph: {len(matches)} Entra groups have the display name "
                                      f"{value!r} ({ids}); use the object ID of the one you mean.",
                                      operation=f"GET groups ({value})")
        return matches[0]


async def _retrying_401(token_provider: RefreshableTokens, value: str, call: Callable[[], Awaitable[T]],
                        emulator_url: str | None = None) -> T:
    """``call``, once more with a new token after a 401 (the token may have expired or been revoked), as the HTTP
    layer does; any other Graph error is classified."""
    # APIError, not only msgraph's ODataError: kiota raises the base class when the error body is not Graph's JSON
    # (a gateway's plain-text 5xx, an HTML page).
    import httpx
    from kiota_abstractions.api_error import APIError

    try:
        return await call()
    except APIError as exc:
        if getattr(exc, "response_status_code", None) != 401:
            raise _graph_error(value, exc) from exc
    except httpx.TransportError as exc:
        raise _no_answer(value, exc, emulator_url) from exc
    token_provider.force_refresh = True
    try:
        return await call()
    except APIError as exc:
        raise _graph_error(value, exc) from exc
    except httpx.TransportError as exc:
        raise _no_answer(value, exc, emulator_url) from exc


def _no_answer(value: str, exc: Exception, emulator_url: str | None) -> ServiceError:
    """The connection failed or closed without an answer (the SDK's middleware retries only 429/503/504)."""
    import httpx

    operation = f"GET groups ({value})"
    if isinstance(exc, (httpx.ConnectError, httpx.ConnectTimeout)):
        try:
            url = exc.request.url
        except RuntimeError:  # no request attached: fall back to the general message
            pass
        else:  # the host and the cause, as the HTTP layer words them (core/http.py ConnectFailure)
            failure = ConnectFailure.of(exc, url)
            return ServiceError(failure.message("Microsoft Graph", f"reading group {value!r}", emulator_url, 1),
                                operation=operation)
    return ServiceError(f"Microsoft Graph: reading group {value!r} got no answer ({type(exc).__name__}). Check "
                        "network access to Microsoft Graph and try again.", operation=operation)


def _graph_error(value: str, exc: Any) -> ServiceError:
    """The one place that classifies a Graph error (docs/wire/microsoft-graph.md §2.6)."""
    status = getattr(exc, "response_status_code", None)
    error = getattr(exc, "error", None)
    message = REDACTOR(str(getattr(error, "message", None) or exc))
    typed: dict[str, Any] = {"status": status, "code": getattr(error, "code", None),
                             "operation": f"GET groups ({value})", "exception_type": getattr(error, "code", None)}
    if status == 404:
        return NotFound(f"Microsoft Graph: Entra group {value!r} does not exist ({message}).", **typed)
    if status in (401, 403):
        return PermissionDenied(
            f"Microsoft Graph refused reading group {value!r} (HTTP {status}: {message}). The app registration "
            "needs the Microsoft Graph application permission Group.Read.All (with admin consent).", **typed)
    if status in (429, 503):
        return Throttled(f"Microsoft Graph: reading group {value!r} is still throttled (HTTP {status}: {message}); "
                         "run again later.", **typed)
    return ServiceError(f"Microsoft Graph: reading group {value!r} failed (HTTP {status}: {message}).", **typed)
