"""The Microsoft Graph backend: the tenant's Entra groups (read by device groups' ``user_groups``).

Unlike the portal and Exchange fakes, this one is written from Microsoft's Graph docs (docs/wire/microsoft-graph.md §2),
not from captures: these are standard, publicly documented Graph behaviours, and each comment names what comes from
Graph's docs (learn.microsoft.com/graph:
"group-get", "group-list", "Use query parameters", "Paging", "Error responses"). What the docs do not spell out is
tagged ``[inference]``.

State is one typed record per group (``EntraGroup``, the v1.0 group resource's default properties in order, plus
any other property verbatim); the rules are ``GraphBackend`` methods that raise the service's typed errors. The wire
(paths, query options, paging, the error envelope) is ``responses.py``.
"""

from __future__ import annotations

import copy
import re
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from ..records import WIRE_OTHER, from_wire, get_wire, set_wire, to_wire, wire, wire_keys
from .exceptions import ResourceNotFound

TENANT_DOMAIN = "contoso.onmicrosoft.com"
_SEED_TIME = "2023-03-14T09:26:53Z"
_GUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")

# String properties a fake $filter can compare with eq (group-list: displayName, mail, mailNickname and id
# support $filter eq by default).
FILTERABLE_STRINGS = ("id", "displayName", "mail", "mailNickname", "description")
FILTERABLE_BOOLS = ("securityEnabled", "mailEnabled", "isAssignableToRole")

# Seed groups (stable ids so other fakes and tests can refer to them; the portal fake's seed assigns TIER0_ADMINS
# and SOC_ANALYSTS to a device group).
TIER0_ADMINS_ID = "4f6c2d1a-8b3e-4c7d-9a10-2b5e6f7a8c01"
SOC_ANALYSTS_ID = "9d3e7b52-1c4a-4f8e-b6d2-3a7c9e1f5b02"
HELPDESK_ID = "c1a8f4e3-6d2b-4a9c-8e7f-5b3d1c9a7e03"
CONTRACTORS_SECURITY_ID = "2e7b9c4d-5f1a-4d3b-9c8e-7a6f4b2d1c04"
CONTRACTORS_M365_ID = "7a4d1e8c-3b9f-4e2a-a5c7-1d8b6e3f9a05"

SEED_GROUPS: tuple[dict[str, Any], ...] = (
    {"id": TIER0_ADMINS_ID, "displayName": "Tier0 Admins", "description": "Tier 0 administrators",
     "isAssignableToRole": True},
    {"id": SOC_ANALYSTS_ID, "displayName": "SOC Analysts", "description": "Security operations analysts"},
    {"id": HELPDESK_ID, "displayName": "Helpdesk", "description": None},
    # Two groups with the same display name: Entra display names are not unique (group resource docs), so a lookup
    # by name can find several; one security group and one Microsoft 365 group.
    {"id": CONTRACTORS_SECURITY_ID, "displayName": "Contractors", "description": "External contractors"},
    {"id": CONTRACTORS_M365_ID, "displayName": "Contractors", "description": "Contractors team site",
     "groupTypes": ["Unified"], "mailEnabled": True, "securityEnabled": False,
     "mail": f"contractors@{TENANT_DOMAIN}", "mailNickname": "contractors", "visibility": "Private",
     "proxyAddresses": [f"SMTP:contractors@{TENANT_DOMAIN}"]},
)


