"""What every resource provider shares: configuration and how failures are reported."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

from pulumi.dynamic import CheckFailure, ConfigureRequest, DiffResult, ResourceProvider

from ..core.errors import AlreadyExists, DefenderAirError, OutcomeUnknown
from ..core.redaction import get_logger
from ..core.settings import CONFIG_KEYS, NAMESPACE
from . import binding, context


class AirProvider(ResourceProvider):
    """Base of the providers. Holds no instance state: the pickled ``__provider`` stays a small reference
    to the class (module path and name), identical across releases, so upgrading shows no diff.

    Every subclass's ``create``, ``read``, ``update`` and ``delete`` are bound to the tenant (``binding.py``):
    create records the ``tenant`` output; read, update and delete refuse, before any API call, a resource recorded
    in another tenant or endpoint. Done here, once for every provider, so a new resource cannot forget it.
    """

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        for name, bind in binding.WRAPPERS.items():
            own = cls.__dict__.get(name)  # only methods the class defines: inherited ones are bound already
            if own is not None:
                setattr(cls, name, bind(own))

    def diff(self, _id: str, _olds: dict[str, Any], _news: dict[str, Any]) -> AirDiffResult:
        """Every resource compares its own arguments and names the properties that differ (``AirDiffResult``): the
        native provider's detailed diff needs them."""
        raise NotImplementedError

    def configure(self, req: ConfigureRequest) -> None:
        # Fully-qualified keys ("defender-air:tenantId") are not re-namespaced by pulumi.dynamic.Config.
        config = {f"{NAMESPACE}:{key}": req.config.get(f"{NAMESPACE}:{key}") for key in CONFIG_KEYS}
        context.configure(config)


class AirDiffResult(DiffResult):
    """The dynamic provider's ``DiffResult``, plus which properties differ (``diffs``): the native provider answers
    with them as its detailed diff (the dynamic server ignores the attribute, and has no detailed diff)."""

    def __init__(self, diffs: Iterable[str], replaces: Iterable[str] = (), *,
                 delete_before_replace: bool = False) -> None:
        self.diffs = sorted(set(diffs))
        super().__init__(changes=bool(self.diffs), replaces=list(replaces), delete_before_replace=delete_before_replace)


def configuration_failures(needs: tuple[str, ...] = ()) -> list[CheckFailure]:
    """The refused provider configuration as check failures, one per problem, with no property: every resource's
    ``check`` starts with these, so `pulumi preview` stops before any network call with the plain message (the engine
    prints "<type> resource '<name>' has a problem: <reason>")."""
    return [CheckFailure("", problem) for problem in context.configuration_problems(needs)]


@contextmanager
def failures_named(kind: str, name: object, operation: str) -> Iterator[None]:
    """Prefix every provider error with the resource kind, the object and the operation.

    ``with failures_named("PresetPolicyAssignment", "strict", "create"):`` turns "Exchange Online: ..." into
    "PresetPolicyAssignment 'strict' (create): Exchange Online: ...", as an error of the same type (with the same
    operation and service exception type) chained ``from`` the original. The engine adds the resource URN.
    """
    prefix = f"{kind} '{name}' ({operation})"
    try:
        yield
    except DefenderAirError as exc:
        if exc.in_resource_context:
            raise
        # Chained to the client's typed error; a handler's own error that wraps one (adding what to do) is
        # skipped in the chain, so the service's words appear once in the engine's traceback.
        cause = exc.__cause__ if isinstance(exc.__cause__, DefenderAirError) else exc
        raise exc.in_context(prefix) from cause


T = TypeVar("T")
LOG = get_logger()


def create_once(create: Callable[[], T], find: Callable[[], T | None], what: str) -> T | None:
    """Run a non-idempotent create (``New-*``) so that a lost answer never makes a duplicate.

    A lost answer is settled by reading (``find``); only when the object is not there is the create sent again.
    If that second create says "already exists", the first one was applied after all and the read lagged behind
    (reads right after New- can miss the object, docs/wire/invoke-command.md §6.5): returns None, meaning "exists".
    """
    try:
        return create()
    except OutcomeUnknown:
        LOG.warning("%s got no answer; reading to check whether it was applied", what)
    found = find()
    if found is not None:
        return found
    try:
        return create()
    except AlreadyExists:
        return None
