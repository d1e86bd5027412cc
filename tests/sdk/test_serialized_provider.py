"""The serialized ``__provider`` must stay a small by-reference pickle, identical across releases.

Delete and refresh use the ``__provider`` stored in state (docs/wire/pulumi-engine.md §3.3), and any change to
it shows as a diff on every resource (docs/wire/pulumi-engine.md §3.4). These golden payloads pin the class paths:
moving or renaming a provider class fails here instead of breaking users' stacks.
"""

from __future__ import annotations

import base64
import subprocess
import sys

import pytest
from pulumi.dynamic.dynamic import serialize_provider

from defender_air_provider.registry import RESOURCES

# By resource name; every registered resource must have one (a new resource adds its payload here once).
GOLDEN: dict[str, str] = {
    "PresetPolicyAssignment": (
        "gASVYQAAAAAAAACMN2RlZmVuZGVyX2Fpcl9wcm92aWRlci5oYW5kbGVycy5wcmVzZXRfcG9saWN5X2Fzc2lnbm1lbnSUjB5QcmVz"
        "ZXRQb2xpY3lBc3NpZ25tZW50UHJvdmlkZXKUk5QpgZQu"
    ),
    "AlertPolicy": (
        "gASVSgAAAAAAAACMK2RlZmVuZGVyX2Fpcl9wcm92aWRlci5oYW5kbGVycy5hbGVydF9wb2xpY3mUjBNBbGVydFBvbGljeVByb3ZpZGVy"
        "lJOUKYGULg=="
    ),
    "DeviceGroup": (
        "gASVSgAAAAAAAACMK2RlZmVuZGVyX2Fpcl9wcm92aWRlci5oYW5kbGVycy5kZXZpY2VfZ3JvdXCUjBNEZXZpY2VHcm91cFByb3ZpZGVy"
        "lJOUKYGULg=="
    ),
    "DefaultDeviceGroup": (
        "gASVUQAAAAAAAACMK2RlZmVuZGVyX2Fpcl9wcm92aWRlci5oYW5kbGVycy5kZXZpY2VfZ3JvdXCUjBpEZWZhdWx0RGV2aWNlR3JvdXBQ"
        "cm92aWRlcpSTlCmBlC4="
    ),
    "EndpointAdvancedFeatures": (
        "gASVZQAAAAAAAACMOWRlZmVuZGVyX2Fpcl9wcm92aWRlci5oYW5kbGVycy5lbmRwb2ludF9hZHZhbmNlZF9mZWF0dXJlc5SMIEVuZHBv"
        "aW50QWR2YW5jZWRGZWF0dXJlc1Byb3ZpZGVylJOUKYGULg=="
    ),
}


PROVIDERS = {registered.name: registered.provider for registered in RESOURCES}


def test_every_registered_resource_has_a_golden_payload() -> None:
    assert set(GOLDEN) == set(PROVIDERS)


@pytest.mark.parametrize("name", list(PROVIDERS))
def test_payload_is_the_golden_by_reference_pickle(name: str) -> None:
    payload = serialize_provider(PROVIDERS[name]())
    assert payload == GOLDEN[name]
    raw = base64.b64decode(payload)
    assert b"_create_code" not in raw and b"co_code" not in raw  # by reference: no code objects


@pytest.mark.parametrize("name", list(PROVIDERS))
def test_golden_payload_loads_in_a_fresh_interpreter(name: str) -> None:
    provider_class = PROVIDERS[name]
    script = ("import base64, dill, sys; p = dill.loads(base64.b64decode(sys.argv[1])); "
              "print(type(p).__module__ + '.' + type(p).__name__)")
    out = subprocess.run([sys.executable, "-c", script, GOLDEN[name]], capture_output=True, text=True,
                         check=True).stdout.strip()
    assert out == f"{provider_class.__module__}.{provider_class.__name__}"
