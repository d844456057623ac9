"""The release history: what a run records, where (SQLite, PostgreSQL), migrations, concurrency,
``readiness history``/``readiness deployed``, the golden benchmark's trend and slow decay."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import yaml
from helpers import run_readiness
from postgres_server import new_database

from readiness.config import load_config, parse_config
from readiness.exceptions import ConfigError, InputError
from readiness.history import release_timeline
from readiness.history.migrate import HEAD, current_revision, known_revisions
from readiness.history.record import ci_job_url, git_info, model_name_for, previous_run, record_run, run_record
from readiness.history.store import HistoryStore
from readiness.history.trend import ReleaseTrend, mann_kendall_p, slow_decay, trend_parameters

ROOT = Path(__file__).resolve().parents[1]


def _cli(args: list[str], cwd: Path, monkeypatch, capsys) -> subprocess.CompletedProcess:
    """``readiness ARGS`` in this process (the console entry point's main), as a CompletedProcess."""
    from readiness.cli import main

    monkeypatch.chdir(cwd)
    capsys.readouterr()
    try:
        main(args)
        code = 0
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else 1
    captured = capsys.readouterr()
    return subprocess.CompletedProcess(args, code, captured.out, captured.err)


def _config(tmp_path: Path, **extra):
    data = {"model": "models/churn.skops", "output": "out", **extra}
    return parse_config(data, base_dir=tmp_path)


def _documents(roc_auc: float = 0.91, model_sha: str = "a" * 64, golden_sha: str = "c" * 64, status: str = "pass"):
    return [{"report": "golden_benchmark", "status": status, "duration_s": 3.0,
             "inputs": {"model": {"path": "m.skops", "sha256": model_sha}, "baseline": {"sha256": "b" * 64},
                        "golden": {"sha256": golden_sha, "rows": 600}},
             "checks": [{"id": "golden.metric.roc_auc", "title": "ROC AUC", "status": status, "severity": "critical",
                         "value": roc_auc, "ci": [roc_auc - 0.02, roc_auc + 0.02], "message": f"ROC AUC {roc_auc}"},
                        {"id": "golden.metric.log_loss", "title": "Log loss", "status": "pass", "severity": "info",
                         "value": 0.3, "message": "reported"},
                        {"id": "golden.segment.roc_auc[region=<b>north</b>]", "title": "seg", "status": "skip",
                         "message": "too few rows"}]},
            {"report": "drift_report", "status": "warn", "duration_s": 1.0,
             "inputs": {"reference": {"sha256": "d" * 64}, "current": {"sha256": "e" * 64}},
             "checks": [{"id": "drift.column.x", "title": "x", "status": "warn", "value": float("nan"),
                         "message": "drifted"}]}]


# ----------------------------------------------------------------------------- configuration


def test_history_defaults_to_an_sqlite_file_beside_the_config(tmp_path):
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "readiness.yaml").write_text("model: m.skops\n")
    config = load_config(tmp_path / "sub" / "readiness.yaml")
    assert config.history.enabled and config.history.store == str(tmp_path / "sub" / "readiness-history.sqlite")
    assert _config(tmp_path, history="h/team.sqlite").history.store == str(tmp_path / "h" / "team.sqlite")
    assert _config(tmp_path, history=False).history.enabled is False
    url = "postgresql+psycopg://ci@db.example/readiness"
    assert _config(tmp_path, history={"store": url, "model_name": "churn"}).history.store == url
    assert _config(tmp_path, history="${READINESS_HISTORY_URL}").history.store == "${READINESS_HISTORY_URL}"


@pytest.mark.parametrize("value, expected", [
    ({"stor": "x.sqlite"}, "unknown key 'history.stor' under 'history' (did you mean 'store'?)"),
    ({"decay_releases": 2}, "history.decay_releases: Input should be greater than or equal to 4"),
    ("postgres:/db", "neither a file path nor an SQLAlchemy URL"),
    ("postgresql+psycopg://ci@db:notaport/x", "not a valid SQLAlchemy URL"),
])
def test_bad_history_settings_are_one_line_naming_the_key(tmp_path, value, expected):
    with pytest.raises(ConfigError) as caught:
        _config(tmp_path, history=value)
    assert expected in str(caught.value) and "\n" not in str(caught.value)


