"""A tiny dynamic provider that exists only to exercise the engine-protocol harness.

Why it looks the way it does:

- It lives in an importable module (``tests.harness.sample_provider``), so dill pickles it *by
  reference*, exactly like the real providers in the installed package. The provider process
  therefore has to import this module, which is why the harness puts the repository root on
  ``PYTHONPATH``.
- Its "remote service" is a directory of JSON files named by ``$SAMPLE_STORE_DIR``. The provider
  runs in another process, so a shared directory is the simplest way for a test to inspect what the
  provider did and to create drift (edit a file) or out-of-band deletion (remove a file).
- It writes one line per call to stderr, which is where a real provider's logs go (the provider
  process has no engine connection), so tests can assert on what the provider saw, for example
  ``pulumi.output.Unknown`` values during preview.
- Knobs that are inputs (``diff_mode``, ``replace_mode``, ``fail_on``, ``sleep``) let one provider
  produce every Diff answer and error path the harness must handle.

The module has no import-time side effects (docs/wire/pulumi-engine.md §3.1).
"""

from __future__ import annotations

import json
import os
import sys
import threading
import time
import uuid
from pathlib import Path
from typing import Any

import pulumi
from pulumi.dynamic import (
    CheckFailure,
    CheckResult,
    ConfigureRequest,
    CreateResult,
    DiffResult,
    ReadResult,
    Resource,
    ResourceProvider,
    UpdateResult,
)
from pulumi.output import Unknown

STORE_ENV = "SAMPLE_STORE_DIR"
"""Environment variable naming the directory that plays the remote service."""

TYPE_TOKEN = "pulumi-python:dynamic/sample:Thing"

INPUT_KEYS = ("name", "size", "password", "diff_mode", "replace_mode", "fail_on", "sleep")
"""Inputs the provider understands; ``read`` rebases exactly these."""

_DIFFED_KEYS = ("name", "size", "password", "diff_mode", "replace_mode", "fail_on")

_in_flight = 0
_in_flight_lock = threading.Lock()


def _log(message: str) -> None:
    """Log like a real provider: to stderr, one line, flushed (the harness reads it live)."""
    print(f"sample-provider: {message}", file=sys.stderr, flush=True)


def _store() -> Path:
    directory = os.environ.get(STORE_ENV)
    if not directory:
        raise RuntimeError(f"{STORE_ENV} is not set: the sample provider needs a store directory")
    return Path(directory)


def store_path(store_dir: str | os.PathLike[str], object_id: str) -> Path:
    """Where the object ``object_id`` lives; shared with tests so they can inspect or tamper."""
    return Path(store_dir) / f"{object_id}.json"


def _unknown_keys(props: dict[str, Any]) -> list[str]:
    return sorted(k for k, v in props.items() if isinstance(v, Unknown))


