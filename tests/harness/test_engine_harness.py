"""Tests of the engine-protocol harness itself, driven through the tiny sample provider.

These pin the protocol facts the real provider tests rely on (docs/wire/pulumi-engine.md §4): what a
registration looks like on the wire, that a no-op ``up`` makes no Create/Update call, that
replacement is create-before-delete unless asked otherwise, that refresh rebases inputs and drops
vanished objects, that preview never creates, and that provider exceptions surface readably.

One provider process is shared by the module (starting one costs ~0.3 s); each test uses its own
resource names so tests stay independent.
"""

from __future__ import annotations

import base64
import json
import sys
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import grpc
import pulumi
import pytest
from pulumi.dynamic import Resource
from pulumi.output import Unknown
from pulumi.runtime import rpc
from pulumi.runtime import settings as pulumi_settings
from pulumi.runtime.proto import provider_pb2

from tests.harness.engine import (
    CheckFailed,
    Engine,
    EngineFactory,
    ProviderError,
    ProviderProcess,
    ProviderStartError,
    Registration,
    capture_registration,
    with_unknowns,
)
from tests.harness.sample_provider import STORE_ENV, TYPE_TOKEN, SampleProvider, SampleThing, store_path


@pytest.fixture(scope="module")
def store_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("sample-store")


@pytest.fixture(scope="module")
def engine(module_engine_factory: EngineFactory, store_dir: Path) -> Engine:
    return module_engine_factory(
        config={"greeting": "hello", "token": "s3cr3t"},
        secret_config=["token"],
        env={STORE_ENV: str(store_dir)},
    )


def thing(
    resource_name: str, name: str | None = None, secret_password: str | None = None, **kwargs: Any
) -> Registration:
    """Registration of a SampleThing through its real constructor. Outputs (here the secret) must
    be built inside the constructor callback: they belong to the capture's event loop."""

    def make() -> SampleThing:
        if secret_password is not None:
            kwargs["password"] = pulumi.Output.secret(secret_password)
        return SampleThing(resource_name, name or resource_name, **kwargs)

    return capture_registration(make)


def live(store_dir: Path, object_id: str) -> dict[str, Any]:
    return dict(json.loads(store_path(store_dir, object_id).read_text()))


def methods(engine: Engine, urn: str) -> list[str]:
    return [c.method for c in engine.calls(urn)]


# ---------------------------------------------------------------------------- capture_registration


def test_registration_is_what_the_engine_forwards() -> None:
    reg = thing("reg1", "alpha", size=3, secret_password="pw")

    assert reg.type_token == TYPE_TOKEN
    assert reg.name == "reg1"
    # None-valued props (object_id, greeting, unset knobs) are not sent; ints travel as doubles.
    assert set(reg.inputs) == {"__provider", "name", "size", "password"}
    assert reg.inputs["size"] == 3.0 and isinstance(reg.inputs["size"], float)
    # Secrets arrive unwrapped (acceptSecrets=False), but we still know which ones were secret.
    assert reg.inputs["password"] == "pw"
    assert reg.secret_keys == {"__provider", "password"}
    assert isinstance(reg.inputs["__provider"], str) and not rpc.is_rpc_secret(reg.inputs["__provider"])
    # By-reference pickle: small and free of code objects.
    assert len(reg.provider_payload) < 200
    assert b"_create_code" not in base64.b64decode(reg.provider_payload)
    assert reg.mock_args is not None and rpc.is_rpc_secret(reg.mock_args.inputs["password"])


def test_capture_is_repeatable_and_leaves_runtime_settings_alone() -> None:
    def snapshot() -> tuple[Any, ...]:
        s = pulumi_settings.SETTINGS
        return (s.monitor, s.engine, s.project, s.stack, s.dry_run, pulumi_settings.get_root_resource())

    def fresh_thread_view() -> tuple[Any, ...]:
        seen: list[tuple[Any, ...]] = []
        worker = threading.Thread(target=lambda: seen.append(snapshot()))
        worker.start()
        worker.join()
        return seen[0]

    before, before_thread = snapshot(), fresh_thread_view()
    regs = [thing("again") for _ in range(3)]
    preview = capture_registration(lambda: SampleThing("p", "p"), preview=True, project="other", stack="s")

    assert regs[0] == regs[1] == regs[2]
    assert preview.inputs["name"] == "p"
    assert snapshot() == before
    assert fresh_thread_view() == before_thread


