"""Wire helpers of the InvokeCommand protocol: content type, dates, OData annotations, ``$select``, ``Prefer``."""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import datetime, timezone
from typing import Any

from ..base import FakeRequest

CONTENT_TYPE = "application/json;odata.metadata=minimal;odata.streaming=true;IEEE754Compatible=false;charset=utf-8"


def wire_datetime(moment: datetime) -> str:
    """ISO-8601 with 7 fractional digits and an offset, as in the Burp capture of docs/wire/invoke-command.md §4."""
    moment = moment.astimezone(timezone.utc)
    return f"{moment:%Y-%m-%dT%H:%M:%S}.{moment.microsecond:06d}0+00:00"


def parse_max_page_size(request: FakeRequest) -> int | None:
    """``odata.maxpagesize=N`` from ``Prefer`` (or ``X-Prefer``, seen in the Burp capture of docs/wire/invoke-command.md
    §4).

    CIPP writes it with blanks (``odata.maxpagesize = 1000;odata.continue-on-error``, docs/wire/invoke-command.md §2),
    so both separators and blanks are tolerated.
    """
    for header in ("prefer", "x-prefer"):
        value = request.header(header)
        if not value:
            continue
        for item in re.split(r"[;,]", value):
            key, _, raw = item.partition("=")
            if key.strip().lower() == "odata.maxpagesize":
                try:
                    size = int(raw.strip().strip('"'))
                except ValueError:
                    continue
                if size > 0:
                    return size
    return None


def annotated(obj: dict[str, Any], guid_keys: Iterable[str] = (), datetime_keys: Iterable[str] = ()) -> dict[
        str, Any]:
    """Add the OData type annotations of docs/wire/invoke-command.md §4 in front of the properties that carry them.

    - string collections: ``Prop@odata.type: "#Collection(String)"``;
    - GUIDs: ``Prop@data.type: "System.Guid"`` and ``Prop@odata.type: "#Guid"``;
    - DateTimes: ``Prop@data.type: "System.DateTime"``.
    [inference] a null collection carries no annotation (the capture only shows non-null collections), and
    Int32 properties carry none (OData's default numeric type; the capture annotates only #Int16).
    """
    guids = set(guid_keys)
    dates = set(datetime_keys)
    out: dict[str, Any] = {}
    for key, value in obj.items():
        if isinstance(value, list):
            out[f"{key}@odata.type"] = "#Collection(String)"
        elif key in guids and value is not None:
            out[f"{key}@data.type"] = "System.Guid"
            out[f"{key}@odata.type"] = "#Guid"
        elif key in dates and value is not None:
            out[f"{key}@data.type"] = "System.DateTime"
        out[key] = value
    return out


def select(obj: dict[str, Any], names: list[str] | None) -> dict[str, Any]:
    """Apply ``?$select=Prop1,Prop2`` (docs/wire/invoke-command.md §2), keeping each selected property's annotations."""
    if not names:
        return obj
    wanted = {name.lower() for name in names}
    return {key: value for key, value in obj.items() if key.split("@", 1)[0].lower() in wanted}


def cmdlet_name(request: FakeRequest) -> str | None:
    """``CmdletInput.CmdletName`` of the body as sent, or None when the body has no envelope."""
    try:
        body = request.json()
    except (ValueError, UnicodeDecodeError):
        return None
    if isinstance(body, dict):
        cmdlet_input = body.get("CmdletInput")
        if isinstance(cmdlet_input, dict) and isinstance(cmdlet_input.get("CmdletName"), str):
            return str(cmdlet_input["CmdletName"])
    return None
