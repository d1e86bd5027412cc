"""Engine-protocol harness: prove ``pulumi up/preview/refresh/destroy`` behaviour without the CLI.

There is no Pulumi CLI (and so no deployment engine) on our machines. What the engine does with a
Python dynamic resource is, however, small and well understood (``docs/wire/
pulumi-engine.md`` §4): it starts ``python -u -m pulumi.dynamic``, reads a port from its
first stdout line and speaks the ``ResourceProvider`` gRPC protocol to it. This module does the same
thing, so the code under test is the SDK's *real* dynamic provider server, the *real* ``__provider``
payload produced by the resource class, and the *real* wire encoding.

Three layers, each usable on its own:

- :func:`capture_registration` runs a resource constructor under ``pulumi.runtime.set_mocks`` and
  returns what the engine would receive from the program (type token, name, inputs with secrets
  stripped the way the engine strips them for a provider that answered ``acceptSecrets=False``).
  :func:`capture_read` does the same for ``X.get(...)`` (a ``ReadResource``), and
  :func:`resolve_outputs` shows what the program sees when the engine answers with given outputs.
- :class:`ProviderProcess` owns one provider subprocess: port handshake, gRPC stub, live capture of
  stderr/stdout, and an engine-faithful ``Configure``.
- :class:`Engine` is a mini deployment engine for *one resource at a time*: ``check``, ``up``,
  ``preview``, ``refresh`` and ``destroy`` with the step semantics of the real engine (Check before
  everything, Diff against old *outputs*, DIFF_UNKNOWN falls back to comparing inputs, replacement is
  create-before-delete unless delete-before-replace is asked for, preview never calls Create/Update),
  and ``read_existing`` for a resource the program reads (``X.get``).

The mini-engine deliberately lives only in tests: it is evidence, not product.
"""

from __future__ import annotations

import asyncio
import contextvars
import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from types import TracebackType
from typing import Any, Literal, TypeVar

import grpc
import pulumi
import pulumi.runtime
from google.protobuf import empty_pb2, struct_pb2
from pulumi.output import Unknown
from pulumi.runtime import rpc
from pulumi.runtime import settings as pulumi_settings
from pulumi.runtime.proto import provider_pb2, provider_pb2_grpc, resource_pb2
from pulumi.runtime.rpc_manager import RPCManager
from pulumi.runtime.stack import run_pulumi_func
from pulumi.runtime.sync_await import _sync_await

__all__ = [
    "REPO_ROOT",
    "CheckFailed",
    "CheckOutcome",
    "DiffOutcome",
    "Engine",
    "EngineError",
    "EngineFactory",
    "PreviewResult",
    "ProviderCall",
    "ProviderError",
    "ProviderProcess",
    "ProviderStartError",
    "ReadRegistration",
    "Registration",
    "ResourceState",
    "StepResult",
    "capture_read",
    "capture_registration",
    "capture_registrations",
    "from_wire",
    "make_urn",
    "resolve_outputs",
    "to_wire",
    "with_unknowns",
]

REPO_ROOT = Path(__file__).resolve().parents[2]
"""Put on the provider's ``PYTHONPATH`` so by-reference pickles of ``tests.*`` classes import."""

DEFAULT_PROJECT = "defender-air-tests"
DEFAULT_STACK = "dev"

StepName = Literal["create", "same", "update", "replace"]
_T = TypeVar("_T")


# --------------------------------------------------------------------------------------------------
# Wire helpers
# --------------------------------------------------------------------------------------------------


def _engine_plain(value: Any, keep_secrets: bool = False) -> Any:
    """Turn a Python value into what the engine puts on the wire for a provider that declined
    secrets: secrets unwrapped at any depth (``KeepSecrets: false``), ``Unknown`` as the sentinel
    string, tuples as lists. With ``keep_secrets`` (a provider that accepts secrets), secrets stay
    wrapped in the secret signature."""
    if isinstance(value, Unknown):
        return rpc.UNKNOWN
    if rpc.is_rpc_secret(value):
        inner = _engine_plain(rpc.unwrap_rpc_secret(value), keep_secrets)
        return {rpc._special_sig_key: rpc._special_secret_sig, "value": inner} if keep_secrets else inner
    if isinstance(value, Mapping):
        return {str(k): _engine_plain(v, keep_secrets) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_engine_plain(v, keep_secrets) for v in value]
    return value


def to_wire(props: Mapping[str, Any], keep_secrets: bool = False) -> struct_pb2.Struct:
    """Encode a property map like the engine does when it calls a dynamic provider (secrets
    unwrapped) or, with ``keep_secrets``, a provider that accepts secrets.

    Top-level ``None`` values are dropped (the engine marshals with ``SkipNulls``; the Python SDK
    never sends them either). Numbers become doubles, which is why ``1`` comes back as ``1.0``.
    """
    struct = struct_pb2.Struct()
    struct.update({k: _engine_plain(v, keep_secrets) for k, v in props.items() if v is not None})
    return struct


def from_wire(struct: struct_pb2.Struct) -> dict[str, Any]:
    """Decode a provider answer the way the engine keeps it: unknowns kept as ``Unknown``, secrets
    kept as the SDK's secret wrapper, numbers left as the doubles the wire carries."""
    result = rpc.deserialize_properties(struct, keep_unknowns=True)
    return dict(result)


def with_unknowns(inputs: Mapping[str, Any], keys: Iterable[str]) -> dict[str, Any]:
    """Copy ``inputs`` with ``keys`` replaced by the unknown sentinel, as a preview sends values
    that depend on resources not created yet. Keys missing from ``inputs`` are added."""
    out = dict(inputs)
    for key in keys:
        out[key] = rpc.UNKNOWN
    return out


