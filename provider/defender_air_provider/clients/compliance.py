"""Security & Compliance admin API specifics: region discovery (o365-policies.md §2).

The front door (``ps.compliance.protection.outlook.com``) answers with a redirect to
``<region>.admin.protection.outlook.com:446``; the REST API itself is served from
``<region>.ps.compliance.protection.outlook.com`` on 443 (ScubaGear, CIPP, the TS and Go clients of §2).
"""

from __future__ import annotations

from urllib.parse import urlparse


def regional_base_url(location: str, front_door: str) -> str:
    """Map the front door's redirect ``Location`` to the regional base URL.

    For the US government clouds the same rule (region label + front-door host) is applied [inference: the
    notes show only commercial regions].
    """
    host = urlparse(location).hostname or ""
    label = host.split(".", 1)[0]
    if not label or "." not in host or not label.replace("-", "").isalnum():
        raise ValueError("no region in the redirect")
    front_host = urlparse(front_door).hostname or ""
    if host.endswith(front_host):  # already a regional REST host
        return f"https://{host}"
    return f"https://{label}.{front_host}"
