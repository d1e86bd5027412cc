"""Region discovery: the front door's redirect -> the regional REST host (docs/wire/invoke-command.md §3.3)."""

import pytest

from defender_air_provider.clients.compliance import regional_base_url


@pytest.mark.parametrize(("location", "domain", "expected"), [
    ("https://nam13b.admin.protection.outlook.com:446/adminapi/beta/t/InvokeCommand",
     "ps.compliance.protection.outlook.com", "https://nam13b.ps.compliance.protection.outlook.com"),
    ("https://zaf01b.ps.compliance.protection.outlook.com/adminapi/beta/t/InvokeCommand",
     "ps.compliance.protection.outlook.com", "https://zaf01b.ps.compliance.protection.outlook.com"),
    ("https://gcc02b.admin.protection.office365.us:446/x", "ps.compliance.protection.office365.us",
     "https://gcc02b.ps.compliance.protection.office365.us"),
])
def test_redirect_maps_to_the_regional_rest_host(location: str, domain: str, expected: str) -> None:
    assert regional_base_url(location, domain) == expected


@pytest.mark.parametrize("location", ["", "/relative/path", "https://localhost/x"])
def test_a_redirect_without_a_region_is_refused(location: str) -> None:
    with pytest.raises(ValueError, match="no region"):
        regional_base_url(location, "ps.compliance.protection.outlook.com")
