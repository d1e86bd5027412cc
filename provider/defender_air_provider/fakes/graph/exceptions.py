"""The Microsoft Graph errors of ``/groups``, one typed exception each.

Each carries its status, Graph's error ``code`` and ``message``; the responder renders Graph's error envelope (Graph
docs "Error responses": ``{"error": {"code", "message", "innerError": {...}}}``) with the request's ids. Exact
message texts and the codes Graph's docs do not spell out are tagged ``[inference]``.
"""

from __future__ import annotations


class GraphError(Exception):
    """A Graph error: answered with Graph's error envelope; nothing of the request is applied."""

    status = 400
    code = "BadRequest"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class InvalidVersion(GraphError):
    """[inference] text of Graph's answer to an unknown version segment."""

    def __init__(self, segment: str) -> None:
        super().__init__(f"Invalid version: {segment}")


class SegmentNotFound(GraphError):
    """Graph answers an unknown entity set with 400 "Resource not found for the segment '<x>'." (users, devices, ...
    exist on the real service but are not modelled here); [inference] the same for navigation properties (members,
    owners, ...)."""

    def __init__(self, segment: str) -> None:
        super().__init__(f"Resource not found for the segment '{segment}'.")


class MethodNotModelled(GraphError):
    """[inference] writes exist on the real service; the fake is read-only."""

    status = 405
    code = "Request_BadRequest"

    def __init__(self, method: str) -> None:
        super().__init__(f"The fake Microsoft Graph does not model {method} on groups.")


class InvalidObjectIdentifier(GraphError):
    """Graph: 400 Request_BadRequest "Invalid object identifier '<id>'." for an id that is not a GUID."""

    code = "Request_BadRequest"

    def __init__(self, object_id: str) -> None:
        super().__init__(f"Invalid object identifier '{object_id}'.")


class ResourceNotFound(GraphError):
    """Graph's 404 for a directory object that does not exist (Error responses; the text is Graph's own)."""

    status = 404
    code = "Request_ResourceNotFound"

    def __init__(self, object_id: str) -> None:
        super().__init__(f"Resource '{object_id}' does not exist or one of its queried reference-property objects "
                         "are not present.")


class ExpiredPageToken(GraphError):
    """[inference] the directory's answer to a page token it can't use."""

    code = "Directory_ExpiredPageToken"

    def __init__(self) -> None:
        super().__init__("The specified page token value has expired and can no longer be included in your request.")


class InvalidPageSize(GraphError):
    """group-list docs: $top between 1 and 999. [inference] code and text of the error."""

    code = "Request_BadRequest"

    def __init__(self, raw: str, maximum: int) -> None:
        super().__init__(f"Invalid page size specified: '{raw}'. Must be between 1 and {maximum} inclusive.")


class InvalidFilter(GraphError):
    """OData parser error for a literal with an unescaped quote (unterminated, or text after its end). [inference]
    exact text; the code "BadRequest" and the "Invalid filter clause" prefix are Graph's."""

    def __init__(self, problem: str, expression: str) -> None:
        super().__init__(f"Invalid filter clause: {problem} in '{expression}'.")


class UnsupportedQuery(GraphError):
    """[inference] Graph supports more (startswith, and/or, in, ...); the fake does not, and says so."""

    code = "Request_UnsupportedQuery"

    def __init__(self, expression: str) -> None:
        super().__init__(f"Unsupported Query. The fake Microsoft Graph models only '<property> eq <literal>', not "
                         f"'{expression}'.")


class UnknownProperty(GraphError):
    """The OData layer's answer to an unknown property in $select. [inference] exact text."""

    def __init__(self, name: str) -> None:
        super().__init__(f"Could not find a property named '{name}' on type 'microsoft.graph.group'.")
