"""Tenant binding: every resource remembers the tenant it was created in, and refuses to act on another one.

Why: the endpoint and tenant come from configuration that a shell can change under a stack (a leftover
``DEFENDER_AIR_EMULATOR_URL``, another ``AZURE_TENANT_ID``). Without a record, a refresh against the wrong endpoint
finds nothing and reports the object gone, and the engine silently drops it from state (issue 10, finding 1).

The record is the ``tenant`` output, a string ``<tenant id>@<endpoint>``:

* ``<endpoint>`` is the cloud (``public``, ``usgovhigh``, ``usgovdod``) or, under the emulator, its base URL;
* ``<tenant id>`` is the configured tenant id (under the emulator the default one when unset), or ``*`` when no
  tenant id is configured on a real cloud (only the portal resources work so, and the portal session decides the
  tenant): then only the endpoint is compared.

Examples: ``72f988bf-86f1-41af-91ab-2d7cd011db47@public``,
``00000000-0000-0000-0000-000000000000@http://127.0.0.1:8765``.

Create records the current binding. Read, update and delete first compare the recorded binding with the current
settings and, when they differ, raise ``TenantMismatch`` before any API call: a read never answers "gone" for
another tenant's object. State without a record (written before this release, or ``X.get`` with no state) adopts the
current binding: the next read, update or create writes it. ``AirProvider`` (``handlers/base.py``) wraps every
provider's CRUD methods with the functions below, so no handler can forget it.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

from pulumi.dynamic import CreateResult, ReadResult, UpdateResult

from ..core.errors import ConfigurationError
from ..core.settings import Settings
from ..definitions.fields import TENANT_FIELD
from . import context

TENANT = TENANT_FIELD.name  # the output every resource records
ANY_TENANT = "*"  # no tenant id configured (a real cloud, portal resources only)

P = TypeVar("P")


class TenantMismatch(ConfigurationError):
    """The resource's recorded tenant or endpoint is not the one the provider is configured for."""


@dataclass(frozen=True)
class Binding:
    """Where a resource lives: a tenant (None: not known) at an endpoint (cloud name or emulator base URL)."""

    tenant_id: str | None
    endpoint: str

    @classmethod
    def of(cls, settings: Settings) -> Binding:
        """The binding the provider's settings point at now."""
        if settings.emulator_url:
            return cls(settings.require_tenant_id(), settings.emulator_url.rstrip("/"))
        return cls(settings.tenant_id, settings.cloud_name)

    @classmethod
    def parse(cls, recorded: object) -> Binding | None:
        """The recorded ``tenant`` output; None where there is none (old state, ``X.get``) or it is unreadable."""
        if not isinstance(recorded, str) or "@" not in recorded:
            return None
        # A tenant id (GUID or domain) has no "@"; the endpoint may (a URL's user part), so split at the first.
        tenant_id, _, endpoint = recorded.strip().partition("@")
        if not endpoint:
            return None
        return cls(None if tenant_id in ("", ANY_TENANT) else tenant_id, endpoint.rstrip("/"))

    def __str__(self) -> str:
        return f"{self.tenant_id or ANY_TENANT}@{self.endpoint}"

    @property
    def emulated(self) -> bool:
        return "://" in self.endpoint

    def describe(self) -> str:
        tenant = f"tenant {self.tenant_id}" if self.tenant_id else "the tenant of the portal session"
        if self.emulated:
            return f"the emulator at {self.endpoint} ({tenant})"
        return f"{tenant} ({self.endpoint} cloud)"

    def matches(self, now: Binding) -> bool:
        """Whether a resource recorded here (``self``) may be managed by a provider configured for ``now``: the same
        endpoint, and the same tenant where the record knows it. A record without a tenant adopts the current one; a
        record with a tenant is never managed by a provider that does not say which tenant it is (its portal session
        could be another tenant's, and a read there would report the object gone). GUIDs, domains and hosts compare
        case-insensitively."""
        if self.endpoint.lower() != now.endpoint.lower():
            return False
        if self.tenant_id is None:
            return True
        return now.tenant_id is not None and self.tenant_id.lower() == now.tenant_id.lower()


def current(kind: str, name: object, operation: str) -> Binding:
    """The binding the provider is configured for. A configuration ``configure`` refused is raised here, named like
    every other failure of the step ("<Kind> '<name>' (<operation>): ...")."""
    from .base import failures_named  # base imports this module

    with failures_named(kind, name, operation):
        return Binding.of(context.current().settings)


