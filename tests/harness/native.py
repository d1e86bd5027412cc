"""The engine harness for the native provider plugin (``pulumi-resource-defender-air``), as the engine drives a
resource provider plugin rather than the dynamic-provider server.

What differs from the dynamic flavour (``engine.py``), each as the engine does it for a plugin
(docs/native-provider.md; docs/wire/pulumi-engine.md §9.3, §9.4):

* the process is the plugin's console script (or ``python -m defender_air_provider.native``), started with the
  engine's address;
* before the first step the engine checks and configures the *provider resource*: ``CheckConfig`` with the
  provider's inputs (the stack's ``defender-air:`` keys without the namespace, secrets wrapped), then
  ``Configure`` with the checked inputs as ``args`` (and the legacy ``variables`` map,
  ``defender-air:config:<key>``);
* resources have their package type token (``defender-air:index:DeviceGroup``) and no ``__provider`` input;
* the plugin accepts secrets, so secret values travel wrapped in both directions.

A registration captured from the dynamic SDK (``capture_registration``) is translated with :func:`as_native`, so
the same lifecycle test drives both servers and the tenant must end the same.
"""

from __future__ import annotations

import os
import shutil
import sys
from collections.abc import Iterable, Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

from google.protobuf import struct_pb2
from pulumi.runtime import rpc
from pulumi.runtime.proto import provider_pb2

from defender_air_provider.core.settings import NAMESPACE
from tests.harness.engine import (
    DEFAULT_PROJECT,
    DEFAULT_STACK,
    CheckFailed,
    CheckOutcome,
    Engine,
    EngineError,
    EngineFactory,
    PreviewResult,
    ProviderProcess,
    ReadRegistration,
    Registration,
    ResourceState,
    StepResult,
    from_wire,
    make_urn,
    to_wire,
)

PROVIDER_TYPE = f"pulumi:providers:{NAMESPACE}"


def plugin_command() -> list[str]:
    """The plugin as the engine runs it: the console script installed beside this Python, else the module."""
    script = shutil.which("pulumi-resource-defender-air", path=str(Path(sys.executable).parent))
    return [script] if script else [sys.executable, "-m", "defender_air_provider.native"]


def native_token(type_token: str) -> str:
    """``pulumi-python:dynamic/air:DeviceGroup`` -> ``defender-air:index:DeviceGroup``."""
    return type_token if type_token.startswith(f"{NAMESPACE}:") else f"{NAMESPACE}:index:{type_token.rsplit(':')[-1]}"


def as_native(reg: Registration) -> Registration:
    """A dynamic registration as a program in any language registers the native resource: the package token, the
    same inputs without ``__provider``, secret inputs wrapped (the plugin accepts secrets)."""
    inputs = {k: (rpc.wrap_rpc_secret(v) if k in reg.secret_keys else v)
              for k, v in reg.inputs.items() if k != "__provider"}
    return replace(reg, type_token=native_token(reg.type_token), inputs=inputs)


def as_native_read(read: ReadRegistration) -> ReadRegistration:
    return replace(read, type_token=native_token(read.type_token),
                   properties={k: v for k, v in read.properties.items() if k != "__provider"})


def provider_inputs(config: Mapping[str, str]) -> dict[str, str]:
    """The default provider's inputs: the stack configuration in the package's namespace, without it."""
    prefix = f"{NAMESPACE}:"
    return {key[len(prefix):]: value for key, value in config.items() if key.startswith(prefix)}


