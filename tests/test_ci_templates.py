"""The CI templates' own commands, executed against the demo scenario."""

import os
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from readiness.demo import build_scenario
from readiness.resources import templates_dir

pytestmark = pytest.mark.notebooks


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    """A project folder with the demo's readiness.yaml, models and golden set at its root."""
    folder = tmp_path_factory.mktemp("project")
    build_scenario(folder)
    return folder


def shell(command: str, cwd: Path, env: dict) -> subprocess.CompletedProcess:
    return subprocess.run(["bash", "-c", command], cwd=cwd, env=env, capture_output=True, text=True, timeout=300)


def environment(**extra) -> dict:
    env = dict(os.environ, **extra)
    env["PATH"] = str(Path(sys.executable).parent) + os.pathsep + env.get("PATH", "")  # the `readiness` script
    return env


def is_install(command: str) -> bool:
    return shlex.split(command)[:2] == ["pip", "install"]  # tests never touch the network


def test_gitlab_job(project):
    job = yaml.safe_load((templates_dir() / "ci" / "gitlab-ci.yml").read_text())["readiness"]
    assert job["artifacts"]["when"] == "always" and job["artifacts"]["expose_as"]
    assert not any(p.startswith("./") for p in job["artifacts"]["paths"])
    results = [shell(c, project, environment()) for c in job["script"] if not is_install(c)]
    assert len(results) == 1
    # the demo is FAIL: exit 1 fails the job; 3 (WARN) would be an allowed failure
    assert results[-1].returncode == 1, results[-1].stderr
    assert job["allow_failure"]["exit_codes"] == [3] and "--warn-exit-code 3" in job["script"][-1]
    for path in job["artifacts"]["paths"]:
        assert (project / path).exists(), path
    junit = (project / job["artifacts"]["reports"]["junit"]).read_text()
    assert "<failure" in junit and "region=north" in junit
    # the release history the run recorded is what the cache keeps for the next pipeline
    history = next(c for c in job["cache"] if c.get("key") == "readiness-history")
    assert history["when"] == "always" and all((project / p).is_file() for p in history["paths"])


def test_github_workflow(project, tmp_path):
    workflow = yaml.safe_load((templates_dir() / "ci" / "github-workflow.yml").read_text())
    steps = workflow["jobs"]["readiness"]["steps"]
    summary_file = tmp_path / "step_summary.md"
    env = environment(GITHUB_STEP_SUMMARY=str(summary_file))
    failed = False
    for step in steps:
        if "run" not in step or is_install(step["run"]):
            continue
        if failed and step.get("if") != "always()":
            continue
        result = shell(step["run"], project, env)
        failed = failed or result.returncode != 0
    assert failed, "the demo's FAIL must fail the job"
    summary = summary_file.read_text()
    assert summary.startswith("## ❌ readiness: FAIL") and len(summary.encode()) < 1024 * 1024
    restore = next(s for s in steps if s.get("uses", "").startswith("actions/cache/restore"))
    save = next(s for s in steps if s.get("uses", "").startswith("actions/cache/save"))
    assert steps.index(restore) < steps.index(save) and save.get("if") == "always()"
    assert restore["with"]["path"] == save["with"]["path"] and (project / save["with"]["path"]).is_file()
    assert save["with"]["key"].startswith(restore["with"]["restore-keys"])  # the next run restores this one
    upload = next(s for s in steps if s.get("uses", "").startswith("actions/upload-artifact"))
    assert upload.get("if") == "always()" and (project / upload["with"]["path"]).is_dir()
