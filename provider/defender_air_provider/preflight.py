"""``defender-air preflight``: the guide's prerequisites for the configured tenant, one row per check, read-only.

Every call here is a read: Microsoft Graph GETs (subscribed SKUs, the app's service principal, its role
assignments), ``Get-`` cmdlets through the existing Exchange and Security & Compliance clients, and the portal's
tenant context through the existing advanced-features client (``handlers/context.py``'s ``ProviderContext``). No
``New-``/``Set-``/``Enable-``/``Disable-`` cmdlet, no portal save.

Sources: docs/wire/microsoft-graph.md §3 (licences), §4 (roles); docs/wire/defender-portal.md §7 (tenant context);
docs/wire/exchange-online.md §2 (presets turned on once).
"""

from __future__ import annotations

import argparse
import asyncio
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .core.errors import DefenderAirError
from .core.http import RetryPolicy
from .core.redaction import REDACTOR
from .core.settings import EMULATOR_TENANT_ID, Settings

if TYPE_CHECKING:  # msgraph is imported lazily at run time
    from msgraph import GraphServiceClient

PASS, FAIL, WARN, SKIPPED = "pass", "fail", "warn", "skipped"

# Role template ids, docs/wire/microsoft-graph.md §4.1 (a built-in role's roleDefinitionId is its template id).
GLOBAL_ADMINISTRATOR = "62e90394-69f5-4237-9190-012177145e10"
SECURITY_ADMINISTRATOR = "194ae4cb-b126-40b2-bd5b-6091b380977d"
ROLE_NAMES = {GLOBAL_ADMINISTRATOR: "Global Administrator", SECURITY_ADMINISTRATOR: "Security Administrator",
              "5f2222b1-57c3-48ba-8ad5-d4759f1fde6f": "Security Operator",
              "5d6b6bb7-de71-4623-b4af-96380a352509": "Security Reader",
              "f2ef992c-3afb-46b9-b7cf-a126ee74c451": "Global Reader"}

LICENCE_FIX = ("Assign Microsoft 365 E5 (or E3 with the Microsoft 365 E5 Security add-on, or Office 365 E5 + EMS E5 "
               "+ Windows E5); see docs/wire/microsoft-graph.md §3.2.")


@dataclass(frozen=True)
class Product:
    """A product the guide requires, known by its service plans (docs/wire/microsoft-graph.md §3.3): name and id,
    with the government variants (``_GOV``, ``_DOD``)."""

    name: str
    plans: Mapping[str, str]  # servicePlanName -> servicePlanId
    weaker: Mapping[str, str] = field(default_factory=dict)  # plans that look like the product but are not enough
    optional: bool = False  # absent from some E5 SKUs that meet the bar (MTP in GCC High E5, §3.4): warn, not fail


PRODUCTS: tuple[Product, ...] = (
    Product("Defender for Endpoint P2", {"WINDEFATP": "871d91ec-ec1a-452b-a83f-bd76c7d770ef"},
            {"MDE_LITE": "292cc034-7b7c-4950-aaf5-943befd3f1d4", "MDE_SMB": "bfc1bbd9-981b-4f71-9b82-17c35fd0e2a4"}),
    Product("Defender for Office 365 P2", {"THREAT_INTELLIGENCE": "8e0c0a52-6a6c-4d40-8370-dd62790dcd70",
                                           "THREAT_INTELLIGENCE_GOV": "900018f1-0cdb-4ecb-94d4-90281760fdc6"},
            {"ATP_ENTERPRISE": "f20fedf3-f3c3-43c3-8267-2bfdd51c0939",
             "ATP_ENTERPRISE_GOV": "493ff600-6a2b-4db6-ad37-a7d4eb214516"}),
    Product("Defender for Identity", {"ATA": "14ab5db5-e6c4-4b20-b4bc-13e36fd2227f"}),
    Product("Defender for Cloud Apps", {"ADALLOM_S_STANDALONE": "2e2ddb96-6af9-4b1d-a3f0-d6ecfd22edb2",
                                        "ADALLOM_S_STANDALONE_DOD": "6ebdddb7-8e55-4af2-952b-69e77262f96c"},
            {"ADALLOM_S_DISCOVERY": "932ad362-64a8-4783-9106-97849a1a30b9"}),
    Product("Microsoft 365 Defender", {"MTP": "bf28f719-7844-4079-9c78-c1307898e192"}, optional=True),
)


