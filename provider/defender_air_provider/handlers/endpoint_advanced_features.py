"""``EndpointAdvancedFeatures``: Defender for Endpoint advanced features (one settings object per tenant).

Every argument is an optional toggle; unset = not managed. Create adopts the tenant's object and changes only
the managed keys (``AdvancedFeaturesStore.write``: fresh read, merge, save, read until visible); delete stops
managing (no API call). The id is ``default``.
"""

from __future__ import annotations

from typing import Any

from pulumi.dynamic import CheckResult, CreateResult, ReadResult, UpdateResult

from ..clients.advanced_features import AdvancedFeatures
from ..core.errors import DefenderAirError
from ..core.redaction import get_logger
from ..definitions.endpoint_advanced_features import ENDPOINT_ADVANCED_FEATURES
from . import context
from .base import AirDiffResult, AirProvider, configuration_failures, failures_named
from .fields import changed_inputs, check_inputs

LOG = get_logger()
KIND = ENDPOINT_ADVANCED_FEATURES.name
ID = "default"  # one settings object per tenant (docs/sdk.md, "Reading an existing object": the singletons' id)
TOGGLES = tuple(f.name for f in ENDPOINT_ADVANCED_FEATURES.inputs)


def _managed(props: dict[str, Any]) -> dict[str, bool]:
    """The toggles the resource sets (check made them bools; unset = not managed)."""
    return {name: props[name] for name in TOGGLES if isinstance(props.get(name), bool)}


def _automated_investigation() -> bool | None:
    """The tenant's AIR switch (read only, docs/wire/defender-portal.md §7). Informational: where the tenant context
    cannot be read, the output is null with a warning rather than a failed operation."""
    try:
        value = context.current().advanced_features.tenant_context().get("IsAutomatedIrEnabled")
    except DefenderAirError as exc:  # whatever the reason: never fail an operation whose own work is done
        LOG.warning("Defender portal: could not read the tenant context for automated_investigation_enabled: %s", exc)
        return None
    return value if isinstance(value, bool) else None


def _outputs(props: dict[str, Any], live: AdvancedFeatures) -> dict[str, Any]:
    """Managed toggles as asked (and now applied); the others as the tenant has them (visible, not managed)."""
    return {**live.toggles(), **_managed(props), "automated_investigation_enabled": _automated_investigation()}


class EndpointAdvancedFeaturesProvider(AirProvider):
    def check(self, _olds: dict[str, Any], news: dict[str, Any]) -> CheckResult:
        inputs, failures = check_inputs(ENDPOINT_ADVANCED_FEATURES, news)
        return CheckResult(inputs, configuration_failures(("portal",)) + failures)

    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> AirDiffResult:
        return AirDiffResult(changed_inputs(ENDPOINT_ADVANCED_FEATURES, olds, news))

    def create(self, props: dict[str, Any]) -> CreateResult:
        with failures_named(KIND, ID, "create"):
            live = context.current().advanced_features.write(_managed(props))
            return CreateResult(ID, _outputs(props, live))

    def read(self, id_: str, props: dict[str, Any]) -> ReadResult:
        with failures_named(KIND, id_, "read"):
            if id_ != ID:
                return ReadResult(None, {})  # ``EndpointAdvancedFeatures.get`` with another id: there is no such object
            live = context.current().advanced_features.read()
            outputs = {**live.toggles(), "automated_investigation_enabled": _automated_investigation()}
        # Refreshed inputs: the managed toggles as the tenant has them now, so drift shows on the next preview.
        inputs = {name: outputs[name] for name in TOGGLES if props.get(name) is not None}
        return ReadResult(ID, outputs, inputs)

    def update(self, _id: str, _olds: dict[str, Any], news: dict[str, Any]) -> UpdateResult:
        with failures_named(KIND, ID, "update"):
            live = context.current().advanced_features.write(_managed(news))
            return UpdateResult(_outputs(news, live))

    def delete(self, _id: str, _props: dict[str, Any]) -> None:
        LOG.info("Endpoint advanced features are no longer managed; the tenant keeps its settings")
