from __future__ import annotations

import os
import tempfile
from pathlib import Path

# Every check any test creates answers to the check catalogue: in this process, in the readiness
# commands the tests start and in their notebook kernels (they inherit the environment). Each
# violation also lands in this file, so one a report catches (or a kernel dies of) still fails the run.
VIOLATIONS = Path(tempfile.mkdtemp(prefix="readiness-check-ids-")) / "violations.txt"
os.environ["READINESS_STRICT_CHECK_IDS"] = str(VIOLATIONS)

import pytest
import skops.io
import yaml

import readiness.registry  # noqa: E402,F401 - lends readiness.results the catalogue strict mode checks against
from helpers import (DOLLAR_COLUMN, HOSTILE_COLUMN, HOSTILE_IMG_COLUMN, HOSTILE_SEGMENTS, HOSTILE_STRINGS,
                     PHISHING_COLUMN, PIXEL_COLUMN, fit_classifier, run_readiness, tiny_classification,
                     write_hostile_project)


@pytest.fixture(scope="session")
def tiny_scenario(tmp_path_factory) -> Path:
    """golden.csv, candidate/baseline .skops and readiness.yaml for a small binary task."""
    folder = tmp_path_factory.mktemp("tiny")
    train = tiny_classification(2000, seed=1)
    golden = tiny_classification(600, seed=2)
    features = ["x1", "x2", HOSTILE_COLUMN, HOSTILE_IMG_COLUMN, "region"]
    skops.io.dump(fit_classifier(train, features), folder / "candidate.skops")
    skops.io.dump(fit_classifier(train, ["x1", "x2", "region"], C=0.01), folder / "baseline.skops")
    golden.to_csv(folder / "golden.csv", index=False)
    config = {
        "model": "candidate.skops", "baseline": "baseline.skops", "target": "label", "golden": "golden.csv",
        "segments": ["region"],
        "golden_benchmark": {"n_bootstrap": 200, "min_segment_rows": 30,
                             "metrics": {"roc_auc": {"min": 0.6, "max_regression": 0.05}},
                             "latency": {"single_row_calls": 20}},
        "output": "out",
    }
    (folder / "readiness.yaml").write_text(yaml.safe_dump(config), encoding="utf-8")
    return folder


@pytest.fixture(scope="session")
def tiny_run(tiny_scenario, tmp_path_factory):
    """`readiness run` on the tiny scenario, once per session: (folder, completed process)."""
    import shutil

    folder = tmp_path_factory.mktemp("run")
    for item in tiny_scenario.iterdir():
        shutil.copy(item, folder)
    result = run_readiness(["run", "--config", "readiness.yaml"], cwd=folder)
    return folder, result


@pytest.fixture(scope="session")
def hostile_run(tmp_path_factory):
    """`readiness run` of all three reports on a project whose column names, segment values and
    checklist texts are hostile (tests/helpers.py), once per session: (project folder, completed process)."""
    folder = write_hostile_project(tmp_path_factory.mktemp("hostile") / "project", [DOLLAR_COLUMN, PIXEL_COLUMN],
                                   PHISHING_COLUMN, HOSTILE_SEGMENTS, HOSTILE_STRINGS, roc_auc_min=0.99)
    return folder, run_readiness(["run"], cwd=folder)


@pytest.fixture(scope="session")
def demo_run(tmp_path_factory):
    """`readiness demo --out readiness-demo` (what `make demo` runs), once per session:
    (the demo folder, completed process)."""
    folder = tmp_path_factory.mktemp("demo")
    result = run_readiness(["demo", "--out", "readiness-demo"], cwd=folder, timeout=900)
    return folder / "readiness-demo", result


# --------------------------------------------------------------------------- the check catalogue
# Two nets over every test: strict mode's violations file (checks refused as they were made,
# in any process), and the results documents the tests wrote (ids that reached a file).

_BASETEMP: list[Path] = []


@pytest.fixture(scope="session", autouse=True)
def _remember_basetemp(tmp_path_factory):
    _BASETEMP.append(tmp_path_factory.getbasetemp())


def uncatalogued_ids_in(folder: Path) -> list[str]:
    """``file: id`` for every check id in the results documents under ``folder`` that the catalogue lacks."""
    from readiness.exceptions import InputError
    from readiness.registry import registry
    from readiness.results import read_results

    catalogue, found = registry.catalogue(), []
    for name in registry.names():
        for path in sorted(folder.rglob(f"{name}.json")):
            try:
                document = read_results(path, name)
            except (InputError, OSError):  # the tests' deliberately broken files
                continue
            if document is None:
                continue
            found += [f"{path}: {check.get('id')!r}" for check in document.get("checks", [])
                      if not isinstance(check.get("id"), str) or catalogue.find(check["id"]) is None]
    return found


def pytest_sessionfinish(session, exitstatus):
    problems = []
    if VIOLATIONS.exists():
        problems += VIOLATIONS.read_text(encoding="utf-8").splitlines()
    for folder in _BASETEMP:
        problems += uncatalogued_ids_in(folder)
    if problems:
        reporter = session.config.pluginmanager.get_plugin("terminalreporter")
        write = reporter.write_line if reporter else print
        write(f"\nCHECK CATALOGUE: {len(problems)} check(s) the catalogue does not describe; add them to "
              "readiness/reports/<report>/catalogue.py (the run fails):")
        for line in problems[:50]:
            write("  " + line[:400])
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