@dataclass(frozen=True)
class Check:
    """One row: ``status`` is pass, fail, warn or skipped; ``detail`` says what was found, ``fix`` what to do."""

    name: str
    status: str
    detail: str
    fix: str = ""

    def to_json(self) -> dict[str, str]:
        return {"name": self.name, "status": self.status, "detail": self.detail, "fix": self.fix}


@dataclass(frozen=True)
class Sku:
    part_number: str
    capability_status: str
    plans: tuple[tuple[str, str], ...]  # (servicePlanId lower-case, servicePlanName trimmed upper-case)


@dataclass
class Report:
    checks: list[Check]
    unreachable: bool  # no backend answered at all

    @property
    def exit_status(self) -> int:
        if self.unreachable:
            return 2
        return 1 if any(c.status == FAIL for c in self.checks) else 0

    def to_json(self) -> dict[str, Any]:
        return {"checks": [c.to_json() for c in self.checks]}


def add_settings_arguments(parser: argparse.ArgumentParser, emulator_help: str) -> None:
    """The settings flags of the commands that read a tenant without a stack (preflight, export): the contract's
    "same flags as preflight". ``load_settings`` reads them."""
    parser.add_argument("--tenant-id", default=None, help="tenant GUID (default: AZURE_TENANT_ID)")
    parser.add_argument("--client-id", default=None, help="app registration (client) id (default: AZURE_CLIENT_ID)")
    parser.add_argument("--cloud", default=None, help="public, usgovhigh or usgovdod (default: DEFENDER_AIR_CLOUD)")
    parser.add_argument("--emulator-url", default=None,
                        help=f"{emulator_help} at this base URL (default: DEFENDER_AIR_EMULATOR_URL)")


def load_settings(*, tenant_id: str | None = None, client_id: str | None = None, cloud: str | None = None,
                  emulator_url: str | None = None, environ: Mapping[str, str] | None = None) -> Settings:
    """The provider's settings from the environment, with the flags winning; stack config is not read (contract)."""
    env = dict(os.environ if environ is None else environ)
    for key, value in (("AZURE_TENANT_ID", tenant_id), ("AZURE_CLIENT_ID", client_id),
                       ("DEFENDER_AIR_CLOUD", cloud), ("DEFENDER_AIR_EMULATOR_URL", emulator_url)):
        if value:
            env[key] = value
    return Settings.load({}, env)


def _message(exc: BaseException) -> str:
    text = str(exc).strip() or type(exc).__name__
    return REDACTOR(text.splitlines()[0] if len(text) > 400 else text)


# == Licences (docs/wire/microsoft-graph.md §3) ======================================================================

