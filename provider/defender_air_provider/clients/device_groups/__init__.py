"""Device groups: the portal session and client, the wire mapping, the one-writer store and typed records.

* ``session.py``: the cookie session and the GET / whole-collection PUT of machine groups;
* ``wire.py``: the one place that translates settings to and from the portal's PascalCase objects;
* ``groups.py``: ``Groups`` (the collection) and ``DesiredGroup``, with the one ``matches`` test;
* ``store.py``: one writer per process, fresh reads, propagation waits.
"""

from .groups import Groups
from .session import SESSION_PROCEDURE, MachineGroupsClient, PortalSession
from .store import DeviceGroupStore
from .wire import DesiredGroup, MachineGroup, Rule, UnmappableLevelError, UserGroup

__all__ = [
    "SESSION_PROCEDURE",
    "DesiredGroup",
    "DeviceGroupStore",
    "Groups",
    "MachineGroup",
    "MachineGroupsClient",
    "PortalSession",
    "Rule",
    "UnmappableLevelError",
    "UserGroup",
]
