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
