"""Typed records over the machine-group collection: what a handler reads and changes, without PascalCase keys.

``Groups`` is the collection as read (kept verbatim for writing back); edits return a new collection in which
only the named group changed. ``DesiredGroup`` (``wire.py``) is what a resource asks of one group;
``wire.differences`` is the one test of a group's own settings, and ``Groups.matches`` adds its rank: it decides
whether the collection already shows the change (after a write, to wait for propagation).
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any

from .wire import (
    DesiredGroup,
    MachineGroup,
    apply_settings,
    differences,
    is_new_group,
    new_group_item,
    place,
    rank_of,
    real_groups,
    same_id,
)

Items = list[dict[str, Any]]


@dataclass(frozen=True)
class Groups:
    """The whole collection, as the portal returned it."""

    items: tuple[dict[str, Any], ...]

    @classmethod
    def of(cls, items: Items) -> Groups:
        return cls(tuple(items))

    def to_wire(self) -> Items:
        return list(self.items)

    # ------------------------------------------------------------------ lookups
    def by_id(self, group_id: str | int) -> MachineGroup | None:
        return next((MachineGroup(i) for i in self.items if same_id(i, group_id)), None)

    def by_name(self, name: str) -> MachineGroup | None:
        """Display names are unique in the tenant, compared case-insensitively (as written, spaces included)."""
        return next((g for g in map(MachineGroup, self.items) if not g.is_ungrouped and g.name.lower() == name.lower()
                     ), None)

    def ungrouped(self) -> MachineGroup | None:
        return next((g for g in map(MachineGroup, self.items) if g.is_ungrouped), None)

    def rank_of(self, group: MachineGroup) -> int | None:
        return rank_of(list(self.items), group.id)

    def count(self) -> int:
        """The groups other than "Ungrouped devices"."""
        return len(real_groups(list(self.items)))

    def rank_in_place(self, group: MachineGroup, requested: int | None) -> bool:
        """A rank beyond the number of groups means "last": met when the group is last."""
        return requested is None or self.rank_of(group) == min(requested, self.count())

    # ------------------------------------------------------------------ the one "already as desired" test
    def matches(self, group: MachineGroup | None, desired: DesiredGroup) -> bool:
        if group is None or is_new_group(group.raw):
            return False
        return not differences(group, desired) and self.rank_in_place(group, desired.rank)

    # ------------------------------------------------------------------ edits (a new collection each)
    def with_new_group(self, desired: DesiredGroup) -> Groups:
        """Append a new group (as NMC and XDRI do) at its rank, or last."""
        assert desired.name is not None
        items = copy.deepcopy(list(self.items))
        target = new_group_item(desired.name, 0)
        items.append(target)
        place(items, target, desired.rank)
        apply_settings(target, desired)
        return Groups.of(items)

    def with_settings(self, group: MachineGroup, desired: DesiredGroup) -> Groups:
        """``group`` changed to ``desired``; every other group, and every field not managed, as read."""
        items = copy.deepcopy(list(self.items))
        target = next(i for i in items if same_id(i, group.id))
        # A group already at its rank keeps its Priority as read: re-placing it would renumber sparse Priority values
        # (the portal's are not always 1..n) and turn a no-op into a PUT.
        if desired.rank is not None and not group.is_ungrouped and not self.rank_in_place(group, desired.rank):
            place(items, target, desired.rank)
        apply_settings(target, desired)
        return Groups.of(items)

    def without(self, group_id: str | int) -> Groups:
        return Groups(tuple(i for i in self.items if not same_id(i, group_id)))