def test_model_name_comes_from_the_config_else_the_artifact_name(tmp_path):
    assert model_name_for(_config(tmp_path)) == "churn"
    assert model_name_for(_config(tmp_path, model="m/churn-v3.joblib.gz")) == "churn-v3"
    assert model_name_for(_config(tmp_path, history={"model_name": "churn-eu"})) == "churn-eu"


# ----------------------------------------------------------------------------- what a run records


def test_a_run_records_hashes_git_ci_verdict_and_every_check(tmp_path):
    repo = tmp_path / "repo"
    repo.mkdir()
    git = ["git", "-C", str(repo), "-c", "user.email=t@example.com", "-c", "user.name=t"]
    subprocess.run([*git, "init", "-q", "-b", "feature/x"], check=True)
    subprocess.run([*git, "commit", "-q", "--allow-empty", "-m", "first"], check=True)
    commit = subprocess.run([*git, "rev-parse", "HEAD"], capture_output=True, text=True, check=True).stdout.strip()
    config = _config(repo, history={"model_name": "churn"})
    env = {"CI_JOB_URL": "https://gitlab.example.com/g/p/-/jobs/42", "CI_COMMIT_REF_NAME": "main"}
    run, reports, checks = run_record(config, _documents(), {"status": "warn"}, repo / "out", 12.5, environ=env)
    assert (run["model_sha256"], run["baseline_sha256"], run["golden_sha256"]) == ("a" * 64, "b" * 64, "c" * 64)
    assert (run["reference_sha256"], run["current_sha256"]) == ("d" * 64, "e" * 64)
    assert (run["git_commit"], run["git_branch"], run["ci_job_url"]) == (commit, "main", env["CI_JOB_URL"])
    assert git_info(repo, environ={})["branch"] == "feature/x"  # outside CI, git says
    assert run["verdict"] == "warn" and len(checks) == 4 and len(reports) == 2

    with HistoryStore(config.history.store) as store:
        run_id = store.record(run, reports, checks)
        [row] = store.runs()
        stored = store.checks([run_id])[run_id]
    assert row["model_name"] == "churn" and row["reports"] == {"golden_benchmark": "pass", "drift_report": "warn"}
    assert row["check_counts"] == {"pass": 2, "skip": 1, "warn": 1}
    by_id = {c["check_id"]: c for c in stored}
    assert by_id["golden.metric.roc_auc"]["value"] == pytest.approx(0.91)
    assert (by_id["golden.metric.roc_auc"]["ci_low"], by_id["golden.metric.roc_auc"]["ci_high"]) == pytest.approx((0.89, 0.93))
    assert by_id["drift.column.x"]["value"] is None  # NaN is stored as NULL, in SQLite and PostgreSQL alike
    assert by_id["golden.segment.roc_auc[region=<b>north</b>]"]["message"] == "too few rows"


def test_ci_job_urls_of_common_ci_systems_and_nothing_but_http():
    assert ci_job_url({}) is None
    assert ci_job_url({"GITHUB_SERVER_URL": "https://github.com", "GITHUB_REPOSITORY": "o/r", "GITHUB_RUN_ID": "7",
                       "GITHUB_RUN_ATTEMPT": "2"}) == "https://github.com/o/r/actions/runs/7/attempts/2"
    assert ci_job_url({"BUILD_URL": "https://jenkins.example/job/x/3/"}) == "https://jenkins.example/job/x/3/"
    for hostile in ("javascript:alert(1)", "https://x.example/\"><script>", "file:///etc/passwd", "https://a b"):
        assert ci_job_url({"CI_JOB_URL": hostile}) is None


def test_a_history_that_cannot_be_written_warns_and_never_fails_the_run(tmp_path):
    (tmp_path / "folder.sqlite").mkdir()
    lines: list[str] = []
    config = _config(tmp_path, history="folder.sqlite")
    assert record_run(config, _documents(), {"status": "pass"}, tmp_path / "out", echo=lines.append) is None
    assert len(lines) == 1 and lines[0].startswith("warning: the run was not recorded") and "is a folder" in lines[0]
    lines.clear()
    assert record_run(_config(tmp_path, history="${RDNS_UNSET_VARIABLE}"), _documents(), {"status": "pass"},
                      tmp_path / "out", echo=lines.append) is None
    assert "environment variable RDNS_UNSET_VARIABLE is not set" in lines[0]
    lines.clear()  # off: nothing written, nothing said
    assert record_run(_config(tmp_path, history=False), _documents(), {"status": "pass"}, tmp_path, echo=lines.append) is None
    assert lines == [] and not (tmp_path / "readiness-history.sqlite").exists()


