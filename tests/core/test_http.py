"""The shared HTTP layer: retry rules, Retry-After, token refresh, undecodable bodies."""

from collections.abc import Iterator

import httpx
import pytest
import respx

from defender_air_provider.core.errors import OutcomeUnknown, ServiceError
from defender_air_provider.core.http import HttpClient, RetryPolicy, parse_retry_after
from tests.support import FakeTokenSource, RecordingSleep

URL = "https://api.example.test/thing"


def client(sleep: RecordingSleep, tokens: FakeTokenSource | None = None) -> HttpClient:
    return HttpClient(service="Test API", tokens=tokens, scope="https://api.example.test/.default" if tokens else None,
                      retry=RetryPolicy(max_attempts=4), sleep=sleep)


@respx.mock
def test_429_honours_retry_after_then_succeeds() -> None:
    route = respx.post(URL).mock(side_effect=[
        httpx.Response(429, headers={"Retry-After": "7"}), httpx.Response(200, json={"ok": True})])
    sleep = RecordingSleep()
    response = client(sleep).send("POST", URL, json_body={}, idempotent=False, what="op")
    assert response.status == 200 and route.call_count == 2
    assert sleep.waits == [7.0]


@respx.mock
def test_503_is_retried_with_backoff_even_for_writes() -> None:
    respx.post(URL).mock(side_effect=[httpx.Response(503), httpx.Response(503), httpx.Response(200)])
    sleep = RecordingSleep()
    assert client(sleep).send("POST", URL, idempotent=False, what="op").status == 200
    assert len(sleep.waits) == 2 and all(0 < w <= 30 for w in sleep.waits)


@respx.mock
def test_persistent_429_returns_the_last_answer_after_the_budget() -> None:
    route = respx.get(URL).mock(return_value=httpx.Response(429, headers={"Retry-After": "1"}))
    response = client(RecordingSleep()).send("GET", URL, idempotent=True, what="op")
    assert response.status == 429 and route.call_count == 4


@respx.mock
def test_other_4xx_are_not_retried() -> None:
    route = respx.get(URL).mock(return_value=httpx.Response(400, json={"error": {}}))
    assert client(RecordingSleep()).send("GET", URL, idempotent=True, what="op").status == 400
    assert route.call_count == 1


@respx.mock
def test_connect_error_is_retried_for_writes_because_nothing_was_sent() -> None:
    route = respx.post(URL).mock(side_effect=[httpx.ConnectError("refused"), httpx.Response(200)])
    assert client(RecordingSleep()).send("POST", URL, idempotent=False, what="op").status == 200
    assert route.call_count == 2


@respx.mock
def test_read_timeout_is_retried_only_when_idempotent() -> None:
    respx.post(URL).mock(side_effect=[httpx.ReadTimeout("slow"), httpx.Response(200)])
    assert client(RecordingSleep()).send("POST", URL, idempotent=True, what="op").status == 200
    respx.post(URL).mock(side_effect=[httpx.ReadTimeout("slow"), httpx.Response(200)])
    with pytest.raises(OutcomeUnknown, match="may or may not have been applied"):
        client(RecordingSleep()).send("POST", URL, idempotent=False, what="New-Thing")


@respx.mock
def test_gateway_timeout_on_a_write_is_an_unknown_outcome() -> None:
    respx.post(URL).mock(return_value=httpx.Response(504))
    with pytest.raises(OutcomeUnknown):
        client(RecordingSleep()).send("POST", URL, idempotent=False, what="New-Thing")


@respx.mock
def test_unreachable_service_is_a_clear_error() -> None:
    respx.get(URL).mock(side_effect=httpx.ConnectError("refused"))
    with pytest.raises(ServiceError, match="failed after 4 attempts"):
        client(RecordingSleep()).send("GET", URL, idempotent=True, what="op")


@respx.mock
def test_401_refreshes_the_token_once() -> None:
    tokens = FakeTokenSource()
    seen: list[str] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request.headers["Authorization"])
        return httpx.Response(401 if len(seen) == 1 else 200)

    respx.get(URL).mock(side_effect=answer)
    assert client(RecordingSleep(), tokens).send("GET", URL, idempotent=True, what="op").status == 200
    assert len(tokens.issued) == 2 and seen[0] != seen[1]


@respx.mock
def test_a_second_401_is_returned_not_looped() -> None:
    route = respx.get(URL).mock(return_value=httpx.Response(401))
    assert client(RecordingSleep(), FakeTokenSource()).send("GET", URL, idempotent=True, what="op").status == 401
    assert route.call_count == 2


@respx.mock
def test_nul_body_declared_gzip_keeps_the_status() -> None:
    # Exchange answers a missing role / unknown cmdlet like this (docs/wire/invoke-command.md §6.4).
    respx.post(URL).mock(return_value=httpx.Response(403, stream=NulStream(),
                                                     headers={"Content-Encoding": "gzip"}))
    response = client(RecordingSleep()).send("POST", URL, idempotent=True, what="op")
    assert response.status == 403 and response.body == b""


class NulStream(httpx.SyncByteStream):
    """Streamed like a real socket (respx pre-reads only ByteStream), so decoding happens in the client."""

    def __iter__(self) -> Iterator[bytes]:
        yield b"\x00" * 16


def test_retry_after_http_date() -> None:
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:10 GMT", now=1445412480.0) == 10.0
    assert parse_retry_after("12") == 12.0
    assert parse_retry_after("soon") is None
