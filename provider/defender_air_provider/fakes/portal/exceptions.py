"""The Defender portal's errors (docs/wire/defender-portal.md §2-§4, §6), one typed exception each.

No source captured a body for any portal error (docs/wire/defender-portal.md §2.8; for advanced features §6.2: "No
POST response body and no error body were captured"). The fake answers
JSON errors as ``{"Message": "<text>"}`` (the shape ASP.NET Web API gives an ``HttpError``) [inference], except the
440, which is an HTML sign-in page (docs/wire/defender-portal.md §2.8, XDRI classification) [inference], and the
redirect to the sign-in.
"""

from __future__ import annotations

from ..base import FakeResponse

# [inference] ASP.NET Web API's generic 500 body. Used for the XSRF failure (XLR: "the portal's CSRF middleware
# returns HTTP 500"; no body captured) and for the multi-new-group save (NMC "had issues saving"; no status given).
GENERIC_500 = "An error has occurred."

# [inference] an expired session answers with the Entra sign-in page (XDRI Get-XdrHttpFailureClass treats a body
# matching "interactive sign in|Sign in to your account|login.microsoftonline.com" as AuthExpired). The status 440
# ("Session timeout") is from XLR/XDRI's lists of reauth signals.
SIGN_IN_PAGE = (
    "<!DOCTYPE html>\n<html dir=\"ltr\" lang=\"en\"><head><title>Sign in to your account</title>\n"
    "<meta http-equiv=\"Content-Type\" content=\"text/html; charset=UTF-8\"></head>\n"
    "<body><noscript>Interactive sign in is required. JavaScript is required to sign in.</noscript>\n"
    "<form name=\"f1\" method=\"post\" action=\"https://login.microsoftonline.com/common/oauth2/v2.0/authorize\">"
    "</form>\n<script>//<![CDATA[\n$Config={\"urlPost\":\"https://login.microsoftonline.com/common/login\","
    "\"sErrorCode\":\"\",\"iMaxStackForKnockoutAsyncComponents\":10000};\n//]]></script>\n</body></html>\n"
)


class PortalError(Exception):
    """A portal error: answered with ``response()``; nothing of the request is applied."""

    status = 400

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def response(self) -> FakeResponse:
        return FakeResponse.json(self.status, {"Message": self.message})


# -- the session (docs/wire/defender-portal.md §4.1/B)
# --------------------------------------------------------------------------------

class Unauthorized(PortalError):
    """[inference] body; only the status is in the sources (docs/wire/defender-portal.md §2.8: 401 and 440 mean "reauth
    needed")."""

    status = 401

    def __init__(self) -> None:
        super().__init__("Authorization has been denied for this request.")


class SessionExpired(PortalError):
    """440 "Session timeout" with the sign-in page (XLR: "401 Unauthorized + 440 Session timeout = reauth needed").
    [inference] that an expired (known) session gets 440 and an unknown one 401."""

    status = 440

    def __init__(self) -> None:
        super().__init__("Session timeout")

    def response(self) -> FakeResponse:
        return FakeResponse(440, {"content-type": "text/html; charset=utf-8"}, SIGN_IN_PAGE.encode())


class SignInRequired(PortalError):
    """[inference] the portal's page without a valid session redirects to the sign-in."""

    status = 302

    def __init__(self) -> None:
        super().__init__("Sign in")

    def response(self) -> FakeResponse:
        return FakeResponse(302, {"location": "https://login.microsoftonline.com/"}, b"")


class XsrfRejected(PortalError):
    """XLR Update-XsrfToken: "the X-XSRF-TOKEN header must carry the DECODED value, otherwise the portal's CSRF
    middleware returns HTTP 500". [inference] a missing cookie or header, a header that doesn't match the cookie,
    or a token that was rotated away fail the same way."""

    status = 500

    def __init__(self) -> None:
        super().__init__(GENERIC_500)


class Forbidden(PortalError):
    """The signed-in user lacks the role. [inference] body; it names the roles docs/wire/defender-portal.md §4.6 gives
    (device groups: Security Administrator or 'Manage portal system settings', third-party blog; advanced features:
    Security Administrator or Global Administrator, DOC-ADV) and avoids the words XDRI reads as an expired session
    (xsrf|csrf|session|token|expired|sign in|login), as a real "insufficient role" 403 must be told apart from a
    reauth signal (docs/wire/defender-portal.md §2.8)."""

    status = 403

    def __init__(self) -> None:
        super().__init__("Access denied. The signed-in user needs the Security Administrator role or the 'Manage "
                         "portal system settings' permission for this request.")


# -- routing and request ------------------------------------------------------------------------------------------

class NoResource(PortalError):
    """[inference] other apiproxy endpoints (aad_groups, the other AIR toggles of docs/wire/defender-portal.md §6.5,
    ...) are not modelled."""

    status = 404

    def __init__(self, path: str) -> None:
        super().__init__(f"No HTTP resource was found that matches the request URI '{path}'.")


class MethodNotAllowed(PortalError):
    """[inference] no source shows another verb on these URLs (docs/wire/defender-portal.md §2.6: no DELETE anywhere;
    §6.2: GET to read, POST to save; §7: GET). ``allow`` lists the verbs the URL serves."""

    status = 405

    def __init__(self, method: str, allow: str) -> None:
        super().__init__(f"The requested resource does not support http method '{method}'.")
        self.allow = allow

    def response(self) -> FakeResponse:
        return FakeResponse.json(405, {"Message": self.message}, {"Allow": self.allow})