def test_unknowns_on_the_wire() -> None:
    reg = capture_registration(lambda: SampleThing("u", "u", size=1), preview=True, unknown_keys={"size"})
    assert reg.inputs["size"] == rpc.UNKNOWN
    assert with_unknowns({"a": 1}, ["a", "b"]) == {"a": rpc.UNKNOWN, "b": rpc.UNKNOWN}
    assert thing("u2").with_unknowns(["name"]).inputs["name"] == rpc.UNKNOWN


def test_constructor_errors_propagate() -> None:
    # An unpicklable attribute on the provider fails in the resource constructor (docs/wire/pulumi-engine.md §3.2);
    # capture_registration must surface that, not hang or return an empty registration.
    provider = SampleProvider()
    provider.__dict__["gen"] = (i for i in range(1))
    with pytest.raises(TypeError, match="pickle"):
        capture_registration(lambda: Resource(provider, "bad", {"name": "bad"}))


# ---------------------------------------------------------------------------- lifecycle


def test_create_then_noop_up_makes_no_provider_write(engine: Engine, store_dir: Path) -> None:
    reg = thing("life-same", size=1, secret_password="pw")
    created = engine.up(reg)
    assert created.step == "create"
    state = created.state
    assert state.urn == engine.urn_for(TYPE_TOKEN, "life-same")
    assert state.outputs["object_id"] == state.id
    assert state.outputs["password_is_plain"] is True  # the provider never sees secret wrappers
    assert live(store_dir, state.id) == {"name": "life-same", "size": 1.0}

    again = engine.up(reg, state)
    assert again.step == "same"
    assert again.state.id == state.id and again.state.outputs == state.outputs
    assert methods(engine, state.urn) == ["Check", "Create", "Check", "Diff"]


def test_update_keeps_id(engine: Engine, store_dir: Path) -> None:
    state = engine.up(thing("life-update", size=1)).state
    result = engine.up(thing("life-update", size=2), state)
    assert result.step == "update"
    assert result.state.id == state.id
    assert result.state.outputs["size"] == 2.0
    assert result.state.inputs["size"] == 2.0
    assert live(store_dir, state.id)["size"] == 2.0
    assert methods(engine, state.urn)[-3:] == ["Check", "Diff", "Update"]


def test_replace_is_create_before_delete(engine: Engine, store_dir: Path) -> None:
    state = engine.up(thing("life-replace", "old-name")).state
    result = engine.up(thing("life-replace", "new-name"), state)
    assert result.step == "replace"
    assert result.diff is not None and result.diff.replaces == ("name",)
    assert result.state.id != state.id and result.previous == state
    assert not store_path(store_dir, state.id).exists()
    assert live(store_dir, result.state.id)["name"] == "new-name"
    assert methods(engine, state.urn)[-4:] == ["Check", "Diff", "Create", "Delete"]


def test_replace_delete_before_replace(engine: Engine) -> None:
    state = engine.up(thing("life-dbr", "a", replace_mode="delete_first")).state
    result = engine.up(thing("life-dbr", "b", replace_mode="delete_first"), state)
    assert result.step == "replace"
    assert methods(engine, state.urn)[-4:] == ["Check", "Diff", "Delete", "Create"]

    # The resource option alone (provider does not ask) also forces delete-first.
    opts = pulumi.ResourceOptions(delete_before_replace=True)
    state = engine.up(capture_registration(lambda: SampleThing("life-dbr-opt", "a", opts=opts))).state
    reg = capture_registration(lambda: SampleThing("life-dbr-opt", "b", opts=opts))
    assert reg.delete_before_replace
    assert engine.up(reg, state).step == "replace"
    assert methods(engine, state.urn)[-2:] == ["Delete", "Create"]