def make_urn(type_token: str, name: str, project: str, stack: str) -> str:
    """The URN the engine gives a top-level resource (no parent)."""
    return f"urn:pulumi:{stack}::{project}::{type_token}::{name}"


def _urn_parts(urn: str) -> tuple[str, str]:
    """(type token, name) of a URN; the engine fills ``type``/``name`` fields from it."""
    parts = urn.split("::")
    if len(parts) < 4:
        return "", ""
    return parts[2].split("$")[-1], "::".join(parts[3:])


# --------------------------------------------------------------------------------------------------
# Layer 1: what the program sends (set_mocks)
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Registration:
    """One ``RegisterResource`` as the engine would pass it on to the dynamic provider.

    ``inputs`` are engine-plain (secrets unwrapped, ``__provider`` included as the base64 string,
    unknowns as ``rpc.UNKNOWN``); ``secret_keys`` says which top-level inputs were secret in the
    program, the information the engine keeps to re-mark same-named outputs secret.
    """

    type_token: str
    name: str
    inputs: dict[str, Any]
    secret_keys: frozenset[str] = frozenset()
    delete_before_replace: bool = False
    """The ``delete_before_replace`` resource option; the engine ORs it with Diff's answer."""
    additional_secret_outputs: tuple[str, ...] = ()
    request: resource_pb2.RegisterResourceRequest | None = field(default=None, repr=False, compare=False)
    """The raw request the SDK sent, for assertions on options the harness does not model."""
    mock_args: pulumi.runtime.MockResourceArgs | None = field(default=None, repr=False, compare=False)
    """What ``Mocks.new_resource`` received (inputs still secret-wrapped, unknowns dropped)."""

    @property
    def provider_payload(self) -> str:
        """The serialized provider (``__provider``), unwrapped."""
        return str(self.inputs["__provider"])

    def with_unknowns(self, keys: Iterable[str]) -> Registration:
        """This registration as a preview would send it, with ``keys`` unknown."""
        return replace(self, inputs=with_unknowns(self.inputs, keys))

    def with_inputs(self, **changes: Any) -> Registration:
        """This registration with some inputs changed (``None`` removes a key)."""
        inputs = {**self.inputs, **changes}
        return replace(self, inputs={k: v for k, v in inputs.items() if v is not None})


@dataclass(frozen=True)
class ReadRegistration:
    """One ``ReadResource`` (what ``X.get(name, id)`` sends), as the engine keeps it for the Read.

    ``properties`` are engine-plain like :attr:`Registration.inputs` (``__provider`` included); the
    engine passes them to the provider's Read as the resource's state, with no inputs.
    """

    type_token: str
    name: str
    id: str
    properties: dict[str, Any]
    request: resource_pb2.ReadResourceRequest | None = field(default=None, repr=False, compare=False)
    """The raw request the SDK sent."""

    @property
    def provider_payload(self) -> str:
        """The serialized provider (``__provider``), unwrapped."""
        return str(self.properties["__provider"])


MockOutputs = Callable[[pulumi.runtime.MockResourceArgs], Mapping[str, Any]]
"""Extra outputs the mocks answer for a registration (computed outputs such as another provider's ids)."""
MockCalls = Callable[[pulumi.runtime.MockCallArgs], Mapping[str, Any]]
"""The mocks' answer to an invoke (another provider's data sources); default: an empty result."""


class _RecordingMocks(pulumi.runtime.Mocks):
    """Records what ``new_resource`` receives and echoes inputs back as state, which is what a
    successful create of a dynamic resource that returns ``{**props}`` would do. With ``answer``,
    answers that state instead (as the engine answers a registration or a read with the outputs)."""

    def __init__(self, answer: Mapping[str, Any] | None = None, *, outputs: MockOutputs | None = None,
                 calls: MockCalls | None = None) -> None:
        self.args: list[pulumi.runtime.MockResourceArgs] = []
        self._answer = dict(answer) if answer is not None else None
        self._outputs = outputs
        self._calls = calls

    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str | None, dict[Any, Any]]:
        self.args.append(args)
        state = dict(args.inputs) if self._answer is None else dict(self._answer)
        if self._outputs is not None:
            state.update(self._outputs(args))
        return f"{args.name}-id", state

    def call(self, args: pulumi.runtime.MockCallArgs) -> tuple[dict[Any, Any], list[tuple[str, str]] | None]:
        # No failures is [], not None: the mock monitor iterates them (pulumi 3.272).
        return (dict(self._calls(args)) if self._calls is not None else {}), []


class _RecordingMonitor(pulumi.runtime.mocks.MockMonitor):
    """Keeps the raw ``RegisterResourceRequest``: ``MockResourceArgs`` loses unknowns (they are
    deserialized without ``keep_unknowns``) and all resource options. Keeps each
    ``ReadResourceRequest`` (``X.get``) too."""

    def __init__(self, mocks: _RecordingMocks) -> None:
        super().__init__(mocks)
        self.requests: list[resource_pb2.RegisterResourceRequest] = []
        self.reads: list[resource_pb2.ReadResourceRequest] = []
        self._lock = threading.Lock()

    def RegisterResource(self, request: Any) -> Any:
        if request.type != "pulumi:pulumi:Stack":
            with self._lock:
                self.requests.append(request)
        return super().RegisterResource(request)

    def ReadResource(self, request: Any) -> Any:
        with self._lock:
            self.reads.append(request)
        return super().ReadResource(request)