def _what_to_do(recorded: Binding, now: Binding, cloud_name: str) -> str:
    """The one setting to change to reach the recorded tenant again."""
    steps = []
    if now.emulated and not recorded.emulated:
        steps.append("unset DEFENDER_AIR_EMULATOR_URL (and `pulumi config rm defender-air:emulatorUrl` if it is "
                     "set there) so the provider talks to Microsoft's services")
    elif recorded.emulated and now.endpoint.lower() != recorded.endpoint.lower():
        steps.append(f"set defender-air:emulatorUrl (or DEFENDER_AIR_EMULATOR_URL) to {recorded.endpoint}")
    # Its own step, also after unsetting the emulator: the cloud configured alongside it may be wrong too.
    if not recorded.emulated and recorded.endpoint.lower() != cloud_name.lower():
        steps.append(f"set defender-air:cloud (or DEFENDER_AIR_CLOUD) to {recorded.endpoint}")
    if recorded.tenant_id and (now.tenant_id or "").lower() != recorded.tenant_id.lower():
        steps.append(f"set defender-air:tenantId (or AZURE_TENANT_ID) to {recorded.tenant_id}")
    return " and ".join(steps) or "restore the configuration it was created with"


def require_same_tenant(kind: str, name: object, operation: str, props: Mapping[str, Any]) -> Binding:
    """The current binding, after checking it against the one ``props`` recorded. No API call either way."""
    now = current(kind, name, operation)
    recorded = Binding.parse(props.get(TENANT))
    if recorded is None or recorded.matches(now):
        return now
    advice = _what_to_do(recorded, now, context.current().settings.cloud_name)
    error = TenantMismatch(
        f"{kind} '{name}' ({operation}): this {kind} was created in {recorded.describe()}, but the provider is "
        f"configured for {now.describe()}. Nothing was read or changed, and the resource stays in the stack as it "
        f"was. To manage it, {advice}. The provider never moves a resource to another tenant: "
        "if the object should now be managed elsewhere, remove it from this stack (`pulumi state delete <urn>`) and "
        "declare it where it belongs.")
    error.in_resource_context = True  # already names the resource and operation (handlers/base.py)
    raise error


def with_tenant(outputs: Mapping[str, Any] | None, binding: Binding) -> dict[str, Any]:
    return {**(outputs or {}), TENANT: str(binding)}


def _kind(provider: object) -> str:
    """``AlertPolicyProvider`` -> ``AlertPolicy``: the resource's name, as errors show it."""
    return type(provider).__name__.removesuffix("Provider")


def _subject(provider: object, id_: str, props: Mapping[str, Any]) -> object:
    """How errors name the object: a singleton's fixed name (``SUBJECT``), else its identity where the state has one,
    else its id."""
    fixed = getattr(provider, "SUBJECT", None)
    return fixed or next((props[key] for key in ("name", "display_name", "preset") if props.get(key)), id_)


# ---------------------------------------------------------------------------------------------- wrappers
# Each takes a provider's own method and returns it bound to the tenant (``AirProvider.__init_subclass__``).
def bound_create(create: Callable[[P, dict[str, Any]], CreateResult]) -> Callable[[P, dict[str, Any]], CreateResult]:
    @functools.wraps(create)
    def wrapper(self: P, props: dict[str, Any]) -> CreateResult:
        # The tenant the create goes to, taken before it runs.
        binding = current(_kind(self), _subject(self, "", props), "create")
        result = create(self, props)
        result.outs = with_tenant(result.outs, binding)
        return result
    return wrapper


def bound_read(read: Callable[[P, str, dict[str, Any]], ReadResult]) -> Callable[[P, str, dict[str, Any]], ReadResult]:
    @functools.wraps(read)
    def wrapper(self: P, id_: str, props: dict[str, Any]) -> ReadResult:
        binding = require_same_tenant(_kind(self), _subject(self, id_, props), "read", props)
        result = read(self, id_, props)
        if result.id:  # found: record (or adopt) the binding; gone stays gone
            result.outs = with_tenant(result.outs, binding)
        return result
    return wrapper


def bound_update(
    update: Callable[[P, str, dict[str, Any], dict[str, Any]], UpdateResult],
) -> Callable[[P, str, dict[str, Any], dict[str, Any]], UpdateResult]:
    @functools.wraps(update)
    def wrapper(self: P, id_: str, olds: dict[str, Any], news: dict[str, Any]) -> UpdateResult:
        binding = require_same_tenant(_kind(self), _subject(self, id_, olds), "update", olds)
        result = update(self, id_, olds, news)
        result.outs = with_tenant(result.outs, binding)
        return result
    return wrapper


def bound_delete(delete: Callable[[P, str, dict[str, Any]], None]) -> Callable[[P, str, dict[str, Any]], None]:
    @functools.wraps(delete)
    def wrapper(self: P, id_: str, props: dict[str, Any]) -> None:
        require_same_tenant(_kind(self), _subject(self, id_, props), "delete", props)
        delete(self, id_, props)
    return wrapper


WRAPPERS: dict[str, Callable[[Any], Any]] = {
    "create": bound_create, "read": bound_read, "update": bound_update, "delete": bound_delete,
}
