"""The Exchange Online responder: the preset policy cmdlets on ``InvokeCommand`` (docs/wire/invoke-command.md,
docs/wire/exchange-online.md).

Thin: parse the cmdlet's parameters (PowerShell conversion), call ``ExchangeBackend``, render the objects with the
OData annotations of docs/wire/invoke-command.md §4. Where one request has several problems, the first one met in the
order below is answered ([inference]: the notes show one problem per request), so the parameters are parsed in the order
of the cmdlet's
parameter handling and the backend is asked at the same points (e.g. a name is checked for uniqueness before the
priority is converted).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from ..base import FakeRequest
from ..invoke_command.exceptions import InvokeCommandError, MissingParameters, ParameterTransformationError
from ..invoke_command.params import as_bool, as_identity, as_int, as_string_list, as_text, require
from ..invoke_command.responses import CmdletOutput, CmdletSpec, InvokeCommandResponse
from ..invoke_command.wire import annotated
from ..records import to_wire
from .exceptions import UnknownCmdlet
from .models import (
    ATP_POLICY_TYPES,
    POLICY_TYPES,
    RULE_POLICY_PARAMS,
    SCOPE_FIELDS,
    ComponentPolicy,
    ExchangeBackend,
    ProtectionPolicyRule,
)

_RULE_ID_TYPE = "Microsoft.Exchange.Configuration.Tasks.RuleIdParameter"

# Parameters every write cmdlet documents (docs/wire/exchange-online.md §3 syntax lines list -Confirm and -WhatIf).
_WRITE_COMMON = ("Confirm", "WhatIf")
_SET_PARAMS = ("Identity", "Comments", "Priority", "Name", *SCOPE_FIELDS, *_WRITE_COMMON)
_NEW_COMMON = ("Name", "Enabled", "Priority", "Comments", *SCOPE_FIELDS, *_WRITE_COMMON)


class ExchangeCmdlet(CmdletSpec):
    """One known cmdlet: its family (rule kind or policy type), its parameters and its verb."""

    def __init__(self, name: str, verb: str, target: str, params: Iterable[str], needs_atp: bool) -> None:
        super().__init__(name, params)
        self.verb = verb  # get | set | new | enable | disable | remove | get-policy
        self.target = target  # "eop"/"atp" for rules, a POLICY_TYPES entry for Get-*Policy
        self.needs_atp = needs_atp  # unknown on a tenant without Defender for Office 365


def _cmdlet_table() -> dict[str, ExchangeCmdlet]:
    table: dict[str, ExchangeCmdlet] = {}

    def add(cmdlet: ExchangeCmdlet) -> None:
        table[cmdlet.name.lower()] = cmdlet

    for kind, family in (("eop", "EOP"), ("atp", "ATP")):
        needs_atp = kind == "atp"
        add(ExchangeCmdlet(f"Get-{family}ProtectionPolicyRule", "get", kind, ("Identity", "State"), needs_atp))
        add(ExchangeCmdlet(f"Set-{family}ProtectionPolicyRule", "set", kind, _SET_PARAMS, needs_atp))
        add(ExchangeCmdlet(f"Enable-{family}ProtectionPolicyRule", "enable", kind, ("Identity", *_WRITE_COMMON),
                           needs_atp))
        add(ExchangeCmdlet(f"Disable-{family}ProtectionPolicyRule", "disable", kind, ("Identity", *_WRITE_COMMON),
                           needs_atp))
        add(ExchangeCmdlet(f"New-{family}ProtectionPolicyRule", "new", kind,
                           (*_NEW_COMMON, *RULE_POLICY_PARAMS[kind]), needs_atp))
        add(ExchangeCmdlet(f"Remove-{family}ProtectionPolicyRule", "remove", kind, ("Identity", *_WRITE_COMMON),
                           needs_atp))
    for policy_type in POLICY_TYPES:
        add(ExchangeCmdlet(f"Get-{policy_type}", "get-policy", policy_type, ("Identity",),
                           policy_type in ATP_POLICY_TYPES))
    return table


CMDLETS = _cmdlet_table()


def _identity(params: dict[str, Any], name: str = "Identity") -> str:
    return as_identity(params, name, _RULE_ID_TYPE)


def _as_list(name: str, value: Any) -> list[str] | None:
    """A scoping parameter: these are arrays, not MultiValuedProperty, so the hashtable form of
    docs/wire/invoke-command.md §2.2 is refused."""
    target = "Microsoft.Exchange.Data.Word[]" if name.endswith("DomainIs") else \
        "Microsoft.Exchange.Configuration.Tasks.RecipientIdParameter[]"
    return as_string_list(name, value, target)


def _rule_wire(rule: ProtectionPolicyRule) -> dict[str, Any]:
    return annotated(rule.to_wire(), guid_keys=("Guid", "ImmutableId"), datetime_keys=("WhenChanged",))


def _policy_wire(policy: ComponentPolicy) -> dict[str, Any]:
    return annotated(to_wire(policy), guid_keys=("Guid", "ImmutableId"), datetime_keys=("WhenChanged", "WhenCreated"))


class ExchangeResponse(InvokeCommandResponse[ExchangeCmdlet]):
    """Exchange Online's ``InvokeCommand`` for one ``ExchangeBackend``.

    Exchange-specific wire behaviour: an unknown cmdlet answers 403 with a body of NUL bytes declared
    ``Content-Encoding: gzip`` (docs/wire/invoke-command.md §6); on a tenant without Defender for Office 365 the ATP
    cmdlets are unknown, and for a read-only caller (``backend.read_only``) every cmdlet but the Get- ones is.
    """

    def __init__(self, backend: ExchangeBackend, *, max_page_size: int | None = None) -> None:
        super().__init__(backend.lock, max_page_size=max_page_size)
        self.backend = backend

    def lookup_cmdlet(self, name: str) -> ExchangeCmdlet | None:
        cmdlet = CMDLETS.get(name.lower())
        if cmdlet is None or (cmdlet.needs_atp and not self.backend.defender_for_office365):
            # [inference] a tenant without the Defender for Office 365 licence answers the ATP cmdlets like
            # unknown ones (they don't exist there).
            return None
        if self.backend.read_only and cmdlet.verb not in ("get", "get-policy"):
            # docs/wire/exchange-online.md §7: without the right Exchange management role the preset cmdlets are "not
            # recognized" for the caller (Global Reader may read them only); docs/wire/invoke-command.md §6.4: a
            # missing role answers the same NUL-byte 403 as an unknown cmdlet.
            return None
        return cmdlet

    def unknown_cmdlet(self, name: str) -> InvokeCommandError:
        return UnknownCmdlet(name)  # docs/wire/invoke-command.md §6: 403 NUL gzip

    def run(self, request: FakeRequest, cmdlet: ExchangeCmdlet, params: dict[str, Any]) -> CmdletOutput:
        kind = cmdlet.target
        if cmdlet.verb not in ("get", "get-policy") and (params.get("WhatIf") is True or params.get("Confirm") is True):
            # docs/wire/invoke-command.md §2.2: the module first calls with Confirm=$true and reads
            # @adminapi.confirmationmessage, then calls again with Confirm=$false. [inference] only the object is looked
            # up, nothing is applied, and the text of the message.
            if cmdlet.verb == "new":
                require(params, "Name", *RULE_POLICY_PARAMS[kind])
            else:
                require(params, "Identity")
                self.backend.find_rule(kind, _identity(params))
            return CmdletOutput([], annotations={"@adminapi.confirmationmessage": (
                f"Are you sure you want to perform this action? {cmdlet.name} "
                f"Identity:\"{params.get('Identity') or params.get('Name')}\"")})
        if cmdlet.verb == "get":
            return CmdletOutput(self._get_rules(kind, params))
        if cmdlet.verb == "get-policy":
            identity = _identity(params) if params.get("Identity") not in (None, "") else None
            return CmdletOutput([_policy_wire(p) for p in self.backend.get_policies(kind, identity)])
        if cmdlet.verb == "set":
            return self._set_rule(kind, params)
        if cmdlet.verb == "new":
            return CmdletOutput(self._new_rule(kind, params))
        require(params, "Identity")
        rule = self.backend.find_rule(kind, _identity(params))
        if cmdlet.verb == "remove":
            self.backend.delete_rule(rule)
        else:
            self.backend.enable_rule(rule, cmdlet.verb == "enable")
        return CmdletOutput([])

    def _get_rules(self, kind: str, params: dict[str, Any]) -> list[dict[str, Any]]:
        state = params.get("State")
        if state is not None and (not isinstance(state, str) or state.lower() not in ("enabled", "disabled")):
            raise ParameterTransformationError(
                "State", state, "Microsoft.Exchange.MessagingPolicies.Rules.RuleState",
                f"Unable to match the identifier name {state} to a valid enumerator name. Specify one of the "
                "following enumerator names and try again: Enabled, Disabled")
        identity = _identity(params) if params.get("Identity") not in (None, "") else None
        return [_rule_wire(r) for r in self.backend.get_rules(kind, identity, state)]

    def _changes(self, kind: str, params: dict[str, Any]) -> dict[str, Any]:
        """The parameters Set-* and New-* share (docs/wire/exchange-online.md §3), converted, by property name: scoping,
        Comments, Name,
        Priority. A new Name is checked for uniqueness as soon as it is read."""
        changes: dict[str, Any] = {}
        for field in SCOPE_FIELDS:
            if field in params:
                changes[field] = _as_list(field, params[field])
        if "Comments" in params:
            changes["Comments"] = as_text("Comments", params["Comments"], 1024)
        if "Name" in params:
            name = as_text("Name", params["Name"], 64)
            if not name or not name.strip():
                raise MissingParameters(["Name"])
            self.backend.check_rule_name_free(kind, name.strip())
            changes["Name"] = name.strip()
        if "Priority" in params:
            changes["Priority"] = as_int("Priority", params["Priority"])
        return changes

    def _set_rule(self, kind: str, params: dict[str, Any]) -> CmdletOutput:
        """Set-*ProtectionPolicyRule: scoping, Comments, Priority, Name; returns ``value: []``
        (docs/wire/invoke-command.md §4.4)."""
        require(params, "Identity")
        rule = self.backend.find_rule(kind, _identity(params))
        if self.backend.set_rule(rule, self._changes(kind, params)):
            return CmdletOutput([])
        # docs/wire/invoke-command.md §4: a no-op Set- returns a warning containing "modified". [inference] exact text.
        return CmdletOutput([], warnings=[f"The command completed successfully but no settings of "
                                          f"'{rule.identity}' have been modified."])

    def _new_rule(self, kind: str, params: dict[str, Any]) -> list[dict[str, Any]]:
        """New-*ProtectionPolicyRule (docs/wire/exchange-online.md §3): needs Name and the family's policies, which must
        exist."""
        require(params, "Name", *RULE_POLICY_PARAMS[kind])
        policies = {param: self.backend.find_policy(param, _identity(params, param)).name
                    for param in RULE_POLICY_PARAMS[kind]}
        name = (as_text("Name", params["Name"], 64) or "").strip()
        self.backend.check_rule_name_free(kind, name)
        enabled = as_bool("Enabled", params["Enabled"]) if params.get("Enabled") is not None else True
        changes = self._changes(kind, {k: v for k, v in params.items() if k != "Name"})
        rule = self.backend.new_rule(kind, name, policies, enabled=enabled, changes=changes)
        return [_rule_wire(rule)]
