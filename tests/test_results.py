"""Reading results back: one function, one schema check, one status order."""

from __future__ import annotations

import json
import os

import pytest

from readiness.exceptions import InputError
from readiness.results import (MAX_RESULTS_BYTES, STATUS_RANK, STATUSES, Check, check_results, is_failing, is_ready,
                               load_results, read_results, report_document, worst_first, worst_status, write_json)


def results(report="golden_benchmark", checks=None, **kwargs):
    checks = [Check("golden.metric.roc_auc", "ROC AUC", "pass", "0.91 ≥ 0.85", value=0.91, severity="critical")] \
        if checks is None else checks
    return report_document(report, checks, {}, "2026-01-01T00:00:00+00:00", 1.0, **kwargs)


# --------------------------------------------------------------------------- reading


def test_a_run_folder_yields_every_report_and_nothing_else(tmp_path):
    write_json(tmp_path / "golden_benchmark.json", results())
    write_json(tmp_path / "drift_report.json", results("drift_report", []))
    write_json(tmp_path / "summary.json", {"schema": "readiness/1", "status": "pass", "reports": []})  # the run's, not a report's
    (tmp_path / "notes.json").write_text('{"the user": "keeps this here"}')
    (tmp_path / "list.json").write_text("[1, 2, 3]")
    (tmp_path / "linked.json").symlink_to(tmp_path / "golden_benchmark.json")  # never followed
    os.mkfifo(tmp_path / "fifo.json")  # would block a naive read forever
    (tmp_path / "golden_benchmark.html").write_text("<html></html>")
    assert [d["report"] for d in load_results(tmp_path)] == ["drift_report", "golden_benchmark"]
    assert [d["report"] for d in load_results(tmp_path, exclude=("drift_report",))] == ["golden_benchmark"]


def test_a_missing_folder_is_one_line(tmp_path):
    with pytest.raises(InputError, match="missing: not a folder; give the output folder of `readiness run`"):
        load_results(tmp_path / "missing")


@pytest.mark.parametrize("change, problem", [
    (lambda d: d.update(report="../../etc/passwd"), "its 'report' is not a report name"),
    (lambda d: d.update(status="great"), "its status 'great' is not one of pass, warn, fail, error, skip"),
    (lambda d: d.update(checks={"a": 1}), "its 'checks' is not a list"),
    (lambda d: d.update(error=["x"]), "its 'error' is not text"),
    (lambda d: d["checks"].append("a string"), "a check lacks a text 'id'"),
    (lambda d: d["checks"].append({"id": 3, "status": "pass"}), "a check lacks a text 'id'"),
    (lambda d: d["checks"][0].update(status="ok"), "check 'golden.metric.roc_auc' lacks a valid 'status'"),
    (lambda d: d["checks"][0].update(message={"html": "<b>"}), "has a 'message' or 'title' that is not text"),
    (lambda d: d["checks"][0].update(severity="blocker"), "has a 'severity' not in critical, major, minor, info"),
    (lambda d: d["checks"][0].update(value="0.9"), "has a 'value' that is not a number"),
    (lambda d: d["checks"][0].update(ci=[0.1]), "has a 'ci' that is not two numbers"),
    (lambda d: d["checks"][0].update(threshold="min 0.8"), "has a 'threshold' that is not a mapping"),
])
def test_a_broken_results_file_is_one_line_naming_it(tmp_path, change, problem):
    document = results()
    change(document)
    path = tmp_path / "golden_benchmark.json"
    path.write_text(json.dumps(document))
    with pytest.raises(InputError) as raised:
        load_results(tmp_path)
    message = str(raised.value)
    assert message.startswith(f"{path}: not a valid readiness results file (") and problem in message
    assert message.endswith("; re-run `readiness run`") and "\n" not in message
    assert load_results(tmp_path, skip_invalid=True) == []  # the checklist takes only the evidence it can trust


@pytest.mark.parametrize("content, expected", [
    (b'{"schema": "readiness/1", "report": "golden_benchm', "not valid JSON (Unterminated string"),  # cut short
    (b"\xff\xfe{}", "not valid JSON ("),
    (b"", "not valid JSON (Expecting value"),
])
def test_unreadable_json_is_one_line(tmp_path, content, expected):
    (tmp_path / "golden_benchmark.json").write_bytes(content)
    with pytest.raises(InputError, match="golden_benchmark.json: " + expected.replace("(", r"\(")):
        load_results(tmp_path)


def test_results_of_another_report_are_not_taken_for_this_one(tmp_path):
    write_json(tmp_path / "golden_benchmark.json", results("drift_report", []))
    with pytest.raises(InputError, match="holds the results of 'drift_report', not 'golden_benchmark'"):
        read_results(tmp_path / "golden_benchmark.json", "golden_benchmark")