def test_diff_unknown_falls_back_to_input_comparison(engine: Engine) -> None:
    state = engine.up(thing("life-du", size=1, diff_mode="unknown")).state
    assert engine.up(thing("life-du", size=1, diff_mode="unknown"), state).step == "same"
    # The engine's own comparison never plans a replacement, even for the "immutable" name.
    renamed = engine.up(thing("life-du", "renamed", size=1, diff_mode="unknown"), state)
    assert renamed.step == "update" and renamed.state.id == state.id
    # A different __provider payload alone is a change when the provider does not diff (#12401).
    reg = thing("life-du", size=1, diff_mode="unknown").with_inputs(__provider=state.inputs["__provider"] + "=")
    assert engine.preview(reg, state).step == "update"


def test_refresh_sees_drift_and_rebases_inputs(engine: Engine, store_dir: Path) -> None:
    reg = thing("life-drift", size=1)
    state = engine.up(reg).state
    store_path(store_dir, state.id).write_text(json.dumps({"name": "life-drift", "size": 7}))

    refreshed = engine.refresh(state)
    assert refreshed is not None
    assert refreshed.id == state.id
    assert refreshed.outputs["size"] == 7.0
    assert refreshed.inputs["size"] == 7.0  # ReadResult(inputs=...) replaced the stored inputs
    assert "__provider" in refreshed.inputs
    # The program still says size=1, so the next up repairs the drift.
    assert engine.up(reg, refreshed).step == "update"
    assert live(store_dir, state.id)["size"] == 1.0


def test_refresh_of_deleted_object_returns_none(engine: Engine, store_dir: Path) -> None:
    state = engine.up(thing("life-gone")).state
    store_path(store_dir, state.id).unlink()
    assert engine.refresh(state) is None


def test_destroy(engine: Engine, store_dir: Path) -> None:
    state = engine.up(thing("life-destroy")).state
    engine.destroy(state)
    assert not store_path(store_dir, state.id).exists()
    assert engine.process.wait_for_stderr(f"delete {state.id}")


# ---------------------------------------------------------------------------- check / preview


def test_check_failures(engine: Engine) -> None:
    reg = thing("chk", "  ", size=-1)
    outcome = engine.check(reg)
    assert [prop for prop, _ in outcome.failures] == ["name", "size"]
    assert "non-negative" in outcome.failures[1][1]
    with pytest.raises(CheckFailed) as caught:
        engine.up(reg)
    assert caught.value.failures == outcome.failures
    assert "Create" not in methods(engine, caught.value.urn)
    # Check may normalise inputs; the checked inputs are what gets stored.
    assert engine.check(thing("chk2", "  padded ")).inputs["name"] == "padded"


def test_preview_with_unknown_input_never_creates(engine: Engine, store_dir: Path) -> None:
    files_before = set(store_dir.iterdir())
    reg = capture_registration(lambda: SampleThing("pv", "pv"), preview=True, unknown_keys={"name"})
    planned = engine.preview(reg)
    assert planned.step == "create"
    assert isinstance(planned.inputs["name"], Unknown)
    assert engine.process.wait_for_stderr("check saw unknown inputs: name")
    assert methods(engine, engine.urn_for(TYPE_TOKEN, "pv")) == ["Check"]
    assert set(store_dir.iterdir()) == files_before


def test_preview_of_existing_resource_with_unknown_input(engine: Engine, store_dir: Path) -> None:
    state = engine.up(thing("pv2", size=1)).state
    planned = engine.preview(thing("pv2", size=1).with_unknowns(["size"]), state)
    assert planned.step == "update"
    assert engine.process.wait_for_stderr(f"diff {state.id} saw unknown inputs: size")
    assert methods(engine, state.urn)[-2:] == ["Check", "Diff"]
    assert live(store_dir, state.id)["size"] == 1.0


