"""The localhost emulator (stdlib HTTP server) and the ``defender-air emulator`` command, over real sockets."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any, ClassVar

import httpx
import pytest

from defender_air_provider import cli
from defender_air_provider.fakes.server import EmulatorServer
from defender_air_provider.fakes.tenant import FakeTenant, StateFileError

from ._wire import TENANT_ID, body

TOKEN = "emulator-secret-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
STANDARD = "Standard Preset Security Policy"
STRICT = "Strict Preset Security Policy"


@pytest.fixture
def server() -> Iterator[EmulatorServer]:
    with EmulatorServer(FakeTenant("presets_on"), port=0) as running:
        yield running


@pytest.fixture
def client(server: EmulatorServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.url, headers=AUTH, timeout=10) as c:
        yield c


def invoke_url(server: EmulatorServer) -> str:
    return f"{server.url}/exchange/adminapi/beta/{TENANT_ID}/InvokeCommand"


def invoke(client: httpx.Client, server: EmulatorServer, cmdlet: str,
           params: dict[str, Any] | None = None) -> httpx.Response:
    return client.post(invoke_url(server), json=body(cmdlet, params))


def test_start_on_port_zero_picks_a_port(server: EmulatorServer) -> None:
    assert server.port != 0
    assert server.url == f"http://127.0.0.1:{server.port}"


def test_invoke_command_over_a_socket(server: EmulatorServer, client: httpx.Client) -> None:
    response = invoke(client, server, "Get-EOPProtectionPolicyRule")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/json;odata.metadata=minimal")
    payload = response.json()
    assert payload["@odata.context"].startswith(f"{server.url}/exchange/adminapi/beta/{TENANT_ID}/$metadata#")
    assert [r["Name"] for r in payload["value"]] == [STRICT, STANDARD]


def test_without_a_token_the_emulator_answers_401(server: EmulatorServer) -> None:
    response = httpx.post(invoke_url(server), json=body("Get-EOPProtectionPolicyRule"))
    assert response.status_code == 401


def test_paging_over_the_emulator(server: EmulatorServer, client: httpx.Client) -> None:
    request_body = body("Get-HostedContentFilterPolicy")
    first = client.post(invoke_url(server), json=request_body, headers={"Prefer": "odata.maxpagesize=2"})
    link = first.json()["@odata.nextLink"]
    assert link.startswith(f"{server.url}/exchange/adminapi/beta/{TENANT_ID}/InvokeCommand?$skiptoken=")
    second = client.post(link, json=request_body)
    names = [p["Name"] for p in first.json()["value"] + second.json()["value"]]
    assert len(names) == len(set(names)) == 3


def test_unknown_cmdlet_nul_gzip_over_a_socket(server: EmulatorServer, client: httpx.Client) -> None:
    request = client.build_request("POST", invoke_url(server), json=body("Get-Mailbox"))
    response = client.send(request, stream=True)
    assert response.status_code == 403
    assert response.headers["content-encoding"] == "gzip"
    with pytest.raises(httpx.DecodingError):
        response.read()
    response.close()


def test_control_health_and_request_log(server: EmulatorServer, client: httpx.Client) -> None:
    assert client.get("/_emulator/health").json() == {"ok": True}
    invoke(client, server, "Enable-EOPProtectionPolicyRule", {"Identity": STRICT})
    log = client.get("/_emulator/requests").json()
    assert log == [{"service": "exchange", "operation": "Enable-EOPProtectionPolicyRule", "method": "POST",
                    "path": f"/adminapi/beta/{TENANT_ID}/InvokeCommand", "status": 200}]
    assert TOKEN not in json.dumps(log) and STRICT not in json.dumps(log)  # no credentials, no bodies
    assert client.post("/_emulator/requests/clear").status_code == 200
    assert client.get("/_emulator/requests").json() == []
    assert server.tenant.exchange.rule("eop", "strict")["State"] == "Enabled"  # type: ignore[index]


def test_control_faults(server: EmulatorServer, client: httpx.Client) -> None:
    added = client.post("/_emulator/faults", json={"kind": "status", "service": "exchange",
                                                   "operation": "Get-EOPProtectionPolicyRule", "status": 429,
                                                   "retry_after": 5, "times": 2})
    assert added.status_code == 200
    for _ in range(2):
        throttled = invoke(client, server, "Get-EOPProtectionPolicyRule")
        assert throttled.status_code == 429 and throttled.headers["retry-after"] == "5"
    assert invoke(client, server, "Get-EOPProtectionPolicyRule").status_code == 200

    client.post("/_emulator/faults", json={"kind": "status", "service": "exchange", "status": 503})
    assert invoke(client, server, "Get-ATPProtectionPolicyRule").status_code == 503

    client.post("/_emulator/faults", json={"kind": "throttle", "service": "exchange", "times": 5})
    assert client.post("/_emulator/faults/clear").status_code == 200
    assert invoke(client, server, "Get-ATPProtectionPolicyRule").status_code == 200

    for bad in ({"kind": "explode", "service": "exchange"}, {"kind": "status", "service": "exchange"},
                {"kind": "drop"}, {"kind": "drop", "service": "exchange", "times": 0}):
        assert client.post("/_emulator/faults", json=bad).status_code == 400, bad
    assert client.get("/_emulator/nothing").status_code == 404


def test_control_drop_faults_close_the_connection(server: EmulatorServer, client: httpx.Client) -> None:
    client.post("/_emulator/faults", json={"kind": "drop", "service": "exchange",
                                           "operation": "Enable-EOPProtectionPolicyRule"})
    with pytest.raises(httpx.TransportError):
        invoke(client, server, "Enable-EOPProtectionPolicyRule", {"Identity": STRICT})
    assert server.tenant.exchange.rule("eop", "strict")["State"] == "Disabled"  # type: ignore[index]

    client.post("/_emulator/faults", json={"kind": "drop_after_apply", "service": "exchange"})
    with pytest.raises(httpx.TransportError):
        invoke(client, server, "Enable-EOPProtectionPolicyRule", {"Identity": STRICT})
    assert server.tenant.exchange.rule("eop", "strict")["State"] == "Enabled"  # type: ignore[index]
    # The server keeps serving after dropped connections.
    assert client.get("/_emulator/health").status_code == 200


def test_control_state(server: EmulatorServer, client: httpx.Client) -> None:
    state = client.get("/_emulator/state").json()
    assert state == json.loads(json.dumps(server.tenant.to_state()))


def test_no_request_lines_or_credentials_on_stderr(server: EmulatorServer, client: httpx.Client,
                                                   capfd: pytest.CaptureFixture[str]) -> None:
    invoke(client, server, "Get-EOPProtectionPolicyRule")
    client.get("/_emulator/health", headers={"Cookie": "sccauth=secret-cookie"})
    httpx.post(invoke_url(server), json=body("Get-EOPProtectionPolicyRule"))  # a 401
    out, err = capfd.readouterr()
    assert err == "" and out == ""


def test_state_file_persists_across_server_instances(tmp_path: Path) -> None:
    state_file = tmp_path / "tenant.json"
    with EmulatorServer(FakeTenant("presets_on", state_file), port=0) as first, \
            httpx.Client(headers=AUTH) as client:
        response = invoke(client, first, "Set-EOPProtectionPolicyRule",
                          {"Identity": STANDARD, "SentTo": ["alice@contoso.com"]})
        assert response.status_code == 200
    assert state_file.exists()
    # The second instance starts from the file, not from its (different) scenario.
    with EmulatorServer(FakeTenant("presets_never_on", state_file), port=0) as second, \
            httpx.Client(headers=AUTH) as client:
        rules = invoke(client, second, "Get-EOPProtectionPolicyRule", {"Identity": STANDARD}).json()["value"]
    assert rules[0]["SentTo"] == ["alice@contoso.com"]


def test_stop_without_start_and_twice() -> None:
    server = EmulatorServer(FakeTenant(), port=0)
    server.bind()
    server.stop()
    server.stop()


# -- the command line -----------------------------------------------------------------------------------------

def test_parser_defaults() -> None:
    args = cli.build_parser().parse_args(["emulator"])
    assert (args.command, args.host, args.port, args.state, args.scenario) == (
        "emulator", "127.0.0.1", 8765, None, "presets_on")


def test_parser_rejects_unknown_scenario_and_missing_command() -> None:
    with pytest.raises(SystemExit):
        cli.build_parser().parse_args(["emulator", "--scenario", "nope"])
    with pytest.raises(SystemExit):
        cli.build_parser().parse_args([])


class _ServeOnce(EmulatorServer):
    """Serves on a thread, makes one real request, and returns instead of blocking."""

    seen: ClassVar[list[Any]] = []

    def serve_forever(self) -> None:
        self.start()
        try:
            with httpx.Client(headers=AUTH) as client:
                response = client.post(f"{self.url}/exchange/adminapi/beta/{TENANT_ID}/InvokeCommand",
                                       json=body("Disable-EOPProtectionPolicyRule", {"Identity": STANDARD}))
                _ServeOnce.seen.append(response.status_code)
        finally:
            self.stop()


def test_main_emulator_serves_and_prints_the_url(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    state_file = tmp_path / "state.json"
    monkeypatch.setattr(cli, "EmulatorServer", _ServeOnce)
    _ServeOnce.seen = []
    code = cli.main(["emulator", "--port", "0", "--state", str(state_file), "--scenario", "rule_removed"])
    assert code == 0
    out, err = capsys.readouterr()
    assert out.startswith("defender-air emulator listening on http://127.0.0.1:")
    assert out.rstrip().endswith(f"(state: {state_file})")
    assert err == ""
    assert _ServeOnce.seen == [200]
    saved = json.loads(state_file.read_text(encoding="utf-8"))
    assert saved["exchange"]["scenario"] == "rule_removed"
    standard = [r for r in saved["exchange"]["rules"]["eop"] if r["Name"] == STANDARD]
    assert standard[0]["State"] == "Disabled"


class _Interrupted(EmulatorServer):
    def bind(self) -> None:  # no socket: the test is about the CLI's handling only
        pass

    def serve_forever(self) -> None:
        raise KeyboardInterrupt


def test_main_ctrl_c_exits_cleanly_and_warns_on_non_loopback(monkeypatch: pytest.MonkeyPatch,
                                                            capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr(cli, "EmulatorServer", _Interrupted)
    assert cli.main(["emulator", "--host", "0.0.0.0", "--port", "9"]) == 0
    out, err = capsys.readouterr()
    assert out.strip() == "defender-air emulator listening on http://0.0.0.0:9 (state: in memory)"
    assert "not a loopback address" in err
    assert cli.main(["emulator", "--host", "::1", "--port", "9"]) == 0
    assert cli.main(["emulator", "--host", "localhost", "--port", "9"]) == 0
    assert capsys.readouterr().err == ""


def test_main_reports_a_port_in_use(server: EmulatorServer, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["emulator", "--port", str(server.port)]) == 1
    assert "cannot listen" in capsys.readouterr().err


def test_control_faults_echo_the_kind_that_was_asked(server: EmulatorServer, client: httpx.Client) -> None:
    throttle = client.post("/_emulator/faults", json={"kind": "throttle", "service": "exchange", "retry_after": 3})
    assert throttle.json() == {"ok": True, "kind": "throttle", "service": "exchange", "operation": None, "times": 1}
    answered = invoke(client, server, "Get-EOPProtectionPolicyRule")
    assert answered.status_code == 429 and answered.headers["retry-after"] == "3"
    # A 429 asked as a "status" fault answers the same, and is reported as what was asked.
    status = client.post("/_emulator/faults", json={"kind": "status", "service": "exchange", "status": 429})
    assert status.json()["kind"] == "status"
    assert invoke(client, server, "Get-EOPProtectionPolicyRule").status_code == 429
    assert invoke(client, server, "Get-EOPProtectionPolicyRule").status_code == 200


@pytest.mark.parametrize(("content", "expected"), [
    (b"{\"exchange\": ", "is not valid JSON (line 1 column 14"),
    (b"", "is not valid JSON (line 1 column 1"),
    (b"\xff\xfe{}", "is not valid JSON (not UTF-8 text)"),
    (b"[1, 2]", "is not an emulator state (a JSON object keyed by service)"),
    (b"{\"exchange\": 5}", "is not an emulator state (AttributeError"),
    (b"{\"exchange\": {\"rules\": {\"eop\": [7]}}}", "is not an emulator state ("),
])
def test_main_emulator_refuses_a_malformed_state_file_in_one_line(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], content: bytes, expected: str) -> None:
    state_file = tmp_path / "tenant.json"
    state_file.write_bytes(content)
    assert cli.main(["emulator", "--port", "0", "--state", str(state_file)]) == 2
    out, err = capsys.readouterr()
    assert out == ""  # never claimed to listen
    assert err.count("\n") == 1 and "Traceback" not in err
    assert err.startswith(f"defender-air emulator: error: state file {state_file} ") and expected in err
    assert state_file.read_bytes() == content  # the user's file is left as it was


def test_main_emulator_refuses_a_state_path_it_could_never_write(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    missing = tmp_path / "no-such-folder" / "tenant.json"
    assert cli.main(["emulator", "--port", "0", "--state", str(missing)]) == 2
    out, err = capsys.readouterr()
    assert out == "" and err.count("\n") == 1
    assert f"the folder {missing.parent} does not exist; create it first" in err
    assert not missing.parent.exists()  # refused, not created
    assert cli.main(["emulator", "--port", "0", "--state", str(tmp_path)]) == 2
    assert "is a folder" in capsys.readouterr().err


def test_a_state_file_that_can_be_written_is_accepted_at_start(tmp_path: Path) -> None:
    # Before the check, a path in a missing folder was accepted, and every write then changed the tenant in memory
    # and answered 500 (the save failed); now the same path is refused before anything is served.
    with pytest.raises(StateFileError, match="does not exist"):
        FakeTenant("presets_on", tmp_path / "missing" / "tenant.json")
    state_file = tmp_path / "tenant.json"
    with EmulatorServer(FakeTenant("presets_on", state_file), port=0) as running, \
            httpx.Client(headers=AUTH) as client:
        response = client.post(invoke_url(running), json=body("Disable-EOPProtectionPolicyRule",
                                                               {"Identity": STANDARD}))
        assert response.status_code == 200
    assert json.loads(state_file.read_text(encoding="utf-8"))["exchange"]["rules"]["eop"]
