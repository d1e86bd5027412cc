"""The Defender portal backend: the tenant's device groups (machine groups) and the rules of a collection PUT, its
advanced features and its tenant context (records and rules in ``settings.py``).

Written from ``docs/wire/defender-portal.md`` (§2-§4, §6, §7)
only, never from our client, so a misunderstanding in the client cannot be mirrored here. Everything those notes
mark as inference, and everything they say nothing about that the fake had to choose, is tagged ``[inference]``.

The API (docs/wire/defender-portal.md §2): a GET returns every group; a PUT of a JSON array of ALL groups replaces the
whole collection (create = an item with ``MachineGroupId: -1``; delete = the group left out [inference,
docs/wire/defender-portal.md §2.6]). State is one typed record per group (``MachineGroup``); ``replace_groups`` checks a
PUT body against the service's rules and
raises the typed errors of ``exceptions.py``. The advanced-features settings object and the tenant context
(docs/wire/defender-portal.md §6, §7) are ``settings.py``'s records; the propagation delay shared by the writes is
``propagation.py``. The session is ``session.py``, the wire ``responses.py``.
"""

from __future__ import annotations

import copy
import enum
import json
import re
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from importlib import resources
from typing import Any, Literal

from .exceptions import (
    DuplicateGroupId,
    DuplicateGroupName,
    DuplicateRank,
    GroupNeedsName,
    GroupNotFound,
    InvalidItemField,
    ItemNotAnObject,
    MalformedRule,
    OnlyOneUngrouped,
    RulesNotAList,
    TooManyNewGroups,
    TooManyRows,
    UngroupedHasNoRules,
    UngroupedNameFixed,
    UngroupedNotDeletable,
    UngroupedRankFixed,
)
from .propagation import StaleReads
from .settings import AdvancedFeatures, TenantContext, load_advanced_features_seed, load_tenant_context_seed

# docs/wire/defender-portal.md §3.6: the ungrouped group's Priority is Int32.MaxValue; its rank can't change (DOC-MG).
UNGROUPED_PRIORITY = 2147483647
NEW_GROUP_ID = -1  # docs/wire/defender-portal.md §2.5: "A new group has MachineGroupId: -1"
# docs/wire/defender-portal.md §3.2, DOC-MG: "You can add up to 10 rows (values) for each property type - tag, device
# name, domain."
MAX_ROWS_PER_PROPERTY = 10
# GroupRules[].Property (M2GSA map, docs/wire/defender-portal.md §3.3): 0 MachineName, 1 Domain, 2 Tag, 3 OS, 4 Other.
# The 10-row limit applies to the first three only (DOC-MG names them); OS is one row holding a JSON list.
ROW_LIMITED_PROPERTIES: dict[int, str] = {0: "device name", 1: "domain", 2: "tag"}

# Keys in the order of the FIXTURE capture (docs/wire/defender-portal.md §2.3); MachineGroupAssignments after them
# (M2GSA spec, NMC's create body).
GROUP_KEYS: tuple[str, ...] = (
    "MachineGroupId", "Name", "Description", "AutoRemediationLevel", "Priority", "LastUpdated",
    "IsUnassignedMachineGroup", "MachineCount", "GroupRules", "MachineGroupAssignments",
)
RULE_KEYS: tuple[str, ...] = ("OperatorType", "Property", "PropertyValue")
# Keys the server owns: what a PUT sends for them is ignored. [inference] LastUpdated (NMC sends a made-up
# "2024-11-01T00:00:00.000Z" for a new group) and MachineCount (a count of devices, not a setting).
SERVER_KEYS = ("LastUpdated", "MachineCount")

_GUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")


def wire_time(moment: datetime) -> str:
    """LastUpdated as the FIXTURE shows it: UTC, 7 fraction digits, ``Z``."""
    moment = moment.astimezone(timezone.utc)
    return f"{moment:%Y-%m-%dT%H:%M:%S}.{moment.microsecond:06d}0Z"