def test_a_database_url_in_an_environment_variable_is_not_named_in_messages(tmp_path, monkeypatch):
    monkeypatch.setenv("RDNS_TEST_HISTORY", "postgresql+psycopg://ci:s3cret@127.0.0.1:1/nothing")
    lines: list[str] = []
    record_run(_config(tmp_path, history="${RDNS_TEST_HISTORY}"), _documents(), {"status": "pass"}, tmp_path,
               echo=lines.append)
    assert len(lines) == 1 and "${RDNS_TEST_HISTORY}" in lines[0] and "s3cret" not in lines[0]


def test_previous_run_of_the_same_model_and_its_link(tmp_path):
    config = _config(tmp_path, history={"model_name": "churn"})
    assert previous_run(config) is None  # no history yet: nothing read, nothing created
    assert not Path(config.history.store).exists()
    other = tmp_path / "elsewhere"
    other.mkdir()
    (other / "index.html").write_text("<html></html>")
    record_run(config, _documents(), {"status": "fail"}, other, echo=lambda line: None)
    record_run(_config(tmp_path, history={"model_name": "other"}), _documents(), {"status": "pass"}, other,
               echo=lambda line: None)
    found = previous_run(config)
    assert found["model_name"] == "churn" and found["verdict"] == "fail"
    assert found["link"] == (other / "index.html").as_uri()  # another folder that still holds its reports
    with HistoryStore(config.history.store) as store:  # a CI job's URL wins
        run, reports, checks = run_record(config, _documents(), {"status": "pass"}, tmp_path / "out",
                                          environ={"CI_JOB_URL": "https://ci.example/jobs/9"})
        store.record(run, reports, checks)
    assert previous_run(config)["link"] == "https://ci.example/jobs/9"


def test_two_runs_of_different_candidates_are_two_rows_and_the_index_links_the_first(tiny_run, tmp_path):
    """Through the real runner: the session's tiny run, then another candidate under the same model name."""
    first, _ = tiny_run
    folder = tmp_path / "project"
    shutil.copytree(first, folder)
    config = yaml.safe_load((folder / "readiness.yaml").read_text())
    config.update(model="baseline.skops", history={"model_name": "candidate"})
    config["golden_benchmark"]["robustness"] = {"enabled": False}
    (folder / "second.yaml").write_text(yaml.safe_dump(config))
    result = run_readiness(["run", "--config", "second.yaml", "--only", "golden_benchmark"], cwd=folder)
    assert result.returncode in (0, 1), result.stderr
    assert "Recorded run #2 of candidate in the release history" in result.stderr

    listing = run_readiness(["history", "--format", "json"], cwd=folder)
    runs = json.loads(listing.stdout)
    assert [r["id"] for r in runs] == [2, 1]
    assert runs[0]["model_sha256"] != runs[1]["model_sha256"]
    assert runs[0]["golden_sha256"] == runs[1]["golden_sha256"]
    results = json.loads((folder / "out" / "golden_benchmark.json").read_text())
    assert runs[0]["model_sha256"] == results["inputs"]["model"]["sha256"]
    assert runs[0]["verdict"] == results["status"]
    recorded = {c["check_id"]: (c["status"], c["value"]) for c in runs[0]["checks"]}
    assert recorded == {c["id"]: (c["status"], c.get("value")) for c in results["checks"]}

    index = (folder / "out" / "index.html").read_text()
    assert 'id="previous-run"' in index and "#1 at" in index and runs[1]["model_sha256"][:12] in index
    html = (folder / "out" / "golden_benchmark.html").read_text()
    assert "Release trend" in html and runs[1]["model_sha256"][:8] in html  # the first release in the table
    trend = [c for c in results["checks"] if c["id"].startswith("golden.trend.")]
    assert trend and all(c["status"] == "skip" and "at least 4" in c["message"] for c in trend)

    table = run_readiness(["history", "--model", "candidate", "--limit", "1"], cwd=folder)
    assert table.returncode == 0 and len(table.stdout.splitlines()) == 2 and table.stdout.splitlines()[1].lstrip().startswith("2 ")
    none = run_readiness(["run", "--config", "second.yaml", "--only", "golden_benchmark", "--no-history",
                          "--golden", "missing.csv"], cwd=folder)
    assert none.returncode == 2  # bad input: nothing ran, nothing recorded
    assert len(json.loads(run_readiness(["history", "--format", "json"], cwd=folder).stdout)) == 2


