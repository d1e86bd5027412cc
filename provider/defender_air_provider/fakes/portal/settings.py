"""The Defender portal's tenant settings: advanced features (docs/wire/defender-portal.md §6) and the tenant context
(docs/wire/defender-portal.md §7), as records, with the rules of a save and their seeds.

Written from the wire notes only, never from our client. Everything the notes mark as inference, and everything they
say nothing about that the fake had to choose, is tagged ``[inference]``.

- ``AdvancedFeatures``: the settings object a GET returns and a POST replaces whole (docs/wire/defender-portal.md §6.2):
  a flat bag of PascalCase keys and JSON scalars, kept in the order it was stored. The key set varies by tenant and
  over time (§6.3: NMC's body has 34 keys, four not in the 32-key capture), so the fake knows no key: it keeps every key
  it is sent, also ones it has never seen, and gives each back on the next GET.
- ``TenantContext``: what ``GET .../TenantContext?realTime=true`` returns (§7). Read-only: no source writes it.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import resources
from typing import Any, TypeAlias

from .exceptions import BodyNotAnObject, SettingNotAScalar

# A value of the flat settings object (docs/wire/defender-portal.md §6.3: booleans, and null for
# MobileDeactivationPeriodInDays; numbers and strings [inference] allowed, as a tenant may carry such keys).
JsonScalar: TypeAlias = bool | int | float | str | None


def _seed(name: str) -> dict[str, Any]:
    text = resources.files(__name__.rpartition(".")[0]).joinpath(name).read_text(encoding="utf-8")
    seed: dict[str, Any] = json.loads(text)
    return seed


def load_advanced_features_seed() -> dict[str, Any]:
    """The seeded settings object (``seed_advanced_features.json``, ``captured``): the live GET of
    docs/wire/defender-portal.md §6.3 (XLR-ADV), verbatim: its 32 keys, their values and their order."""
    captured: dict[str, Any] = _seed("seed_advanced_features.json")["captured"]
    return captured


def load_tenant_context_seed() -> dict[str, Any]:
    """The seeded tenant context (``seed_tenant_context.json``): the live GET that docs/wire/defender-portal.md §7
    summarises (XLR-TC), with every top-level key in its order and value, except:

    - ``Features`` (about 5,900 feature flags) and ``ServiceUrls`` (160 service URLs) keep only a few of the captured
      entries (AutoInvestigationEnabled and the machine-group and AIR flags; the action center URL) [inference: no
      source reads the others, and the capture is 300 KB];
    - ``licensed``: the captured tenant had Defender for Office 365 and Defender for Identity inactive
      (``IsOatpActive``, ``IsItpActive``, ``IsMdiActive`` false). The emulator's tenant meets the AIR prerequisites
      (its Exchange fake has the Defender for Office 365 preset rules), so these are set true. [inference] which
      flags an E5 tenant shows; the permission lists stay as captured.

    Shapes §7 leaves open are the capture's: ``MtpPermissions`` is an object of workload -> permission strings
    (``{"Mdatp": [...], "Oatp": [...], ...}``) beside flat ``MdatpMtpPermissions``-style lists; ``Roles`` and
    ``AllowedActions`` appear both in ``AuthInfo`` and at the top level; ``DirRoles`` (zeroed GUIDs) is top level.
    The tenant and user ids are the capture's zeroed GUIDs (also the emulator's default tenant id).
    """
    seed = _seed("seed_tenant_context.json")
    context: dict[str, Any] = seed["captured"]
    context.update(seed["licensed"])
    return context


@dataclass
class AdvancedFeatures:
    """The tenant's advanced-features settings object (docs/wire/defender-portal.md §6.3): wire key -> value, in the
    order the object was stored (the seed keeps the capture's order; a save, the order of its body)."""

    settings: dict[str, JsonScalar]

    @classmethod
    def from_body(cls, body: Any) -> AdvancedFeatures:
        """The object a save stores, checked (``SaveAdvancedFeaturesSetting``, docs/wire/defender-portal.md §6.2).

        The rules, all [inference] (no request or error body of a refused save was captured, §6.2):

        - the body is the whole settings object: a JSON object, else 400 ``BodyNotAnObject``;
        - it is flat: each value is a JSON scalar, else 400 ``SettingNotAScalar`` naming the key;
        - the stored object becomes exactly the body, keys in the body's order: a key the fake has never seen is kept
          and given back; a key left out is gone from the next GET (a client that sends a hand-built or partial
          object loses settings, the mistake §6.3 warns about; the real service more likely resets such keys to a
          default, which loses them too);
        - the licence or read-only flags (§6.4: ``LicenseEnabled``, ``AatpWorkspaceExists``,
          ``M365SecureScoreIntegrationEnabled``, ``MobileDeactivationPeriodInDays``; NMC "N/A") are stored as sent
          too: the note lists them as read-only but no source shows what a save that changes one does (and NMC's own
          body sets ``M365SecureScoreIntegrationEnabled``);
        - the object is not checked against the tenant context (``MagellanOptOut``, ``AatpIntegrationEnabled`` and
          ``AatpWorkspaceExists`` appear in both, §7): a save changes the settings object only.
        """
        if not isinstance(body, dict):
            raise BodyNotAnObject()
        for key, value in body.items():
            if not (value is None or isinstance(value, (bool, int, float, str))):
                raise SettingNotAScalar(key)
        return cls(dict(body))

    def to_wire(self) -> dict[str, Any]:
        """The object as a GET returns it (a copy)."""
        return dict(self.settings)


@dataclass
class TenantContext:
    """The tenant context (docs/wire/defender-portal.md §7): top-level key -> value, in the captured order.

    Among others: ``IsAutomatedIrEnabled`` and ``AutomatedIrLiveResponse`` (the only place the "Automated
    Investigation" state can be read), ``AuthInfo`` (``TenantId``, ``Roles``), ``DirRoles``, ``MtpPermissions``, the
    workload flags (``IsMdatpActive``, ``IsOatpActive``, ``IsMdiActive``, ...), ``MdeFlavor`` and
    ``ActiveMtpWorkloads`` (§7). The fake has no rule about it: tests change it with ``edit_tenant_context``.
    """

    context: dict[str, Any]

    def to_wire(self) -> dict[str, Any]:
        """The object as a GET returns it (a deep copy)."""
        return copy.deepcopy(self.context)

    def edit(self, keys: Mapping[str, Any]) -> None:
        """Set top-level keys (a known key keeps its place; a new one goes last)."""
        self.context.update(copy.deepcopy(dict(keys)))