@dataclass(kw_only=True)
class EntraGroup:
    """One Entra group: the properties group-get returns by default (v1.0 "Properties" table, "Returned by
    default"), in the order of the docs' example response, then any other property verbatim. [inference] the exact
    set changes over time; these are the ones the docs list today."""

    id: str = field(metadata=wire("id"))
    deleted_date_time: Any = field(default=None, metadata=wire("deletedDateTime"))
    classification: Any = field(default=None, metadata=wire("classification"))
    created_date_time: Any = field(default=None, metadata=wire("createdDateTime"))
    creation_options: Any = field(default=None, metadata=wire("creationOptions"))
    description: Any = field(default=None, metadata=wire("description"))
    display_name: Any = field(default=None, metadata=wire("displayName"))
    expiration_date_time: Any = field(default=None, metadata=wire("expirationDateTime"))
    group_types: Any = field(default=None, metadata=wire("groupTypes"))
    is_assignable_to_role: Any = field(default=None, metadata=wire("isAssignableToRole"))
    mail: Any = field(default=None, metadata=wire("mail"))
    mail_enabled: Any = field(default=None, metadata=wire("mailEnabled"))
    mail_nickname: Any = field(default=None, metadata=wire("mailNickname"))
    membership_rule: Any = field(default=None, metadata=wire("membershipRule"))
    membership_rule_processing_state: Any = field(default=None, metadata=wire("membershipRuleProcessingState"))
    on_premises_domain_name: Any = field(default=None, metadata=wire("onPremisesDomainName"))
    on_premises_last_sync_date_time: Any = field(default=None, metadata=wire("onPremisesLastSyncDateTime"))
    on_premises_net_bios_name: Any = field(default=None, metadata=wire("onPremisesNetBiosName"))
    on_premises_sam_account_name: Any = field(default=None, metadata=wire("onPremisesSamAccountName"))
    on_premises_security_identifier: Any = field(default=None, metadata=wire("onPremisesSecurityIdentifier"))
    on_premises_sync_enabled: Any = field(default=None, metadata=wire("onPremisesSyncEnabled"))
    preferred_data_location: Any = field(default=None, metadata=wire("preferredDataLocation"))
    preferred_language: Any = field(default=None, metadata=wire("preferredLanguage"))
    proxy_addresses: Any = field(default=None, metadata=wire("proxyAddresses"))
    renewed_date_time: Any = field(default=None, metadata=wire("renewedDateTime"))
    resource_behavior_options: Any = field(default=None, metadata=wire("resourceBehaviorOptions"))
    resource_provisioning_options: Any = field(default=None, metadata=wire("resourceProvisioningOptions"))
    security_enabled: Any = field(default=None, metadata=wire("securityEnabled"))
    security_identifier: Any = field(default=None, metadata=wire("securityIdentifier"))
    theme: Any = field(default=None, metadata=wire("theme"))
    visibility: Any = field(default=None, metadata=wire("visibility"))
    on_premises_provisioning_errors: Any = field(default=None, metadata=wire("onPremisesProvisioningErrors"))
    service_provisioning_errors: Any = field(default=None, metadata=wire("serviceProvisioningErrors"))
    other: dict[str, Any] = field(default_factory=dict, metadata=WIRE_OTHER)


DEFAULT_PROPERTIES: tuple[str, ...] = wire_keys(EntraGroup)


def _nickname(display_name: str) -> str:
    return re.sub(r"[^A-Za-z0-9]", "", display_name).lower() or "group"


def _security_identifier(group_id: str) -> str:
    # Entra security identifiers look like S-1-12-1-<4 x uint32> (group resource docs' example); derived from the id.
    words = [int.from_bytes(uuid.UUID(group_id).bytes[i:i + 4], "little") for i in range(0, 16, 4)]
    return "S-1-12-1-" + "-".join(str(w) for w in words)


def _utc_now() -> datetime:
    return datetime.now(timezone.utc)


