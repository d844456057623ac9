"""The walls between layers, kept by import-linter (contracts in pyproject.toml, [tool.importlinter]).

- ``checks-know-no-driver``: statistics, reports, figures, results and the catalogue import
  neither the CLI, the runner nor papermill / nbconvert / click.
- ``driver-never-loads-models``: the runner, CLI, config, registry and trust decisions never
  import the modules that load an artifact (loading, the worker's own main, safe_pickle, ONNX).
- ``figures-take-plain-data``: figures import no report and no artifact.

Imports inside functions count too. Each contract is also shown to fail: a copy of the package
with one forbidden import planted per contract must break all three, each naming the import.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")
CONTRACTS = ("checks-know-no-driver", "driver-never-loads-models", "figures-take-plain-data")


def lint_imports(package_parent: Path) -> subprocess.CompletedProcess:
    """``lint-imports`` with the repository's contracts over the ``readiness`` package in ``package_parent``."""
    env = {**os.environ, "PYTHONPATH": str(package_parent)}
    return subprocess.run([str(LINT_IMPORTS), "--no-cache", str(ROOT / "pyproject.toml")], cwd=package_parent,
                          env=env, capture_output=True, text=True, timeout=300)


def test_the_import_contracts_hold():
    result = lint_imports(ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Contracts: 3 kept, 0 broken." in result.stdout


def test_each_contract_fails_on_a_forbidden_import(tmp_path):
    shutil.copytree(ROOT / "readiness", tmp_path / "readiness", ignore=shutil.ignore_patterns("__pycache__"))
    planted = {
        "readiness/stats/metrics.py": "import papermill  # planted",
        "readiness/run/runner.py": "from readiness.artifacts import loading  # planted",
        "readiness/figures/monitoring.py": "from readiness.reports.golden import benchmark  # planted",
    }
    for relative, line in planted.items():
        with open(tmp_path / relative, "a", encoding="utf-8") as handle:
            handle.write(f"\n\ndef _planted():\n    {line}\n")
    result = lint_imports(tmp_path)
    out = result.stdout
    assert result.returncode == 1, out + result.stderr
    assert "Contracts: 0 kept, 3 broken." in out, out
    assert "readiness.stats.metrics -> papermill" in out
    assert "readiness.run.runner -> readiness.artifacts.loading" in out
    assert "readiness.figures.monitoring -> readiness.reports.golden.benchmark" in out
