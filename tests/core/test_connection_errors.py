"""Connection errors against real sockets: a closed local port and a host name that never resolves.

No respx here: the point is what httpx and the operating system really raise, and that the message tells the two
apart, names the host, and (under the emulator) asks whether it is running. Timeouts are short so nothing hangs.
"""

from __future__ import annotations

import socket

import pytest

from defender_air_provider.core.errors import ServiceError
from defender_air_provider.core.http import HttpClient, RetryPolicy
from tests.support import RecordingSleep


def closed_port() -> int:
    """A loopback port nothing listens on (bound, then released)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def client(sleep: RecordingSleep, *, emulator_url: str | None = None) -> HttpClient:
    return HttpClient(service="Defender portal", retry=RetryPolicy(max_attempts=3), sleep=sleep, timeout=5.0,
                      emulator_url=emulator_url)


def test_closed_emulator_port_names_the_host_the_cause_and_asks_whether_the_emulator_runs() -> None:
    port = closed_port()
    base = f"http://127.0.0.1:{port}"
    sleep = RecordingSleep()
    with pytest.raises(ServiceError) as caught:
        client(sleep, emulator_url=base).send("GET", f"{base}/portal/x", idempotent=True, what="GET machine_groups")
    message = str(caught.value)
    assert f"could not connect to 127.0.0.1:{port}: connection refused" in message
    assert f"Is the emulator running at {base}?" in message
    assert f"defender-air emulator --port {port}" in message
    # Nothing listens on a loopback port: retrying cannot help, so no wait (was ~13 s of backoff).
    assert sleep.waits == []
    assert caught.value.operation == "GET machine_groups"


def test_refused_connection_to_a_remote_host_is_still_retried(monkeypatch: pytest.MonkeyPatch) -> None:
    """A refusal from a real service's address may be a load balancer rotating: retried, then named."""
    port = closed_port()
    sleep = RecordingSleep()
    # 127.0.0.2 is loopback too; a public-looking name resolving to the closed port stands for a remote host.
    real_getaddrinfo = socket.getaddrinfo

    def resolve(host: str, *args: object, **kwargs: object) -> object:
        return real_getaddrinfo("127.0.0.1" if host == "api.contoso.test" else host, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(socket, "getaddrinfo", resolve)
    with pytest.raises(ServiceError) as caught:
        client(sleep).send("GET", f"http://api.contoso.test:{port}/x", idempotent=True, what="op")
    message = str(caught.value)
    assert "failed after 3 attempts" in message and f"api.contoso.test:{port}: connection refused" in message
    assert "emulator" not in message
    assert len(sleep.waits) == 2


def test_unresolvable_host_reads_differently_from_a_refused_connection() -> None:
    sleep = RecordingSleep()
    with pytest.raises(ServiceError) as caught:
        client(sleep).send("GET", "https://nonexistent.invalid/x", idempotent=True, what="Get-ProtectionAlert")
    message = str(caught.value)
    assert "could not connect to nonexistent.invalid:443: name not resolved" in message
    assert "connection refused" not in message
    assert "DNS" in message


def test_unresolvable_emulator_host_asks_whether_the_emulator_runs_there() -> None:
    base = "http://nonexistent.invalid:8765"
    with pytest.raises(ServiceError, match=r"name not resolved .* Is the emulator running at http://nonexistent"):
        client(RecordingSleep(), emulator_url=base).send("GET", f"{base}/exchange/x", idempotent=True, what="op")


def test_microsoft_graph_under_the_emulator_also_asks_whether_it_runs() -> None:
    from defender_air_provider.clients.entra_groups import EntraGroupResolver
    from tests.support import FakeTokenSource

    base = f"http://127.0.0.1:{closed_port()}"
    resolver = EntraGroupResolver(FakeTokenSource(), graph_base=f"{base}/graph", scope="https://graph/.default",
                                  timeout=5, emulator_url=base)
    with pytest.raises(ServiceError) as caught:
        resolver.resolve(["SOC Analysts"])
    assert "connection refused" in str(caught.value) and f"Is the emulator running at {base}?" in str(caught.value)
