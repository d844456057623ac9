import re
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

import pytest
import yaml

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


def test_wheel_ships_notebooks_and_templates(tmp_path):
    pytest.importorskip("hatchling")
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
                    "-w", str(tmp_path), str(ROOT)], check=True, capture_output=True)
    wheel = next(tmp_path.glob("readiness-*.whl"))
    names = set(zipfile.ZipFile(wheel).namelist())
    for required in ("readiness/cli.py", "readiness/notebooks/golden_benchmark.ipynb",
                     "readiness/templates/readiness/index.html.j2", "readiness/templates/readiness/conf.json",
                     "readiness/templates/readiness.yaml"):
        assert required in names, required
    assert not any("fixtures" in n or n.startswith("tests/") for n in names)


def test_make_targets_and_ci_call_the_readme_commands():
    readme = (ROOT / "README.md").read_text().splitlines()
    head = "\n".join(readme[:8])
    assert "make demo" in head and "make test" in head
    makefile = (ROOT / "Makefile").read_text()
    assert re.search(r"^demo:", makefile, re.M) and re.search(r"^test:", makefile, re.M)
    assert "make test" in (ROOT / ".ci" / "run").read_text()
