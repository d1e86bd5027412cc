"""The CI recipes of examples/pipelines: the settings that make them work, read from the YAML itself.

Neither file can run here (no runner, no tenant), so the tests check what a reviewer would: OIDC permission, a
refreshed preview on pull requests, ``up`` only on main, and that every provider variable the recipe sets is one
the provider really reads and that, with what the CI system adds, the provider picks the intended credential.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml  # type: ignore[import-untyped]  # PyYAML comes with pulumi; its stubs are a separate package

from defender_air_provider.core.credentials import AZURE_PIPELINES, GITHUB_ACTIONS, choose_credential
from defender_air_provider.core.settings import Settings

PIPELINES = Path(__file__).resolve().parents[2] / "examples" / "pipelines"
PROVIDER_VARIABLE = re.compile(r"^(AZURE_|AZURESUBSCRIPTION_|DEFENDER_AIR_|SYSTEM_ACCESSTOKEN$|ACTIONS_ID_TOKEN_)")


def load(name: str) -> dict[Any, Any]:
    document = yaml.safe_load((PIPELINES / name).read_text(encoding="utf-8"))
    assert isinstance(document, dict)
    return document


GUID = "11111111-2222-3333-4444-555555555555"


def placeholder(name: str) -> str:
    """A value of the right shape for ``name`` (ids are GUIDs, the portal session is a cookie string)."""
    if name.endswith("_ID"):
        return GUID
    if name == "DEFENDER_AIR_PORTAL_SESSION":
        return "sccauth=placeholder-value; XSRF-TOKEN=placeholder-value"
    return f"value-of-{name.lower()}"


def environ_from(env: dict[str, str], **added: str) -> dict[str, str]:
    """The environment a step's ``env`` gives the provider, expressions replaced by placeholder values."""
    return {**{name: placeholder(name) for name in env}, **added}


def assert_the_provider_reads(names: list[str]) -> None:
    """Each name must change a setting when set alone: a typo (AZURE_CLIENTID) would be silently ignored."""
    # A tenant id in the baseline: configure refuses a client id without one (docs/configuration.md).
    base = {"AZURE_TENANT_ID": "22222222-3333-4444-5555-666666666666"}  # not the placeholder: that must change it
    baseline = Settings.load({}, base)
    for name in names:
        assert Settings.load({}, {**base, name: placeholder(name)}) != baseline, f"the provider does not read {name}"


def test_github_actions_recipe() -> None:
    workflow = load("github-actions.yml")
    triggers: dict[str, Any] = workflow["on"] if "on" in workflow else workflow[True]  # YAML 1.1: bare `on` is true
    assert triggers["pull_request"]["branches"] == ["main"]
    assert triggers["push"]["branches"] == ["main"]
    assert workflow["permissions"]["id-token"] == "write"

    jobs = workflow["jobs"]
    by_command = {step["with"]["command"]: (job, step) for job in jobs.values() for step in job["steps"]
                  if str(step.get("uses", "")).startswith("pulumi/actions@")}
    preview_job, preview = by_command["preview"]
    up_job, up = by_command["up"]
    assert preview["with"]["refresh"] is True
    assert up["with"]["stack-name"] == preview["with"]["stack-name"]
    assert preview_job["if"] == "github.event_name == 'pull_request'"
    assert up_job["if"] == "github.event_name == 'push' && github.ref == 'refs/heads/main'"
    for job in (preview_job, up_job):
        assert any("pip install" in str(step.get("run", "")) for step in job["steps"])
        assert "permissions" not in job  # the workflow's id-token permission applies

    env = workflow["env"]
    assert env["AZURE_CLIENT_ID"] and env["AZURE_TENANT_ID"]
    assert env["DEFENDER_AIR_PORTAL_SESSION"] == "${{ secrets.DEFENDER_AIR_PORTAL_SESSION }}"
    assert "AZURE_CLIENT_SECRET" not in env
    assert not any(str(s.get("uses", "")).startswith("azure/login") for j in jobs.values() for s in j["steps"])
    assert_the_provider_reads([name for name in env if PROVIDER_VARIABLE.match(name)])
    # With what the runner adds under `id-token: write`, the provider signs in with GitHub Actions OIDC.
    runner = {"ACTIONS_ID_TOKEN_REQUEST_URL": "https://runner/idtoken?api-version=2.0",
              "ACTIONS_ID_TOKEN_REQUEST_TOKEN": "runner-request-token"}
    assert choose_credential(Settings.load({}, environ_from(env, **runner))).kind == GITHUB_ACTIONS


def test_azure_pipelines_recipe() -> None:
    pipeline = load("azure-pipelines.yml")
    assert pipeline["trigger"]["branches"]["include"] == ["main"]
    assert pipeline["pr"]["branches"]["include"] == ["main"]
    scripts = [step for step in pipeline["steps"] if "script" in step]
    assert any("pip install" in step["script"] for step in scripts)

    (preview,) = [s for s in scripts if s["script"].startswith("pulumi preview")]
    (up,) = [s for s in scripts if s["script"].startswith("pulumi up")]
    assert "--refresh" in preview["script"].split()
    assert "eq(variables['Build.Reason'], 'PullRequest')" in preview["condition"]
    assert "ne(variables['Build.Reason'], 'PullRequest')" in up["condition"]
    assert "eq(variables['Build.SourceBranch'], 'refs/heads/main')" in up["condition"]

    for step in (preview, up):
        env = step["env"]
        assert env["SYSTEM_ACCESSTOKEN"] == "$(System.AccessToken)"  # a secret variable: mapped or absent
        assert env["AZURESUBSCRIPTION_SERVICE_CONNECTION_ID"] and env["AZURE_CLIENT_ID"] and env["AZURE_TENANT_ID"]
        assert "AZURE_CLIENT_SECRET" not in env
        assert_the_provider_reads([name for name in env if PROVIDER_VARIABLE.match(name)])
        assert choose_credential(Settings.load({}, environ_from(env))).kind == AZURE_PIPELINES