def _utc_now() -> datetime:
    return datetime.now(timezone.utc)


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


# ---------------------------------------------------------------------------------------------------------------
# The record
# ---------------------------------------------------------------------------------------------------------------

class Absent(enum.Enum):
    """A property the stored group does not have at all. The portal keeps what a PUT sends, so "no key" and JSON
    null differ on the wire: the ungrouped group has no GroupRules (FIXTURE), NMC's groups may lack
    MachineGroupAssignments, and a PUT may send either as null."""

    KEY = "absent"


ABSENT: Literal[Absent.KEY] = Absent.KEY


def _canonical_rows(rows: Any) -> Any:
    """GroupRules rows with OperatorType, Property, PropertyValue first, then any other key as it came. The rows'
    enums are opaque (docs/wire/defender-portal.md §3.1, §3.4), so the rows are kept as sent."""
    if not isinstance(rows, list):
        return copy.deepcopy(rows)
    return [
        {**{k: copy.deepcopy(row[k]) for k in RULE_KEYS if k in row},
         **{k: copy.deepcopy(v) for k, v in row.items() if k not in RULE_KEYS}}
        if isinstance(row, dict) else copy.deepcopy(row)
        for row in rows
    ]


@dataclass(kw_only=True)
class MachineGroup:
    """One device group as the portal stores it: the properties of the FIXTURE capture (docs/wire/defender-portal.md
    §2.3) in its order, then
    MachineGroupAssignments (M2GSA spec), then any property no source shows, verbatim in the order it came."""

    machine_group_id: int  # MachineGroupId
    name: str  # Name (leading spaces count: the FIXTURE keeps one)
    description: str | Literal[Absent.KEY] | None = ABSENT  # Description
    auto_remediation_level: int  # AutoRemediationLevel (opaque int, docs/wire/defender-portal.md §3.1)
    priority: int  # Priority: the rank; UNGROUPED_PRIORITY on the ungrouped group
    last_updated: str  # LastUpdated (server-owned)
    is_unassigned: bool  # IsUnassignedMachineGroup: the "Ungrouped devices (default)" group
    machine_count: int  # MachineCount (server-owned): the true count of devices
    rules: list[Any] | Literal[Absent.KEY] | None = ABSENT  # GroupRules rows, as sent (see _canonical_rows)
    assignments: list[Any] | Literal[Absent.KEY] | None = ABSENT  # MachineGroupAssignments (Entra user groups)
    other: dict[str, Any] = field(default_factory=dict)

    def to_wire(self) -> dict[str, Any]:
        values: dict[str, Any] = {
            "MachineGroupId": self.machine_group_id, "Name": self.name, "Description": self.description,
            "AutoRemediationLevel": self.auto_remediation_level, "Priority": self.priority,
            "LastUpdated": self.last_updated, "IsUnassignedMachineGroup": self.is_unassigned,
            "MachineCount": self.machine_count, "GroupRules": self.rules, "MachineGroupAssignments": self.assignments,
        }
        wire = {key: copy.deepcopy(value) for key, value in values.items() if value is not ABSENT}
        wire.update(copy.deepcopy(self.other))
        return wire

    @classmethod
    def from_wire(cls, data: Mapping[str, Any]) -> MachineGroup:
        return cls(
            machine_group_id=data["MachineGroupId"],
            name=data["Name"],
            description=copy.deepcopy(data.get("Description", ABSENT)),
            auto_remediation_level=data["AutoRemediationLevel"],
            priority=data["Priority"],
            last_updated=data["LastUpdated"],
            is_unassigned=data["IsUnassignedMachineGroup"],
            machine_count=data["MachineCount"],
            rules=_canonical_rows(data["GroupRules"]) if "GroupRules" in data else ABSENT,
            assignments=copy.deepcopy(data.get("MachineGroupAssignments", ABSENT)),
            other={k: copy.deepcopy(v) for k, v in data.items() if k not in GROUP_KEYS},
        )

    def settings(self) -> dict[str, Any]:
        """The group without the server-owned properties: what a PUT can change."""
        return {k: v for k, v in self.to_wire().items() if k not in SERVER_KEYS}


