"""Provider cold start: seconds from spawning the provider process to the first answered ``Check``.

Why this figure: the engine starts one provider process per ``pulumi up/preview/refresh`` (per provider resource)
and the first resource step waits for it. Cold start is the process start, the imports, the port handshake, the gRPC
connect, what the engine sends first, and then the first Check.

* The dynamic server (``python -u -m pulumi.dynamic``, what Python programs use): GetPluginInfo and Configure, then
  the first Check, which is when the dynamic server unpickles ``__provider``, which imports the provider's module and
  runs its ``configure``. So a heavy import in the provider package shows up here and nowhere else.
  ``measure_cold_start(None, ...)`` measures the bare dynamic server with a trivial provider that is pickled by
  reference from this module, so the bare figure and a real provider's figure measure the same sequence of steps;
  the difference is the provider's own import and configure cost.
* The native plugin (``pulumi-resource-defender-air <engine address>``, every other language):
  ``measure_plugin_cold_start`` sends GetPluginInfo, CheckConfig of the provider resource's inputs and Configure with
  the checked inputs (docs/wire/pulumi-engine.md §9.4), then the first Check of one resource.

Usage: ``python benchmarks/cold_start.py [--runs N]`` prints the bare figure (median of N, default 5).
"""

from __future__ import annotations

import argparse
import importlib
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import grpc
from google.protobuf import empty_pb2, struct_pb2
from pulumi.dynamic import CheckResult, ResourceProvider
from pulumi.dynamic.dynamic import serialize_provider
from pulumi.runtime._serialization import _serialize
from pulumi.runtime.proto import provider_pb2, provider_pb2_grpc

REPO_ROOT = Path(__file__).resolve().parents[1]
_URN = "urn:pulumi:bench::{project}::pulumi-python:dynamic:Resource::cold-start"


class TrivialProvider(ResourceProvider):
    """Does nothing; exists so the bare figure unpickles a by-reference provider like real ones."""

    def check(self, _olds: dict[str, Any], news: dict[str, Any]) -> CheckResult:
        return CheckResult(news, [])


def bare_payload() -> str:
    """``__provider`` for :class:`TrivialProvider`, pickled by reference as
    ``benchmarks.cold_start.TrivialProvider`` even when this file runs as ``__main__`` (a class in
    ``__main__`` would be pickled by value, which is not what real providers do)."""
    if str(REPO_ROOT) not in sys.path:
        sys.path.insert(0, str(REPO_ROOT))
    module = importlib.import_module("benchmarks.cold_start")
    payload, _ = _serialize(True, serialize_provider, module.TrivialProvider())
    return payload


def _struct(values: Mapping[str, Any]) -> struct_pb2.Struct:
    struct = struct_pb2.Struct()
    struct.update(dict(values))
    return struct


def measure_cold_start(
    provider_payload: str | None,
    project: str,
    env: Mapping[str, str],
    *,
    config: Mapping[str, str] | None = None,
    news: Mapping[str, Any] | None = None,
    python: str = sys.executable,
    cwd: str | os.PathLike[str] | None = None,
    timeout: float = 60.0,
) -> float:
    """Seconds from spawn to the first answered Check carrying ``provider_payload``.

    ``env`` is added to the current environment, with ``PULUMI_PROJECT=project`` and the repository
    root prepended to ``PYTHONPATH`` (so the bare provider imports; harmless for an installed one).
    ``config`` is sent in Configure as the engine does (keys without ``:`` get ``<project>:``).
    ``news`` are extra Check inputs, for a provider whose check needs realistic values; Check
    failures still count as an answer, a gRPC error raises ``RuntimeError`` with the provider's
    stderr.
    """
    payload = provider_payload if provider_payload is not None else bare_payload()
    full_env = dict(os.environ)
    full_env.update(env)
    full_env["PULUMI_PROJECT"] = project
    full_env["PYTHONPATH"] = os.pathsep.join(
        p for p in (str(REPO_ROOT), full_env.get("PYTHONPATH", "")) if p
    )
    qualified = {(k if ":" in k else f"{project}:{k}"): str(v) for k, v in (config or {}).items()}
    urn = _URN.format(project=project)
    configure = provider_pb2.ConfigureRequest(
        variables=qualified, args=_struct(qualified), acceptSecrets=True, acceptResources=True
    )
    check = provider_pb2.CheckRequest(
        urn=urn, olds=_struct({}), news=_struct({**(news or {}), "__provider": payload})
    )

    def engine(stub: provider_pb2_grpc.ResourceProviderStub) -> None:
        stub.GetPluginInfo(empty_pb2.Empty(), timeout=timeout)
        stub.Configure(configure, timeout=timeout)
        stub.Check(check, timeout=timeout)

    return _spawn_to_answer([python, "-u", "-m", "pulumi.dynamic", "127.0.0.1:0"], full_env, cwd, timeout, engine)


