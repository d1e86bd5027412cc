"""The plugin process: ``pulumi-resource-defender-air <engine address>`` prints its port and serves the engine.

The SDK's servicer (``pulumi.provider.experimental.server``) is used as it is, except where it fails us:

* every error it returns reads ``<message>:\\n<traceback>``, and gRPC adds "Unexpected <class 'Exception'>". Our
  own errors (``DefenderAirError``) are complete sentences meant for the user: they go back as they are, so
  `pulumi up` prints "DeviceGroup 'Tier 0' (create): ..." and nothing else. Anything else (a bug) keeps its
  traceback;
* ``DiffConfig`` copies the Python bool ``changes`` into the protocol's enum (True becomes 1, "no changes") and
  reads an attribute its own diff type lacks, so it is answered here.
"""

from __future__ import annotations

import asyncio
import contextlib
import sys
from collections.abc import Awaitable, Callable
from typing import Any

import grpc
from pulumi.provider.experimental import provider as api
from pulumi.provider.experimental.property_value import PropertyValue
from pulumi.provider.experimental.server import ProviderServicer
from pulumi.runtime.proto import provider_pb2, provider_pb2_grpc

from ..core.errors import DefenderAirError
from ..package_schema import package_version
from .provider import DefenderAirNativeProvider

Method = Callable[[Any, Any, Any], Awaitable[Any]]
# The SDK server's message size limit (its _GRPC_CHANNEL_OPTIONS): a schema or a large state fits.
_MAX_MESSAGE = 1024 * 1024 * 400
_KINDS = {
    api.PropertyDiffKind.ADD: provider_pb2.PropertyDiff.ADD,
    api.PropertyDiffKind.ADD_REPLACE: provider_pb2.PropertyDiff.ADD_REPLACE,
    api.PropertyDiffKind.DELETE: provider_pb2.PropertyDiff.DELETE,
    api.PropertyDiffKind.DELETE_REPLACE: provider_pb2.PropertyDiff.DELETE_REPLACE,
    api.PropertyDiffKind.UPDATE: provider_pb2.PropertyDiff.UPDATE,
    api.PropertyDiffKind.UPDATE_REPLACE: provider_pb2.PropertyDiff.UPDATE_REPLACE,
}


def ours(exc: BaseException) -> DefenderAirError | None:
    """Our error behind ``exc``: ``exc`` itself, or the one the SDK re-raised as a new ``Exception`` (whose context is
    the original). Only that one step: a bug raised while handling one of our errors is a bug, and keeps its
    traceback."""
    for candidate in (exc, exc.__context__):
        if isinstance(candidate, DefenderAirError):
            return candidate
    return None


def plain_errors(method: Method) -> Method:
    async def serve(self: Any, request: Any, context: grpc.aio.ServicerContext) -> Any:
        try:
            return await method(self, request, context)
        except grpc.aio.AbortError:
            raise
        except Exception as exc:
            error = ours(exc)
            if error is None:
                raise
            await context.abort(grpc.StatusCode.UNKNOWN, str(error))
    return serve


class DefenderAirServicer(ProviderServicer):
    """The SDK's servicer with plain errors and a correct ``DiffConfig``."""

    CheckConfig = plain_errors(ProviderServicer.CheckConfig)
    Configure = plain_errors(ProviderServicer.Configure)
    Check = plain_errors(ProviderServicer.Check)
    Diff = plain_errors(ProviderServicer.Diff)
    Create = plain_errors(ProviderServicer.Create)
    Read = plain_errors(ProviderServicer.Read)
    Update = plain_errors(ProviderServicer.Update)
    Delete = plain_errors(ProviderServicer.Delete)
    Invoke = plain_errors(ProviderServicer.Invoke)

    @plain_errors
    async def DiffConfig(self, request: Any, context: Any) -> provider_pb2.DiffResponse:
        answer = await self._provider.diff_config(api.DiffRequest(
            request.urn, request.id, PropertyValue.unmarshal_map(request.olds),
            PropertyValue.unmarshal_map(request.news), list(request.ignoreChanges)))
        changes = (provider_pb2.DiffResponse.DIFF_UNKNOWN if answer.changes is None else
                   provider_pb2.DiffResponse.DIFF_SOME if answer.changes else provider_pb2.DiffResponse.DIFF_NONE)
        return provider_pb2.DiffResponse(
            changes=changes, replaces=answer.replaces, stables=answer.stables,
            deleteBeforeReplace=answer.delete_before_replace, diffs=answer.diffs,
            detailedDiff={key: provider_pb2.PropertyDiff(kind=_KINDS[diff.kind], inputDiff=diff.input_diff)
                          for key, diff in answer.detailed_diff.items()},
            hasDetailedDiff=True)


def engine_address(args: list[str]) -> str:
    """The engine's address: the last argument. The engine puts its own flags first (``--logtostderr``,
    ``-v=<level>``, ``--tracing <endpoint>``; docs/wire/pulumi-engine.md §9.3), so the first argument that is not a
    flag may be a level or an endpoint."""
    return args[-1] if args and not args[-1].startswith("-") else ""


async def serve(args: list[str], provider: api.Provider) -> None:
    """Listen on a free loopback port, print it (the engine reads it from the first line of stdout), serve."""
    server = grpc.aio.server(options=[("grpc.max_receive_message_length", _MAX_MESSAGE),
                                      ("grpc.max_send_message_length", _MAX_MESSAGE)])
    provider_pb2_grpc.add_ResourceProviderServicer_to_server(
        DefenderAirServicer(args, package_version(), provider, engine_address=engine_address(args)), server)
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    sys.stdout.write(f"{port}\n")
    sys.stdout.flush()
    await server.wait_for_termination()


def main(argv: list[str] | None = None) -> None:
    """``pulumi-resource-defender-air [--logtostderr] [-v=<level>] [--tracing <endpoint>] <engine address>``: the
    engine starts it."""
    args = list(sys.argv[1:] if argv is None else argv)
    with contextlib.suppress(KeyboardInterrupt):  # the engine stops plugins with a signal
        asyncio.run(serve(args, DefenderAirNativeProvider()))