# ---------------------------------------------------------------------------------------------------------------
# Seed
# ---------------------------------------------------------------------------------------------------------------

def load_seed() -> list[dict[str, Any]]:
    """The seeded collection (``seed_groups.json``), ungrouped last, with true device counts.

    ``fixture``: the FIXTURE capture of docs/wire/defender-portal.md §2, verbatim (key order, the leading space of
    " sevenkingdoms domain", the placeholder rows, the ungrouped group without GroupRules).
    ``made_up``: two more groups in the same shape (not captured):
    - "Tier0 servers": user access through Entra groups (MachineGroupAssignments, M2GSA spec; the ids are the graph
      fake's seed groups), a tag rule (OperatorType 2 with Property 2, as in NMC's body) and an OS rule
      (OperatorType 4, Property 3, JSON-in-string list);
    - "Workstations": an OS-only rule, plus two keys no source shows, so a client that drops what it does not model
      is caught: "OldMachineGroupId" (NMC sends it on create) and "DeviceValueScope" (made up: a future field).
    ``machine_counts``: the devices each group holds, reported only when the GET asks for counts. [inference] the
    FIXTURE (asked with addMachineGroupCount=false) shows 0 everywhere, read here as "not counted", not "empty".
    """
    text = resources.files(__name__.rpartition(".")[0]).joinpath("seed_groups.json").read_text(encoding="utf-8")
    seed = json.loads(text)
    fixture, made_up = seed["fixture"], seed["made_up"]
    groups: list[dict[str, Any]] = [*fixture[:-1], *made_up, fixture[-1]]
    for group in groups:
        group["MachineCount"] = seed["machine_counts"].get(str(group["MachineGroupId"]), 0)
    return groups


# ---------------------------------------------------------------------------------------------------------------
# The backend
# ---------------------------------------------------------------------------------------------------------------

