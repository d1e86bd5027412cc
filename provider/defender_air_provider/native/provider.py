"""The resources as a native Pulumi provider: the engine's calls, translated to the same handlers the dynamic
resources use (``registry.RESOURCES``), with nothing of theirs duplicated.

Built on ``pulumi.provider.experimental`` (Pulumi >= 3.171). What this adapter adds, each for a pitfall of that API
(docs/wire/pulumi-engine.md §9):

* every handler call runs on a 4-thread pool, never on the server's event loop: the handlers block on HTTP, and the
  Graph client runs its own event loop (``asyncio.run`` fails inside a running loop); 4 threads are what the dynamic
  server runs, so throttling behaves the same;
* ``configure`` answers ``supports_preview=False``: the engine then never sends Create or Update during a preview,
  and nothing is written (the handlers write on create). A Create or Update marked ``preview`` is refused anyway;
* ``read`` with neither state nor inputs is ``pulumi import``: an object that is not there is an error, not an empty
  resource;
* ``diff`` answers with a detailed diff, from the properties the handler found different;
* ``diff_config`` replaces the provider's resources when the tenant, the cloud or the emulator changes, never for
  a rotated credential (``server.py`` encodes the answer, which the SDK's own servicer gets wrong);
* values cross as ``values.py`` says (secrets kept secret, whole numbers as numbers the schema types as integers).

Each provider instance is its own process (the engine starts one plugin process per provider resource), so the
process-wide ``handlers.context`` holds exactly one tenant.
"""

from __future__ import annotations

import asyncio
import functools
import json
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from pulumi.output import Unknown
from pulumi.provider.experimental.provider import (
    CheckFailure,
    CheckRequest,
    CheckResponse,
    ConfigureRequest,
    ConfigureResponse,
    CreateRequest,
    CreateResponse,
    DeleteRequest,
    DiffRequest,
    DiffResponse,
    GetSchemaRequest,
    GetSchemaResponse,
    InvokeRequest,
    InvokeResponse,
    PropertyDiff,
    PropertyDiffKind,
    Provider,
    ReadRequest,
    ReadResponse,
    UpdateRequest,
    UpdateResponse,
)

from ..core.errors import ConfigurationError, DefenderAirError, NotFound
from ..core.settings import CONFIG_KEYS, NAMESPACE, SECRET_CONFIG_KEYS, Settings
from ..definitions.fields import ResourceDefinition
from ..handlers import context
from ..handlers.base import AirProvider
from ..registry import RESOURCES
from .claims import Claims
from .values import plain, plain_map, secret_keys, to_wire_map

T = TypeVar("T")
WORKERS = 4  # what the dynamic provider server runs (docs/wire/pulumi-engine.md §4.3)
# Configuration that points at another tenant: the provider's resources are replaced, not moved (docs/configuration.md).
REPLACING_KEYS = ("tenantId", "cloud", "emulatorUrl")
ENGINE_KEYS = frozenset({"version"})  # the engine's own key among a provider's inputs


class PluginError(DefenderAirError):
    """A request the provider cannot serve (unknown type, an import of something that is not there, ...)."""


