"""Interrupted, concurrent and careless runs: nothing started outlives the run, nothing is lost.

The interrupted runs are real `readiness run` children on the tiny scenario whose model
comes from a custom loader that sleeps in the fresh-process reproducibility child, so at
the moment of the signal the process tree is as deep as it gets:
readiness → papermill child → kernel → fresh-process child.
"""

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest
import yaml

from readiness.exceptions import UsageError
from readiness.results import Check, report_document, write_json
from readiness.run.folder import carry_over, check_output_folder, deferred_signals, output_lock, replace_folder

SLOW_LOADER = '''
"""Test loader: the candidate model, which sleeps when loaded in the fresh-process child."""
import os
import sys
import time
from pathlib import Path

import skops.io

HERE = Path(__file__).parent


def sleep_in_fresh_process():
    if sys.argv[0].endswith("_fresh_predict.py"):
        (HERE / "fresh.pid").write_text(str(os.getpid()))
        time.sleep(600)
    return skops.io.load(HERE / "candidate.skops")
'''


@pytest.fixture
def slow_project(tiny_scenario, tmp_path):
    """The tiny scenario with the sleeping loader, a previous report in out/, and a private TMPDIR."""
    folder = tmp_path / "project"
    shutil.copytree(tiny_scenario, folder)
    (folder / "slowloader.py").write_text(SLOW_LOADER)
    config = yaml.safe_load((folder / "readiness.yaml").read_text())
    config["model"] = "slowloader:sleep_in_fresh_process"
    (folder / "readiness.yaml").write_text(yaml.safe_dump(config))
    previous_run(folder / "out")
    (tmp_path / "tmp").mkdir()
    return folder


def previous_run(out: Path) -> None:
    """A finished earlier run in ``out``: results, report page and run files."""
    from readiness.run.aggregate import write_run_outputs

    out.mkdir(parents=True)
    doc = report_document("golden_benchmark", [Check("golden.metric.roc_auc", "ROC AUC", "pass", "0.9 ≥ 0.6", severity="critical")], {},
                          "2026-01-01T00:00:00+00:00", 1.0)
    write_json(out / "golden_benchmark.json", doc)
    (out / "golden_benchmark.html").write_text("<html>the previous report</html>")
    write_run_outputs(out, [dict(doc, files={"html": "golden_benchmark.html", "json": "golden_benchmark.json"})])