class PortalBackend:
    """The Defender portal's device groups, advanced features and tenant context for one fake tenant.

    Plain attributes (set them in tests):

    - ``propagation_reads``: after a PUT of the device groups, that many following GETs still return the collection
      as it was before it (docs/wire/defender-portal.md §2.7: DOC-MG "may take up to several minutes"; NMC sleeps
      15 s after each write). Default 0.
    - ``advanced_features_propagation_reads``: the same for the advanced-features settings object after a save
      (docs/wire/defender-portal.md §6.2: NMC sleeps 15 s, re-reads and POSTs once more when the read differs).
      Default 0. [inference] the mechanism (``propagation.py``); each resource counts its own reads.
    - ``clock`` (LastUpdated).

    Every method runs under ``lock``.
    """

    def __init__(self, *, propagation_reads: int = 0, advanced_features_propagation_reads: int = 0,
                 clock: Callable[[], datetime] | None = None) -> None:
        self.lock = threading.RLock()
        self.clock: Callable[[], datetime] = clock or _utc_now
        self.propagation_reads = propagation_reads
        self.advanced_features_propagation_reads = advanced_features_propagation_reads
        self._groups: list[MachineGroup] = [MachineGroup.from_wire(g) for g in load_seed()]
        self._next_id = max(g.machine_group_id for g in self._groups) + 1
        self._groups_stale: StaleReads[list[MachineGroup]] = StaleReads()
        self._advanced_features = AdvancedFeatures(load_advanced_features_seed())
        self._advanced_features_stale: StaleReads[AdvancedFeatures] = StaleReads()
        self._tenant_context = TenantContext(load_tenant_context_seed())

    # -- the service ------------------------------------------------------------------------------------------

    def read_groups(self) -> list[MachineGroup]:
        """What a GET sees: the collection, or the one before the last PUT while that one still propagates."""
        return self._groups_stale.read(self._groups)

    def replace_groups(self, body: list[Any]) -> list[MachineGroup]:
        """A PUT of every group (docs/wire/defender-portal.md §2.4): checked as a whole, then applied; nothing is
        applied when it is refused."""
        replacement = self._validate(body)
        previous = copy.deepcopy(self._groups)
        self._groups = replacement
        self._sort()
        self._groups_stale.written(previous, self.propagation_reads)
        return self._groups

    def read_advanced_features(self) -> AdvancedFeatures:
        """What ``GetAdvancedFeaturesSetting`` sees (docs/wire/defender-portal.md §6.2): the settings object, or the one
        before the last save while that one still propagates."""
        return self._advanced_features_stale.read(self._advanced_features)

    def save_advanced_features(self, body: Any) -> AdvancedFeatures:
        """``SaveAdvancedFeaturesSetting`` with the whole settings object (docs/wire/defender-portal.md §6.2): checked,
        then stored as sent (the rules: ``AdvancedFeatures.from_body``); nothing is stored when it is refused."""
        saved = AdvancedFeatures.from_body(body)
        previous = self._advanced_features
        self._advanced_features = saved
        self._advanced_features_stale.written(previous, self.advanced_features_propagation_reads)
        return saved

    def read_tenant_context(self) -> TenantContext:
        """What ``TenantContext?realTime=true`` returns (docs/wire/defender-portal.md §7)."""
        return self._tenant_context

    def _validate(self, body: list[Any]) -> list[MachineGroup]:
        """Check the whole array and build the new collection (nothing applied when a check fails)."""
        stored = {g.machine_group_id: g for g in self._groups if _is_int(g.machine_group_id)}
        ungrouped_stored = next((g for g in self._groups if g.is_unassigned is True), None)
        seen_ids: set[int] = set()
        new_count = 0
        unassigned: list[dict[str, Any]] = []
        real: list[dict[str, Any]] = []
        for index, item in enumerate(body):
            if not isinstance(item, dict):
                raise ItemNotAnObject(index)
            _check_fields(index, item)
            group_id = item["MachineGroupId"]
            if group_id == NEW_GROUP_ID:
                new_count += 1
            elif group_id not in stored:
                raise GroupNotFound(group_id)
            elif group_id in seen_ids:
                raise DuplicateGroupId(group_id)
            else:
                seen_ids.add(group_id)
            (unassigned if item["IsUnassignedMachineGroup"] else real).append(item)

        _check_ungrouped(unassigned, ungrouped_stored)
        _check_real_groups(real)
        if new_count > 1:
            raise TooManyNewGroups()

        now = wire_time(self.clock())
        replacement: list[MachineGroup] = []
        for item in body:
            group = dict(item)
            if group.get("IsUnassignedMachineGroup") and "GroupRules" in group and group["GroupRules"] is None:
                del group["GroupRules"]  # a null GroupRules on the ungrouped group is "no rules"
            old = stored.get(group["MachineGroupId"])
            if old is None:
                group["MachineGroupId"] = self._next_id
                self._next_id += 1
            group.setdefault("Description", "")  # [inference] an omitted description is an empty one
            group["MachineCount"] = old.machine_count if old is not None else 0
            group["LastUpdated"] = ""
            candidate = MachineGroup.from_wire(group)
            # "LastUpdated refreshed on changed groups"; an unchanged group keeps its stamp. [inference]
            unchanged = old is not None and candidate.settings() == old.settings()
            candidate.last_updated = old.last_updated if old is not None and unchanged else now
            replacement.append(candidate)
        return replacement

    def _sort(self) -> None:
        # [inference] the server returns groups ordered by Priority: the FIXTURE is in Priority order, and NMC
        # appends its new group AFTER the ungrouped one yet later reads Priority[-2] as the last real rank.
        self._groups.sort(key=lambda g: g.priority if _is_int(g.priority) else UNGROUPED_PRIORITY)

    # -- helpers for tests (out-of-band views and edits) ------------------------------------------------------

    def groups(self) -> list[dict[str, Any]]:
        """Deep copies of the stored groups in order (true MachineCount values, the current, not stale, state)."""
        with self.lock:
            return [g.to_wire() for g in self._groups]

    def group(self, name_or_id: str | int) -> dict[str, Any] | None:
        """A copy of the group with this MachineGroupId or exact Name (case-insensitive; spaces count)."""
        with self.lock:
            found = self._lookup(name_or_id)
            return found.to_wire() if found is not None else None

    def edit_group(self, name_or_id: str | int, **fields: Any) -> dict[str, Any]:
        """Change a group out of band (an admin in the portal), without validation; returns the new copy.

        Any key may be set, also ones no source shows (to seed fields a client does not model). LastUpdated is
        stamped unless given.
        """
        with self.lock:
            found = self._lookup(name_or_id)
            if found is None:
                raise KeyError(f"no device group {name_or_id!r}")
            wire = found.to_wire()
            wire.update(copy.deepcopy(fields))
            if "LastUpdated" not in fields:
                wire["LastUpdated"] = wire_time(self.clock())
            self._groups[self._groups.index(found)] = edited = MachineGroup.from_wire(wire)
            self._sort()
            return edited.to_wire()

    def add_group(self, **fields: Any) -> dict[str, Any]:
        """Create a group directly (no validation, no propagation delay), e.g. many for a benchmark.

        ``Name`` is required. Defaults: a fresh MachineGroupId, the next free rank above the ungrouped group,
        AutoRemediationLevel 3, the five placeholder rule rows. Returns the stored copy.
        """
        name = fields.get("Name")
        if not isinstance(name, str) or not name:
            raise ValueError("Name is required")
        with self.lock:
            ranks = [g.priority for g in self._groups if not g.is_unassigned]
            group: dict[str, Any] = {
                "MachineGroupId": self._next_id, "Name": name, "Description": "", "AutoRemediationLevel": 3,
                "Priority": max(ranks, default=0) + 1, "LastUpdated": wire_time(self.clock()),
                "IsUnassignedMachineGroup": False, "MachineCount": 0,
                "GroupRules": [{"OperatorType": 0, "Property": p, "PropertyValue": ""} for p in range(5)],
            }
            group.update(copy.deepcopy(fields))
            if self._lookup_exact(group["MachineGroupId"]) is not None:
                raise ValueError(f"MachineGroupId {group['MachineGroupId']} is taken")
            self._next_id = max(self._next_id, int(group["MachineGroupId"]) + 1)
            stored = MachineGroup.from_wire(group)
            self._groups.append(stored)
            self._sort()
            return stored.to_wire()

    def remove_group(self, name_or_id: str | int) -> bool:
        """Delete a group out of band (also the ungrouped one, which the API itself refuses)."""
        with self.lock:
            found = self._lookup(name_or_id)
            if found is None:
                return False
            self._groups.remove(found)
            return True

    def advanced_features(self) -> dict[str, Any]:
        """A copy of the stored advanced-features settings object (the current, not stale, state)."""
        with self.lock:
            return self._advanced_features.to_wire()

    def edit_advanced_features(self, **keys: Any) -> dict[str, Any]:
        """Change settings out of band (an admin toggling them in the portal), without validation and without a
        propagation delay; a known key keeps its place, a new one goes last. Returns the new copy.

        E.g. ``edit_advanced_features(AutoResolveInvestigatedAlerts=False, MagellanOptOut=True)``.
        """
        with self.lock:
            self._advanced_features = AdvancedFeatures({**self._advanced_features.settings, **keys})
            return self._advanced_features.to_wire()

    def set_advanced_features(self, settings: Mapping[str, Any]) -> dict[str, Any]:
        """Replace the whole settings object out of band, e.g. a tenant with another key set (the key set varies by
        tenant and over time: docs/wire/defender-portal.md §6.3). Returns the new copy."""
        with self.lock:
            self._advanced_features = AdvancedFeatures(dict(settings))
            return self._advanced_features.to_wire()

    def tenant_context(self) -> dict[str, Any]:
        """A deep copy of the tenant context."""
        with self.lock:
            return self._tenant_context.to_wire()

    def edit_tenant_context(self, **keys: Any) -> dict[str, Any]:
        """Change top-level keys of the tenant context (no validation; a new key goes last). Returns the new copy.

        E.g. a tenant with Defender for Endpoint P1 and no Defender for Office 365:
        ``edit_tenant_context(MdeFlavor="P1", IsOatpActive=False)``.
        """
        with self.lock:
            self._tenant_context.edit(keys)
            return self._tenant_context.to_wire()

    def _lookup_exact(self, group_id: int) -> MachineGroup | None:
        return next((g for g in self._groups if g.machine_group_id == group_id), None)

    def _lookup(self, name_or_id: str | int) -> MachineGroup | None:
        if _is_int(name_or_id):
            return self._lookup_exact(int(name_or_id))
        wanted = str(name_or_id).casefold()
        by_name = next((g for g in self._groups if str(g.name).casefold() == wanted), None)
        if by_name is None and str(name_or_id).lstrip("-").isdigit():
            return self._lookup_exact(int(str(name_or_id)))
        return by_name

    # -- persistence ------------------------------------------------------------------------------------------

    def to_state(self) -> dict[str, Any]:
        """The tenant's device groups, advanced features and tenant context, with the writes still propagating (not
        the session: a restarted emulator starts a fresh one)."""
        with self.lock:
            stale_groups = self._groups_stale.before
            stale_features = self._advanced_features_stale.before
            return {
                "groups": [g.to_wire() for g in self._groups],
                "next_id": self._next_id,
                "stale": [g.to_wire() for g in stale_groups] if stale_groups is not None else None,
                "stale_reads": self._groups_stale.reads,
                "advanced_features": {
                    "settings": self._advanced_features.to_wire(),
                    "stale": stale_features.to_wire() if stale_features is not None else None,
                    "stale_reads": self._advanced_features_stale.reads,
                },
                "tenant_context": self._tenant_context.to_wire(),
            }

    def load_state(self, state: dict[str, Any]) -> None:
        """Load ``to_state``'s JSON; a state file written before the advanced features and the tenant context existed
        loads with their seeds."""
        with self.lock:
            self._groups = [MachineGroup.from_wire(g) for g in state.get("groups", [])]
            self._sort()
            ids = [g.machine_group_id for g in self._groups if _is_int(g.machine_group_id)]
            self._next_id = int(state.get("next_id", max(ids, default=0) + 1))
            stale = state.get("stale")
            self._groups_stale.restore([MachineGroup.from_wire(g) for g in stale] if stale is not None else None,
                                       int(state.get("stale_reads", 0)))
            features = state.get("advanced_features")
            if features is None:
                self._advanced_features = AdvancedFeatures(load_advanced_features_seed())
                self._advanced_features_stale.restore(None, 0)
            else:
                self._advanced_features = AdvancedFeatures(dict(features["settings"]))
                stale_features = features.get("stale")
                self._advanced_features_stale.restore(
                    AdvancedFeatures(dict(stale_features)) if stale_features is not None else None,
                    int(features.get("stale_reads", 0)))
            context = state.get("tenant_context")
            self._tenant_context = TenantContext(copy.deepcopy(context) if context is not None
                                                 else load_tenant_context_seed())