# ----------------------------------------------------------------------------- readiness history


def _store_with_runs(spec: str, names=("churn", "churn", "fraud")) -> None:
    with HistoryStore(spec) as store:
        for number, name in enumerate(names):
            run, reports, checks = run_record(_config(Path("/tmp"), history={"model_name": name}),
                                              _documents(0.9 - number / 100, model_sha=f"{number:064x}"),
                                              {"status": "pass"}, "/tmp/out", environ={})
            run["created_at"] = f"2024-05-0{number + 1}T10:00:00+00:00"
            store.record(run, reports, checks)


def test_history_command_formats_filters_and_sources(tmp_path, monkeypatch, capsys):
    _store_with_runs(str(tmp_path / "readiness-history.sqlite"))
    table = _cli(["history"], tmp_path, monkeypatch, capsys)
    lines = table.stdout.splitlines()
    assert table.returncode == 0 and lines[0].startswith("run  time (UTC)") and len(lines) == 4
    assert [line.split()[0] for line in lines[1:]] == ["3", "2", "1"]  # newest first
    churn = json.loads(_cli(["history", "--model", "churn", "--format", "json"], tmp_path, monkeypatch, capsys).stdout)
    assert [r["model_name"] for r in churn] == ["churn", "churn"] and len(churn[0]["checks"]) == 4
    csv_text = _cli(["history", "--format", "csv", "--limit", "2"], tmp_path, monkeypatch, capsys).stdout
    import csv
    import io

    rows = list(csv.DictReader(io.StringIO(csv_text)))
    assert len(rows) == 2 and rows[0]["report.golden_benchmark"] == "pass" and rows[0]["checks.warn"] == "1"
    # a readiness.yaml naming another history is followed; --history wins over it
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "readiness.yaml").write_text("history: ../readiness-history.sqlite\n")
    assert len(_cli(["history"], tmp_path / "sub", monkeypatch, capsys).stdout.splitlines()) == 4
    missing = _cli(["history", "--history", "nowhere.sqlite"], tmp_path / "sub", monkeypatch, capsys)
    assert missing.returncode == 2 and "no release history here yet" in missing.stderr
    assert not (tmp_path / "sub" / "nowhere.sqlite").exists()  # reading never creates a file


def test_history_table_shows_hostile_names_without_control_sequences(tmp_path, monkeypatch, capsys):
    _store_with_runs(str(tmp_path / "readiness-history.sqlite"), names=("x\x1b[2K\rVerdict: PASS",))
    out = _cli(["history"], tmp_path, monkeypatch, capsys).stdout
    assert "\x1b" not in out and "\r" not in out and "\\x1b[2K\\rVerdict: PASS" in out
    csv_text = _cli(["history", "--format", "csv"], tmp_path, monkeypatch, capsys).stdout
    _store_with_runs(str(tmp_path / "formula.sqlite"), names=("=HYPERLINK(\"http://x\")",))
    formula = _cli(["history", "--format", "csv", "--history", "formula.sqlite"], tmp_path, monkeypatch, capsys).stdout
    import csv
    import io

    assert next(csv.DictReader(io.StringIO(formula)))["model_name"] == "'=HYPERLINK(\"http://x\")"  # inert in a sheet
    assert "x\x1b[2K" in csv_text  # a file gets the CSV as it is (csv quotes it)


# ----------------------------------------------------------------------------- migrations


class _Bare:
    """A store's engine without opening it through HistoryStore (which migrates to the newest)."""

    def __init__(self, spec: str):
        from readiness.history.store import _sqlite_engine

        if "://" in spec:
            from sqlalchemy import create_engine

            self.engine = create_engine(spec)
        else:
            self.engine = _sqlite_engine(Path(spec))
        self._writer = self.engine.execution_options(sqlite_begin="IMMEDIATE")
        self.label = spec


