"""The runner on broken notebooks: failures still give an HTML report and status error."""

import json
from pathlib import Path

import pytest

from readiness.exceptions import NotebookParameterError
from readiness.run.folder import replace_folder
from readiness.run.notebook import check_parameters, execute_report

FIXTURES = Path(__file__).parent / "fixtures"
pytestmark = pytest.mark.notebooks


def run_fixture(name, tmp_path, timeout=120, **parameters):
    outcome = execute_report(name, parameters, tmp_path, timeout, notebook=FIXTURES / f"{name}.ipynb")
    doc = json.loads((tmp_path / f"{name}.json").read_text())
    html = (tmp_path / f"{name}.html").read_text()
    return outcome, doc, html


def test_a_crashing_notebook_gives_status_error_and_an_html_report(tmp_path):
    outcome, doc, html = run_fixture("crashing", tmp_path)
    assert outcome.status == doc["status"] == "error" and outcome.usage_error is None
    assert doc["error"].startswith("ZeroDivisionError in cell") and "boom" in doc["error"]
    assert 'id="readiness-verdict"' in html and "ERROR" in html
    assert "The report could not be completed" in html
    assert "boom &lt;b&gt;not bold&lt;/b&gt;" in html and "<b>not bold</b>" not in html
    assert "before the crash" in html  # output up to the failure is kept
    assert "Traceback" not in html and "never runs" not in html
    assert (tmp_path / "crashing.ipynb").is_file()


def test_a_notebook_past_its_wall_clock_limit_is_stopped(tmp_path):
    outcome, doc, html = run_fixture("sleeping", tmp_path, timeout=4, seconds=120)
    assert doc["status"] == "error" and "timed out after 4 s" in doc["error"]
    assert outcome.duration_s < 30
    assert "timed out" in html


def test_a_notebook_that_writes_no_results_is_an_error(tmp_path):
    _, doc, _ = run_fixture("no_results", tmp_path)
    assert doc["status"] == "error" and "without writing its results JSON" in doc["error"]


def test_input_errors_raised_in_the_kernel_are_usage_errors(tmp_path):
    outcome, doc, html = run_fixture("input_error", tmp_path)
    assert outcome.usage_error == "golden.csv: missing feature column(s): 'x9'; add them"
    assert doc["status"] == "error" and "x9" in html


def test_unknown_parameters_are_refused_before_running():
    with pytest.raises(NotebookParameterError, match="does not declare parameter\\(s\\) typo_param"):
        check_parameters(FIXTURES / "crashing.ipynb", {"results_path": "x", "typo_param": 1})
    with pytest.raises(NotebookParameterError, match="has no cell tagged 'parameters'"):
        check_parameters(FIXTURES / "no_parameters.ipynb", {"results_path": "x"})


def test_output_folder_is_replaced_only_when_it_is_a_previous_run(tmp_path):
    out = tmp_path / "out"
    for run in ("first", "second"):
        staging = tmp_path / f"staging-{run}"
        staging.mkdir()
        (staging / "summary.json").write_text(json.dumps({"schema": "readiness/1", "run": run}))
        replace_folder(staging, out)
        assert json.loads((out / "summary.json").read_text())["run"] == run
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


def test_reports_not_rerun_are_carried_over_from_the_previous_run(tmp_path):
    from readiness.results import report_document, write_json
    from readiness.run.folder import carry_over

    out, staging = tmp_path / "out", tmp_path / "staging"
    out.mkdir()
    staging.mkdir()
    write_json(out / "golden_benchmark.json", report_document("golden_benchmark", [], {}, "2026-01-01T00:00:00+00:00", 1.0))
    (out / "golden_benchmark.html").write_text("<html>old</html>")
    lines = []
    kept = carry_over(out, staging, ["golden_benchmark", "workflow_risk_checklist"], lines.append)
    assert [d["report"] for d in kept] == ["golden_benchmark"]
    assert kept[0]["files"] == {"html": "golden_benchmark.html", "json": "golden_benchmark.json"}
    assert (staging / "golden_benchmark.html").read_text() == "<html>old</html>"
    assert lines == ["kept golden_benchmark (ERROR) from the previous run of 2026-01-01T00:00:00+00:00"]
