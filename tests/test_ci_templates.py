"""The CI templates' own commands, install lines included, executed against the demo scenario.

The install lines run in a fresh virtual environment against a wheel built from this checkout
(no index: the tests never touch the network). The environment sees this test environment's
third-party packages (scikit-learn, papermill, …) but not readiness itself, so the
``readiness`` that the job runs is the one its install line put there.
"""

import os
import re
import shlex
import subprocess
import sys
import sysconfig
import tomllib
from pathlib import Path

import pytest
import yaml

import readiness
from readiness.demo import build_scenario
from readiness.resources import templates_dir

pytestmark = pytest.mark.notebooks
ROOT = Path(__file__).resolve().parent.parent
DISTRIBUTION = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["name"]


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    """A project folder with the demo's readiness.yaml, models, golden set and requirements.txt at its root."""
    folder = tmp_path_factory.mktemp("project")
    build_scenario(folder)
    return folder


@pytest.fixture(scope="module")
def job_venv(tmp_path_factory) -> tuple[Path, Path]:
    """(a fresh venv without readiness, a wheelhouse holding only the wheel built from this checkout)."""
    root = tmp_path_factory.mktemp("ci-job")
    wheelhouse = root / "wheels"
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
                    "-w", str(wheelhouse), str(ROOT)], check=True, capture_output=True)
    venv = root / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    site = Path(subprocess.run([str(venv / "bin" / "python"), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
                               check=True, capture_output=True, text=True).stdout.strip())
    ours = Path(sysconfig.get_path("purelib"))
    # Hard-link the test environment's packages (the job's dependencies, already downloaded) into the
    # job's venv, never readiness itself nor its editable-install hooks: the job must get readiness
    # from its install line. Hard links, not symbolic ones: the model worker's sandbox lets it read
    # only beneath its own Python installation, as in a real job.
    entries = [str(e) for e in ours.iterdir()
               if "readiness" not in e.name.lower() and not e.name.startswith("__editable__") and not (site / e.name).exists()]
    # with the data files pip installs beside them (nbconvert's base templates, kernel specs)
    shared = Path(sys.prefix) / "share" / "jupyter"
    (venv / "share").mkdir(exist_ok=True)
    for sources, target in ((entries, site), ([str(shared)] if shared.is_dir() else [], venv / "share")):
        if not sources:
            continue
        try:
            subprocess.run(["cp", "-al", *sources, str(target)], check=True, capture_output=True)
        except subprocess.CalledProcessError:  # another file system: copy (slower, same result)
            subprocess.run(["cp", "-a", *sources, str(target)], check=True, capture_output=True)
    pip = venv / "bin" / "pip"
    pip.write_text(f"#!{venv / 'bin' / 'python'}\nimport sys\nfrom pip._internal.cli.main import main\nsys.exit(main())\n")
    pip.chmod(0o755)
    return venv, wheelhouse


def shell(command: str, cwd: Path, env: dict) -> subprocess.CompletedProcess:
    return subprocess.run(["bash", "-c", command], cwd=cwd, env=env, capture_output=True, text=True, timeout=900)


def job_environment(job_venv, **extra) -> dict:
    venv, wheelhouse = job_venv
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV", "PYTHONHOME")}
    env.update(extra, VIRTUAL_ENV=str(venv), PIP_NO_INDEX="1", PIP_FIND_LINKS=str(wheelhouse),
               PIP_DISABLE_PIP_VERSION_CHECK="1", PIP_CACHE_DIR=str(wheelhouse.parent / "pip-cache"))
    env["PATH"] = str(venv / "bin") + os.pathsep + env.get("PATH", "")
    return env


def pinned_install(commands: list[str]) -> str:
    """The install line of readiness in a template: an exact version of our distribution."""
    installs = [c for c in commands if shlex.split(c)[:2] == ["pip", "install"]]
    assert "pip install -r requirements.txt" in installs, "the model's own dependencies are installed"
    ours = [c for c in installs if DISTRIBUTION in c]
    assert len(ours) == 1, installs
    assert shlex.split(ours[0])[2:] == [f"{DISTRIBUTION}=={readiness.__version__}"], ours[0]
    return ours[0]


def assert_readiness_came_from_the_wheel(job_venv, project):
    venv, _ = job_venv
    probe = shell("python -c 'import importlib.metadata as m, readiness; "
                  f"print(readiness.__file__); print(m.version(\"{DISTRIBUTION}\"))'", project, job_environment(job_venv))
    where, version = probe.stdout.split()
    assert Path(where).resolve().is_relative_to(venv.resolve()) and version == readiness.__version__, probe.stdout


def test_gitlab_job(project, job_venv, tmp_path):
    job = yaml.safe_load((templates_dir() / "ci" / "gitlab-ci.yml").read_text())["readiness"]
    assert re.fullmatch(r"python:3\.\d+-slim", job["image"]), "an exact Python version"
    assert job["artifacts"]["when"] == "always" and job["artifacts"]["expose_as"]
    assert not any(p.startswith("./") for p in job["artifacts"]["paths"])
    pinned_install(job["script"])
    env = job_environment(job_venv, CI_JOB_URL="https://gitlab.example/group/model/-/jobs/42")
    results = [shell(c, project, env) for c in job["script"]]
    for command, result in zip(job["script"][:-1], results):
        assert result.returncode == 0, (command, result.stderr)
    assert_readiness_came_from_the_wheel(job_venv, project)
    # the demo is FAIL: exit 1 fails the job; 3 (WARN) would be an allowed failure
    assert results[-1].returncode == 1 and "Verdict: FAIL" in results[-1].stdout, results[-1].stderr
    assert job["allow_failure"]["exit_codes"] == [3] and "--warn-exit-code 3" in job["script"][-1]
    for path in job["artifacts"]["paths"]:
        assert (project / path).exists(), path
    junit = (project / job["artifacts"]["reports"]["junit"]).read_text()
    assert "<failure" in junit and "region=north" in junit
    # the release history the run recorded is what the cache keeps for the next pipeline
    history = next(c for c in job["cache"] if c.get("key") == "readiness-history")
    assert history["when"] == "always" and all((project / p).is_file() for p in history["paths"])
    for command in job["after_script"]:
        assert shell(command, project, env).returncode == 0
    summary = (project / "readiness-report" / "summary.md").read_text()
    assert "(https://gitlab.example/group/model/-/jobs/42/artifacts/file/readiness-report/golden_benchmark.html)" in summary


def test_github_workflow(project, job_venv, tmp_path):
    workflow = yaml.safe_load((templates_dir() / "ci" / "github-workflow.yml").read_text())
    steps = workflow["jobs"]["readiness"]["steps"]
    setup = next(s for s in steps if s.get("uses", "").startswith("actions/setup-python"))
    assert re.fullmatch(r"3\.\d+", setup["with"]["python-version"]), "an exact Python version"
    pinned_install([s["run"] for s in steps if "run" in s])
    summary_file = tmp_path / "step_summary.md"
    env = job_environment(job_venv, GITHUB_STEP_SUMMARY=str(summary_file))
    failed = False
    for step in steps:
        if "run" not in step or (failed and step.get("if") != "always()"):
            continue
        result = shell(step["run"], project, env)
        if step["run"].startswith("pip install"):
            assert result.returncode == 0, (step["run"], result.stderr)
        failed = failed or result.returncode != 0
    assert failed, "the demo's FAIL must fail the job"
    assert_readiness_came_from_the_wheel(job_venv, project)
    summary = summary_file.read_text()
    assert summary.startswith("## ❌ readiness: FAIL") and len(summary.encode()) < 1024 * 1024
    restore = next(s for s in steps if s.get("uses", "").startswith("actions/cache/restore"))
    save = next(s for s in steps if s.get("uses", "").startswith("actions/cache/save"))
    assert steps.index(restore) < steps.index(save) and save.get("if") == "always()"
    assert restore["with"]["path"] == save["with"]["path"] and (project / save["with"]["path"]).is_file()
    assert save["with"]["key"].startswith(restore["with"]["restore-keys"])  # the next run restores this one
    # no relative link (it would 404 on the run page): the files are named inside the artifact
    assert not re.search(r"\]\((?!https?://)", summary) and "`golden_benchmark.html`" in summary
    upload = next(s for s in steps if s.get("uses", "").startswith("actions/upload-artifact"))
    assert upload.get("if") == "always()" and (project / upload["with"]["path"]).is_dir()
