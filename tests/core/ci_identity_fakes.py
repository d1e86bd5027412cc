"""Loopback fakes of the three token endpoints a CI sign-in talks to, served over real sockets.

- GitHub Actions' ID token endpoint (docs/wire/ci-identity.md §1.1): ``GET <request url>&audience=...`` with
  ``Authorization: Bearer <request token>``, answering ``{"value": "<token>"}``;
- Azure DevOps' OIDC endpoint (docs/wire/ci-identity.md §2.1): ``POST <SYSTEM_OIDCREQUESTURI>?api-version=7.1
  &serviceConnectionId=<id>`` with ``Authorization: Bearer <System.AccessToken>``, answering ``{"oidcToken": ...}``;
- Microsoft Entra ID's token endpoint (docs/wire/ci-identity.md §3.1): ``POST /<tenant>/oauth2/v2.0/token``, a
  form with ``client_assertion``; it accepts only assertions one of the two CI endpoints issued.

azure-identity accepts only an https authority (``normalize_authority`` raises for http), so the Entra fake serves
TLS with a certificate made here for 127.0.0.1, and tests pass its file as ``connection_verify``: the real
``RequestsTransport`` then talks to it exactly as it talks to login.microsoftonline.com. The CI endpoints are
plain http on loopback (nothing in the client requires https there).
"""

from __future__ import annotations

import datetime
import ipaddress
import itertools
import json
import ssl
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

REQUEST_TOKEN = "actions-request-token-7f3a9c"  # ACTIONS_ID_TOKEN_REQUEST_TOKEN
SYSTEM_ACCESS_TOKEN = "system-access-token-51c2e8"  # System.AccessToken
SERVICE_CONNECTION_ID = "5d7f0c1e-2b3a-4c5d-8e9f-0a1b2c3d4e5f"
JWT_BEARER = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"


@dataclass
class Seen:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    form: dict[str, list[str]]


@dataclass
class IdentityFakes:
    """State shared by the endpoints: what was issued, what was asked."""

    requests: list[Seen] = field(default_factory=list)
    issued_assertions: list[str] = field(default_factory=list)
    issued_access_tokens: list[str] = field(default_factory=list)
    github_status: int = 200  # what the GitHub endpoint answers (fault injection)
    _counter: itertools.count[int] = field(default_factory=lambda: itertools.count(1))
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def seen(self, path_prefix: str) -> list[Seen]:
        return [r for r in self.requests if r.path.startswith(path_prefix)]

    def secrets(self) -> list[str]:
        return [REQUEST_TOKEN, SYSTEM_ACCESS_TOKEN, *self.issued_assertions, *self.issued_access_tokens]

    def _next(self, prefix: str) -> str:
        with self._lock:
            return f"{prefix}-{next(self._counter):04d}-c0ffee"

    def answer(self, seen: Seen) -> tuple[int, dict[str, Any]]:
        self.requests.append(seen)
        bearer = seen.headers.get("authorization", "")
        if seen.method == "GET" and seen.path == "/github/idtoken":
            if bearer.lower() != f"bearer {REQUEST_TOKEN}":
                return 401, {"message": "bad request token"}
            if self.github_status != 200:
                return self.github_status, {"message": "injected"}
            audience = seen.query.get("audience", [""])[0]
            token = self._next(f"github-oidc[{audience}]")
            self.issued_assertions.append(token)
            return 200, {"value": token}
        if seen.method == "POST" and seen.path == "/azdo/oidctoken":
            if bearer != f"Bearer {SYSTEM_ACCESS_TOKEN}":
                return 401, {"message": "bad System.AccessToken"}
            if seen.query.get("serviceConnectionId") != [SERVICE_CONNECTION_ID]:
                return 404, {"message": "No service connection found with identifier"}
            token = self._next("azdo-oidc")
            self.issued_assertions.append(token)
            return 200, {"oidcToken": token}
        if seen.method == "POST" and seen.path.endswith("/oauth2/v2.0/token"):
            form = {k: v[0] for k, v in seen.form.items()}
            if form.get("client_assertion_type") != JWT_BEARER or form.get("client_assertion") not in \
                    self.issued_assertions:
                return 401, {"error": "invalid_client", "error_description": "AADSTS700211: no matching federated "
                             "identity record found for presented assertion issuer"}
            token = self._next("entra-access-token")
            self.issued_access_tokens.append(token)
            return 200, {"token_type": "Bearer", "expires_in": 3599, "ext_expires_in": 3599, "access_token": token}
        return 404, {"message": f"no route {seen.method} {seen.path}"}


def _handler(fakes: IdentityFakes) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def _serve(self) -> None:
            url = urlsplit(self.path)
            length = int(self.headers.get("content-length") or 0)
            body = self.rfile.read(length).decode("utf-8") if length else ""
            form = parse_qs(body) if "form-urlencoded" in (self.headers.get("content-type") or "") else {}
            seen = Seen(self.command, url.path, parse_qs(url.query),
                        {k.lower(): v for k, v in self.headers.items()}, form)
            status, payload = fakes.answer(seen)
            data = json.dumps(payload).encode("utf-8")
            self.send_response(status)
            self.send_header("Content-Type", "application/json; charset=utf-8")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        do_GET = do_POST = _serve  # http.server dispatches on these names

        def log_message(self, format: str, *args: Any) -> None:  # quiet: pytest output stays readable
            pass

    return Handler


class LoopbackServer:
    """One ``ThreadingHTTPServer`` on 127.0.0.1 (TLS when given a certificate), stopped by ``close``."""

    def __init__(self, fakes: IdentityFakes, cert: tuple[Path, Path] | None = None) -> None:
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(fakes))
        if cert is not None:
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(str(cert[0]), str(cert[1]))
            self._server.socket = context.wrap_socket(self._server.socket, server_side=True)
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    @property
    def host(self) -> str:
        return f"127.0.0.1:{self.port}"

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)


def make_loopback_certificate(directory: Path) -> tuple[Path, Path]:
    """A self-signed certificate for IP 127.0.0.1 (its own CA): ``(cert.pem, key.pem)``."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name).issuer_name(name).public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5)).not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                       critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / "loopback-cert.pem", directory / "loopback-key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_path, key_path