class GraphBackend:
    """Microsoft Graph ``/groups`` (read-only) for one fake tenant.

    ``clock`` (the innerError ``date``) is a plain attribute. Test helpers: ``add_group``, ``edit_group``,
    ``remove_group``, ``groups``, ``group``. Every method runs under ``lock``.
    """

    def __init__(self, *, clock: Callable[[], datetime] | None = None) -> None:
        self.lock = threading.RLock()
        self.clock: Callable[[], datetime] = clock or _utc_now
        self._groups: list[EntraGroup] = []
        for seed in SEED_GROUPS:
            fields = dict(seed)
            self.add_group(str(fields.pop("displayName")), id=str(fields.pop("id")), **fields)

    # -- the service's rules ----------------------------------------------------------------------------------

    def find(self, group_id: str) -> EntraGroup | None:
        # Object ids are GUIDs; Graph accepts them in any case (a GUID's hex digits are case-insensitive).
        wanted = group_id.lower()
        return next((g for g in self._groups if str(g.id).lower() == wanted), None)

    def get_group(self, group_id: str) -> EntraGroup:
        """GET /groups/{id}: ResourceNotFound (404) when the directory has no such object."""
        group = self.find(group_id)
        if group is None:
            raise ResourceNotFound(group_id)
        return group

    def list_groups(self, where: tuple[str, str | bool] | None = None) -> list[EntraGroup]:
        """GET /groups, every group or those whose property equals a value (``$filter=<property> eq <literal>``).

        Directory string comparisons are case-insensitive (displayName eq 'tier0 admins' finds "Tier0 Admins").
        [inference] documented for users' UPN/mail; assumed for every string property.
        """
        if where is None:
            return list(self._groups)
        prop, value = where
        if isinstance(value, bool):
            return [g for g in self._groups if get_wire(g, prop) is value]
        wanted = value.casefold()
        return [g for g in self._groups
                if isinstance(get_wire(g, prop), str) and get_wire(g, prop).casefold() == wanted]

    # -- helpers for tests ------------------------------------------------------------------------------------

    def add_group(self, display_name: str, id: str | None = None, **fields: Any) -> dict[str, Any]:
        """Create a group (a security group unless ``fields`` say otherwise); returns a copy of it."""
        group_id = (id or str(uuid.uuid4())).lower()
        if not _GUID.match(group_id):
            raise ValueError(f"{group_id!r} is not a GUID")
        group = EntraGroup(
            id=group_id,
            created_date_time=_SEED_TIME,
            display_name=display_name,
            group_types=[],
            mail_enabled=False,
            mail_nickname=_nickname(display_name),
            proxy_addresses=[],
            renewed_date_time=_SEED_TIME,
            resource_behavior_options=[],
            resource_provisioning_options=[],
            security_enabled=True,
            security_identifier=_security_identifier(group_id),
            on_premises_provisioning_errors=[],
            service_provisioning_errors=[],
        )
        for key, value in fields.items():
            set_wire(group, key, copy.deepcopy(value))
        with self.lock:
            if self.find(group_id) is not None:
                raise ValueError(f"a group with id {group_id} already exists")
            self._groups.append(group)
            return to_wire(group)

    def edit_group(self, group_id: str, **fields: Any) -> dict[str, Any]:
        """Change a group out of band (an admin renaming it in Entra); returns the new copy."""
        with self.lock:
            group = self.find(group_id)
            if group is None:
                raise KeyError(f"no group {group_id!r}")
            for key, value in fields.items():
                set_wire(group, key, copy.deepcopy(value))
            return to_wire(group)

    def remove_group(self, group_id: str) -> bool:
        with self.lock:
            group = self.find(group_id)
            if group is None:
                return False
            self._groups.remove(group)
            return True

    def groups(self) -> list[dict[str, Any]]:
        with self.lock:
            return [to_wire(g) for g in self._groups]

    def group(self, group_id: str) -> dict[str, Any] | None:
        with self.lock:
            found = self.find(group_id)
            return to_wire(found) if found is not None else None

    # -- persistence ------------------------------------------------------------------------------------------

    def to_state(self) -> dict[str, Any]:
        with self.lock:
            return {"groups": [to_wire(g) for g in self._groups]}

    def load_state(self, state: dict[str, Any]) -> None:
        with self.lock:
            self._groups = [from_wire(EntraGroup, g) for g in state.get("groups", [])]


# == Licences, the app's service principal and its directory roles (docs/wire/microsoft-graph.md §3-§4) =============

# Service plans (docs/wire/microsoft-graph.md §3.3, from Microsoft's licensing CSV).
PLAN_IDS: dict[str, str] = {
    "WINDEFATP": "871d91ec-ec1a-452b-a83f-bd76c7d770ef",
    "MDE_LITE": "292cc034-7b7c-4950-aaf5-943befd3f1d4",
    "THREAT_INTELLIGENCE": "8e0c0a52-6a6c-4d40-8370-dd62790dcd70",
    "THREAT_INTELLIGENCE_GOV": "900018f1-0cdb-4ecb-94d4-90281760fdc6",
    "ATP_ENTERPRISE": "f20fedf3-f3c3-43c3-8267-2bfdd51c0939",
    "ATA": "14ab5db5-e6c4-4b20-b4bc-13e36fd2227f",
    "ADALLOM_S_STANDALONE": "2e2ddb96-6af9-4b1d-a3f0-d6ecfd22edb2",
    "ADALLOM_S_STANDALONE_DOD": "6ebdddb7-8e55-4af2-952b-69e77262f96c",
    "MTP": "bf28f719-7844-4079-9c78-c1307898e192",
}
# SKUs (§3.4). [inference] a real SPE_E5 carries some 90 plans; the seed holds only the plans §3.3 names.
SKUS: dict[str, tuple[str, str, tuple[str, ...]]] = {
    # skuPartNumber: (skuId, display, plans)
    "SPE_E5": ("06ebc4ee-1bb5-47dd-8120-11324bc54e06", "Microsoft 365 E5",
               ("WINDEFATP", "THREAT_INTELLIGENCE", "ATA", "ADALLOM_S_STANDALONE", "MTP")),
    "SPE_E3": ("05e9a617-0261-4cee-bb44-138d3ef5d965", "Microsoft 365 E3", ("MDE_LITE",)),
}
# Licence seeds selectable like the Exchange scenarios (FakeTenant(graph_licences=...), emulator --licences).
LICENCE_SEEDS: dict[str, tuple[str, ...]] = {"e5": ("SPE_E5",), "e3": ("SPE_E3",)}