class DefenderAirNativeProvider(Provider):
    def __init__(self, workers: int = WORKERS) -> None:
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="defender-air")
        self._resources = {r.definition.token: r for r in RESOURCES}
        self._handlers: dict[str, tuple[ResourceDefinition, AirProvider]] = {}  # built on first use: start is cheaper
        self._claims = Claims()
        self._schema: str | None = None

    # ------------------------------------------------------------------------------------------ plumbing
    async def _run(self, call: Callable[..., T], *args: Any) -> T:
        return await asyncio.get_running_loop().run_in_executor(self._pool, functools.partial(call, *args))

    def _handler(self, token: str) -> tuple[ResourceDefinition, AirProvider]:
        found = self._handlers.get(token)
        if found is None:
            registered = self._resources.get(token)
            if registered is None:
                raise PluginError(f"defender-air has no resource type {token!r}; it has "
                                  f"{', '.join(sorted(self._resources))}.")
            found = self._handlers[token] = (registered.definition, registered.provider())
        return found

    # ------------------------------------------------------------------------------------------ provider
    async def get_schema(self, request: GetSchemaRequest) -> GetSchemaResponse:
        if self._schema is None:
            from ..package_schema import package_schema  # only `pulumi package get-schema` and SDK generation ask

            self._schema = json.dumps(package_schema())
        return GetSchemaResponse(schema=self._schema)

    async def check_config(self, request: CheckRequest) -> CheckResponse:
        news = plain_map(request.new_inputs)
        failures = [CheckFailure(key, f"defender-air has no configuration key {key!r}; the keys are "
                                      f"{', '.join(CONFIG_KEYS)}.")
                    for key in sorted(news) if key not in CONFIG_KEYS and key not in ENGINE_KEYS]
        # A value not known yet (a preview, an argument from another resource's output) is checked once it is known:
        # left out, the environment would stand in for it and the checks would judge a configuration nobody wrote.
        if not any(isinstance(news.get(key), Unknown) for key in CONFIG_KEYS):
            try:
                Settings.load(_namespaced(news))
            except ConfigurationError as exc:
                failures += [CheckFailure("", problem) for problem in exc.problems]
        # Credentials stay secret in the state whether or not the program or the stack config marked them.
        inputs = {key: value.with_secret(True) if key in SECRET_CONFIG_KEYS else value
                  for key, value in request.new_inputs.items()}
        return CheckResponse(inputs=inputs, failures=failures)

    async def diff_config(self, request: DiffRequest) -> DiffResponse:
        olds, news = plain_map(request.old_state), plain_map(request.new_inputs)
        changed = [key for key in CONFIG_KEYS if _config_value(olds.get(key)) != _config_value(news.get(key))]
        moved = _moved(olds, news)
        replaces = [key for key in REPLACING_KEYS if key in moved]
        diffs = [key for key in CONFIG_KEYS if key in changed or key in moved]
        return DiffResponse(changes=bool(diffs), replaces=replaces, diffs=diffs, detailed_diff={
            key: PropertyDiff(PropertyDiffKind.UPDATE_REPLACE if key in replaces else PropertyDiffKind.UPDATE, True)
            for key in diffs})

    async def configure(self, request: ConfigureRequest) -> ConfigureResponse:
        given = {key: plain(value) for key, value in request.args.items()}
        for qualified, value in request.variables.items():  # the legacy map: "defender-air:config:tenantId"
            key = qualified.rpartition(":")[2]
            given.setdefault(key, value)
        context.configure(_namespaced(given))
        return ConfigureResponse(accept_secrets=True, supports_preview=False, accept_resources=False,
                                 accept_outputs=False)

    # ------------------------------------------------------------------------------------------ resources
    async def check(self, request: CheckRequest) -> CheckResponse:
        definition, handler = self._handler(request.type)
        olds, news = plain_map(request.old_inputs), plain_map(request.new_inputs)
        result = await self._run(handler.check, olds, news)
        failures = [CheckFailure(f.property, f.reason) for f in result.failures or []]
        failures += [CheckFailure(prop, reason)
                     for prop, reason in self._claims.claim(definition, request.urn, result.inputs or news)]
        return CheckResponse(inputs=to_wire_map(result.inputs, secret_keys(request.new_inputs)), failures=failures)

    async def diff(self, request: DiffRequest) -> DiffResponse:
        definition, handler = self._handler(request.type)
        olds, news = plain_map(request.old_state), plain_map(request.new_inputs)
        for key in request.ignore_changes:  # top-level paths: keep what the resource has
            if key in olds:
                news[key] = olds[key]
            else:
                news.pop(key, None)
        result = await self._run(handler.diff, request.resource_id, olds, news)
        replaces, diffs = list(result.replaces or []), result.diffs
        inputs = {f.name for f in definition.inputs}
        return DiffResponse(
            changes=bool(diffs), replaces=replaces, stables=list(result.stables or []),
            delete_before_replace=bool(result.delete_before_replace), diffs=diffs,
            detailed_diff={key: PropertyDiff(_diff_kind(key, olds, news, replaces, inputs), key in inputs)
                           for key in diffs})

    async def create(self, request: CreateRequest) -> CreateResponse:
        _, handler = self._handler(request.type)
        if request.preview:
            raise PluginError("Create was called in a preview; defender-air writes nothing in a preview.")
        result = await self._run(handler.create, plain_map(request.properties))
        return CreateResponse(resource_id=str(result.id),
                              properties=to_wire_map(result.outs, secret_keys(request.properties)))

    async def read(self, request: ReadRequest) -> ReadResponse:
        definition, handler = self._handler(request.type)
        importing = not request.properties and not request.inputs
        state = plain_map(request.properties) or plain_map(request.inputs)
        result = await self._run(handler.read, request.resource_id, state)
        if not result.id:
            if importing:
                # An empty answer would import an empty resource (docs/wire/pulumi-engine.md §9.5): say so instead.
                raise NotFound(f"{definition.name} '{request.resource_id}' does not exist in the tenant, so there is "
                               f"nothing to import (a {definition.name}'s id is {definition.id_doc}).")
            return ReadResponse(resource_id="", properties={}, inputs={})
        secrets = secret_keys(request.properties, request.inputs)
        outputs = result.outs or {}
        return ReadResponse(resource_id=str(result.id), properties=to_wire_map(outputs, secrets),
                            inputs=to_wire_map(result.inputs if result.inputs is not None else outputs, secrets))

    async def update(self, request: UpdateRequest) -> UpdateResponse:
        _, handler = self._handler(request.type)
        if request.preview:
            raise PluginError("Update was called in a preview; defender-air writes nothing in a preview.")
        result = await self._run(handler.update, request.resource_id, plain_map(request.olds),
                                 plain_map(request.news))
        return UpdateResponse(properties=to_wire_map(result.outs, secret_keys(request.news, request.olds)))

    async def delete(self, request: DeleteRequest) -> None:
        _, handler = self._handler(request.type)
        await self._run(handler.delete, request.resource_id, plain_map(request.properties))

    async def invoke(self, request: InvokeRequest) -> InvokeResponse:
        raise PluginError(f"defender-air has no function {request.tok!r}.")