def licence_checks(skus: Sequence[Sku]) -> list[Check]:
    """One row per product. Decided from service plans, never SKU names (§3.4): the product is licensed when a SKU
    with ``capabilityStatus == "Enabled"`` carries one of its plans (name trimmed, §3.3, or id)."""
    # Names trimmed and compared case-insensitively: the licensing CSV spells one plan "ATP_ENTERPRISE " (§3.3).
    skus = [Sku(s.part_number, s.capability_status, tuple((pid.lower(), name.strip().upper()) for pid, name in s.plans))
            for s in skus]
    rows: list[Check] = []
    for product in PRODUCTS:
        names = {n.upper() for n in product.plans}
        ids = {i.lower() for i in product.plans.values()}

        def carriers(wanted_names: set[str], wanted_ids: set[str]) -> list[Sku]:
            return [s for s in skus if any(pid in wanted_ids or pname in wanted_names for pid, pname in s.plans)]

        found = carriers(names, ids)
        enabled = [s for s in found if s.capability_status.lower() == "enabled"]
        name = f"Licence: {product.name}"
        plans = " or ".join(product.plans)
        if enabled:
            have = sorted({pname for s in enabled for pid, pname in s.plans if pid in ids or pname in names})
            rows.append(Check(name, PASS, f"service plan {', '.join(have)} in "
                              f"{', '.join(s.part_number for s in enabled)}"))
            continue
        if found:
            # A plan in a SKU that is not Enabled: Warning is the grace period (still works), the others do not.
            status = WARN if all(s.capability_status.lower() == "warning" for s in found) else FAIL
            states = ", ".join(f"{s.part_number} ({s.capability_status})" for s in found)
            rows.append(Check(name, status, f"service plan {plans} only in SKUs that are not Enabled: {states}",
                              "Renew the subscription in the Microsoft 365 admin center."))
            continue
        weaker = carriers({n.upper() for n in product.weaker}, {i.lower() for i in product.weaker.values()})
        if product.optional and _bar_met(skus):
            # §3.4: MTP is an extra signal, absent from GCC High E5 although the four products are licensed; the
            # sources disagree, so a warning with the evidence, not a false failure. [inference]
            rows.append(Check(name, WARN, f"no SKU carries service plan {plans}, but the four Defender products are "
                              "licensed (Microsoft 365 E5 for GCC High carries no MTP plan; "
                              "docs/wire/microsoft-graph.md §3.4)",
                              "None if this is a GCC High or DoD tenant; otherwise check the subscription."))
            continue
        detail = f"no Enabled SKU carries service plan {plans}"
        if weaker:
            lesser = sorted({pname for s in weaker for pid, pname in s.plans
                             if pname in {n.upper() for n in product.weaker}
                             or pid in {i.lower() for i in product.weaker.values()}})
            detail += f"; the tenant has only {', '.join(lesser)}, which is not enough for AIR"
        owned = ", ".join(s.part_number for s in skus) or "none"
        rows.append(Check(name, FAIL, f"{product.name} is not licensed: {detail} (SKUs: {owned})", LICENCE_FIX))
    return rows


def _bar_met(skus: Sequence[Sku]) -> bool:
    enabled = [s for s in skus if s.capability_status.lower() == "enabled"]
    for product in PRODUCTS:
        if product.optional:
            continue
        names = {n.upper() for n in product.plans}
        ids = {i.lower() for i in product.plans.values()}
        if not any(pid in ids or pname in names for s in enabled for pid, pname in s.plans):
            return False
    return True


# == Microsoft Graph reads (msgraph-sdk, imported lazily as in clients/entra_groups.py) ==============================

@dataclass
class GraphFacts:
    skus: list[Sku]
    principal_id: str | None = None  # None: no service principal for the app id
    role_ids: list[str] = field(default_factory=list)


