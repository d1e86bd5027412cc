"""The device-group store's reads around writes (issue 11): a write that was waiting for the one writer takes the read
that verified the previous write as its base, so back-to-back creates cost one PUT and about one GET each; a write
that arrives later, or after another read saw the collection change, reads again."""

from __future__ import annotations

import threading
import time
from typing import Any, cast

from defender_air_provider.clients.device_groups.groups import Groups
from defender_air_provider.clients.device_groups.session import MachineGroupsClient
from defender_air_provider.clients.device_groups.store import DeviceGroupStore, Visible


class Collection:
    """Stands in for the portal's machine-group collection: GET returns it, PUT replaces it (the first PUT slowly, so
    that the other writers are waiting for the lock meanwhile)."""

    def __init__(self, first_put_takes: float = 0.0) -> None:
        self.items: list[dict[str, Any]] = []
        self.gets = 0
        self.puts = 0
        self._first_put_takes = first_put_takes
        self._lock = threading.Lock()

    def get_all(self) -> list[dict[str, Any]]:
        with self._lock:
            self.gets += 1
            return [dict(i) for i in self.items]

    def replace(self, items: list[dict[str, Any]], *, idempotent: bool) -> None:
        if self.puts == 0:
            time.sleep(self._first_put_takes)
        with self._lock:
            self.puts += 1
            self.items = [dict(i, MachineGroupId=n + 1) for n, i in enumerate(items)]


def store_of(collection: Collection, clock: Any = time.monotonic) -> DeviceGroupStore:
    return DeviceGroupStore(cast(MachineGroupsClient, collection), clock=clock, sleep=lambda _: None)


def add(name: str) -> Any:
    """A change that appends a group named ``name`` (visible once a read shows that name)."""
    def change(groups: Groups) -> tuple[Groups, Visible]:
        item = {"MachineGroupId": 0, "Name": name}
        return Groups.of([*groups.items, item]), lambda now: any(i.get("Name") == name for i in now.items)
    return change


def test_writers_waiting_for_the_lock_reuse_the_verifying_read() -> None:
    collection = Collection(first_put_takes=0.3)
    store = store_of(collection)
    writers = [threading.Thread(target=store.write, args=(add(f"group {i}"),)) for i in range(5)]
    writers[0].start()
    time.sleep(0.05)  # the first writer holds the lock; the others arrive while it writes
    for writer in writers[1:]:
        writer.start()
    for writer in writers:
        writer.join()
    assert collection.puts == 5 and collection.gets == 6  # N PUTs, N + 1 GETs
    assert sorted(i["Name"] for i in collection.items) == [f"group {i}" for i in range(5)]


def test_a_write_that_arrives_after_the_previous_one_reads_again() -> None:
    collection = Collection()
    store = store_of(collection)
    for i in range(3):
        store.write(add(f"group {i}"))
    assert collection.puts == 3 and collection.gets == 6  # a base read and a verifying read each


def test_a_read_that_sees_another_change_stops_the_reuse() -> None:
    collection = Collection(first_put_takes=0.3)
    store = store_of(collection)
    first = threading.Thread(target=store.write, args=(add("first"),))
    first.start()
    time.sleep(0.05)
    second_done = threading.Event()

    def second() -> None:
        store.write(add("second"))
        second_done.set()

    # Arrives while the first write runs, then someone edits the portal and a refresh reads the edit before the
    # second write gets the lock: the second write must not reuse the first one's view (it would undo the edit).
    original = store._verify  # wrapped: runs between one write's verifying read and the next write

    def verify_then_edit(groups: Groups) -> None:
        original(groups)
        with collection._lock:
            collection.items.append({"MachineGroupId": 99, "Name": "edited in the portal"})
        store.read()

    store._verify = verify_then_edit  # type: ignore[method-assign]
    writer = threading.Thread(target=second)
    writer.start()
    first.join()
    store._verify = original  # type: ignore[method-assign]
    writer.join()
    assert second_done.is_set()
    assert {i["Name"] for i in collection.items} == {"first", "second", "edited in the portal"}


def test_an_old_verifying_read_is_not_reused() -> None:
    now = [1000.0]
    collection = Collection(first_put_takes=0.3)
    store = store_of(collection, clock=lambda: now[0])
    first = threading.Thread(target=store.write, args=(add("first"),))
    first.start()
    time.sleep(0.05)
    original = store._verify  # wrapped: runs between one write's verifying read and the next write

    def verify_then_wait(groups: Groups) -> None:
        original(groups)
        now[0] += 5  # the waiting writer gets the lock only after the view is older than fresh_for

    store._verify = verify_then_wait  # type: ignore[method-assign]
    second = threading.Thread(target=store.write, args=(add("second"),))
    second.start()
    first.join()
    second.join()
    assert collection.puts == 2 and collection.gets == 4