class InvalidQueryFlag(PortalError):
    """[inference] a GET flag that is neither true nor false."""

    def __init__(self, value: str, name: str) -> None:
        super().__init__(f"The value '{value}' is not valid for {name}.")


class BodyNotJson(PortalError):
    """[inference] a PUT or POST body that is not JSON."""

    def __init__(self) -> None:
        super().__init__("The request body is not valid JSON.")


class BodyNotAnArray(PortalError):
    """docs/wire/defender-portal.md §2.4: the body is a JSON array of ALL groups. [inference] the answer to anything
    else."""

    def __init__(self) -> None:
        super().__init__("The request body must be a JSON array of every device group.")


class BodyNotAnObject(PortalError):
    """docs/wire/defender-portal.md §6.2: the save's body is "the whole settings object (flat JSON, PascalCase keys)".
    [inference] the answer to anything else (an array, a string, null, no body)."""

    def __init__(self) -> None:
        super().__init__("The request body must be the whole advanced features settings object (a JSON object).")


class SettingNotAScalar(PortalError):
    """docs/wire/defender-portal.md §6.2-§6.3: the settings object is flat; every captured value is a boolean, or null
    (MobileDeactivationPeriodInDays). [inference] the answer to a nested value (an object or an array)."""

    def __init__(self, key: str) -> None:
        super().__init__(f"The value of '{key}' must be true, false, null, a number or a string.")


# -- the rules of a PUT (docs/wire/defender-portal.md §2-§3)
# -------------------------------------------------------------------

class ItemNotAnObject(PortalError):
    """[inference] an item of the PUT array that is not an object."""

    def __init__(self, index: int) -> None:
        super().__init__(f"Item {index} of the device group list is not an object.")


class InvalidItemField(PortalError):
    """[inference] an item property of the wrong type (the types a C# model would bind) or an assignment without an
    Entra group object id (M2GSA spec: WcdAadGroup.ObjectId is a GUID)."""

    def __init__(self, index: int, problem: str) -> None:
        super().__init__(f"Item {index}: {problem}")


class GroupNotFound(PortalError):
    """[inference] a group that no longer exists (deleted meanwhile) can't be updated."""

    def __init__(self, group_id: int) -> None:
        super().__init__(f"Device group {group_id} does not exist.")


class DuplicateGroupId(PortalError):
    """[inference] the same MachineGroupId twice in one PUT."""

    def __init__(self, group_id: int) -> None:
        super().__init__(f"Device group {group_id} appears more than once.")


class UngroupedNotDeletable(PortalError):
    """DOC-MG: "You cannot change the rank of this group or delete it." [inference] status and text."""

    def __init__(self) -> None:
        super().__init__("The Ungrouped devices (default) group can't be deleted.")


class OnlyOneUngrouped(PortalError):
    """[inference] only the stored ungrouped group may be unassigned."""

    def __init__(self) -> None:
        super().__init__("Only the Ungrouped devices (default) group can be unassigned.")


class UngroupedRankFixed(PortalError):
    """DOC-MG: "You cannot change the rank of this group". [inference] status and text."""

    def __init__(self) -> None:
        super().__init__("The rank of the Ungrouped devices (default) group can't be changed.")


class UngroupedHasNoRules(PortalError):
    """[inference] the ungrouped group matches what no other group matches: it has no rules."""

    def __init__(self) -> None:
        super().__init__("The Ungrouped devices (default) group has no rules.")


class UngroupedNameFixed(PortalError):
    """DOC-MG: only its remediation level and its user access can change. [inference] status and text."""

    def __init__(self) -> None:
        super().__init__("The name and description of the Ungrouped devices (default) group can't be changed.")


class GroupNeedsName(PortalError):
    """[inference] DOC-MG: "Enter a unique ... name"."""

    def __init__(self) -> None:
        super().__init__("A device group needs a name.")


class DuplicateGroupName(PortalError):
    """[inference] names are unique, compared case-insensitively; leading spaces count (FIXTURE keeps one)."""

    def __init__(self, name: str) -> None:
        super().__init__(f"A device group named '{name}' already exists. Device group names must be unique.")


class DuplicateRank(PortalError):
    """[inference] each real group needs its own rank; the ungrouped group's rank is reserved."""

    def __init__(self, other: str, name: str, rank: int) -> None:
        super().__init__(f"Device groups '{other}' and '{name}' have the same rank ({rank}).")


class RulesNotAList(PortalError):
    """[inference] a real group's GroupRules must be a list."""

    def __init__(self, name: str) -> None:
        super().__init__(f"Device group '{name}': GroupRules must be a list.")


class MalformedRule(PortalError):
    """[inference] a GroupRules row without an integer OperatorType and Property and a string PropertyValue."""

    def __init__(self, name: str) -> None:
        super().__init__(f"Device group '{name}': each rule needs an integer OperatorType and Property and a string "
                         "PropertyValue.")


class TooManyRows(PortalError):
    """DOC-MG: "You can add up to 10 rows (values) for each property type - tag, device name, domain." [inference]
    the status and text of its error."""

    def __init__(self, name: str, count: int, label: str, maximum: int) -> None:
        super().__init__(f"Device group '{name}' has {count} {label} values; up to {maximum} are allowed for each "
                         "property.")


class TooManyNewGroups(PortalError):
    """NMC: "I had issues saving more than one new device group at a time, I believe due to MachineGroupId
    assignment." [inference] it fails as a server error (an id collision), atomically, with the generic 500 body: a
    client can't tell it from a transient failure, as with the real portal."""

    status = 500

    def __init__(self) -> None:
        super().__init__(GENERIC_500)