# Role template ids (§4.1). Built-in roles' roleDefinitionId is their template id (Graph unifiedRoleDefinition docs).
GLOBAL_ADMINISTRATOR = "62e90394-69f5-4237-9190-012177145e10"
SECURITY_ADMINISTRATOR = "194ae4cb-b126-40b2-bd5b-6091b380977d"

# The app registration the emulator answers for. [inference] mirrors the contract's emulator tenant id default:
# under the emulator a missing client id is the all-zero GUID.
EMULATOR_APP_ID = "00000000-0000-0000-0000-000000000000"
EMULATOR_SP_ID = "5b8f3c2e-7a41-4d6e-9f08-1c2b3a4d5e06"
_SEED_TENANT_ID = "00000000-0000-0000-0000-000000000000"


def service_plan(name: str) -> dict[str, Any]:
    """One ``servicePlans`` item of a subscribedSku (Graph "servicePlanInfo": servicePlanId, servicePlanName,
    provisioningStatus, appliesTo), kept as the wire object."""
    plan_id = PLAN_IDS.get(name, str(uuid.uuid5(uuid.NAMESPACE_OID, name)))
    return {"servicePlanId": plan_id, "servicePlanName": name, "provisioningStatus": "Success", "appliesTo": "User"}


@dataclass(kw_only=True)
class SubscribedSku:
    """One subscribed SKU (Graph "subscribedSku" resource, subscribedsku-list, docs/wire/microsoft-graph.md §3.1);
    ``id`` is ``<tenantId>_<skuId>`` as in the docs' example. ``capabilityStatus``: Enabled, Warning, Suspended,
    Deleted, LockedOut."""

    id: str = field(metadata=wire("id"))
    account_id: str = field(default=_SEED_TENANT_ID, metadata=wire("accountId"))
    account_name: str = field(default="contoso", metadata=wire("accountName"))
    applies_to: str = field(default="User", metadata=wire("appliesTo"))
    capability_status: str = field(default="Enabled", metadata=wire("capabilityStatus"))
    consumed_units: int = field(default=0, metadata=wire("consumedUnits"))
    prepaid_units: dict[str, int] = field(default_factory=dict, metadata=wire("prepaidUnits"))
    service_plans: list[dict[str, Any]] = field(default_factory=list, metadata=wire("servicePlans"))
    sku_id: str = field(default="", metadata=wire("skuId"))
    sku_part_number: str = field(default="", metadata=wire("skuPartNumber"))
    subscription_ids: list[str] = field(default_factory=list, metadata=wire("subscriptionIds"))


@dataclass(kw_only=True)
class ServicePrincipal:
    """The app's service principal (Graph "servicePrincipal"; the properties the preflight reads, then others)."""

    id: str = field(metadata=wire("id"))
    app_id: str = field(metadata=wire("appId"))
    display_name: str = field(default="", metadata=wire("displayName"))
    account_enabled: bool = field(default=True, metadata=wire("accountEnabled"))
    service_principal_type: str = field(default="Application", metadata=wire("servicePrincipalType"))
    app_owner_organization_id: str = field(default=_SEED_TENANT_ID, metadata=wire("appOwnerOrganizationId"))


@dataclass(kw_only=True)
class RoleAssignment:
    """One directory role assignment (Graph "unifiedRoleAssignment"); ``directoryScopeId`` "/" = tenant-wide."""

    id: str = field(metadata=wire("id"))
    principal_id: str = field(metadata=wire("principalId"))
    role_definition_id: str = field(metadata=wire("roleDefinitionId"))
    directory_scope_id: str = field(default="/", metadata=wire("directoryScopeId"))


def sku_record(part_number: str, *, capability_status: str = "Enabled", plans: tuple[str, ...] | None = None,
               tenant_id: str = _SEED_TENANT_ID) -> SubscribedSku:
    """A subscribed SKU of ``SKUS`` (or a custom one with ``plans``)."""
    sku_id, _display, default_plans = SKUS.get(part_number, (str(uuid.uuid4()), part_number, ()))
    return SubscribedSku(
        id=f"{tenant_id}_{sku_id}", account_id=tenant_id, capability_status=capability_status,
        consumed_units=25, prepaid_units={"enabled": 25, "suspended": 0, "warning": 0, "lockedOut": 0},
        service_plans=[service_plan(p) for p in (plans if plans is not None else default_plans)],
        sku_id=sku_id, sku_part_number=part_number,
        subscription_ids=[str(uuid.uuid5(uuid.NAMESPACE_OID, f"{tenant_id}/{part_number}"))],
    )