def _namespaced(values: Mapping[str, Any]) -> dict[str, Any]:
    """Provider inputs (``tenantId``) as the stack configuration the settings read (``defender-air:tenantId``);
    values not known yet (a preview) are left out."""
    return {f"{NAMESPACE}:{key}": value for key, value in values.items()
            if key in CONFIG_KEYS and not isinstance(value, Unknown)}


def _config_value(value: Any) -> Any:
    """A configuration value as compared for a change: blank and unset are the same."""
    if isinstance(value, str):
        return value.strip() or None
    return value


def _moved(olds: Mapping[str, Any], news: Mapping[str, Any]) -> set[str]:
    """The replacing keys whose change points the provider at another tenant or endpoint. Both configurations are
    resolved as the provider reads them (environment fallbacks, the cloud's default and case, an emulator URL's
    trailing slash), so a spelling of the same target replaces nothing. A value not known yet, or a configuration the
    settings refuse, is compared as written."""
    old, new = _target(olds), _target(news)
    if old is None or new is None:
        return {key for key in REPLACING_KEYS if _config_value(olds.get(key)) != _config_value(news.get(key))}
    return {key for key in REPLACING_KEYS if old[key] != new[key]}


def _target(values: Mapping[str, Any]) -> dict[str, str | None] | None:
    if any(isinstance(values.get(key), Unknown) for key in REPLACING_KEYS):
        return None
    try:
        settings = Settings.load(_namespaced(values))
    except ConfigurationError:
        return None
    return {"tenantId": settings.tenant_id.lower() if settings.tenant_id else None, "cloud": settings.cloud_name,
            "emulatorUrl": settings.emulator_url}



def _diff_kind(key: str, olds: Mapping[str, Any], news: Mapping[str, Any], replaces: list[str],
               inputs: set[str]) -> PropertyDiffKind:
    """How one property differs: an argument given or removed, else changed (an output that drifted included)."""
    replace = key in replaces
    if key in inputs and olds.get(key) is None and news.get(key) is not None:
        return PropertyDiffKind.ADD_REPLACE if replace else PropertyDiffKind.ADD
    if key in inputs and news.get(key) is None and olds.get(key) is not None:
        return PropertyDiffKind.DELETE_REPLACE if replace else PropertyDiffKind.DELETE
    return PropertyDiffKind.UPDATE_REPLACE if replace else PropertyDiffKind.UPDATE
