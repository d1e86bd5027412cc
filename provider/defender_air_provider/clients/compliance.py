"""Security & Compliance admin API specifics: region discovery (docs/wire/invoke-command.md §3.3).

The front door (``ps.compliance.protection.outlook.com``) answers with a redirect to
``<region>.admin.protection.outlook.com:446``; the REST API itself is served from
``<region>.ps.compliance.protection.outlook.com`` on 443 (ScubaGear, CIPP, the TS and Go clients of
docs/wire/invoke-command.md §3.3).
"""

from __future__ import annotations

from urllib.parse import urlparse


def regional_base_url(location: str, regional_domain: str) -> str:
    """Map the front door's redirect ``Location`` (``https://nam13b.admin.protection.outlook.com:446/...``) to the
    regional REST base URL (``https://nam13b.ps.compliance.protection.outlook.com``, port 443).

    For the US government clouds the same rule is applied with their domain [inference: the notes show only
    commercial regions].
    """
    host = urlparse(location).hostname or ""
    label = host.split(".", 1)[0]
    if not label or "." not in host or not label.replace("-", "").isalnum():
        raise ValueError("no region in the redirect")
    if host.endswith("." + regional_domain):  # already a regional REST host
        return f"https://{host}"
    return f"https://{label}.{regional_domain}"