def measure_plugin_cold_start(
    command: Sequence[str],
    type_token: str,
    news: Mapping[str, Any],
    *,
    provider_inputs: Mapping[str, str] | None = None,
    env: Mapping[str, str] | None = None,
    cwd: str | os.PathLike[str] | None = None,
    timeout: float = 60.0,
) -> float:
    """Seconds from spawning the native plugin (``command`` and the engine's address) to its first answered Check
    of a ``type_token`` resource with inputs ``news``, after GetPluginInfo, CheckConfig of ``provider_inputs`` (the
    stack's keys of the package's namespace without it, ``emulatorUrl``) and Configure with the checked inputs, as
    the engine sends them. ``env`` is added to the current environment."""
    package = type_token.split(":", 1)[0]
    provider_urn = f"urn:pulumi:bench::bench::pulumi:providers:{package}::default"
    check_config = provider_pb2.CheckRequest(urn=provider_urn, name="default", type=f"pulumi:providers:{package}",
                                             olds=_struct({}), news=_struct(provider_inputs or {}))
    check = provider_pb2.CheckRequest(urn=f"urn:pulumi:bench::bench::{type_token}::cold-start", name="cold-start",
                                      type=type_token, olds=_struct({}), news=_struct(news))

    def engine(stub: provider_pb2_grpc.ResourceProviderStub) -> None:
        stub.GetPluginInfo(empty_pb2.Empty(), timeout=timeout)
        checked = stub.CheckConfig(check_config, timeout=timeout)
        if checked.failures:
            raise RuntimeError(f"CheckConfig failed: {[(f.property, f.reason) for f in checked.failures]}")
        variables = {f"{package}:config:{key}": str(value) for key, value in checked.inputs.items()}
        stub.Configure(provider_pb2.ConfigureRequest(variables=variables, args=checked.inputs, acceptSecrets=True,
                                                     acceptResources=True), timeout=timeout)
        stub.Check(check, timeout=timeout)

    return _spawn_to_answer([*command, "127.0.0.1:0"], {**os.environ, **(env or {})}, cwd, timeout, engine)


def _spawn_to_answer(
    command: Sequence[str],
    env: Mapping[str, str],
    cwd: str | os.PathLike[str] | None,
    timeout: float,
    engine: Callable[[provider_pb2_grpc.ResourceProviderStub], None],
) -> float:
    """Seconds from spawning ``command`` until ``engine`` has had its answers from it; a gRPC error or a failure of
    ``engine`` raises ``RuntimeError`` with the provider's stderr."""
    with tempfile.TemporaryFile() as stderr:
        start = time.perf_counter()
        proc = subprocess.Popen(
            list(command),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=stderr,
            env=dict(env),
            cwd=os.fspath(cwd) if cwd is not None else None,
        )
        try:
            port = _read_port(proc, timeout)
            channel = grpc.insecure_channel(f"127.0.0.1:{port}")
            try:
                grpc.channel_ready_future(channel).result(timeout=timeout)
                engine(provider_pb2_grpc.ResourceProviderStub(channel))
                elapsed = time.perf_counter() - start
            finally:
                channel.close()
        except (grpc.RpcError, RuntimeError) as exc:
            stderr.seek(0)
            log = stderr.read().decode(errors="replace")
            detail = exc.details() if isinstance(exc, grpc.RpcError) else str(exc)
            raise RuntimeError(f"cold start failed: {detail}\nprovider stderr:\n{log}") from None
        finally:
            proc.kill()
            proc.wait(timeout=10)
    return elapsed


def _read_port(proc: subprocess.Popen[bytes], timeout: float) -> int:
    """First stdout line, bounded by ``timeout`` (readline itself cannot time out)."""
    line: list[bytes] = []
    reader = threading.Thread(target=lambda: line.append(proc.stdout.readline() if proc.stdout else b""))
    reader.daemon = True
    reader.start()
    reader.join(timeout)
    text = line[0].decode().strip() if line else ""
    if not text.isdigit():
        raise RuntimeError(f"provider printed no port (got {text!r}, exit code {proc.poll()})")
    return int(text)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--project", default="defender-air-bench")
    args = parser.parse_args(argv)
    payload = bare_payload()
    runs = [measure_cold_start(payload, args.project, {}) for _ in range(args.runs)]
    print(
        f"bare dynamic provider cold start (spawn -> first answered Check): "
        f"median {statistics.median(runs):.3f}s over {len(runs)} runs "
        f"[{', '.join(f'{r:.3f}' for r in runs)}]"
    )


if __name__ == "__main__":
    main()