# ---------------------------------------------------------------------------------------------------------------
# The rules of a PUT
# ---------------------------------------------------------------------------------------------------------------

def _check_fields(index: int, item: dict[str, Any]) -> None:
    # [inference] the types a C# model would bind: ints for the ids, ranks and the opaque enums
    # (docs/wire/defender-portal.md §3.1/§3.4: any int is accepted for AutoRemediationLevel, OperatorType and Property),
    # strings for texts, PascalCase keys.
    for key in ("MachineGroupId", "AutoRemediationLevel", "Priority"):
        if not _is_int(item.get(key)):
            raise InvalidItemField(index, f"{key} is required and must be an integer.")
    if not isinstance(item.get("Name"), str):
        raise InvalidItemField(index, "Name is required and must be a string.")
    if not isinstance(item.get("IsUnassignedMachineGroup"), bool):
        raise InvalidItemField(index, "IsUnassignedMachineGroup is required and must be true or false.")
    if item.get("Description") is not None and not isinstance(item["Description"], str):
        raise InvalidItemField(index, "Description must be a string.")
    assignments = item.get("MachineGroupAssignments")
    if assignments is not None:
        if not isinstance(assignments, list):
            raise InvalidItemField(index, "MachineGroupAssignments must be a list.")
        for assignment in assignments:
            aad = assignment.get("WcdAadGroup") if isinstance(assignment, dict) else None
            object_id = aad.get("ObjectId") if isinstance(aad, dict) else None
            # M2GSA spec: WcdAadGroup.ObjectId is a GUID. [inference] the server checks its form; whether it
            # checks that the Entra group exists and holds an RBAC role (DOC-MG) is not modelled.
            if not isinstance(object_id, str) or not _GUID.match(object_id):
                raise InvalidItemField(index, "each MachineGroupAssignments entry needs WcdAadGroup.ObjectId, an "
                                              "Entra group object id.")