def snapshot(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def start_run(folder: Path, *extra: str) -> subprocess.Popen:
    env = dict(os.environ, TMPDIR=str(folder.parent / "tmp"))
    return subprocess.Popen([sys.executable, "-m", "readiness.cli", "run", *extra], cwd=folder, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def wait_for(path: Path, process: subprocess.Popen, limit_s: float = 120) -> None:
    deadline = time.monotonic() + limit_s
    while not path.is_file() or not path.read_text():
        assert process.poll() is None, f"run ended early: {process.communicate()}"
        assert time.monotonic() < deadline, f"{path.name} never appeared"
        time.sleep(0.2)


def alive(pid: int) -> bool:
    try:
        process = psutil.Process(pid)
        return process.is_running() and process.status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def assert_all_ended(pids: list[int]) -> None:
    deadline = time.monotonic() + 5
    while any(alive(pid) for pid in pids) and time.monotonic() < deadline:
        time.sleep(0.1)
    survivors = [(pid, psutil.Process(pid).cmdline()) for pid in pids if alive(pid)]
    assert survivors == []


def assert_no_litter(folder: Path) -> None:
    assert sorted(os.listdir(folder.parent / "tmp")) == []  # the run's work folder, kernel and fresh-child temp files
    leftovers = [p.name for p in folder.iterdir() if p.name.startswith(".out")]
    assert leftovers == []  # no .out.partial-*, .out.old-*, .out.lock


@pytest.mark.notebooks
@pytest.mark.parametrize("signum,code", [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_an_interrupted_run_ends_every_process_and_keeps_the_previous_report(slow_project, signum, code):
    before = snapshot(slow_project / "out")
    process = start_run(slow_project)
    wait_for(slow_project / "fresh.pid", process)
    tree = [process.pid] + [child.pid for child in psutil.Process(process.pid).children(recursive=True)]
    fresh = int((slow_project / "fresh.pid").read_text())
    commands = [" ".join(psutil.Process(pid).cmdline()) for pid in tree]
    assert any("ipykernel_launcher" in c for c in commands) and any("readiness.run._execute" in c for c in commands)
    process.send_signal(signum)
    _, err = process.communicate(timeout=60)
    assert process.returncode == code, err
    assert err.strip().splitlines()[-1] in ("readiness: interrupted", "readiness: terminated")
    assert "Traceback" not in err
    assert_all_ended(tree + [fresh])  # papermill's child, the kernel (own session) and the fresh-process child
    assert_no_litter(slow_project)
    assert snapshot(slow_project / "out") == before


@pytest.mark.notebooks
def test_the_fresh_process_child_does_not_outlive_the_timeout(slow_project):
    started = time.monotonic()
    # the limit leaves room for the run to reach the fresh-process child on a busy machine
    process = start_run(slow_project, "--timeout", "90")
    wait_for(slow_project / "fresh.pid", process)
    fresh = int((slow_project / "fresh.pid").read_text())
    out, err = process.communicate(timeout=180)
    assert not alive(fresh), "the fresh-process child survived the timeout"
    assert time.monotonic() - started < 90 + 40  # the limit, kernel shutdown and the HTML, not the child's 600 s
    doc = json.loads((slow_project / "out" / "golden_benchmark.json").read_text())
    assert process.returncode == 1 and doc["status"] == "error" and "timed out after 90 s" in doc["error"], err
    assert_no_litter(slow_project)


def test_a_signal_while_the_folder_is_swapped_waits_until_it_is_in_place():
    """Between the two renames an interruption would lose both reports: it is held, then acted on."""
    reached = False
    with pytest.raises(KeyboardInterrupt):
        with deferred_signals():
            os.kill(os.getpid(), signal.SIGINT)
            time.sleep(0.2)  # Python runs handlers between bytecodes: this one only records it
            reached = True
    assert reached
    previous = signal.getsignal(signal.SIGINT)
    with deferred_signals():  # control: without a signal the block just runs, the handler restored
        pass
    assert signal.getsignal(signal.SIGINT) is previous


# --------------------------------------------------------------------------- the output folder

CHECKLIST_CONFIG = {"checklist": "checklist.yaml", "output": "out"}
CHECKLIST = {"workflow": [{"name": "Train", "mode": "automated", "owner": "ds"}],
             "fears": [{"fear": "drift", "severity": 5, "likelihood": 5, "detected_by": ["drift.*"]}]}


def test_files_readiness_did_not_write_are_kept_when_the_folder_is_replaced(tmp_path):
    out = tmp_path / "out"
    previous_run(out)
    (out / "notes.txt").write_text("my notes")
    (out / "attachments").mkdir()
    (out / "attachments" / "plot.png").write_bytes(b"png")
    (out / "link-to-notes").symlink_to(out / "notes.txt")
    staging = tmp_path / "staging"
    staging.mkdir()
    (staging / "golden_benchmark.html").write_text("<html>new</html>")
    (staging / "summary.json").write_text(json.dumps({"schema": "readiness/1", "run": "new"}))
    replace_folder(staging, out)
    assert (out / "notes.txt").read_text() == "my notes"
    assert (out / "attachments" / "plot.png").read_bytes() == b"png"
    assert (out / "link-to-notes").is_symlink() and (out / "link-to-notes").read_text() == "my notes"
    # control: readiness's own files are replaced, the ones not rewritten stay, nothing else is left behind
    assert (out / "golden_benchmark.html").read_text() == "<html>new</html>"
    assert json.loads((out / "summary.json").read_text())["run"] == "new"
    assert (out / "golden_benchmark.json").is_file()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


def test_symlinks_are_never_followed_when_reports_are_carried_over(tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("API_KEY=hunter2")
    out, staging = tmp_path / "out", tmp_path / "staging"
    previous_run(out)
    (out / "golden_benchmark.html").unlink()
    (out / "golden_benchmark.html").symlink_to(secret)
    os.mkfifo(out / "golden_benchmark.ipynb")  # a FIFO would block a naive copy forever
    staging.mkdir()
    kept = carry_over(out, staging, ["golden_benchmark"], lambda line: None)
    assert kept[0]["files"] == {"json": "golden_benchmark.json"}
    assert sorted(p.name for p in staging.iterdir()) == ["golden_benchmark.json"]
    assert all(b"hunter2" not in p.read_bytes() for p in staging.iterdir())
    # control: regular files are carried over
    (out / "golden_benchmark.html").unlink()
    (out / "golden_benchmark.html").write_text("<html>the previous report</html>")
    kept = carry_over(out, staging, ["golden_benchmark"], lambda line: None)
    assert kept[0]["files"]["html"] == "golden_benchmark.html"
    assert (staging / "golden_benchmark.html").read_text() == "<html>the previous report</html>"


def test_a_planted_link_with_a_report_name_is_refused_before_running(tmp_path, capsys, monkeypatch):
    from readiness.cli import main

    out = tmp_path / "out"
    previous_run(out)
    check_output_folder(out)  # control: a previous run is fine
    (out / "index.html").unlink()
    (out / "index.html").symlink_to("/etc/passwd")
    with pytest.raises(UsageError, match="index.html: is a symbolic link, which readiness did not write"):
        check_output_folder(out)
    monkeypatch.chdir(tmp_path)
    (tmp_path / "checklist.yaml").write_text(yaml.safe_dump(CHECKLIST))
    (tmp_path / "readiness.yaml").write_text(yaml.safe_dump(CHECKLIST_CONFIG))
    with pytest.raises(SystemExit) as exit_info:
        main(["run"])
    err = capsys.readouterr().err
    assert exit_info.value.code == 2 and len(err.strip().splitlines()) == 1, err
    assert "index.html: is a symbolic link, which readiness did not write; move it away" in err
    assert (out / "index.html").is_symlink()


def test_the_output_lock_is_exclusive_and_says_so(tmp_path):
    out = tmp_path / "out"
    with output_lock(out):
        with pytest.raises(UsageError, match="another readiness run has been writing into it"):
            with output_lock(out, wait_s=0.3):
                pass
    with output_lock(out, wait_s=0.3):  # control: released, and the lock file is gone again
        pass
    assert list(tmp_path.iterdir()) == []




@pytest.fixture
def checklist_project(tmp_path):
    folder = tmp_path / "project"
    folder.mkdir()
    (folder / "checklist.yaml").write_text(yaml.safe_dump(CHECKLIST))
    (folder / "readiness.yaml").write_text(yaml.safe_dump(CHECKLIST_CONFIG))
    (tmp_path / "tmp").mkdir()
    return folder


@pytest.mark.notebooks
def test_two_runs_finishing_at_once_into_one_folder_both_succeed(checklist_project):
    runs = [start_run(checklist_project) for _ in range(2)]
    results = [run.communicate(timeout=240) for run in runs]
    for run, (stdout, stderr) in zip(runs, results):
        assert run.returncode in (0, 1), stderr
        assert "internal error" not in stderr
    summary = json.loads((checklist_project / "out" / "summary.json").read_text())
    assert [r["report"] for r in summary["reports"]] == ["workflow_risk_checklist"]
    assert_no_litter(checklist_project)


@pytest.mark.notebooks
def test_a_run_finishing_while_another_holds_the_folder_waits_for_it(checklist_project):
    out = checklist_project / "out"
    previous_run(out)
    before = snapshot(out)
    with output_lock(out):
        run = start_run(checklist_project)
        deadline = time.monotonic() + 120
        while not any(p.glob("workflow_risk_checklist.html") for p in checklist_project.glob(".out.partial-*")):
            assert run.poll() is None and time.monotonic() < deadline, run.communicate()
            time.sleep(0.2)
        time.sleep(1.5)
        assert run.poll() is None and snapshot(out) == before  # waiting, the folder untouched
    _, stderr = run.communicate(timeout=120)
    assert run.returncode in (0, 1), stderr
    summary = json.loads((out / "summary.json").read_text())
    assert {r["report"] for r in summary["reports"]} == {"workflow_risk_checklist", "golden_benchmark"}  # kept


# --------------------------------------------------------------------------- misbehaving models

BAD_MODELS = '''
"""Test loaders: classifiers whose predict_proba misbehaves."""
import numpy as np
import skops.io
from pathlib import Path

HERE = Path(__file__).parent


class Misbehaving:
    def __init__(self, model, how):
        self.model, self.how = model, how
        self.classes_, self.feature_names_in_ = model.classes_, model.feature_names_in_

    def predict_proba(self, X):
        proba = self.model.predict_proba(X)
        if self.how == "nan":
            proba[3::7] = np.nan
        elif self.how == "above_one":
            proba = proba * 1.7
        return proba

    def predict(self, X):
        return self.model.predict(X)


def nan():
    return Misbehaving(skops.io.load(HERE / "candidate.skops"), "nan")


def above_one():
    return Misbehaving(skops.io.load(HERE / "candidate.skops"), "above_one")
'''


@pytest.mark.notebooks
@pytest.mark.parametrize("loader,said", [
    ("nan", "the candidate model's predict_proba returned NaN for 86 of 600 rows (first: row 3: [nan, nan])"),
    ("above_one", "the candidate model's predict_proba returned values outside [0, 1]"),
])
def test_a_model_returning_nan_or_above_one_exits_2_saying_what_it_returned(tiny_scenario, tmp_path, loader, said):
    from helpers import run_readiness

    folder = tmp_path / "project"
    shutil.copytree(tiny_scenario, folder)
    (folder / "badmodels.py").write_text(BAD_MODELS)
    result = run_readiness(["run", "--model", f"badmodels:{loader}"], cwd=folder)
    last = result.stderr.strip().splitlines()[-1]
    assert result.returncode == 2 and last.startswith("readiness: error: ") and said in last, result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize("make", ["logistic", "forest", "boosting", "lightgbm", "onnx"])
def test_healthy_models_pass_the_output_checks(make, tmp_path):
    """Control on real models, float32 ones included: their probabilities are accepted as they are."""
    import numpy as np
    import pandas as pd
    from sklearn.datasets import load_breast_cancer, load_iris
    from sklearn.ensemble import HistGradientBoostingClassifier, RandomForestClassifier
    from sklearn.linear_model import LogisticRegression

    from readiness.artifacts.loading import ModelAdapter

    for data in (load_breast_cancer(as_frame=True), load_iris(as_frame=True)):
        X, y = data.data.astype("float32"), data.target
        if make == "logistic":
            model = LogisticRegression(max_iter=5000).fit(X, y)
        elif make == "forest":
            model = RandomForestClassifier(n_estimators=30, random_state=0).fit(X, y)
        elif make == "boosting":
            model = HistGradientBoostingClassifier(max_iter=30).fit(X, y)
        elif make == "lightgbm":
            lightgbm = pytest.importorskip("lightgbm")
            model = lightgbm.LGBMClassifier(n_estimators=30, verbose=-1).fit(X, y)
        else:
            pytest.importorskip("onnxruntime")
            from skl2onnx import to_onnx

            from readiness.artifacts.onnx_model import OnnxModel

            path = tmp_path / f"model-{len(X)}.onnx"
            fitted = LogisticRegression(max_iter=5000).fit(X, y)
            path.write_bytes(to_onnx(fitted, X.to_numpy(np.float32)[:1]).SerializeToString())
            model = OnnxModel(str(path))
        proba = ModelAdapter(model, "candidate").predict_proba(pd.DataFrame(X))
        assert proba.shape == (len(X), len(np.unique(y)))


# --------------------------------------------------------------------------- config edge cases

ALIAS_BOMB = "\n".join(
    ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    + [f"{n}: &{n} [{','.join([f'*{p}'] * 9)}]" for p, n in zip("abcdefgh", "bcdefghi")]) + "\n"


def test_a_yaml_alias_bomb_in_readiness_yaml_ends_quickly_in_exit_2(tmp_path):
    from helpers import run_readiness

    assert len(ALIAS_BOMB.encode()) < 400  # a few hundred bytes describing 9^9 nodes
    (tmp_path / "readiness.yaml").write_text(ALIAS_BOMB)
    result = run_readiness(["run", "--config", "readiness.yaml"], cwd=tmp_path, timeout=30)  # a hang fails here
    lines = result.stderr.strip().splitlines()
    assert result.returncode == 2 and len(lines) == 1 and "readiness.yaml" in lines[0], result.stderr
    (tmp_path / "readiness.yaml").write_text("model: m.skops\ngolden: g.csv\ntarget: y\n")  # control: read, then checked
    result = run_readiness(["run", "--config", "readiness.yaml"], cwd=tmp_path, timeout=30)
    assert result.returncode == 2 and "m.skops: model file not found" in result.stderr, result.stderr


@pytest.mark.parametrize("text,expected", [
    ("dependencies:\n", []),
    ("dependencies:\n  -\n", []),
    ("name: x\n", []),
    (ALIAS_BOMB, []),
    ("dependencies:\n  - python=3.11\n  - numpy=2.4.6\n", ["environment.yml"]),  # control
])
def test_environment_yml_without_a_dependency_list_reads_as_unpinned(tmp_path, text, expected):
    from readiness.reports.checklist.report import pinned_dependency_files

    (tmp_path / "environment.yml").write_text(text)
    assert pinned_dependency_files(tmp_path) == expected