class SampleProvider(ResourceProvider):
    """Provider for :class:`SampleThing`. Holds no instance state until ``configure`` runs."""

    def configure(self, req: ConfigureRequest) -> None:
        # "greeting" is looked up as "<PULUMI_PROJECT>:greeting"; "token" is secret config that
        # the dynamic server unwraps before it reaches us.
        self._greeting = req.config.get("greeting")
        self._token = req.config.get("token")
        _log(f"configure greeting={self._greeting!r} token_set={self._token is not None}")

    def check(self, _olds: dict[str, Any], news: dict[str, Any]) -> CheckResult:
        unknown = _unknown_keys(news)
        if unknown:
            _log(f"check saw unknown inputs: {','.join(unknown)}")
        failures: list[CheckFailure] = []
        name = news.get("name")
        if not isinstance(name, Unknown):
            if not isinstance(name, str) or not name.strip():
                failures.append(CheckFailure("name", "name is required and must be a non-empty string"))
            else:
                news = {**news, "name": name.strip()}
        size = news.get("size")
        if size is not None and not isinstance(size, Unknown) and (
            isinstance(size, bool) or not isinstance(size, (int, float)) or size < 0
        ):
            failures.append(CheckFailure("size", f"size must be a non-negative number, got {size!r}"))
        return CheckResult(news, failures)

    def diff(self, id_: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        unknown = _unknown_keys(news)
        if unknown:
            _log(f"diff {id_} saw unknown inputs: {','.join(unknown)}")
        if news.get("diff_mode") == "unknown":
            return DiffResult()  # changes=None -> DIFF_UNKNOWN: the engine compares inputs itself
        changed = [k for k in _DIFFED_KEYS if olds.get(k) != news.get(k)]
        replaces = [k for k in changed if k == "name"]
        return DiffResult(
            changes=bool(changed),
            replaces=replaces,
            delete_before_replace=news.get("replace_mode") == "delete_first",
        )

    def create(self, props: dict[str, Any]) -> CreateResult:
        global _in_flight
        if props.get("fail_on") == "create":
            raise RuntimeError(f"create refused for {props.get('name')!r}: fail_on=create")
        with _in_flight_lock:
            _in_flight += 1
            in_flight = _in_flight
        try:
            time.sleep(float(props.get("sleep") or 0))
            object_id = uuid.uuid4().hex
            self._write(object_id, props)
        finally:
            with _in_flight_lock:
                _in_flight -= 1
        _log(f"create {object_id} name={props.get('name')!r}")
        return CreateResult(object_id, {**self._outs(object_id, props), "in_flight": in_flight})

    def read(self, id_: str, props: dict[str, Any]) -> ReadResult:
        path = store_path(_store(), id_)
        if not path.exists():
            _log(f"read {id_}: gone")
            return ReadResult(None, {})
        live = json.loads(path.read_text())
        outs = {**props, **live}
        inputs = {k: outs[k] for k in INPUT_KEYS if outs.get(k) is not None}
        _log(f"read {id_}")
        return ReadResult(id_, outs, inputs)

    def update(self, id_: str, olds: dict[str, Any], news: dict[str, Any]) -> UpdateResult:
        if news.get("fail_on") == "update":
            raise RuntimeError(f"update refused for {id_}: fail_on=update")
        self._write(id_, news)
        _log(f"update {id_}")
        return UpdateResult({**self._outs(id_, news), "in_flight": olds.get("in_flight")})

    def delete(self, id_: str, props: dict[str, Any]) -> None:
        if props.get("fail_on") == "delete":
            raise RuntimeError(f"delete refused for {id_}: fail_on=delete")
        store_path(_store(), id_).unlink(missing_ok=True)
        _log(f"delete {id_}")

    def _write(self, object_id: str, props: dict[str, Any]) -> None:
        live = {"name": props.get("name"), "size": props.get("size")}
        store_path(_store(), object_id).write_text(json.dumps(live))

    def _outs(self, object_id: str, props: dict[str, Any]) -> dict[str, Any]:
        password = props.get("password")
        return {
            **props,
            "object_id": object_id,
            "greeting": getattr(self, "_greeting", None),
            "token_is_plain": isinstance(getattr(self, "_token", None), str),
            "password_is_plain": password is None or isinstance(password, str),
        }


class SampleThing(Resource, module="sample", name="Thing"):
    """Dynamic resource ``pulumi-python:dynamic/sample:Thing`` backed by :class:`SampleProvider`."""

    object_id: pulumi.Output[str]
    greeting: pulumi.Output[str | None]

    def __init__(
        self,
        resource_name: str,
        name: pulumi.Input[str] | None,
        size: pulumi.Input[float] | None = None,
        password: pulumi.Input[str] | None = None,
        diff_mode: str | None = None,
        replace_mode: str | None = None,
        fail_on: str | None = None,
        sleep: float | None = None,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        props = {
            "name": name,
            "size": size,
            "password": password,
            "diff_mode": diff_mode,
            "replace_mode": replace_mode,
            "fail_on": fail_on,
            "sleep": sleep,
            # Declared so the outputs exist as attributes (docs/wire/pulumi-engine.md §2.4).
            "object_id": None,
            "greeting": None,
        }
        super().__init__(SampleProvider(), resource_name, props, opts)