def _old_history(spec: str) -> None:
    """A history as readiness wrote it at schema revision 0001, with one run in it."""
    from sqlalchemy import text

    from readiness.history.migrate import upgrade

    bare = _Bare(spec)
    upgrade(bare, "0001")
    with bare._writer.begin() as connection:
        assert current_revision(connection) == "0001"
        connection.execute(text("INSERT INTO runs (run_uuid, created_at, model_name, model_sha256, golden_sha256, "
                                "verdict) VALUES ('old', '2023-01-02 03:04:05', 'churn', :sha, :golden, 'pass')"),
                           {"sha": "f" * 64, "golden": "c" * 64})
        connection.execute(text("INSERT INTO reports (run_id, report, status) VALUES (1, 'golden_benchmark', 'pass')"))
        connection.execute(text("INSERT INTO checks (run_id, report, check_id, status, value) "
                                "VALUES (1, 'golden_benchmark', 'golden.metric.roc_auc', 'pass', 0.93)"))
    bare.engine.dispose()


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_an_old_history_is_upgraded_and_read(tmp_path, backend):
    spec = str(tmp_path / "old.sqlite") if backend == "sqlite" else new_database()
    _old_history(spec)
    assert known_revisions() == ["0001", "0002"] and HEAD == "0002"
    with HistoryStore(spec) as store:
        with store.engine.connect() as connection:
            assert current_revision(connection) == HEAD
        [run] = store.runs()
        assert (run["run_uuid"], run["created_at"], run["reports"]) == ("old", "2023-01-02T03:04:05+00:00",
                                                                        {"golden_benchmark": "pass"})
        assert store.releases("churn")[0]["metrics"] == {"roc_auc": pytest.approx(0.93)}
        store.record_deployment("f" * 64, "churn", "2023-01-03T00:00:00Z")  # the table revision 0002 added
        assert [r["version"] for r in store.release_timeline("churn")] == ["f" * 64]


def test_a_history_from_a_newer_readiness_is_refused_with_one_line(tmp_path):
    from sqlalchemy import text

    spec = str(tmp_path / "new.sqlite")
    HistoryStore(spec).close()
    bare = _Bare(spec)
    with bare._writer.begin() as connection:
        connection.execute(text("UPDATE alembic_version SET version_num = '0099'"))
    bare.engine.dispose()
    with pytest.raises(InputError, match=r"written by a newer readiness \(schema revision 0099; this one knows up to "):
        HistoryStore(spec)


def test_schema_module_matches_the_migrations(tmp_path):
    """A change to readiness/history/schema.py needs a migration: compare what the migrations build."""
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext

    from readiness.history.schema import metadata

    store = HistoryStore(str(tmp_path / "h.sqlite"))
    with store.engine.connect() as connection:
        differences = compare_metadata(MigrationContext.configure(connection), metadata)
    store.close()
    assert differences == []


def test_a_corrupt_history_file_is_one_line(tmp_path, monkeypatch, capsys):
    path = tmp_path / "readiness-history.sqlite"
    path.write_bytes(b"this is not a database" * 100)
    with pytest.raises(InputError, match="cannot open the release history"):
        HistoryStore(str(path))
    result = _cli(["history"], tmp_path, monkeypatch, capsys)
    assert result.returncode == 2 and len(result.stderr.strip().splitlines()) == 1


# ----------------------------------------------------------------------------- concurrency

_WRITER = """
import sys
from readiness.history.store import HistoryStore
spec, worker, count = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
checks = [{"report": "golden_benchmark", "check_id": f"golden.metric.m{i}", "status": "pass", "value": i / 10}
          for i in range(50)]
for n in range(count):
    store = HistoryStore(spec)  # every run opens the store anew, as `readiness run` does
    store.record({"run_uuid": f"{worker:04d}{n:028d}", "model_name": f"w{worker}", "verdict": "pass"},
                 [{"report": "golden_benchmark", "status": "pass"}], checks)
    store.close()
"""


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_concurrent_runs_write_one_history(tmp_path, backend):
    """Four processes open a new history at once (migrations race) and record 10 runs each."""
    spec = str(tmp_path / "shared.sqlite") if backend == "sqlite" else new_database()
    writers = [subprocess.Popen([sys.executable, "-c", _WRITER, spec, str(w), "10"], stderr=subprocess.PIPE, text=True)
               for w in range(4)]
    errors = [p.communicate(timeout=240)[1] for p in writers]
    assert [p.returncode for p in writers] == [0, 0, 0, 0], errors
    with HistoryStore(spec) as store:
        runs = store.runs()
        checks = store.checks([r["id"] for r in runs])
    assert len(runs) == 40 and len({r["run_uuid"] for r in runs}) == 40
    assert all(len(checks[r["id"]]) == 50 for r in runs)
    assert {r["model_name"] for r in runs} == {"w0", "w1", "w2", "w3"}