class GraphReader:
    """The preflight's Graph reads with msgraph-sdk, behind the provider's token source and Graph base URL (the
    emulator's ``BASE/graph`` included), built as ``clients/entra_groups.py`` builds its client."""

    def __init__(self, context: Any, *, timeout: float = 30.0) -> None:
        self._tokens = context.tokens
        self._base = context.settings.cloud.graph.rstrip("/")
        self._scope = context.settings.cloud.graph_scope
        self._timeout = timeout

    def read(self, app_id: str | None) -> GraphFacts:
        return asyncio.run(self._read(app_id))

    async def _read(self, app_id: str | None) -> GraphFacts:
        import httpx
        from kiota_abstractions.authentication import (
            AccessTokenProvider,
            AllowedHostsValidator,
            BaseBearerTokenAuthenticationProvider,
        )
        from msgraph import GraphRequestAdapter, GraphServiceClient
        from msgraph_core import GraphClientFactory

        tokens, scope, host = self._tokens, self._scope, httpx.URL(self._base).host

        class _Tokens(AccessTokenProvider):
            async def get_authorization_token(self, uri: str,
                                              additional_authentication_context: dict[str, Any] | None = None) -> str:
                return str(tokens.token(scope))

            def get_allowed_hosts_validator(self) -> AllowedHostsValidator:
                return AllowedHostsValidator([host])

        http = GraphClientFactory.create_with_default_middleware(client=httpx.AsyncClient(timeout=self._timeout))
        adapter = GraphRequestAdapter(BaseBearerTokenAuthenticationProvider(_Tokens()), client=http)
        adapter.base_url = f"{self._base}/v1.0"
        client = GraphServiceClient(request_adapter=adapter)
        try:
            return await self._facts(client, app_id)
        finally:
            await http.aclose()

    async def _facts(self, client: GraphServiceClient, app_id: str | None) -> GraphFacts:
        from msgraph.generated.models.o_data_errors.o_data_error import ODataError

        # GET /v1.0/subscribedSkus (docs/wire/microsoft-graph.md §3.1).
        page = await client.subscribed_skus.get()
        skus = [Sku(str(s.sku_part_number or s.sku_id or "?"), str(s.capability_status or ""),
                    tuple((str(p.service_plan_id or "").lower(), str(p.service_plan_name or "").strip().upper())
                          for p in (s.service_plans or [])))
                for s in (page.value if page else None) or []]
        facts = GraphFacts(skus)
        if app_id is None:
            return facts
        # [inference] the page names no call for the app's service principal: Graph's servicePrincipal-get
        # documents the alternate key GET /servicePrincipals(appId='{appId}').
        try:
            principal = await client.service_principals_with_app_id(app_id).get()
        except ODataError as exc:
            if getattr(exc, "response_status_code", None) == 404:
                return facts
            raise
        facts.principal_id = str(principal.id) if principal and principal.id else None
        if facts.principal_id is None:
            return facts
        # docs/wire/microsoft-graph.md §4.2: transitiveRoleAssignments (beta; roles held through a role-assignable
        # group included). msgraph-sdk (v1.0) has no builder for it, so the v1.0 roleAssignments builder is pointed at
        # the documented URL; the answer has the same shape (unifiedRoleAssignment collection).
        url = (f"{self._base}/beta/roleManagement/directory/transitiveRoleAssignments"
               f"?$filter=principalId eq '{facts.principal_id}'")
        assignments = await client.role_management.directory.role_assignments.with_url(url).get()
        facts.role_ids = [str(a.role_definition_id or "").lower()
                          for a in (assignments.value if assignments else None) or []]
        return facts


def role_check(app_id: str | None, facts: GraphFacts | None, graph_error: str | None) -> Check:
    name = "App directory role"
    fix = ("In Entra ID > Roles and administrators, assign Security Administrator to the app's service principal "
           "(docs/wire/microsoft-graph.md §4; AIR needs Security Administrator or Global Administrator).")
    if app_id is None:
        return Check(name, SKIPPED, "the app's client id is unknown (the credential is not an app registration given "
                     "by id)", "Pass --client-id or set AZURE_CLIENT_ID to check the app's roles.")
    if facts is None:
        return Check(name, SKIPPED, f"Microsoft Graph could not be read: {graph_error}",
                     "Fix the Microsoft Graph row first.")
    if facts.principal_id is None:
        return Check(name, FAIL, f"no service principal for app {app_id} in this tenant",
                     "Grant admin consent for the app in this tenant (that creates its service principal).")
    held = [ROLE_NAMES.get(r, r) for r in facts.role_ids]
    if GLOBAL_ADMINISTRATOR in facts.role_ids or SECURITY_ADMINISTRATOR in facts.role_ids:
        best = "Global Administrator" if GLOBAL_ADMINISTRATOR in facts.role_ids else "Security Administrator"
        return Check(name, PASS, f"app {app_id} holds {best}")
    return Check(name, FAIL, f"app {app_id} holds neither Security Administrator nor Global Administrator "
                 f"(roles: {', '.join(held) or 'none'})", fix)


# == Tenant context (docs/wire/defender-portal.md §7) ================================================================