def _check_ungrouped(unassigned: list[dict[str, Any]], stored: MachineGroup | None) -> None:
    # DOC-MG: "You cannot change the rank of this group or delete it. However, you can change the remediation
    # level of this group, and define the Microsoft Entra user groups that can access this group."
    if stored is None:
        return  # an out-of-band removal in a test; nothing to protect
    if not unassigned or all(g["MachineGroupId"] != stored.machine_group_id for g in unassigned):
        raise UngroupedNotDeletable()
    if len(unassigned) > 1:
        raise OnlyOneUngrouped()
    group = unassigned[0]
    if group["Priority"] != UNGROUPED_PRIORITY:
        raise UngroupedRankFixed()
    if group.get("GroupRules") is not None:
        raise UngroupedHasNoRules()
    stored_description = None if stored.description is ABSENT else stored.description
    if group["Name"] != stored.name or (group.get("Description") or "") != (stored_description or ""):
        raise UngroupedNameFixed()


def _check_real_groups(real: list[dict[str, Any]]) -> None:
    ranks: dict[int, str] = {}
    names: dict[str, str] = {}
    for group in real:
        name = group["Name"]
        if not name.strip():
            raise GroupNeedsName()
        if name.casefold() in names:
            raise DuplicateGroupName(name)
        names[name.casefold()] = name
        rank = group["Priority"]
        if rank == UNGROUPED_PRIORITY or rank in ranks:
            raise DuplicateRank(ranks.get(rank, "Ungrouped devices (default)"), name, rank)
        ranks[rank] = name
        rules = group.get("GroupRules")
        if not isinstance(rules, list):
            raise RulesNotAList(name)
        per_property: dict[int, int] = {}
        for row in rules:
            if not (isinstance(row, dict) and _is_int(row.get("OperatorType")) and _is_int(row.get("Property"))
                    and isinstance(row.get("PropertyValue"), str)):
                raise MalformedRule(name)
            if row["PropertyValue"] != "":
                per_property[row["Property"]] = per_property.get(row["Property"], 0) + 1
        for prop, count in per_property.items():
            if prop in ROW_LIMITED_PROPERTIES and count > MAX_ROWS_PER_PROPERTY:
                raise TooManyRows(name, count, ROW_LIMITED_PROPERTIES[prop], MAX_ROWS_PER_PROPERTY)