def test_postgresql_history_through_the_command_line(tmp_path, monkeypatch, capsys):
    url = new_database()
    _store_with_runs(url)
    runs = json.loads(_cli(["history", "--history", url, "--format", "json"], tmp_path, monkeypatch, capsys).stdout)
    assert [r["model_name"] for r in runs] == ["fraud", "churn", "churn"]
    recorded = _cli(["deployed", "0" * 64, "--model-name", "churn", "--at", "2024-05-03T12:00:00Z",
                     "--history", url], tmp_path, monkeypatch, capsys)
    assert recorded.returncode == 0 and "live in production since 2024-05-03T12:00:00+00:00" in recorded.stdout
    assert release_timeline(url, "churn")[0]["deployed_at"] == "2024-05-03T12:00:00+00:00"


# ----------------------------------------------------------------------------- releases for monitoring


def test_release_timeline_from_judged_runs_else_from_deployments(tmp_path):
    spec = str(tmp_path / "h.sqlite")
    with HistoryStore(spec) as store:
        for number, (sha, status) in enumerate([("1", "pass"), ("2", "fail"), ("3", "warn"), ("1", "pass")]):
            run, reports, checks = run_record(_config(tmp_path), _documents(model_sha=sha * 64, status=status),
                                              {"status": status}, tmp_path, environ={})
            run["created_at"] = f"2017-0{number + 1}-01T09:00:00+00:00"
            store.record(run, reports, checks)
    judged = release_timeline(spec, "churn")
    # the failed candidate never was a release; the re-run of the first one is no new release
    assert [(r["version"][0], r["deployed_at"][:7], r["previous"] and r["previous"][0]) for r in judged] == [
        ("1", "2017-01", None), ("3", "2017-03", "1")]
    assert "judged ready" in judged[0]["source"]
    with HistoryStore(spec) as store:
        store.record_deployment("3" * 64, "churn", "2017-03-05T00:00:00Z")
        store.record_deployment("3" * 64, "churn", "2017-03-06T00:00:00Z")  # redeployed: same release
        store.record_deployment("1" * 64, "churn", "2017-04-01T00:00:00Z")  # rolled back
        store.record_deployment("2" * 64, "churn", "2017-04-02T00:00:00Z", environment="staging")
    deployed = release_timeline(spec, "churn")
    assert [(r["version"][0], r["deployed_at"][:10]) for r in deployed] == [("3", "2017-03-05"), ("1", "2017-04-01")]
    assert deployed[1]["previous"] == "3" * 64 and "deployments to production" in deployed[0]["source"]


# ----------------------------------------------------------------------------- trend and slow decay


def test_mann_kendall_matches_the_exact_null_distribution():
    from itertools import permutations

    values = [0.91, 0.905, 0.897, 0.899, 0.889, 0.884]  # one pair out of order
    inversions = lambda seq: sum(a > b for i, a in enumerate(seq) for b in seq[i + 1:])
    observed = inversions(values)
    orders = list(permutations(range(6)))
    exact = sum(inversions(p) >= observed for p in orders) / len(orders)
    assert mann_kendall_p(values) == pytest.approx(exact)
    assert exact == pytest.approx(6 / 720)


def test_slow_decay_on_planted_release_sequences():
    margin = 0.01  # max_regression of ROC AUC
    slow = [0.900, 0.896, 0.891, 0.887, 0.882, 0.878]
    result = slow_decay(slow, True, margin)
    assert result.status == "warn" and result.total == pytest.approx(0.022) and result.p_value < 0.002
    assert slow_decay([-v for v in slow], False, margin).status == "warn"  # lower-is-better metrics alike
    assert slow_decay(slow[-3:], True, margin).status == "skip"  # three values cannot show a trend
    assert slow_decay([0.900, 0.899, 0.898, 0.897, 0.896, 0.895], True, margin).status == "pass"  # within the margin
    assert slow_decay([0.90, 0.90, 0.90, 0.875, 0.875, 0.875], True, margin).status == "pass"  # one big step
    assert slow_decay([0.900, 0.880, 0.895, 0.875, 0.890, 0.878], True, margin).status == "pass"  # noise, no trend
    assert slow_decay(slow, True, None).status == "skip"  # no margin, nothing to judge against
    # a relative margin follows the value: 5% of a log loss of 0.30 is 0.015 per release
    losses = [0.300, 0.310, 0.320, 0.331, 0.342, 0.352]
    assert slow_decay(losses, False, lambda base: 0.05 * abs(base)).status == "warn"
    assert slow_decay(losses, False, lambda base: 0.2 * abs(base)).status == "pass"