class DirectoryBackend:
    """Subscribed SKUs, service principals and directory role assignments of one fake tenant (read-only on the
    wire). ``licences`` picks the seed (``LICENCE_SEEDS``): ``e5`` (Microsoft 365 E5; the emulator app holds Security
    Administrator) or ``e3`` (Microsoft 365 E3: MDE_LITE only, none of the AIR plans; the app holds Security
    Administrator too, so only the licence rows fail). Test helpers: ``add_sku``, ``edit_sku``, ``remove_sku``,
    ``add_service_principal``, ``assign_role``, ``unassign_roles``."""

    def __init__(self, licences: str = "e5", *, lock: threading.RLock | None = None) -> None:
        if licences not in LICENCE_SEEDS:
            raise ValueError(f"unknown licence seed {licences!r}; one of {', '.join(LICENCE_SEEDS)}")
        self.lock = lock or threading.RLock()
        self.licences = licences
        self._skus: list[SubscribedSku] = [sku_record(p) for p in LICENCE_SEEDS[licences]]
        self._principals: list[ServicePrincipal] = [ServicePrincipal(
            id=EMULATOR_SP_ID, app_id=EMULATOR_APP_ID, display_name="defender-air (emulator)")]
        self._assignments: list[RoleAssignment] = [RoleAssignment(
            id="lAPpYvVpN0KRkAEhdxReEIL2vL3f1Q5Hs0MlhPMZfUI-1", principal_id=EMULATOR_SP_ID,
            role_definition_id=SECURITY_ADMINISTRATOR)]

    # -- the service's rules ----------------------------------------------------------------------------------

    def list_skus(self) -> list[SubscribedSku]:
        return list(self._skus)

    def service_principal_by_app_id(self, app_id: str) -> ServicePrincipal:
        """GET /servicePrincipals(appId='{appId}'): 404 Request_ResourceNotFound when no principal has it."""
        wanted = app_id.lower()
        found = next((p for p in self._principals if p.app_id.lower() == wanted), None)
        if found is None:
            raise ResourceNotFound(app_id)
        return found

    def role_assignments(self, principal_id: str | None) -> list[RoleAssignment]:
        if principal_id is None:
            return list(self._assignments)
        wanted = principal_id.lower()
        return [a for a in self._assignments if a.principal_id.lower() == wanted]

    # -- helpers for tests ------------------------------------------------------------------------------------

    def add_sku(self, part_number: str, *, capability_status: str = "Enabled",
                plans: tuple[str, ...] | None = None) -> dict[str, Any]:
        with self.lock:
            sku = sku_record(part_number, capability_status=capability_status, plans=plans)
            self._skus.append(sku)
            return to_wire(sku)

    def edit_sku(self, part_number: str, **fields: Any) -> None:
        with self.lock:
            for sku in self._skus:
                if sku.sku_part_number == part_number:
                    for key, value in fields.items():
                        set_wire(sku, key, copy.deepcopy(value))

    def remove_sku(self, part_number: str) -> None:
        with self.lock:
            self._skus = [s for s in self._skus if s.sku_part_number != part_number]

    def add_service_principal(self, app_id: str, display_name: str = "") -> str:
        with self.lock:
            principal = ServicePrincipal(id=str(uuid.uuid4()), app_id=app_id.lower(), display_name=display_name)
            self._principals.append(principal)
            return principal.id

    def assign_role(self, principal_id: str, role_definition_id: str) -> None:
        with self.lock:
            self._assignments.append(RoleAssignment(id=str(uuid.uuid4()), principal_id=principal_id,
                                                    role_definition_id=role_definition_id))

    def unassign_roles(self, principal_id: str) -> None:
        with self.lock:
            self._assignments = [a for a in self._assignments if a.principal_id.lower() != principal_id.lower()]

    def skus(self) -> list[dict[str, Any]]:
        with self.lock:
            return [to_wire(s) for s in self._skus]

    # -- persistence ------------------------------------------------------------------------------------------

    def to_state(self) -> dict[str, Any]:
        with self.lock:
            return {"subscribedSkus": [to_wire(s) for s in self._skus],
                    "servicePrincipals": [to_wire(p) for p in self._principals],
                    "roleAssignments": [to_wire(a) for a in self._assignments]}

    def load_state(self, state: dict[str, Any]) -> None:
        with self.lock:
            if "subscribedSkus" in state:
                self._skus = [from_wire(SubscribedSku, s) for s in state["subscribedSkus"]]
            if "servicePrincipals" in state:
                self._principals = [from_wire(ServicePrincipal, p) for p in state["servicePrincipals"]]
            if "roleAssignments" in state:
                self._assignments = [from_wire(RoleAssignment, a) for a in state["roleAssignments"]]