TENANT_CONTEXT_ROWS: tuple[tuple[str, Callable[[Mapping[str, Any]], bool], str, str], ...] = (
    ("Automated investigation on", lambda c: c.get("IsAutomatedIrEnabled") is True, "IsAutomatedIrEnabled",
     "Turn on Automated Investigation in Defender XDR > Settings > Endpoints > Advanced features."),
    ("Defender for Identity active", lambda c: c.get("IsMdiActive") is True or c.get("IsItpActive") is True,
     "IsMdiActive/IsItpActive", "Deploy a Defender for Identity sensor and connect it to the tenant."),
    ("Defender for Office 365 active", lambda c: c.get("IsOatpActive") is True, "IsOatpActive",
     "Check the Defender for Office 365 P2 licence; the workload activates once the licence is assigned."),
    ("Defender for Endpoint plan P2", lambda c: c.get("MdeFlavor") == "P2", "MdeFlavor",
     "Assign Defender for Endpoint P2 (WINDEFATP); plan 1 has no automated investigation."),
)


def tenant_context_checks(context: Mapping[str, Any] | None, skip_reason: str | None,
                          skip_fix: str = "Set DEFENDER_AIR_PORTAL_SESSION (sccauth and XSRF-TOKEN cookies) to check "
                                          "it.") -> list[Check]:
    rows: list[Check] = []
    for name, ok, keys, fix in TENANT_CONTEXT_ROWS:
        if context is None:
            rows.append(Check(f"Tenant context: {name}", SKIPPED, skip_reason or "no tenant context", skip_fix))
            continue
        values = ", ".join(f"{k}={context.get(k)!r}" for k in keys.split("/"))
        rows.append(Check(f"Tenant context: {name}", PASS if ok(context) else FAIL, values,
                          "" if ok(context) else fix))
    return rows


# == The run =========================================================================================================

def run_checks(settings: Settings, *, context: Any | None = None) -> Report:
    """Every check, in a fixed order; ``context`` is a ``ProviderContext`` (tests pass their own)."""
    from .handlers.context import ProviderContext

    ctx = context or ProviderContext(settings, retry=RetryPolicy(max_attempts=2, base_delay=0.2, max_delay=1.0))
    settings = ctx.settings
    rows: list[Check] = []
    reached: list[bool] = []

    # Microsoft Graph: licences, the app's roles (docs/wire/microsoft-graph.md §3-§4).
    app_id = settings.client_id or (EMULATOR_TENANT_ID if settings.emulated else None)  # [inference] emulator app
    facts: GraphFacts | None = None
    graph_error: str | None = None
    try:
        facts = GraphReader(ctx).read(app_id)
    except Exception as exc:  # any failure is a row, never a traceback
        graph_error = _graph_message(exc)
    reached.append(facts is not None)
    rows.append(Check("Microsoft Graph reachable", PASS if facts else FAIL,
                      "GET subscribedSkus answered" if facts else f"GET subscribedSkus failed: {graph_error}",
                      "" if facts else "The app needs LicenseAssignment.Read.All (or Directory.Read.All) and "
                      "RoleManagement.Read.Directory on Microsoft Graph, with admin consent."))
    if facts is not None:
        rows.extend(licence_checks(facts.skus))
    else:
        rows.extend(Check(f"Licence: {p.name}", SKIPPED, "Microsoft Graph could not be read",
                          "Fix the Microsoft Graph row first.") for p in PRODUCTS)
    rows.append(role_check(app_id, facts, graph_error))

    # Exchange Online (Get-EOPProtectionPolicyRule) and Security & Compliance (Get-ProtectionAlert): read-only.
    exchange_ok = _reach(rows, reached, "Exchange Online reachable", "Get-EOPProtectionPolicyRule",
                         lambda: ctx.exchange.invoke("Get-EOPProtectionPolicyRule", {}, idempotent=True),
                         "The app needs Exchange.ManageAsApp and the Security Administrator (or Exchange "
                         "Administrator) role.")
    _reach(rows, reached, "Security & Compliance reachable", "Get-ProtectionAlert",
           lambda: ctx.compliance.invoke("Get-ProtectionAlert", {}, idempotent=True),
           "The app needs Exchange.ManageAsApp and the Security Administrator (or Compliance Administrator) role.")

    # Presets turned on once (docs/wire/exchange-online.md §2: the preset's component policies exist).
    rows.append(_presets_check(ctx) if exchange_ok else Check(
        "Preset security policies turned on once", SKIPPED, "Exchange Online could not be read",
        "Fix the Exchange Online row first."))

    # The portal, only with a portal session (the emulator needs none: contract, "Emulator URL layout").
    tenant_context: Mapping[str, Any] | None = None
    skip_reason: str | None = None
    if settings.portal_session or settings.emulated:
        try:
            tenant_context = ctx.advanced_features.tenant_context()
            reached.append(True)
            rows.append(Check("Defender portal reachable", PASS, "GET TenantContext answered"))
        except Exception as exc:
            reached.append(False)
            skip_reason = f"the Defender portal could not be read: {_message(exc)}"
            rows.append(Check("Defender portal reachable", FAIL, f"GET TenantContext failed: {_message(exc)}",
                              "Sign in to security.microsoft.com again and copy a fresh sccauth and XSRF-TOKEN."))
    else:
        skip_reason = "no portal session (DEFENDER_AIR_PORTAL_SESSION is not set)"
        rows.append(Check("Defender portal reachable", SKIPPED, skip_reason,
                          "Set DEFENDER_AIR_PORTAL_SESSION (sccauth and XSRF-TOKEN cookies) to check the portal."))
    portal_failed = ("Fix the Defender portal row first.",) if settings.portal_session or settings.emulated else ()
    rows.extend(tenant_context_checks(tenant_context, skip_reason, *portal_failed))
    return Report(rows, unreachable=not any(reached))