def _engine_value(value: struct_pb2.Value, secret: list[bool]) -> Any:
    """Convert one wire value as the engine forwards it to a provider that declined secrets and
    resources: secrets unwrapped (and noted), resource references downgraded to their id (custom
    resources) or URN, output values to their plain value or the unknown sentinel."""
    kind = value.WhichOneof("kind")
    if kind == "struct_value":
        fields = value.struct_value.fields
        if rpc._special_sig_key in fields:
            sig = fields[rpc._special_sig_key].string_value
            if sig == rpc._special_secret_sig:
                secret[0] = True
                return _engine_value(fields["value"], secret)
            if sig == rpc._special_resource_sig:
                if "id" in fields:
                    return _engine_value(fields["id"], secret)
                return fields["urn"].string_value
            if sig == rpc._special_output_value_sig:
                if "secret" in fields and fields["secret"].bool_value:
                    secret[0] = True
                if "value" not in fields:
                    return rpc.UNKNOWN
                return _engine_value(fields["value"], secret)
        return {k: _engine_value(v, secret) for k, v in fields.items()}
    if kind == "list_value":
        return [_engine_value(v, secret) for v in value.list_value.values]
    if kind == "number_value":
        return value.number_value
    if kind == "string_value":
        return value.string_value
    if kind == "bool_value":
        return value.bool_value
    return None


def _engine_properties(struct: struct_pb2.Struct) -> tuple[dict[str, Any], frozenset[str]]:
    """A property map as the engine forwards it (see :func:`_engine_value`), and its secret keys."""
    values: dict[str, Any] = {}
    secret_keys: set[str] = set()
    for key, value in struct.fields.items():
        flag = [False]
        values[key] = _engine_value(value, flag)
        if flag[0]:
            secret_keys.add(key)
    return values, frozenset(secret_keys)


def _to_registration(
    request: resource_pb2.RegisterResourceRequest, mock_args: pulumi.runtime.MockResourceArgs | None
) -> Registration:
    inputs, secret_keys = _engine_properties(request.object)
    return Registration(
        type_token=request.type,
        name=request.name,
        inputs=inputs,
        secret_keys=secret_keys,
        delete_before_replace=bool(request.deleteBeforeReplace),
        additional_secret_outputs=tuple(request.additionalSecretOutputs),
        request=request,
        mock_args=mock_args,
    )


_CAPTURE_LOCK = threading.Lock()


def _context_properties() -> list[Any]:
    from pulumi._utils import ContextProperty

    return [v for v in vars(pulumi_settings.Settings).values() if isinstance(v, ContextProperty)]


def _run_isolated(fn: Callable[[], _T]) -> _T:
    """Run ``fn`` so that nothing it does to the Pulumi runtime is visible afterwards.

    Pulumi keeps its settings in ContextVars, so the run happens in a *copy* of the caller's
    context, on a fresh thread with its own event loop (closed afterwards). That alone is not
    enough: ``ContextProperty.fset`` also overwrites the property's *process-wide default* when the
    current value is ``None`` (so executor threads, which start with an empty context, see the
    mocks). Those defaults are snapshotted and restored. A lock serialises captures because the
    defaults, and ``serialize_provider``'s patching of ``pickle.Pickler``, are process-global.
    """
    props = _context_properties()
    default_attr = "_ContextProperty__default"
    ctx = contextvars.copy_context()
    result: list[_T] = []
    error: list[BaseException] = []

    def target() -> None:
        loop = asyncio.new_event_loop()
        asyncio.set_event_loop(loop)
        try:
            result.append(ctx.run(fn))
        except BaseException as exc:  # re-raised in the calling thread
            error.append(exc)
        finally:
            try:
                loop.run_until_complete(loop.shutdown_default_executor())
            finally:
                asyncio.set_event_loop(None)
                loop.close()

    with _CAPTURE_LOCK:
        saved = [(p, getattr(p, default_attr)) for p in props if hasattr(p, default_attr)]
        try:
            worker = threading.Thread(target=target, name="pulumi-capture", daemon=True)
            worker.start()
            worker.join()
        finally:
            for prop, default in saved:
                setattr(prop, default_attr, default)
    if error:
        raise error[0]
    return result[0]


def _run_program(
    make_resources: Callable[[], object],
    *,
    project: str,
    stack: str,
    preview: bool,
    answer: Mapping[str, Any] | None = None,
    outputs_of: list[dict[str, Any]] | None = None,
    outputs: MockOutputs | None = None,
    calls: MockCalls | None = None,
) -> tuple[_RecordingMonitor, _RecordingMocks]:
    """Run a program fragment under recording mocks, isolated (see :func:`_run_isolated`).

    ``answer``: the state the mocks answer every registration and read with (default: the inputs).
    ``outputs_of``: when given and the fragment returns a resource, the resolved value of each of
    its ``Output`` attributes is appended to it, as the program would see it.
    """

    def run() -> tuple[_RecordingMonitor, _RecordingMocks]:
        mocks = _RecordingMocks(answer, outputs=outputs, calls=calls)
        monitor = _RecordingMonitor(mocks)
        # Fresh per-run state; inherited objects would be shared with the caller's context.
        pulumi_settings.SETTINGS.outputs = set()
        pulumi_settings.SETTINGS.rpc_manager = RPCManager()
        pulumi_settings.ROOT.set(None)
        pulumi.runtime.set_mocks(mocks, project=project, stack=stack, preview=preview, monitor=monitor)

        async def resolved(made: pulumi.Resource) -> None:
            names = [k for k, v in vars(made).items() if isinstance(v, pulumi.Output)]
            values = await asyncio.gather(*(getattr(made, k).future() for k in names))
            assert outputs_of is not None
            outputs_of.append(dict(zip(names, values, strict=True)))

        def program() -> Any:
            made = make_resources()
            if isinstance(made, pulumi.Resource):
                return resolved(made) if outputs_of is not None else made.urn.future()
            return None

        _sync_await(run_pulumi_func(program))
        return monitor, mocks

    try:
        return _run_isolated(run)
    except RuntimeError as exc:
        if "attached to a different loop" not in str(exc):
            raise
        raise EngineError(
            "an Output was created outside make_resources; build Outputs (Output.secret, ...) "
            "inside the callback, they belong to the capture's own event loop"
        ) from exc


