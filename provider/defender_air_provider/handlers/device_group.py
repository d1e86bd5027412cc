"""``DeviceGroup`` and ``DefaultDeviceGroup``: Defender for Endpoint device groups and their automation level.

The portal API replaces the whole collection on every write, so every write goes through
``DeviceGroupStore.write``: a fresh read, a change to the managed group only, one PUT, and a wait until the
change is visible. The resource id is the portal's MachineGroupId.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from pulumi.dynamic import CheckFailure, CheckResult, CreateResult, DiffResult, ReadResult, UpdateResult

from ..clients.machine_groups import (
    AUTOMATION_LEVELS,
    MAX_VALUES_PER_PROPERTY,
    OPERATORS,
    PROPERTIES,
    MachineGroup,
    Rule,
    UserGroup,
    apply_settings,
    is_new_group,
    new_group_item,
    place,
    rank_of,
    real_groups,
    rules_key,
)
from ..core.errors import DefenderAirError
from ..core.redaction import get_logger
from . import context
from .base import AirProvider, failures_named
from .values import as_int, fold, is_unknown, str_list

LOG = get_logger()
Items = list[dict[str, Any]]
SEMI_CORE_REFUSAL = (
    "automation_level 'semi_core_folders' (Semi - require approval for core folders) cannot be set yet: no public "
    "source gives the portal's wire value for it, and guessing could set another level. Use 'semi_all_folders' "
    "or 'semi_non_temp_folders', or set it in the Defender portal (docs/device-groups.md)."
)


class DeviceGroupError(DefenderAirError):
    pass


# ---------------------------------------------------------------------------------------------- inputs
@dataclass(frozen=True)
class Spec:
    display_name: str | None
    automation_level: str
    description: str | None
    rules: tuple[Rule, ...]
    rank: int | None
    user_groups: tuple[str, ...]

    @classmethod
    def from_props(cls, props: dict[str, Any]) -> Spec:
        return cls(
            # Kept exactly as written: the portal keeps leading spaces (FIXTURE " sevenkingdoms domain").
            display_name=str(props["display_name"]) if props.get("display_name") is not None else None,
            automation_level=str(props.get("automation_level")),
            description=props.get("description") if isinstance(props.get("description"), str) else None,
            rules=tuple(_rule(r) for r in props.get("rules") or [] if isinstance(r, dict)),
            rank=as_int(props.get("rank")),
            user_groups=tuple(str_list(props.get("user_groups"))),
        )

    @property
    def level_value(self) -> int:
        value = AUTOMATION_LEVELS.get(self.automation_level)
        if value is None:
            raise DeviceGroupError(SEMI_CORE_REFUSAL if self.automation_level == "semi_core_folders"
                                   else f"unknown automation_level {self.automation_level!r}")
        return value


def _rule(raw: dict[str, Any]) -> Rule:
    value = raw.get("value")
    return Rule(str(raw.get("property")), str(raw.get("operator")),
                tuple(str(v) for v in value) if isinstance(value, list) else str(value))


def _check_rules(value: Any) -> list[CheckFailure]:
    if value is None or is_unknown(value):
        return []
    if not isinstance(value, list):
        return [CheckFailure("rules", "rules must be a list of {property, operator, value}.")]
    failures: list[CheckFailure] = []
    counts: dict[str, int] = {}
    for index, rule in enumerate(value):
        where = f"rules[{index}]"
        if is_unknown(rule):
            continue
        if not isinstance(rule, dict):
            failures.append(CheckFailure(where, f"{where} must be a DeviceGroupRuleArgs or a dict."))
            continue
        extra = sorted(set(rule) - {"property", "operator", "value"})
        if extra:
            failures.append(CheckFailure(where, f"{where} has unknown keys {extra}; use property, operator, value."))
        prop, op, val = rule.get("property"), rule.get("operator"), rule.get("value")
        if is_unknown(prop) or is_unknown(op) or is_unknown(val):
            continue
        if prop not in PROPERTIES:
            failures.append(CheckFailure(f"{where}.property", f"{where}.property must be one of "
                                         f"{', '.join(PROPERTIES)}, not {prop!r}."))
            continue
        if op not in OPERATORS:
            failures.append(CheckFailure(f"{where}.operator", f"{where}.operator must be one of "
                                         f"{', '.join(OPERATORS)}, not {op!r}."))
            continue
        if op == "in" and prop != "os":
            failures.append(CheckFailure(f"{where}.operator", f"{where}: operator 'in' is only for property 'os'."))
        elif prop == "os" and op != "in":
            failures.append(CheckFailure(f"{where}.operator", f"{where}: property 'os' takes operator 'in' with a "
                                         "list of OS platform names (the only form the portal is known to use)."))
        if op == "in":
            if not isinstance(val, list) or not val or not all(isinstance(v, str) and v.strip() for v in val):
                failures.append(CheckFailure(f"{where}.value", f"{where}.value must be a non-empty list of OS "
                                             "platform names such as WindowsServer2022."))
            counts["os"] = counts.get("os", 0) + 1
        else:
            if not isinstance(val, str) or not val.strip():
                failures.append(CheckFailure(f"{where}.value", f"{where}.value must be a non-empty string."))
            counts[prop] = counts.get(prop, 0) + 1
    for prop, count in counts.items():
        if prop == "os" and count > 1:
            failures.append(CheckFailure("rules", "rules: put all OS platforms in one 'os' rule (a list value)."))
        elif count > MAX_VALUES_PER_PROPERTY:
            failures.append(CheckFailure("rules", f"rules: {count} values for property '{prop}'; the portal allows "
                                         f"at most {MAX_VALUES_PER_PROPERTY} per property."))
    return failures


def _check_level(value: Any) -> list[CheckFailure]:
    if is_unknown(value):
        return []
    if value == "semi_core_folders":
        return [CheckFailure("automation_level", SEMI_CORE_REFUSAL)]
    if value not in AUTOMATION_LEVELS:
        return [CheckFailure("automation_level", "automation_level must be one of "
                             f"{', '.join(k for k in AUTOMATION_LEVELS if k != 'semi_core_folders')}, not {value!r}.")]
    return []


def _check_user_groups(value: Any) -> list[CheckFailure]:
    if value is None or is_unknown(value):
        return []
    if not isinstance(value, list) or not all(isinstance(v, str) or is_unknown(v) for v in value):
        return [CheckFailure("user_groups", "user_groups must be a list of Entra group object IDs or display names.")]
    failures, seen = [], set()
    for item in value:
        if is_unknown(item):
            continue
        if not item.strip():
            failures.append(CheckFailure("user_groups", "user_groups must not contain empty names."))
        elif item.strip().lower() in seen:
            failures.append(CheckFailure("user_groups", f"user_groups: {item!r} is listed twice."))
        seen.add(item.strip().lower())
    return failures


# ---------------------------------------------------------------------------------------------- collection edits
def _apply(item: dict[str, Any], spec: Spec, user_groups: list[UserGroup] | None) -> None:
    apply_settings(item, name=spec.display_name, description=spec.description, level=spec.level_value,
                   rules=None if MachineGroup(item).is_ungrouped else list(spec.rules), user_groups=user_groups)


def _matches(item: dict[str, Any] | None, spec: Spec, user_groups: list[UserGroup] | None,
             items: Items) -> bool:
    """The visible collection shows ``spec`` on ``item`` (used to wait for propagation)."""
    if item is None or is_new_group(item):
        return False
    group = MachineGroup(item)
    return (
        (spec.display_name is None or group.name.lower() == spec.display_name.lower())
        and item.get("AutoRemediationLevel") == spec.level_value
        and (spec.description is None or group.description == spec.description)
        and (group.is_ungrouped or rules_key(group.rules) == rules_key(spec.rules))
        and (user_groups is None or {g.object_id.lower() for g in group.user_groups}
             == {g.object_id.lower() for g in user_groups})
        and (spec.rank is None or rank_of(items, group.id) == min(spec.rank, len(real_groups(items))))
    )


def _by_id(items: Items, group_id: str) -> dict[str, Any] | None:
    return next((i for i in items if str(i.get("MachineGroupId")) == str(group_id)), None)


def _by_name(items: Items, name: str) -> dict[str, Any] | None:
    """Display names are unique in the tenant, compared case-insensitively (as written, spaces included)."""
    return next((i for i in items if not MachineGroup(i).is_ungrouped
                 and MachineGroup(i).name.lower() == name.lower()), None)


def _ungrouped(items: Items) -> dict[str, Any]:
    found = next((i for i in items if MachineGroup(i).is_ungrouped), None)
    if found is None:
        raise DeviceGroupError("the portal returned no 'Ungrouped devices (default)' group")
    return found


def _resolve(names: tuple[str, ...]) -> list[UserGroup]:
    return context.current().entra_groups.resolve(names) if names else []


def _live_user_groups(props: dict[str, Any], live: list[UserGroup]) -> tuple[list[str], list[str]]:
    """(user_groups, user_group_ids) for a read. Keep the names the user wrote while they still resolve to the live
    assignment; otherwise show the live object IDs (a group recreated under the same name has a new ID), so the
    diff reveals the drift."""
    declared, declared_ids = str_list(props.get("user_groups")), str_list(props.get("user_group_ids"))
    live_ids = [g.object_id for g in live]
    if fold(declared_ids) == fold(live_ids):
        return declared, declared_ids
    return live_ids, live_ids


def _outputs(spec: Spec, props: dict[str, Any], item: dict[str, Any], items: Items,
             resolved: list[UserGroup]) -> dict[str, Any]:
    group = MachineGroup(item)
    out: dict[str, Any] = {
        "automation_level": spec.automation_level,
        "user_groups": list(spec.user_groups),
        "user_group_ids": [g.object_id for g in resolved],
        "group_id": str(group.id),
    }
    if not group.is_ungrouped:
        out.update({
            "display_name": props.get("display_name"),
            "description": spec.description if spec.description is not None else group.description,
            "rules": [r.to_output() for r in spec.rules],
            "rank": rank_of(items, group.id),
            "requested_rank": spec.rank,
            "adopt_existing": bool(props.get("adopt_existing")),
        })
    return out


def _rank_in_place(requested: int | None, actual: int | None, items: Items) -> bool:
    """A rank beyond the number of groups means "last": met when the group is last."""
    return requested is None or actual == min(requested, len(real_groups(items)))


# ---------------------------------------------------------------------------------------------- providers
class DeviceGroupProvider(AirProvider):
    def check(self, _olds: dict[str, Any], news: dict[str, Any]) -> CheckResult:
        failures: list[CheckFailure] = []
        name = news.get("display_name")
        if not is_unknown(name) and (not isinstance(name, str) or not name.strip()):
            failures.append(CheckFailure("display_name", "display_name is required and must not be empty."))
        failures += _check_level(news.get("automation_level"))
        description = news.get("description")
        if description is not None and not is_unknown(description) and not isinstance(description, str):
            failures.append(CheckFailure("description", "description must be a string."))
        failures += _check_rules(news.get("rules"))
        rank = news.get("rank")
        if rank is not None and not is_unknown(rank) and (as_int(rank) is None or as_int(rank) < 1):  # type: ignore[operator]
            failures.append(CheckFailure("rank", f"rank must be a whole number >= 1 (1 is the highest), not {rank!r}."))
        failures += _check_user_groups(news.get("user_groups"))
        inputs = dict(news)
        if as_int(rank) is not None:
            inputs["rank"] = as_int(rank)
        return CheckResult(inputs, failures)

    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        if any(is_unknown(news.get(k)) for k in ("display_name", "automation_level", "description", "rules", "rank",
                                                 "user_groups")):
            return DiffResult(changes=True)
        old, new = Spec.from_props(olds), Spec.from_props(news)
        changed = (
            (old.display_name or "").lower() != (new.display_name or "").lower()
            or old.automation_level != new.automation_level
            or (new.description is not None and old.description != new.description)
            or rules_key(old.rules) != rules_key(new.rules)
            or (new.rank is not None and not (
                as_int(olds.get("rank")) == new.rank
                or (as_int(olds.get("requested_rank")) == new.rank and olds.get("rank_in_place") is not False)))
            or fold(list(old.user_groups)) != fold(list(new.user_groups))
        )
        return DiffResult(changes=changed, replaces=[])

    def create(self, props: dict[str, Any]) -> CreateResult:
        spec = Spec.from_props(props)
        assert spec.display_name is not None
        name = spec.display_name
        with failures_named("DeviceGroup", name, "create"):
            spec.level_value  # noqa: B018 - refuse an unmappable level before any call
            resolved = _resolve(spec.user_groups)

            def change(items: Items) -> tuple[Items, Callable[[Items], bool]]:
                items = copy.deepcopy(items)
                target = _by_name(items, name)
                if target is not None and not props.get("adopt_existing"):
                    raise DeviceGroupError(
                        f"a device group named '{MachineGroup(target).name}' already exists (MachineGroupId "
                        f"{target.get('MachineGroupId')}). Set adopt_existing=True to take it over (it is then "
                        "updated to match this resource), or choose another display_name.")
                if target is None:
                    target = new_group_item(name, 0)
                    items.append(target)  # NMC and XDRI append the new group to the list they read
                    place(items, target, spec.rank)
                elif spec.rank is not None:
                    place(items, target, spec.rank)
                _apply(target, spec, resolved)
                return items, lambda now: _matches(_by_name(now, name), spec, resolved, now)

            items = context.current().device_groups.write(change)
            item = _by_name(items, name)
            assert item is not None
            return CreateResult(str(item["MachineGroupId"]), _outputs(spec, props, item, items, resolved))

    def read(self, id_: str, props: dict[str, Any]) -> ReadResult:
        with failures_named("DeviceGroup", props.get("display_name") or id_, "read"):
            store = context.current().device_groups
            items = store.read()
            if _by_id(items, id_) is None:
                items = store.fresh()  # confirm with an uncached read before telling the engine it is gone
        item = _by_id(items, id_)
        if item is None:
            return ReadResult(None, {})
        group = MachineGroup(item)
        user_groups, user_group_ids = _live_user_groups(props, group.user_groups)
        actual_rank = rank_of(items, group.id)
        requested = as_int(props.get("requested_rank"))
        live = {
            "display_name": group.name,
            "automation_level": group.automation_level,
            "description": group.description,
            "rules": [r.to_output() for r in group.rules],
            "user_groups": user_groups,
            "adopt_existing": bool(props.get("adopt_existing")),
        }
        outputs = {
            **live,
            "rank": actual_rank,
            "requested_rank": requested,
            "rank_in_place": _rank_in_place(requested, actual_rank, items),
            "group_id": str(group.id),
            "user_group_ids": user_group_ids,
        }
        # ``rank`` stays out of the refreshed inputs: unset means "keep whatever rank it has".
        return ReadResult(id_, outputs, {**live, **({"rank": requested} if requested is not None else {})})

    def update(self, id_: str, olds: dict[str, Any], news: dict[str, Any]) -> UpdateResult:
        spec = Spec.from_props(news)
        name = spec.display_name or str(olds.get("display_name"))
        with failures_named("DeviceGroup", name, "update"):
            spec.level_value  # noqa: B018
            old = Spec.from_props(olds)
            same_groups = fold(list(old.user_groups)) == fold(list(spec.user_groups))
            resolved = ([UserGroup(i, "") for i in str_list(olds.get("user_group_ids"))] if same_groups
                        else _resolve(spec.user_groups))

            def change(items: Items) -> tuple[Items, Callable[[Items], bool]]:
                items = copy.deepcopy(items)
                target = _by_id(items, id_)
                if target is None:
                    raise DeviceGroupError(f"device group {id_} no longer exists in the portal; run `pulumi refresh`.")
                clash = _by_name(items, name)
                if clash is not None and clash is not target:
                    raise DeviceGroupError(f"cannot rename to '{name}': another device group (MachineGroupId "
                                           f"{clash.get('MachineGroupId')}) has that name.")
                if spec.rank is not None:
                    place(items, target, spec.rank)
                _apply(target, spec, None if same_groups else resolved)
                return items, lambda now: _matches(_by_id(now, id_), spec, None if same_groups else resolved, now)

            items = context.current().device_groups.write(change)
            item = _by_id(items, id_)
            assert item is not None
            return UpdateResult(_outputs(spec, news, item, items, resolved))

    def delete(self, id_: str, props: dict[str, Any]) -> None:
        with failures_named("DeviceGroup", props.get("display_name") or id_, "delete"):
            store = context.current().device_groups

            def change(items: Items) -> tuple[Items, Callable[[Items], bool]]:
                if _by_id(items, id_) is None:
                    return items, lambda now: True
                kept = [i for i in items if str(i.get("MachineGroupId")) != str(id_)]
                return kept, lambda now: _by_id(now, id_) is None

            LOG.warning("Deleting device group '%s': the portal also deletes email notification rules that were "
                        "scoped only to this group.", props.get("display_name") or id_)
            store.write(change)


class DefaultDeviceGroupProvider(AirProvider):
    """The built-in "Ungrouped devices (default)" group: always exists; create adopts, delete stops managing."""

    def check(self, _olds: dict[str, Any], news: dict[str, Any]) -> CheckResult:
        failures = _check_level(news.get("automation_level")) + _check_user_groups(news.get("user_groups"))
        return CheckResult(dict(news), failures)

    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        if is_unknown(news.get("automation_level")) or is_unknown(news.get("user_groups")):
            return DiffResult(changes=True)
        changed = (olds.get("automation_level") != news.get("automation_level")
                   or fold(str_list(olds.get("user_groups"))) != fold(str_list(news.get("user_groups"))))
        return DiffResult(changes=changed, replaces=[])

    def _converge(self, props: dict[str, Any], known_ids: list[str] | None) -> tuple[str, dict[str, Any]]:
        spec = Spec(None, str(props.get("automation_level")), None, (), None,
                    tuple(str_list(props.get("user_groups"))))
        spec.level_value  # noqa: B018
        resolved = [UserGroup(i, "") for i in known_ids] if known_ids is not None else _resolve(spec.user_groups)

        def change(items: Items) -> tuple[Items, Callable[[Items], bool]]:
            items = copy.deepcopy(items)
            target = _ungrouped(items)
            _apply(target, spec, None if known_ids is not None else resolved)
            return items, lambda now: _matches(_ungrouped(now), spec, None if known_ids is not None else resolved, now)

        items = context.current().device_groups.write(change)
        item = _ungrouped(items)
        return str(item["MachineGroupId"]), _outputs(spec, props, item, items, resolved)

    def create(self, props: dict[str, Any]) -> CreateResult:
        with failures_named("DefaultDeviceGroup", "Ungrouped devices (default)", "create"):
            group_id, outputs = self._converge(props, None)
            return CreateResult(group_id, outputs)

    def read(self, id_: str, props: dict[str, Any]) -> ReadResult:
        with failures_named("DefaultDeviceGroup", "Ungrouped devices (default)", "read"):
            item = _ungrouped(context.current().device_groups.read())
        group = MachineGroup(item)
        user_groups, ids = _live_user_groups(props, group.user_groups)
        live = {"automation_level": group.automation_level, "user_groups": user_groups}
        return ReadResult(str(group.id), {**live, "group_id": str(group.id), "user_group_ids": ids}, live)

    def update(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> UpdateResult:
        with failures_named("DefaultDeviceGroup", "Ungrouped devices (default)", "update"):
            same = fold(str_list(olds.get("user_groups"))) == fold(str_list(news.get("user_groups")))
            _, outputs = self._converge(news, str_list(olds.get("user_group_ids")) if same else None)
            return UpdateResult(outputs)

    def delete(self, _id: str, _props: dict[str, Any]) -> None:
        LOG.info("'Ungrouped devices (default)' is no longer managed; it keeps its settings")