class NativeEngine(Engine):
    """The mini-engine on the native plugin (see the module docstring)."""

    provider_urn: str = ""
    config_failures: list[tuple[str, str]] = []  # noqa: RUF012 - replaced per instance, never mutated
    """CheckConfig's failures: the engine then configures nothing and fails every resource of this provider with
    them ("pulumi:providers:defender-air resource 'default' has a problem: ..."), before any call for the resource."""

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
        command: list[str] | None = None,
        provider_name: str = "default",
        base_env: Mapping[str, str] | None = None,
    ) -> NativeEngine:
        """Start the plugin and do what the engine does for a provider resource: GetPluginInfo, CheckConfig (failures
        end the deployment), Configure with the checked inputs. ``base_env`` as for ``ProviderProcess``."""
        process = ProviderProcess(project=project, env=env, cwd=cwd, base_env=base_env,
                                  command=[*(command or plugin_command()), "127.0.0.1:0"]).start()
        if rpc_timeout is not None:
            process.rpc_timeout = rpc_timeout
        engine = cls(process, project=project, stack=stack)
        engine.provider_urn = make_urn(PROVIDER_TYPE, provider_name, project, stack)
        secrets = {key.rpartition(":")[2] for key in secret_config}
        inputs = {k: (rpc.wrap_rpc_secret(v) if k in secrets else v) for k, v in provider_inputs(config or {}).items()}
        try:
            process.get_plugin_info()
            checked = engine.check_config(inputs)
            if checked.failures:
                engine.config_failures = checked.failures
            else:
                engine.configure(checked.inputs)
        except BaseException:
            process.stop()
            raise
        return engine

    def _to_wire(self, props: Mapping[str, Any]) -> struct_pb2.Struct:
        return to_wire(props, keep_secrets=True)

    # -- the provider resource -------------------------------------------------------------------------------------
    def check_config(self, news: Mapping[str, Any], olds: Mapping[str, Any] | None = None) -> CheckOutcome:
        response = self._rpc("CheckConfig", self.provider_urn, provider_pb2.CheckRequest(
            urn=self.provider_urn, name=self.provider_urn.rsplit("::", 1)[-1], type=PROVIDER_TYPE,
            olds=self._to_wire(olds or {}), news=self._to_wire(news)))
        return CheckOutcome(from_wire(response.inputs), [(f.property, f.reason) for f in response.failures])

    def diff_config(self, olds: Mapping[str, Any], news: Mapping[str, Any]) -> provider_pb2.DiffResponse:
        return self._rpc("DiffConfig", self.provider_urn, provider_pb2.DiffRequest(
            urn=self.provider_urn, olds=self._to_wire(olds), news=self._to_wire(news),
            old_inputs=self._to_wire(olds)))

    def configure(self, inputs: Mapping[str, Any]) -> provider_pb2.ConfigureResponse:
        args = self._to_wire(inputs)
        variables = {f"{NAMESPACE}:config:{k}": str(rpc.unwrap_rpc_secret(v) if rpc.is_rpc_secret(v) else v)
                     for k, v in inputs.items()}
        return self._rpc("Configure", self.provider_urn, provider_pb2.ConfigureRequest(
            variables=variables, args=args, acceptSecrets=True, acceptResources=True,
            sends_old_inputs=True, sends_old_inputs_to_delete=True))

    # -- resources: registrations from the dynamic SDK, translated ---------------------------------------------------
    def _provider_ready(self) -> None:
        if self.config_failures:
            raise CheckFailed(self.provider_urn, self.config_failures)

    def check(self, reg: Registration, olds_inputs: Mapping[str, Any] | None = None) -> CheckOutcome:
        self._provider_ready()
        return super().check(as_native(reg), olds_inputs)

    def refresh(self, state: ResourceState) -> ResourceState | None:
        self._provider_ready()
        return super().refresh(state)

    def destroy(self, state: ResourceState) -> None:
        self._provider_ready()
        super().destroy(state)

    def up(self, reg: Registration, state: ResourceState | None = None) -> StepResult:
        return super().up(as_native(reg), state)

    def preview(self, reg: Registration, state: ResourceState | None = None) -> PreviewResult:
        return super().preview(as_native(reg), state)

    def read_existing(self, read: ReadRegistration) -> ResourceState:
        self._provider_ready()
        return super().read_existing(as_native_read(read))

    def import_(self, type_token: str, name: str, resource_id: str) -> ResourceState:
        """``pulumi import <type> <name> <id>``: Read with the id alone (no state, no inputs); the answer's inputs and
        properties become the state (pkg/resource/deploy/step.go ImportStep)."""
        self._provider_ready()
        urn = self.urn_for(native_token(type_token), name)
        response = self._rpc("Read", urn, provider_pb2.ReadRequest(
            id=resource_id, urn=urn, name=name, type=native_token(type_token)))
        if not response.HasField("inputs") or not response.id:
            raise EngineError(f"{urn}: the provider does not support importing this resource")
        return ResourceState(urn, response.id, from_wire(response.inputs), from_wire(response.properties))


class NativeEngineFactory(EngineFactory):
    engine_class = NativeEngine
