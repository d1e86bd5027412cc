"""The serialized ``__provider`` must stay a small by-reference pickle, identical across releases.

Delete and refresh use the ``__provider`` stored in state (pulumi-dynamic.md §4 pitfall 3), and any change to
it shows as a diff on every resource (pitfall 4). These golden payloads pin the class paths: moving or
renaming a provider class fails here instead of breaking users' stacks.
"""

from __future__ import annotations

import base64
import subprocess
import sys

import pytest
from pulumi.dynamic.dynamic import serialize_provider

from defender_air_provider.handlers.alert_policy import AlertPolicyProvider
from defender_air_provider.handlers.device_group import DefaultDeviceGroupProvider, DeviceGroupProvider
from defender_air_provider.handlers.preset_policy_assignment import PresetPolicyAssignmentProvider

GOLDEN: dict[type, str] = {
    PresetPolicyAssignmentProvider: (
        "gASVYQAAAAAAAACMN2RlZmVuZGVyX2Fpcl9wcm92aWRlci5oYW5kbGVycy5wcmVzZXRfcG9saWN5X2Fzc2lnbm1lbnSUjB5QcmVz"
        "ZXRQb2xpY3lBc3NpZ25tZW50UHJvdmlkZXKUk5QpgZQu"
    ),
    AlertPolicyProvider: (
        "gASVSgAAAAAAAACMK2RlZmVuZGVyX2Fpcl9wcm92aWRlci5oYW5kbGVycy5hbGVydF9wb2xpY3mUjBNBbGVydFBvbGljeVByb3ZpZGVy"
        "lJOUKYGULg=="
    ),
    DeviceGroupProvider: (
        "gASVSgAAAAAAAACMK2RlZmVuZGVyX2Fpcl9wcm92aWRlci5oYW5kbGVycy5kZXZpY2VfZ3JvdXCUjBNEZXZpY2VHcm91cFByb3ZpZGVy"
        "lJOUKYGULg=="
    ),
    DefaultDeviceGroupProvider: (
        "gASVUQAAAAAAAACMK2RlZmVuZGVyX2Fpcl9wcm92aWRlci5oYW5kbGVycy5kZXZpY2VfZ3JvdXCUjBpEZWZhdWx0RGV2aWNlR3JvdXBQ"
        "cm92aWRlcpSTlCmBlC4="
    ),
}


@pytest.mark.parametrize("provider_class", list(GOLDEN))
def test_payload_is_the_golden_by_reference_pickle(provider_class: type) -> None:
    payload = serialize_provider(provider_class())
    assert payload == GOLDEN[provider_class]
    raw = base64.b64decode(payload)
    assert b"_create_code" not in raw and b"co_code" not in raw  # by reference: no code objects


@pytest.mark.parametrize("provider_class", list(GOLDEN))
def test_golden_payload_loads_in_a_fresh_interpreter(provider_class: type) -> None:
    script = ("import base64, dill, sys; p = dill.loads(base64.b64decode(sys.argv[1])); "
              "print(type(p).__module__ + '.' + type(p).__name__)")
    out = subprocess.run([sys.executable, "-c", script, GOLDEN[provider_class]], capture_output=True, text=True,
                         check=True).stdout.strip()
    assert out == f"{provider_class.__module__}.{provider_class.__name__}"
