import email
import re
import subprocess
import sys
import tarfile
import tomllib
import zipfile
from pathlib import Path

import pytest
import yaml

import readiness

ROOT = Path(__file__).resolve().parent.parent


def _normalise(requirement: str) -> str:
    name = re.split(r"[<>=!~ \[]", requirement.strip(), maxsplit=1)[0]
    spec = requirement.strip()[len(name):].replace(" ", "")
    return name.lower().replace("_", "-") + spec


def test_environment_yml_mirrors_pyproject_runtime_dependencies():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    runtime = {_normalise(r) for r in project["dependencies"]}
    environment = yaml.safe_load((ROOT / "environment.yml").read_text())
    conda = {_normalise(d) for d in environment["dependencies"] if isinstance(d, str)}
    extras = {d for d in conda if d.startswith(("python", "pip", "jupyterlab"))}
    assert conda - extras == runtime
    assert any(d.startswith("jupyterlab") for d in extras)
    assert "conda-forge" in environment["channels"]


def test_console_script_points_at_the_cli():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert project["scripts"] == {"readiness": "readiness.cli:main"}
    assert project["requires-python"] == ">=3.10"


@pytest.fixture(scope="module")
def distributions(tmp_path_factory) -> dict[str, Path]:
    """`python -m build` of this checkout (as `make dist`): {"wheel": …, "sdist": …}."""
    pytest.importorskip("build")
    out = tmp_path_factory.mktemp("dist")
    result = subprocess.run([sys.executable, "-m", "build", "--no-isolation", "--outdir", str(out), str(ROOT)],
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stderr[-3000:]
    return {"wheel": next(out.glob("*.whl")), "sdist": next(out.glob("*.tar.gz"))}


def test_wheel_and_sdist_pass_twine_check(distributions):
    result = subprocess.run([sys.executable, "-m", "twine", "check", "--strict", *map(str, distributions.values())],
                            capture_output=True, text=True)
    assert result.returncode == 0 and result.stdout.count("PASSED") == 2, result.stdout + result.stderr


def test_wheel_ships_notebooks_and_templates(distributions):
    wheel = distributions["wheel"]
    assert wheel.name.startswith(f"ml_readiness-{readiness.__version__}-py3-none-any")
    names = set(zipfile.ZipFile(wheel).namelist())
    for required in ("readiness/cli.py", "readiness/notebooks/golden_benchmark.ipynb",
                     "readiness/templates/readiness/index.html.j2", "readiness/templates/readiness/conf.json",
                     "readiness/templates/readiness.yaml", "readiness/templates/ci/github-workflow.yml"):
        assert required in names, required
    assert any(n.endswith(".dist-info/licenses/LICENSE") for n in names)
    assert not any("fixtures" in n or n.startswith(("tests/", "docs/")) for n in names)


def test_published_metadata(distributions):
    """What PyPI shows: our own name, the one version, license, classifiers, project URLs, extras."""
    from packaging.requirements import Requirement

    with zipfile.ZipFile(distributions["wheel"]) as wheel:
        text = wheel.read(next(n for n in wheel.namelist() if n.endswith(".dist-info/METADATA"))).decode()
    metadata = email.message_from_string(text)
    assert metadata["Name"] == "ml-readiness" and metadata["Version"] == readiness.__version__
    assert metadata["License-Expression"] == "MIT" and metadata["Requires-Python"] == ">=3.10"
    classifiers = metadata.get_all("Classifier")
    assert "Framework :: Jupyter :: JupyterLab" in classifiers and "Programming Language :: Python :: 3.12" in classifiers
    urls = dict(u.split(", ", 1) for u in metadata.get_all("Project-URL"))
    assert all(u.startswith("https://") for u in urls.values()) and "Changelog" in urls
    assert {"lab", "onnx", "mlflow", "test"} <= set(metadata.get_all("Provides-Extra"))
    lab = [Requirement(r) for r in metadata.get_all("Requires-Dist")]
    assert [r.name for r in lab if r.marker and r.marker.evaluate({"extra": "lab"})] == ["jupyterlab"]
    assert metadata.get_payload().lstrip().startswith("# readiness")  # the README is the long description


def test_sdist_holds_what_a_rebuild_and_the_tests_need(distributions):
    with tarfile.open(distributions["sdist"]) as sdist:
        names = {n.split("/", 1)[1] for n in sdist.getnames() if "/" in n}
    for required in ("pyproject.toml", "LICENSE", "CHANGELOG.md", "README.md", "readiness/__init__.py",
                     "notebooks/golden_benchmark.ipynb", "templates/ci/gitlab-ci.yml", "tests/conftest.py", "Makefile"):
        assert required in names, required


def test_one_version_in_one_place():
    """readiness/__init__.py holds it; the installed metadata, the changelog and the CI pins agree."""
    from importlib import metadata

    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert "version" not in project["project"] and project["project"]["dynamic"] == ["version"]
    assert project["tool"]["hatch"]["version"]["path"] == "readiness/__init__.py"
    assert metadata.version("ml-readiness") == readiness.__version__
    newest = re.search(r"^## \[(\d+\.\d+\.\d+[^\]]*)\]", (ROOT / "CHANGELOG.md").read_text(), re.M)
    assert newest and newest.group(1) == readiness.__version__
    for template in (ROOT / "templates" / "ci").iterdir():
        pins = re.findall(r"ml-readiness==([\w.]+)", template.read_text())
        assert pins == [readiness.__version__], (template.name, pins)


def test_lab_extra_is_installed_and_jupyterlab_runs():
    """The test extra includes [lab]: every requirement of the lab extra is satisfied here."""
    from importlib import metadata

    from packaging.requirements import Requirement

    requirements = [Requirement(r) for r in metadata.requires("ml-readiness")]
    lab = [r for r in requirements if r.marker and r.marker.evaluate({"extra": "lab"})]
    assert [r.name for r in lab] == ["jupyterlab"]
    for requirement in lab:
        assert requirement.specifier.contains(metadata.version(requirement.name)), requirement
    result = subprocess.run([str(Path(sys.executable).parent / "jupyter"), "lab", "--version"],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0 and result.stdout.strip() == metadata.version("jupyterlab"), result.stderr


@pytest.mark.notebooks
def test_make_lab_serves_the_notebook_templates(tmp_path):
    """`make lab`'s command starts a server that lists the four templates; then it is stopped."""
    import json
    import os
    import secrets
    import shlex
    import socket
    import time
    import urllib.request

    dry = subprocess.run(["make", "-n", "-C", str(ROOT), "lab", "LAB_ARGS=--no-browser"], capture_output=True, text=True)
    recipe = [line for line in dry.stdout.replace("\\\n", " ").splitlines() if "jupyter lab" in line]
    assert len(recipe) == 1 and "--notebook-dir=notebooks" in recipe[0] and "READINESS_DEMO_DIR=" in recipe[0], dry.stdout
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    token = secrets.token_hex(16)
    command = shlex.split(recipe[0].split("READINESS_DEMO_DIR=", 1)[1].split(" ", 1)[1])
    command[0] = str(Path(sys.executable).parent / "jupyter")  # this test environment's, as .venv/bin/jupyter
    env = dict(os.environ, READINESS_DEMO_DIR=str(tmp_path / "scenario"), JUPYTER_RUNTIME_DIR=str(tmp_path / "runtime"),
               JUPYTER_CONFIG_DIR=str(tmp_path / "config"))
    server = subprocess.Popen([*command, "--ip=127.0.0.1", f"--port={port}", f"--IdentityProvider.token={token}"],
                              cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        listing, deadline = None, time.monotonic() + 120
        while listing is None and time.monotonic() < deadline and server.poll() is None:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/contents?token={token}", timeout=5) as answer:
                    listing = json.load(answer)
            except OSError:
                time.sleep(0.5)
        assert listing is not None, server.stderr.read() if server.poll() is not None else "no answer in 120 s"
        names = sorted(item["name"] for item in listing["content"])
        assert names == ["drift_report.ipynb", "golden_benchmark.ipynb", "monitoring_report.ipynb",
                         "workflow_risk_checklist.ipynb"]
    finally:
        server.terminate()
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


def test_make_targets_and_ci_call_the_readme_commands():
    readme = (ROOT / "README.md").read_text().splitlines()
    head = "\n".join(readme[:8])
    assert "make demo" in head and "make test" in head
    makefile = (ROOT / "Makefile").read_text()
    assert re.search(r"^demo:", makefile, re.M) and re.search(r"^test:", makefile, re.M)
    assert "make test" in (ROOT / ".ci" / "run").read_text()


def test_pre_commit_hooks_are_valid_and_run_the_make_lint_tools():
    result = subprocess.run([sys.executable, "-m", "pre_commit", "validate-config", str(ROOT / ".pre-commit-config.yaml")],
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    hooks = yaml.safe_load((ROOT / ".pre-commit-config.yaml").read_text())["repos"][0]["hooks"]
    entries = {hook["id"]: hook["entry"] for hook in hooks}
    lint = re.search(r"^lint:.*\n((?:\t.*\n)+)", (ROOT / "Makefile").read_text(), re.M).group(1)
    assert entries["ruff"].startswith(".venv/bin/ruff check") and "$(BIN)/ruff check" in lint
    assert entries["mypy"] == ".venv/bin/mypy" and "$(BIN)/mypy" in lint