def test_slow_decay_false_alarms_stay_under_the_level_and_a_steady_fall_is_found():
    rng = np.random.default_rng(0)
    margin, noise = 0.01, 0.004
    stationary = [slow_decay(0.9 + rng.normal(0, noise, 6), True, margin).status == "warn" for _ in range(2000)]
    falling = [slow_decay(0.9 - 0.005 * np.arange(6) + rng.normal(0, 0.001, 6), True, margin).status == "warn"
               for _ in range(400)]
    assert np.mean(stationary) <= 0.05
    assert np.mean(falling) >= 0.9


@pytest.fixture(scope="module")
def tiny_bench(tiny_scenario):
    from readiness.reports.golden.benchmark import GoldenBenchmark

    bench = GoldenBenchmark(str(tiny_scenario / "candidate.skops"), str(tiny_scenario / "golden.csv"), "label",
                            settings={"n_bootstrap": 100, "metrics": {"roc_auc": {"max_regression": 0.01},
                                                                      "log_loss": {"max_relative_regression": 0.05}}})
    bench.metrics_section()
    yield bench
    close = getattr(bench.model.estimator, "close", None)
    if close:
        close()


def _plant(spec: str, bench, values: list[float], golden: list[str] | None = None) -> None:
    """Earlier releases of 'churn' with these ROC AUCs (oldest first), judged ready."""
    with HistoryStore(spec) as store:
        for number, value in enumerate(values):
            documents = _documents(value, model_sha=f"{number + 1:064x}",
                                   golden_sha=(golden or [bench.golden_sha256] * len(values))[number])
            run, reports, checks = run_record(_config(Path(spec).parent, history={"model_name": "churn"}), documents,
                                              {"status": "pass"}, "/tmp/out", environ={})
            run["created_at"] = f"2024-0{number + 1}-01T10:00:00+00:00"
            store.record(run, reports, checks)


def test_release_trend_in_the_golden_benchmark_flags_a_planted_slow_decay(tiny_bench, tmp_path):
    now = next(c.value for c in tiny_bench.checks if c.id == "golden.metric.roc_auc")
    spec = str(tmp_path / "h.sqlite")
    _plant(spec, tiny_bench, [now + 0.04, now + 0.032, now + 0.024, now + 0.016, now + 0.008])
    history = trend_parameters(_config(tmp_path, history={"store": "h.sqlite", "model_name": "churn"}))
    assert len(history["releases"]) == 5 and "error" not in history
    trend = ReleaseTrend(tiny_bench, history)
    section = trend.section()
    checks = {c.id: c for c in section.checks}
    decay = checks["golden.trend.roc_auc"]
    assert decay.status == "warn" and decay.value == pytest.approx(0.04)
    assert "every release stayed within its margin" in decay.message
    assert checks["golden.trend.log_loss"].status == "pass"  # planted at 0.3 each time: no trend
    html = section._repr_html_()
    assert "this release" in html and f"{5:064x}"[:8] in html and "Δ vs −5" in html
    figure = trend.figure()
    assert figure is not None and figure._repr_png_().startswith(b"\x89PNG")
    assert len(figure._repr_png_()) < 150_000


def test_release_trend_leaves_other_golden_sets_and_the_same_model_out(tiny_bench, tmp_path):
    now = next(c.value for c in tiny_bench.checks if c.id == "golden.metric.roc_auc")
    spec = str(tmp_path / "h.sqlite")
    golden = ["9" * 64, "9" * 64] + [tiny_bench.golden_sha256] * 3
    _plant(spec, tiny_bench, [now + 0.04, now + 0.032, now + 0.024, now + 0.016, now + 0.008], golden=golden)
    history = trend_parameters(_config(tmp_path, history={"store": "h.sqlite", "model_name": "churn"}))
    trend = ReleaseTrend(tiny_bench, history)
    # three earlier releases on this golden set + this one: enough to judge, and a steady fall of 0.024
    assert trend.results["roc_auc"].window == 4 and trend.results["roc_auc"].status == "warn"
    assert " *" in trend.table().to_string()  # the values on another golden set are marked
    history["releases"][0]["model_sha256"] = tiny_bench.model_info.sha256  # this model itself, recorded before
    again = ReleaseTrend(tiny_bench, history)
    assert len(again.releases) == 4 and again.results["roc_auc"].window == 3 and again.results["roc_auc"].status == "skip"