def test_an_oversized_file_is_refused_before_it_is_read(tmp_path, monkeypatch):
    path = tmp_path / "golden_benchmark.json"
    write_json(path, results(checks=[Check(f"golden.segment.roc_auc[id={i}]", "x", "pass", "m" * 100, severity="critical") for i in range(50)]))
    monkeypatch.setattr("readiness.results.MAX_RESULTS_BYTES", 1000)
    with pytest.raises(InputError, match=r"golden_benchmark.json: [\d,]+ bytes, more than a readiness results file holds \(1,000\)"):
        read_results(path)
    assert MAX_RESULTS_BYTES >= 64 * 1024 * 1024  # real reports (10,000 drift columns) stay well below


def test_what_readiness_writes_it_reads_back(tmp_path):
    hostile = "<script>alert(1)</script>\u202e\x00"
    document = results(checks=[Check(f"golden.segment.roc_auc[region={hostile}]", hostile, "fail", hostile, severity="critical",
                                     value=float("nan"), ci=[float("-inf"), 0.5], threshold={"min": 0.7})])
    write_json(tmp_path / "golden_benchmark.json", document)
    back = read_results(tmp_path / "golden_benchmark.json", "golden_benchmark")
    assert back["checks"][0]["id"].endswith(f"{hostile}]") and back["checks"][0]["ci"] == [None, 0.5]
    assert check_results(back, "x") is back


def test_carrying_over_a_broken_previous_report_says_so(tmp_path):
    from readiness.run.folder import carry_over

    out, staging = tmp_path / "out", tmp_path / "staging"
    out.mkdir()
    staging.mkdir()
    (out / "golden_benchmark.json").write_text('{"schema": "readiness/1", "report": "golden_benchmark", "status": "ok"}')
    lines = []
    assert carry_over(out, staging, ["golden_benchmark"], lines.append) == []
    assert lines == [f"not kept: {out / 'golden_benchmark.json'}: not a valid readiness results file "
                     "(its status 'ok' is not one of pass, warn, fail, error, skip); re-run `readiness run`"]
    assert list(staging.iterdir()) == []


def test_the_checklist_takes_evidence_only_from_valid_results_of_other_reports(tmp_path):
    from readiness.reports.checklist.report import evidence_results

    write_json(tmp_path / "golden_benchmark.json", results())
    write_json(tmp_path / "workflow_risk_checklist.json", results("workflow_risk_checklist", []))
    (tmp_path / "drift_report.json").write_text('{"schema": "readiness/1", "report": "drift_report", "checks": 5}')
    assert [d["report"] for d in evidence_results(tmp_path)] == ["golden_benchmark"]
    assert evidence_results(tmp_path / "missing") == [] and evidence_results(None) == []


# --------------------------------------------------------------------------- the status order


def test_one_status_order():
    assert set(STATUS_RANK) == set(STATUSES)
    assert sorted(STATUSES, key=STATUS_RANK.get) == ["skip", "pass", "warn", "fail", "error"]
    assert worst_status(["pass", "skip"]) == "pass" and worst_status(["skip"]) == "pass"
    assert worst_status(["warn", "error", "fail"]) == "error" and worst_status([]) == "error"
    assert [s for s in STATUSES if is_ready(s) and s != "skip"] == ["pass", "warn"]
    assert [s for s in STATUSES if is_failing(s)] == ["fail", "error"]
    checks = [{"id": str(i), "status": s} for i, s in enumerate(["pass", "warn", "fail", "skip", "error", "warn"])]
    assert [c["id"] for c in worst_first(checks)] == ["4", "2", "1", "5", "0", "3"]
    assert [c["id"] for c in worst_first(checks, at_least="warn")] == ["4", "2", "1", "5"]


def test_fears_and_beyond_items_take_the_worst_status_including_errors(tmp_path):
    import yaml

    from readiness.reports.checklist.report import WorkflowChecklist

    write_json(tmp_path / "golden_benchmark.json", results(checks=[
        Check("golden.consistency.prediction_bias", "bias", "error", "could not be computed", severity="critical"),
        Check("golden.latency.p95_ms", "p95", "pass", "ok"), Check("golden.latency.throughput", "rows/s", "pass", "ok"),
    ]))
    checklist = tmp_path / "checklist.yaml"
    checklist.write_text(yaml.safe_dump({
        "workflow": [{"name": "train", "mode": "automated", "owner": "ana"}],
        "fears": [{"fear": "slow", "severity": 5, "likelihood": 5, "detected_by": ["golden.latency.*"]}]}))
    review = WorkflowChecklist(str(checklist), results_dir=str(tmp_path))
    beyond = review.beyond_section().tables[0].to_dict()["rows"]
    bias = next(row for row in beyond if row[0].startswith("Prediction bias"))
    assert bias[1] == "error"  # an errored check is not shown as a pass
    fear = review.fears_section().checks[0]
    assert "golden.latency.*: pass (2 pass of 2 checks)" in fear.message