# ---------------------------------------------------------------------------- configure


def test_configure_reaches_provider(engine: Engine) -> None:
    outputs = engine.up(thing("cfg")).state.outputs
    assert outputs["greeting"] == "hello"  # "greeting" was sent as "defender-air-tests:greeting"
    assert outputs["token_is_plain"] is True  # secret config arrives unwrapped
    assert engine.process.wait_for_stderr("configure greeting='hello' token_set=True")


def test_configure_uses_project_namespace(engine_factory: EngineFactory, tmp_path: Path) -> None:
    other = engine_factory(
        project="other-project",
        config={"greeting": "bonjour", "defender-air-tests:greeting": "wrong namespace"},
        env={STORE_ENV: str(tmp_path)},
    )
    reg = capture_registration(lambda: SampleThing("ns", "ns"), project="other-project")
    state = other.up(reg).state
    assert state.outputs["greeting"] == "bonjour"
    assert state.outputs["token_is_plain"] is False
    assert state.urn.startswith("urn:pulumi:dev::other-project::")


# ---------------------------------------------------------------------------- concurrency and errors


def test_concurrent_creates(engine: Engine, store_dir: Path) -> None:
    regs = [thing(f"conc-{i}", sleep=0.1) for i in range(20)]
    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(engine.up, regs))
    ids = {r.state.id for r in results}
    assert len(ids) == 20
    assert all(store_path(store_dir, i).exists() for i in ids)
    assert all(r.step == "create" for r in results)
    # The dynamic server really ran creates side by side (it has 4 workers).
    assert 2 <= max(r.state.outputs["in_flight"] for r in results) <= 4


def test_provider_exception_becomes_provider_error(engine: Engine) -> None:
    with pytest.raises(ProviderError) as caught:
        engine.up(thing("boom", fail_on="create"))
    err = caught.value
    assert err.method == "Create"
    assert err.code == grpc.StatusCode.UNKNOWN
    assert err.message == "RuntimeError: create refused for 'boom': fail_on=create"
    assert "Traceback (most recent call last)" in err.details
    assert "sample_provider.py" in err.details


def test_provider_error_message_is_the_exception_block() -> None:
    details = (
        "Traceback (most recent call last):\n"
        '  File "x.py", line 1, in create\n'
        "    raise ServiceError(...)\n"
        "    ^^^^^^^^^^^^^^^^^^^^^^^\n"
        "ServiceError: 403 from Exchange\n"
        "grant the Exchange Administrator role\n"
    )
    err = ProviderError("Update", grpc.StatusCode.UNKNOWN, details)
    assert err.message == "ServiceError: 403 from Exchange\ngrant the Exchange Administrator role"
    assert str(err).startswith("Update failed with UNKNOWN: ServiceError: 403")
    assert ProviderError("Read", grpc.StatusCode.UNAVAILABLE, " gone \n").message == "gone"


def test_provider_that_dies_before_port_reports_stderr() -> None:
    script = "import sys; sys.stderr.write('kaboom\\n'); sys.exit(3)"
    with pytest.raises(ProviderStartError, match=r"(?s)exited with code 3.*kaboom"):
        ProviderProcess(command=[sys.executable, "-c", script]).start()


@pytest.fixture
def raw_process(store_dir: Path) -> Iterator[ProviderProcess]:
    with ProviderProcess(env={STORE_ENV: str(store_dir)}) as process:
        yield process


def test_unconfigured_process_and_unimplemented_methods(raw_process: ProviderProcess) -> None:
    assert raw_process.get_plugin_info() == "0.1.0"
    response = raw_process.configure({"greeting": "x"})
    assert response.acceptSecrets is False  # why the engine strips secrets for dynamic providers
    with pytest.raises(ProviderError) as caught:
        raw_process.call("GetSchema", provider_pb2.GetSchemaRequest())
    assert caught.value.code == grpc.StatusCode.UNIMPLEMENTED