def test_release_trend_without_history_says_so(tiny_bench, tmp_path):
    off = ReleaseTrend(tiny_bench, {"enabled": False})
    assert off.section().checks == [] and off.figure() is None
    empty = ReleaseTrend(tiny_bench, trend_parameters(_config(tmp_path)))
    assert "this run will be the first point" in empty.section().note
    (tmp_path / "readiness-history.sqlite").write_bytes(b"garbage" * 1000)
    broken = ReleaseTrend(tiny_bench, trend_parameters(_config(tmp_path)))
    assert "could not be read" in broken.section().note


@pytest.mark.parametrize("module", ["readiness.history", "readiness.history.store", "readiness.history.record",
                                    "readiness.history.listing", "readiness.history.trend",
                                    "readiness.history.migrate"])
def test_docstring_examples_run(module):
    import doctest
    import importlib

    failures, tried = doctest.testmod(importlib.import_module(module),
                                      optionflags=doctest.NORMALIZE_WHITESPACE | doctest.ELLIPSIS)
    assert tried > 0 and failures == 0


# ----------------------------------------------------------------------------- MLflow tracking (optional)


def test_a_run_is_recorded_into_mlflow_tracking_too(tmp_path):
    mlflow = pytest.importorskip("mlflow", reason="mlflow not installed (optional extra ml-readiness[mlflow])")
    out = tmp_path / "out"
    out.mkdir()
    (out / "index.html").write_text("<!doctype html><p>index")
    (out / "golden_benchmark.html").write_text("<!doctype html><p>golden")
    tracking = f"sqlite:///{tmp_path / 'mlflow.db'}"
    config = _config(tmp_path, mlflow={"tracking_uri": tracking, "experiment": "churn-gates",
                                       "artifact_location": str(tmp_path / "artifacts")})
    lines: list[str] = []
    history_id = record_run(config, _documents(), {"status": "fail"}, out, echo=lines.append)
    assert history_id == 1 and lines[-1].startswith("Recorded the run in MLflow (experiment 'churn-gates', run ")
    client = mlflow.MlflowClient(tracking)
    experiment = client.get_experiment_by_name("churn-gates")
    (run,) = client.search_runs([experiment.experiment_id])
    assert run.data.metrics == {"golden.metric.roc_auc": 0.91, "golden.metric.log_loss": 0.3,
                                "readiness.checks.pass": 2.0, "readiness.checks.skip": 1.0,
                                "readiness.checks.warn": 1.0, "readiness.ready": 0.0}  # NaN and valueless left out
    assert run.data.params["model_sha256"] == "a" * 64 and run.data.params["golden_sha256"] == "c" * 64
    assert run.data.params["reports"] == "golden_benchmark,drift_report"
    assert run.data.tags["readiness.verdict"] == "fail" and run.data.tags["readiness.history_run_id"] == "1"
    assert run.info.run_name == "churn · FAIL" and run.info.status == "FINISHED"
    artifacts = {a.path for a in client.list_artifacts(run.info.run_id, "readiness-report")}
    assert artifacts == {"readiness-report/index.html", "readiness-report/golden_benchmark.html"}


def test_an_unreachable_mlflow_server_warns_in_one_line_without_its_password(tmp_path, monkeypatch):
    pytest.importorskip("mlflow", reason="mlflow not installed (optional extra ml-readiness[mlflow])")
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
    lines: list[str] = []
    config = _config(tmp_path, mlflow={"tracking_uri": "http://ci:s3cret@127.0.0.1:1"})
    assert record_run(config, _documents(), {"status": "pass"}, tmp_path, echo=lines.append) == 1  # history written
    warning = [line for line in lines if "MLflow" in line]
    assert len(warning) == 1 and warning[0].startswith("warning: the run was not recorded in MLflow tracking 127.0.0.1:1")
    assert "s3cret" not in "\n".join(lines) and "\n" not in warning[0]
    lines.clear()  # --no-history: recorded nowhere
    assert record_run(_config(tmp_path, history=False, mlflow={"tracking_uri": "http://127.0.0.1:1"}), _documents(),
                      {"status": "pass"}, tmp_path, echo=lines.append) is None
    assert lines == []