def _graph_message(exc: BaseException) -> str:
    error = getattr(exc, "error", None)
    status = getattr(exc, "response_status_code", None)
    if error is not None or status is not None:
        return _message(Exception(f"HTTP {status}: {getattr(error, 'message', None) or exc}"))
    return _message(exc) if isinstance(exc, DefenderAirError) else f"{type(exc).__name__}: {_message(exc)}"


def _reach(rows: list[Check], reached: list[bool], name: str, call: str, read: Callable[[], Any], fix: str) -> bool:
    try:
        read()
    except Exception as exc:
        reached.append(False)
        rows.append(Check(name, FAIL, f"{call} failed: {_message(exc)}", fix))
        return False
    reached.append(True)
    rows.append(Check(name, PASS, f"{call} answered"))
    return True


def _presets_check(ctx: Any) -> Check:
    name = "Preset security policies turned on once"
    missing: list[str] = []
    try:
        for preset in ("standard", "strict"):
            for kind in ("eop", "atp"):
                if ctx.presets.find_component_policies(kind, preset) is None:
                    missing.append(f"{preset} ({'Defender for Office 365' if kind == 'atp' else 'EOP'})")
    except Exception as exc:
        return Check(name, FAIL, f"reading the preset policies failed: {_message(exc)}",
                     "Fix the Exchange Online row first.")
    if missing:
        return Check(name, FAIL, f"never turned on: {', '.join(missing)} (their component policies do not exist)",
                     "Turn the Standard and Strict presets on once in the Defender portal (Email & collaboration > "
                     "Policies & rules > Threat policies > Preset security policies).")
    return Check(name, PASS, "Standard and Strict component policies exist (EOP and Defender for Office 365)")


# == Output ==========================================================================================================

MARKS = {PASS: "[ok]", FAIL: "[FAIL]", WARN: "[warn]", SKIPPED: "[skip]"}


def render_table(report: Report) -> str:
    width = max(len(c.name) for c in report.checks)
    lines = []
    for c in report.checks:
        lines.append(f"{MARKS[c.status]:<6} {c.name:<{width}}  {c.detail}")
        if c.fix:
            lines.append(f"{'':<6} {'':<{width}}  fix: {c.fix}")
    counts = {s: sum(1 for c in report.checks if c.status == s) for s in (PASS, FAIL, WARN, SKIPPED)}
    lines.append(f"{counts[PASS]} passed, {counts[FAIL]} failed, {counts[WARN]} warnings, {counts[SKIPPED]} skipped")
    return "\n".join(lines)