def capture_registrations(
    make_resources: Callable[[], object],
    *,
    project: str = DEFAULT_PROJECT,
    stack: str = DEFAULT_STACK,
    preview: bool = False,
    unknown_keys: Iterable[str] = (),
    outputs: MockOutputs | None = None,
    calls: MockCalls | None = None,
) -> list[Registration]:
    """Run a program fragment under mocks and return every custom resource it registered, in
    registration order. ``unknown_keys`` are made unknown in each registration (a preview whose
    inputs depend on resources that do not exist yet). Errors from the constructors (for example
    an unpicklable provider) propagate. ``outputs`` and ``calls`` answer for other providers'
    resources and data sources (an example program that also uses pulumi-azuread).

    Create every ``Output`` inside ``make_resources``: the capture runs on its own thread and event
    loop (that is what keeps it isolated), and an Output made outside belongs to another loop.
    """
    unknown = tuple(unknown_keys)
    monitor, mocks = _run_program(make_resources, project=project, stack=stack, preview=preview,
                                  outputs=outputs, calls=calls)
    by_name = {a.name: a for a in mocks.args}
    regs = [_to_registration(r, by_name.get(r.name)) for r in monitor.requests if r.custom]
    return [r.with_unknowns(unknown) if unknown else r for r in regs]


def capture_read(
    make_resource: Callable[[], pulumi.Resource],
    *,
    project: str = DEFAULT_PROJECT,
    stack: str = DEFAULT_STACK,
) -> ReadRegistration:
    """Run ``make_resource`` (a ``X.get(name, id)``) under mocks and return the single
    ``ReadResource`` it sent: type token, name, id and the properties (``__provider`` included)
    that the engine passes to the provider's Read. Registering anything is an error here."""
    monitor, _ = _run_program(make_resource, project=project, stack=stack, preview=False)
    registered = [r.name for r in monitor.requests]
    if len(monitor.reads) != 1 or registered:
        raise EngineError(f"expected exactly one ReadResource and no registration, got reads "
                          f"{[r.name for r in monitor.reads]} and registrations {registered}")
    request = monitor.reads[0]
    properties, _secret = _engine_properties(request.properties)
    return ReadRegistration(request.type, request.name, request.id, properties, request)


def resolve_outputs(
    make_resource: Callable[[], pulumi.Resource],
    state: Mapping[str, Any],
    *,
    project: str = DEFAULT_PROJECT,
    stack: str = DEFAULT_STACK,
) -> dict[str, Any]:
    """What the program sees: run ``make_resource`` (a constructor or a ``X.get``) under mocks
    whose engine answers ``state`` as the resource's outputs (numbers as the doubles the wire
    carries), and return the resolved value of every ``Output`` attribute of the resource (its
    declared outputs, ``urn`` and ``id``), after the SDK's typing."""
    outputs: list[dict[str, Any]] = []
    _run_program(make_resource, project=project, stack=stack, preview=False, answer=state,
                  outputs_of=outputs)
    if len(outputs) != 1:
        raise EngineError("make_resource must return the resource it made")
    return outputs[0]


def capture_registration(
    make_resource: Callable[[], pulumi.Resource],
    *,
    project: str = DEFAULT_PROJECT,
    stack: str = DEFAULT_STACK,
    preview: bool = False,
    unknown_keys: Iterable[str] = (),
) -> Registration:
    """Run ``make_resource`` (the real constructor) under mocks and return the single custom
    resource registration the engine would receive. Safe to call any number of times per session;
    leaves the caller's Pulumi runtime settings untouched."""
    regs = capture_registrations(
        make_resource, project=project, stack=stack, preview=preview, unknown_keys=unknown_keys
    )
    if len(regs) != 1:
        raise EngineError(f"expected exactly one custom resource, got {[r.name for r in regs]}")
    return regs[0]


# --------------------------------------------------------------------------------------------------
# Layer 2: the provider process
# --------------------------------------------------------------------------------------------------


class EngineError(Exception):
    """The mini-engine refused to continue, as the real engine would (for example an empty id)."""


class ProviderStartError(EngineError):
    """The provider process did not print its port. The message carries its stderr."""


class ProviderError(EngineError):
    """A provider RPC failed. ``message`` is the Python exception line(s) the provider raised (the
    dynamic server puts the whole traceback in the gRPC details); ``details`` keeps all of it."""

    def __init__(self, method: str, code: grpc.StatusCode, details: str) -> None:
        self.method = method
        self.code = code
        self.details = details
        self.message = _exception_lines(details)
        super().__init__(f"{method} failed with {code.name}: {self.message}")


def _exception_lines(details: str) -> str:
    """The final ``Type: message`` block of a formatted traceback (or all of ``details``).

    Traceback frames and source lines are indented; the exception message starts at column 0 and
    may span several lines, so collect unindented lines from the end up to the first indented one.
    """
    lines = details.rstrip().splitlines()
    if not lines or not any(line.startswith("Traceback (most recent call last)") for line in lines):
        return details.strip()
    tail: list[str] = []
    for line in reversed(lines):
        if line.startswith((" ", "\t")) or line.startswith("Traceback (most recent call last)"):
            break
        tail.append(line)
    return "\n".join(reversed(tail)).strip() or lines[-1].strip()


@dataclass(frozen=True)
class ProviderCall:
    """One RPC the mini-engine made (for asserting which steps ran)."""

    method: str
    urn: str


class _StreamPump(threading.Thread):
    """Reads a pipe continuously so the provider never blocks on a full pipe, keeping the text."""

    def __init__(self, stream: Any, name: str, first_line: bool = False) -> None:
        super().__init__(name=name, daemon=True)
        self._stream = stream
        self._chunks: list[str] = []
        self._lock = threading.Lock()
        self._changed = threading.Condition(self._lock)
        self._want_first_line = first_line
        self.first_line: str | None = None
        self.first_line_ready = threading.Event()
        self.closed = threading.Event()

    def run(self) -> None:
        try:
            if self._want_first_line:
                line = self._stream.readline()
                self.first_line = line.decode(errors="replace") if line else None
                self.first_line_ready.set()
            for raw in iter(self._stream.readline, b""):
                with self._changed:
                    self._chunks.append(raw.decode(errors="replace"))
                    self._changed.notify_all()
        finally:
            self.first_line_ready.set()
            self.closed.set()
            with self._changed:
                self._changed.notify_all()

    def text(self) -> str:
        with self._lock:
            return "".join(self._chunks)

    def wait_for(self, needle: str, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        with self._changed:
            while needle not in "".join(self._chunks):
                remaining = deadline - time.monotonic()
                if remaining <= 0 or self.closed.is_set():
                    return needle in "".join(self._chunks)
                self._changed.wait(remaining)
            return True


class ProviderProcess:
    """``python -u -m pulumi.dynamic`` in a subprocess, started the way the engine starts it.

    The engine runs the ``pulumi-resource-pulumi-python`` shim with cwd = the program directory and
    ``PULUMI_PROJECT`` in the environment; the trailing engine-address argument is ignored by the
    server. ``PYTHONPATH`` gets the repository root so by-reference pickles of ``tests.*`` classes
    import (real providers come from the installed package).
    """

    def __init__(
        self,
        *,
        project: str = DEFAULT_PROJECT,
        env: Mapping[str, str] | None = None,
        cwd: str | os.PathLike[str] | None = None,
        python: str = sys.executable,
        command: Sequence[str] | None = None,
        start_timeout: float = 30.0,
        rpc_timeout: float = 60.0,  # enough for unthrottled test steps; see tests/harness/deadline.py
        base_env: Mapping[str, str] | None = None,
    ) -> None:
        """``base_env``: the environment to start from instead of this process's, and no repository root on
        ``PYTHONPATH`` (a plugin that must import only from its own installation); ``env`` is added to it."""
        self.project = project
        self.rpc_timeout = rpc_timeout
        self._command = list(command) if command is not None else [
            python, "-u", "-m", "pulumi.dynamic", "127.0.0.1:0",
        ]
        self._cwd = os.fspath(cwd) if cwd is not None else os.fspath(REPO_ROOT)
        self._env = self._build_env(env) if base_env is None else {**base_env, "PULUMI_PROJECT": project, **(env or {})}
        self._start_timeout = start_timeout
        self._proc: subprocess.Popen[bytes] | None = None
        self._stdout: _StreamPump | None = None
        self._stderr: _StreamPump | None = None
        self._channel: grpc.Channel | None = None
        self._stub: provider_pb2_grpc.ResourceProviderStub | None = None
        self.port: int | None = None

    def _build_env(self, extra: Mapping[str, str] | None) -> dict[str, str]:
        env = dict(os.environ)
        env["PULUMI_PROJECT"] = self.project
        paths = [os.fspath(REPO_ROOT)]
        if env.get("PYTHONPATH"):
            paths.append(env["PYTHONPATH"])
        env["PYTHONPATH"] = os.pathsep.join(paths)
        env.update(extra or {})
        return env

    # -- lifecycle -----------------------------------------------------------------------------

    def start(self) -> ProviderProcess:
        """Spawn, read the port (bounded by ``start_timeout``) and connect."""
        if self._proc is not None:
            raise EngineError("provider process already started")
        self._proc = subprocess.Popen(
            self._command,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            cwd=self._cwd,
            env=self._env,
        )
        self._stdout = _StreamPump(self._proc.stdout, "provider-stdout", first_line=True)
        self._stderr = _StreamPump(self._proc.stderr, "provider-stderr")
        self._stdout.start()
        self._stderr.start()
        try:
            self._connect()
        except BaseException:
            self.stop()
            raise
        return self

    def _connect(self) -> None:
        assert self._proc is not None and self._stdout is not None and self._stderr is not None
        ready = self._stdout.first_line_ready.wait(self._start_timeout)
        line = (self._stdout.first_line or "").strip()
        if not ready or not line:
            if not ready:
                problem = f"printed no port within {self._start_timeout:.0f}s"
            else:
                try:
                    code = self._proc.wait(timeout=5)
                except subprocess.TimeoutExpired:
                    code = None
                problem = f"exited with code {code} before printing its port"
            self._stderr.closed.wait(1.0 if ready else 0.1)
            raise ProviderStartError(
                f"provider {' '.join(self._command)!r} {problem}; stderr:\n{self._stderr.text()}"
            )
        try:
            self.port = int(line)
        except ValueError:
            raise ProviderStartError(
                f"provider printed {line!r} instead of a port; stderr:\n{self._stderr.text()}"
            ) from None
        self._channel = grpc.insecure_channel(f"127.0.0.1:{self.port}")
        grpc.channel_ready_future(self._channel).result(timeout=self._start_timeout)
        self._stub = provider_pb2_grpc.ResourceProviderStub(self._channel)

    def stop(self) -> int | None:
        """Close the channel and end the process (terminate, then kill). Returns the exit code."""
        if self._channel is not None:
            self._channel.close()
            self._channel = None
        self._stub = None
        code: int | None = None
        if self._proc is not None:
            if self._proc.poll() is None:
                self._proc.terminate()
                try:
                    self._proc.wait(timeout=5)
                except subprocess.TimeoutExpired:
                    self._proc.kill()
                    self._proc.wait(timeout=5)
            code = self._proc.returncode
        for pump in (self._stdout, self._stderr):
            if pump is not None:
                pump.join(timeout=2)
        return code

    def __enter__(self) -> ProviderProcess:
        return self.start() if self._proc is None else self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    # -- accessors -----------------------------------------------------------------------------

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc is not None else None

    @property
    def returncode(self) -> int | None:
        return self._proc.poll() if self._proc is not None else None

    @property
    def stub(self) -> provider_pb2_grpc.ResourceProviderStub:
        if self._stub is None:
            raise EngineError("provider process is not running")
        return self._stub

    def stderr_text(self) -> str:
        """Everything the provider wrote to stderr so far (its log)."""
        return self._stderr.text() if self._stderr is not None else ""

    def stdout_text(self) -> str:
        """Everything after the port line (the engine passes it through as log lines)."""
        return self._stdout.text() if self._stdout is not None else ""

    def wait_for_stderr(self, needle: str, timeout: float = 5.0) -> bool:
        """Wait until ``needle`` appears in stderr; the pump thread may lag the RPC answer."""
        return self._stderr.wait_for(needle, timeout) if self._stderr is not None else False

    # -- RPCs the engine makes before any resource step -----------------------------------------

    def call(self, method: str, request: Any) -> Any:
        """Invoke ``method`` on the stub, turning gRPC failures into :class:`ProviderError`."""
        try:
            return getattr(self.stub, method)(request, timeout=self.rpc_timeout)
        except grpc.RpcError as exc:
            raise ProviderError(method, exc.code(), exc.details() or "") from None

    def get_plugin_info(self) -> str:
        return str(self.call("GetPluginInfo", empty_pb2.Empty()).version)

    def configure(
        self, config: Mapping[str, str], secret_keys: Iterable[str] = ()
    ) -> provider_pb2.ConfigureResponse:
        """Send ``Configure`` as the engine does for ``pulumi-python``: the whole stack config with
        namespaced keys (a key without ``:`` gets ``<project>:``), string values, secrets wrapped
        with the secret signature in ``args`` (plain in the legacy ``variables`` map), and the
        engine's capability flags."""
        secret = {self._qualify(k) for k in secret_keys}
        qualified = {self._qualify(k): str(v) for k, v in config.items()}
        unknown_secrets = secret - set(qualified)
        if unknown_secrets:
            raise EngineError(f"secret config keys not in config: {sorted(unknown_secrets)}")
        args = struct_pb2.Struct()
        args.update(
            {
                k: ({rpc._special_sig_key: rpc._special_secret_sig, "value": v} if k in secret else v)
                for k, v in qualified.items()
            }
        )
        request = provider_pb2.ConfigureRequest(
            variables=qualified,
            args=args,
            acceptSecrets=True,
            acceptResources=True,
            sends_old_inputs=True,
            sends_old_inputs_to_delete=True,
        )
        return self.call("Configure", request)

    def _qualify(self, key: str) -> str:
        return key if ":" in key else f"{self.project}:{key}"


# --------------------------------------------------------------------------------------------------
# Layer 3: the mini-engine
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ResourceState:
    """What the engine stores for a resource: the checked inputs and the provider's outputs."""

    urn: str
    id: str
    inputs: dict[str, Any]
    outputs: dict[str, Any]


@dataclass(frozen=True)
class CheckOutcome:
    inputs: dict[str, Any]
    failures: list[tuple[str, str]]


@dataclass(frozen=True)
class DiffOutcome:
    """Diff's answer. ``changes`` is ``"none"``, ``"some"`` or ``"unknown"`` (DIFF_UNKNOWN, the
    default ``diff``); the dynamic server never forwards ``stables`` or detailed diffs."""

    changes: Literal["none", "some", "unknown"]
    replaces: tuple[str, ...] = ()
    delete_before_replace: bool = False


@dataclass(frozen=True)
class StepResult:
    """Outcome of :meth:`Engine.up`. ``previous`` is the state before the step (the deleted
    object for a replace)."""

    step: StepName
    state: ResourceState
    previous: ResourceState | None = None
    diff: DiffOutcome | None = None


@dataclass(frozen=True)
class PreviewResult:
    """Outcome of :meth:`Engine.preview`: the planned step and the checked inputs (which the
    engine uses as the planned state, as the provider does not support preview)."""

    step: StepName
    inputs: dict[str, Any]
    diff: DiffOutcome | None = None


class CheckFailed(EngineError):
    """Check returned failures; the engine stops the resource here (``up`` and ``preview``)."""

    def __init__(self, urn: str, failures: list[tuple[str, str]]) -> None:
        self.urn = urn
        self.failures = failures
        listed = "; ".join(f"{prop}: {reason}" for prop, reason in failures)
        super().__init__(f"{urn}: check failed: {listed}")


_DIFF_CHANGES: dict[int, Literal["none", "some", "unknown"]] = {
    provider_pb2.DiffResponse.DIFF_NONE: "none",
    provider_pb2.DiffResponse.DIFF_SOME: "some",
    provider_pb2.DiffResponse.DIFF_UNKNOWN: "unknown",
}


class Engine:
    """A per-resource deployment engine in miniature, on one :class:`ProviderProcess`.

    Thread-safe: the only mutable state is the call log (locked) and gRPC stubs are thread-safe,
    so concurrent steps behave like the real engine's parallel steps (the dynamic server runs 4
    worker threads and shares one provider instance between them).
    """

    def __init__(
        self, process: ProviderProcess, *, project: str | None = None, stack: str = DEFAULT_STACK
    ) -> None:
        self.process = process
        self.project = project if project is not None else process.project
        self.stack = stack
        self._calls: list[ProviderCall] = []
        self._calls_lock = threading.Lock()

    def _to_wire(self, props: Mapping[str, Any]) -> struct_pb2.Struct:
        """How this engine encodes properties for its provider: secrets unwrapped, as for the dynamic provider
        (which declines secrets); ``NativeEngine`` keeps them."""
        return to_wire(props)

    @classmethod
    def start(
        cls,
        *,
        project: str = DEFAULT_PROJECT,
        stack: str = DEFAULT_STACK,
        config: Mapping[str, str] | None = None,
        secret_config: Iterable[str] = (),
        env: Mapping[str, str] | None = None,
        cwd: str | os.PathLike[str] | None = None,
        rpc_timeout: float | None = None,
    ) -> Engine:
        """Start a provider and do what the engine does before the first step: GetPluginInfo,
        then Configure (always sent, even with empty config). ``rpc_timeout``: the per-call deadline
        (default: ``ProviderProcess``'s; steps under injected throttling need ``deadline.step_deadline()``)."""
        process = ProviderProcess(project=project, env=env, cwd=cwd).start()
        if rpc_timeout is not None:
            process.rpc_timeout = rpc_timeout
        try:
            process.get_plugin_info()
            process.configure(config or {}, secret_config)
        except BaseException:
            process.stop()
            raise
        return cls(process, project=project, stack=stack)

    def close(self) -> None:
        self.process.stop()

    def __enter__(self) -> Engine:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    # -- bookkeeping ---------------------------------------------------------------------------

    def urn_for(
        self, type_token: str, name: str, project: str | None = None, stack: str | None = None
    ) -> str:
        return make_urn(type_token, name, project or self.project, stack or self.stack)

    def calls(self, urn: str | None = None) -> list[ProviderCall]:
        """RPCs made so far (optionally only for ``urn``), in the order they were issued."""
        with self._calls_lock:
            return [c for c in self._calls if urn is None or c.urn == urn]

    def stderr_text(self) -> str:
        return self.process.stderr_text()

    def _rpc(self, method: str, urn: str, request: Any) -> Any:
        with self._calls_lock:
            self._calls.append(ProviderCall(method, urn))
        return self.process.call(method, request)

    # -- single RPCs -----------------------------------------------------------------------------

    def check(self, reg: Registration, olds_inputs: Mapping[str, Any] | None = None) -> CheckOutcome:
        """CheckRequest(olds = old inputs, news = registration inputs incl. ``__provider``)."""
        urn = self.urn_for(reg.type_token, reg.name)
        response = self._rpc(
            "Check",
            urn,
            provider_pb2.CheckRequest(
                urn=urn,
                name=reg.name,
                type=reg.type_token,
                olds=self._to_wire(olds_inputs or {}),
                news=self._to_wire(reg.inputs),
            ),
        )
        return CheckOutcome(
            inputs=from_wire(response.inputs),
            failures=[(f.property, f.reason) for f in response.failures],
        )

    def diff(self, state: ResourceState, news: Mapping[str, Any]) -> DiffOutcome:
        """DiffRequest(olds = old *outputs*, news = checked inputs, old_inputs = old inputs)."""
        type_token, name = _urn_parts(state.urn)
        response = self._rpc(
            "Diff",
            state.urn,
            provider_pb2.DiffRequest(
                id=state.id,
                urn=state.urn,
                name=name,
                type=type_token,
                olds=self._to_wire(state.outputs),
                news=self._to_wire(news),
                old_inputs=self._to_wire(state.inputs),
            ),
        )
        return DiffOutcome(
            changes=_DIFF_CHANGES[response.changes],
            replaces=tuple(response.replaces),
            delete_before_replace=bool(response.deleteBeforeReplace),
        )

    def create(self, urn: str, inputs: Mapping[str, Any]) -> ResourceState:
        type_token, name = _urn_parts(urn)
        response = self._rpc(
            "Create",
            urn,
            provider_pb2.CreateRequest(urn=urn, name=name, type=type_token, properties=self._to_wire(inputs)),
        )
        if not response.id:
            raise EngineError(f"{urn}: provider returned an empty id from Create")
        return ResourceState(urn, response.id, dict(inputs), from_wire(response.properties))

    def update(self, state: ResourceState, news: Mapping[str, Any]) -> ResourceState:
        type_token, name = _urn_parts(state.urn)
        response = self._rpc(
            "Update",
            state.urn,
            provider_pb2.UpdateRequest(
                id=state.id,
                urn=state.urn,
                name=name,
                type=type_token,
                olds=self._to_wire(state.outputs),
                news=self._to_wire(news),
                old_inputs=self._to_wire(state.inputs),
            ),
        )
        return ResourceState(state.urn, state.id, dict(news), from_wire(response.properties))

    # -- what the CLI commands do per resource -----------------------------------------------------

    def up(self, reg: Registration, state: ResourceState | None = None) -> StepResult:
        """One resource of ``pulumi up``: Check, then Create, or Diff and Same/Update/Replace."""
        urn = self.urn_for(reg.type_token, reg.name)
        checked = self.check(reg, state.inputs if state is not None else None)
        if checked.failures:
            raise CheckFailed(urn, checked.failures)
        if state is None:
            return StepResult("create", self.create(urn, checked.inputs))
        diff = self.diff(state, checked.inputs)
        step = self._plan(diff, state.inputs, checked.inputs)
        if step == "same":
            # A SameStep records the new inputs and keeps the old outputs; no provider call.
            return StepResult("same", replace(state, inputs=checked.inputs), state, diff)
        if step == "update":
            return StepResult("update", self.update(state, checked.inputs), state, diff)
        if diff.delete_before_replace or reg.delete_before_replace:
            self.destroy(state)
            new_state = self.create(urn, checked.inputs)
        else:
            new_state = self.create(urn, checked.inputs)
            self.destroy(state)
        return StepResult("replace", new_state, state, diff)

    def preview(self, reg: Registration, state: ResourceState | None = None) -> PreviewResult:
        """One resource of ``pulumi preview``: Check and Diff only. The dynamic server does not
        advertise ``supportsPreview``, so the engine never sends Create/Update in a preview."""
        urn = self.urn_for(reg.type_token, reg.name)
        checked = self.check(reg, state.inputs if state is not None else None)
        if checked.failures:
            raise CheckFailed(urn, checked.failures)
        if state is None:
            return PreviewResult("create", checked.inputs)
        diff = self.diff(state, checked.inputs)
        return PreviewResult(self._plan(diff, state.inputs, checked.inputs), checked.inputs, diff)

    def refresh(self, state: ResourceState) -> ResourceState | None:
        """One resource of ``pulumi refresh``: Read with old outputs and inputs. An empty id means
        the object is gone (the engine drops it); returned inputs replace the stored ones."""
        type_token, name = _urn_parts(state.urn)
        response = self._rpc(
            "Read",
            state.urn,
            provider_pb2.ReadRequest(
                id=state.id,
                urn=state.urn,
                name=name,
                type=type_token,
                properties=self._to_wire(state.outputs),
                inputs=self._to_wire(state.inputs),
            ),
        )
        if not response.id:
            return None
        inputs = from_wire(response.inputs) if response.HasField("inputs") else dict(state.inputs)
        return ResourceState(state.urn, response.id, inputs, from_wire(response.properties))

    def read_existing(self, read: ReadRegistration) -> ResourceState:
        """One resource the program reads (``X.get``, a ``ReadResource``): the engine's ReadStep.
        It calls Read with the requested id, the read's properties as the state (``__provider``
        is how the dynamic server finds the provider) and no inputs. An empty id means the object
        does not exist, which fails the deployment ("resource '<id>' does not exist"): a read
        resource is never silently absent. The engine records the read's properties as inputs."""
        urn = self.urn_for(read.type_token, read.name)
        response = self._rpc(
            "Read",
            urn,
            provider_pb2.ReadRequest(
                id=read.id,
                urn=urn,
                name=read.name,
                type=read.type_token,
                properties=self._to_wire(read.properties),
            ),
        )
        if not response.id:
            raise EngineError(f"{urn}: resource '{read.id}' does not exist")
        return ResourceState(urn, response.id, dict(read.properties), from_wire(response.properties))

    def destroy(self, state: ResourceState) -> None:
        """One resource of ``pulumi destroy`` (and the delete half of a replace)."""
        type_token, name = _urn_parts(state.urn)
        self._rpc(
            "Delete",
            state.urn,
            provider_pb2.DeleteRequest(
                id=state.id,
                urn=state.urn,
                name=name,
                type=type_token,
                properties=self._to_wire(state.outputs),
                old_inputs=self._to_wire(state.inputs),
            ),
        )

    @staticmethod
    def _plan(diff: DiffOutcome, old_inputs: Mapping[str, Any], new_inputs: Mapping[str, Any]) -> StepName:
        """Map a Diff answer to a step. For DIFF_UNKNOWN the engine compares old and new inputs
        itself, ``__provider`` included (so a changed provider payload alone means an update), and
        never plans a replacement."""
        if diff.changes == "none":
            return "same"
        if diff.changes == "some":
            return "replace" if diff.replaces else "update"
        return "same" if _engine_plain(dict(old_inputs)) == _engine_plain(dict(new_inputs)) else "update"


class EngineFactory:
    """Starts one :class:`Engine` (provider process) per call and stops them all on ``close``.
    The pytest fixtures in ``tests/conftest.py`` are thin wrappers around it."""

    engine_class: type[Engine] = Engine  # ``tests/harness/native.py`` starts the native plugin instead

    def __init__(self) -> None:
        self._engines: list[Engine] = []
        self._lock = threading.Lock()

    def __call__(
        self,
        project: str = DEFAULT_PROJECT,
        config: Mapping[str, str] | None = None,
        secret_config: Iterable[str] = (),
        env: Mapping[str, str] | None = None,
        *,
        stack: str = DEFAULT_STACK,
        cwd: str | os.PathLike[str] | None = None,
        rpc_timeout: float | None = None,
    ) -> Engine:
        engine = self.engine_class.start(
            project=project, stack=stack, config=config, secret_config=secret_config, env=env, cwd=cwd,
            rpc_timeout=rpc_timeout,
        )
        with self._lock:
            self._engines.append(engine)
        return engine

    def close(self) -> None:
        with self._lock:
            engines, self._engines = self._engines, []
        for engine in engines:
            engine.close()
